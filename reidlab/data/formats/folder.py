"""A generic layout for people's own data: ``<root>/<split>/<camera>/<person>/<frames>``.

::

    root/train/<camera>/<person>/<frame files>     optional (missing or empty: no train set)
    root/query/<camera>/<person>/<frame files>     required, at least one tracklet
    root/gallery/<camera>/<person>/<frame files>   required, at least one tracklet

- A person folder holds the frames of one tracklet, or sub-folders that are one tracklet each
  (several tracklets of a person in one camera); mixing files and sub-folders is an error.
- Frames are image files (.jpg .jpeg .png .bmp .webp .tif .tiff .ppm .pgm), sorted naturally
  (frame2 before frame10). Hidden files, Thumbs.db and desktop.ini are ignored; any other file
  is an error.
- Cameras: the union of the camera folder names over the splits, naturally sorted, 0-based.
- People: if every person folder name is an integer, the pid is that integer; otherwise pids
  are positions in the naturally sorted union of the names (``meta["pid_names"]`` maps back).
  The same name in two splits is the same person.
- ``tid`` counts tracklets within each split (order: camera, person, sub-folder).
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import (IMAGE_EXTENSIONS, child_paths, gc_paused, list_dir,
                                         natural_key, require_dir)
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import DatasetError

SPLITS = ("train", "query", "gallery")
_IGNORED = {"thumbs.db", "desktop.ini"}
_INT = re.compile(r"-?\d+")
LAYOUT = "<root>/{train,query,gallery}/<camera>/<person>/<frames>"


def _no_files(folder: Path, level: str) -> None:
    files = [n for n in list_dir(folder, dirs=False) if n.lower() not in _IGNORED]
    if files:
        raise DatasetError(folder / files[0], f"only {level} folders here ({LAYOUT})", "a file")


def _tracklet_frames(folder: Path) -> list[tuple[Path, tuple[Path, ...]]]:
    """[(folder, frames)] for a person folder: itself, or each of its sub-folders."""
    files = [n for n in list_dir(folder, dirs=False) if n.lower() not in _IGNORED]
    subs = sorted(list_dir(folder, dirs=True), key=natural_key)
    if files and subs:
        raise DatasetError(folder, "either frame files or tracklet sub-folders, not both",
                           f"{len(files)} files and {len(subs)} folders")
    if subs:
        out = []
        for s in subs:
            inner = _tracklet_frames(folder / s)
            if len(inner) != 1 or inner[0][0] != folder / s:
                raise DatasetError(folder / s, "frame files (a tracklet folder)", "sub-folders")
            out += inner
        return out
    if not files:
        raise DatasetError(folder, "at least one frame file", "an empty tracklet")
    for n in files:
        if not n.lower().endswith(IMAGE_EXTENSIONS):
            raise DatasetError(folder / n, f"an image frame ({', '.join(IMAGE_EXTENSIONS)})",
                               repr(n))
    files.sort(key=natural_key)
    return [(folder, child_paths(folder, files))]


@register("folder")
def read(root: Path) -> TrackletSet:
    """Read the generic folder layout; see the module docstring."""
    root = Path(root)
    require_dir(root, f"a dataset folder laid out as {LAYOUT}")
    split_dirs = {}
    for split in SPLITS:
        path = root / split
        if split == "train" and not path.exists():
            continue
        split_dirs[split] = require_dir(path, f"the {split}/ folder of {LAYOUT}", root)

    # split -> camera -> person -> [(folder, frames)]
    found: dict[str, dict[str, dict[str, list]]] = {}
    with gc_paused():
        for split, sdir in split_dirs.items():
            _no_files(sdir, "camera")
            found[split] = {}
            for cam in list_dir(sdir, dirs=True):
                _no_files(sdir / cam, "person")
                found[split][cam] = {p: _tracklet_frames(sdir / cam / p)
                                     for p in list_dir(sdir / cam, dirs=True)}
    for split in ("query", "gallery"):
        if not any(found[split].values()):
            raise DatasetError(root / split, f"at least one <camera>/<person>/ tracklet ({LAYOUT})",
                               "none")

    cameras = sorted({c for s in found.values() for c in s}, key=natural_key)
    people = sorted({p for s in found.values() for c in s.values() for p in c}, key=natural_key)
    if all(_INT.fullmatch(p) for p in people):
        pid_of = {p: int(p) for p in people}
        if len(set(pid_of.values())) != len(people):
            raise DatasetError(root, "integer person folder names that differ as numbers",
                               "names like 7 and 007")
        pid_names = None
    else:
        pid_of = {p: i for i, p in enumerate(people)}
        pid_names = people
    cam_of = {c: i for i, c in enumerate(cameras)}

    splits: dict[str, list[Tracklet]] = {s: [] for s in SPLITS}
    for split, cams in found.items():
        out = splits[split]
        for cam in sorted(cams, key=natural_key):
            for person in sorted(cams[cam], key=natural_key):
                for _, frames in cams[cam][person]:
                    out.append(Tracklet(frames, pid_of[person], cam_of[cam], len(out)))
    meta = {"cameras": cameras, "pid_names": pid_names, "has_train": "train" in split_dirs}
    return TrackletSet(splits["train"], splits["query"], splits["gallery"], "folder",
                       len(cameras), root=root, meta=meta)
