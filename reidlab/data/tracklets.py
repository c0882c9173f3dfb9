"""The data model every loader returns: tracklets and a train/query/gallery split.

An image dataset is a set of one-frame tracklets. Camera ids are 0-based everywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Tracklet:
    """A video tracklet: ordered frame paths of one person seen by one camera."""

    frames: tuple[Path, ...]
    pid: int
    camid: int
    tid: int

    def __post_init__(self) -> None:
        if not isinstance(self.frames, tuple):
            object.__setattr__(self, "frames", tuple(Path(f) for f in self.frames))

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class TrackletSet:
    """What every loader returns. ``meta`` records options such as the MARS protocol."""

    train: list[Tracklet]
    query: list[Tracklet]
    gallery: list[Tracklet]
    name: str
    num_cameras: int
    root: Path | None = None
    meta: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts per split: tracklets, identities, frames, and tracklets per camera."""
        out = {}
        for split in ("train", "query", "gallery"):
            items = getattr(self, split)
            out[split] = {
                "tracklets": len(items),
                "ids": len({t.pid for t in items}),
                "frames": sum(len(t) for t in items),
                "per_camera": dict(sorted(Counter(t.camid for t in items).items())),
            }
        return out
