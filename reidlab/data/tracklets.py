"""The data model every loader returns: tracklets and a train/query/gallery split.

An image dataset is a set of one-frame tracklets. Camera ids are 0-based everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class FramePaths(Sequence):
    """The frame paths ``folder / name`` of names in one folder, built only when accessed.

    A real dataset holds about a million frames (MARS: 1.19 M) of which a training epoch or a
    feature pass touches each a few times; building every ``Path`` up front costs seconds on
    Python 3.11. This sequence stores the folder and the names; indexing gives a ``Path``,
    slicing another ``FramePaths``, and it compares equal to the tuple of the same paths.
    """

    __slots__ = ("folder", "names")

    def __init__(self, folder: str | Path, names: Iterable[str]):
        self.folder = Path(folder)
        self.names = tuple(names)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return FramePaths(self.folder, self.names[i])
        return self.folder / self.names[i]

    def __iter__(self) -> Iterator[Path]:
        folder = self.folder
        return (folder / n for n in self.names)

    def __eq__(self, other) -> bool:
        if isinstance(other, FramePaths):
            return self.folder == other.folder and self.names == other.names
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the hash of the equal tuple of paths

    def __reduce__(self):
        return FramePaths, (self.folder, self.names)

    def __repr__(self) -> str:
        return f"FramePaths({str(self.folder)!r}, {len(self.names)} frames)"


TARGET, SOURCE = 0, 1
COLOUR, INFRARED = 0, 1  # Tracklet.modality
MODALITY_NAMES = ("colour", "infrared")
DOMAIN_NAMES = {TARGET: "target", SOURCE: "source"}


@dataclass(frozen=True)
class Tracklet:
    """A video tracklet: ordered frame paths of one person seen by one camera.

    ``frames`` is a tuple of paths or a lazy :class:`FramePaths`; any other iterable of paths or
    strings is turned into a tuple of ``Path``. ``domain`` is :data:`TARGET` (0) for the dataset
    being learnt and evaluated, :data:`SOURCE` (1) for a labelled source dataset trained beside
    it (unsupervised domain adaptation); it travels into batches as ``batch["domain"]``.
    ``modality`` is :data:`COLOUR` (0) or :data:`INFRARED` (1) (SYSU-MM01, RegDB); it travels
    into batches as ``batch["modality"]``.
    """

    frames: Sequence[Path]
    pid: int
    camid: int
    tid: int
    domain: int = 0
    modality: int = 0  # COLOUR (0) or INFRARED (1)
    pseudo_infrared: bool = False  # colour frames read as their red channel (see pseudo_infrared)

    def __post_init__(self) -> None:
        if not isinstance(self.frames, (tuple, FramePaths)):
            object.__setattr__(self, "frames", tuple(Path(f) for f in self.frames))

    def __len__(self) -> int:
        return len(self.frames)

    def segment(self, part: int, parts: int) -> "Tracklet":
        """The ``part``-th of ``parts`` successive equal segments of the frames (at least one
        frame each; CAWCL's clips: the first half of the frames is clip 0, the rest clip 1)."""
        lo, hi = segment_bounds(len(self.frames), part, parts)
        return Tracklet(self.frames[lo:hi], self.pid, self.camid, self.tid, self.domain,
                        self.modality, self.pseudo_infrared)


def segment_bounds(length: int, part: int, parts: int) -> tuple[int, int]:
    """[lo, hi) of the ``part``-th of ``parts`` successive equal segments of ``range(length)``;
    a tracklet shorter than ``parts`` gives one-frame segments that repeat frames."""
    if not 0 <= part < parts or length < 1:
        raise ValueError(f"segment {part} of {parts} of a tracklet of {length} frames")
    if length < parts:
        lo = (part * length) // parts
        return lo, lo + 1
    return (part * length) // parts, ((part + 1) * length) // parts


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


def red_channel(frames: np.ndarray) -> np.ndarray:
    """Colour frames (…×H×W×3) as pseudo-infrared: the red channel replicated to three (the
    infrared paper's trick for adding Market-1501 to SYSU-MM01 training)."""
    return np.repeat(frames[..., :1], 3, axis=-1)


def pseudo_infrared(data: "TrackletSet", cameras: str | Sequence[int], seed: int = 0
                    ) -> "TrackletSet":
    """``data`` with the tracklets of some cameras turned pseudo-infrared (modality INFRARED,
    frames read as their red channel): ``cameras`` = "half" (a seeded random half of the
    cameras, as the paper splits Market-1501 by camera view) or 1-based camera numbers
    ("1,3,5" or a list). Every split is changed alike; ``meta["pseudo_infrared_cameras"]`` lists
    them (1-based)."""
    import dataclasses

    from reidlab.errors import ConfigError

    n = int(data.num_cameras)
    if isinstance(cameras, str) and cameras.strip().lower() == "half":
        chosen = sorted(int(c) for c in np.random.default_rng(seed).permutation(n)[: n // 2])
    else:
        items = cameras.split(",") if isinstance(cameras, str) else list(cameras)
        try:
            chosen = sorted({int(c) - 1 for c in items if str(c).strip()})
        except ValueError:
            chosen = [-1]
        if not chosen or any(not 0 <= c < n for c in chosen):
            raise ConfigError(f"pseudo_infrared={cameras!r}: expected 'half' or camera numbers "
                              f"1..{n}")
    if len(chosen) in (0, n):
        raise ConfigError(f"pseudo_infrared={cameras!r}: expected some but not all of the "
                          f"{n} cameras (both modalities must remain)")

    def conv(ts):
        return [dataclasses.replace(t, modality=INFRARED, pseudo_infrared=True)
                if t.camid in chosen else t for t in ts]

    meta = {**data.meta, "pseudo_infrared_cameras": [c + 1 for c in chosen]}
    return dataclasses.replace(data, train=conv(data.train), query=conv(data.query),
                               gallery=conv(data.gallery), meta=meta)

