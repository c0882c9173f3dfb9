"""Image re-ID layouts: Market-1501, DukeMTMC-reID and MSMT17 (one-frame tracklets).

Market-1501 / DukeMTMC-reID::

    root/bounding_box_train/  root/bounding_box_test/  root/query/
    Market names PPPP_cCsS_FFFFFF_BB.jpg (junk pid is written -1_c...), Duke PPPP_cC_fFFFFFFF.jpg

pid -1 (junk) is dropped; pid 0000 (distractors) is kept in the gallery. Files that are not
``.jpg`` (e.g. ``Thumbs.db`` in the real Market archive) are ignored; a ``.jpg`` whose name does
not follow the pattern is an error.

MSMT17 (V1 or V2)::

    root/list_train.txt  list_val.txt  list_query.txt  list_gallery.txt   "<relpath> <pid>" lines
    root/train/ or root/mask_train_v2/      (train and val images)
    root/test/  or root/mask_test_v2/       (query and gallery images)

The camera is the 3rd ``_`` field of the file name (1-based), e.g.
0000_000_01_0303morning_0015_0.jpg is camera 1 (camid 0); the pid of a line must equal the person folder of its path. Option
``combine_val=True`` adds the val list to train (the val pids are train pids, so no relabel).
``root`` may also be the folder that holds ``MSMT17_V1``/``MSMT17_V2``.

``tid`` is the 0-based position of the image in its split (sorted file names for Market/Duke,
list order for MSMT17).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import (child_paths, gc_paused, list_dir, read_lines,
                                         require_dir, require_file)
from reidlab.data.tracklets import FramePaths, Tracklet, TrackletSet
from reidlab.errors import DatasetError

_SPLIT_DIRS = (("train", "bounding_box_train"), ("query", "query"),
               ("gallery", "bounding_box_test"))


class _Style:
    def __init__(self, name: str, pattern: str, example: str, num_cameras: int, title: str):
        self.name, self.regex, self.example = name, re.compile(pattern), example
        self.num_cameras, self.title = num_cameras, title


MARKET = _Style("market1501", r"(-1|\d{4})_c(\d)s\d+_\d+_\d+\.jpg", "0002_c1s1_000451_03.jpg", 6,
                "Market-1501")
DUKE = _Style("dukemtmc", r"(-1|\d{4})_c(\d)_f\d+\.jpg", "0001_c2_f0046182.jpg", 8,
              "DukeMTMC-reID")


def _read_split(folder: Path, style: _Style, split: str) -> list[Tracklet]:
    names = sorted(n for n in list_dir(folder, dirs=False) if n.lower().endswith(".jpg"))
    if not names:
        raise DatasetError(folder, f"{style.title} images named like {style.example}",
                           "no .jpg files")
    parsed = []
    for name in names:
        m = style.regex.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, f"a {style.title} name like {style.example}",
                               repr(name))
        pid, cam = int(m.group(1)), int(m.group(2))
        if not 1 <= cam <= style.num_cameras:
            raise DatasetError(folder / name, f"camera c1..c{style.num_cameras}", f"c{cam}")
        if pid == -1 or (pid == 0 and split != "gallery"):
            continue  # junk everywhere; distractors belong to the gallery only
        parsed.append((name, pid, cam - 1))
    return [Tracklet(child_paths(folder, (name,)), pid, camid, i)
            for i, (name, pid, camid) in enumerate(parsed)]


def _read_market_like(root: Path, style: _Style) -> TrackletSet:
    root = Path(root)
    what = f"a {style.title} folder with bounding_box_train/, bounding_box_test/ and query/"
    require_dir(root, what)
    splits = {}
    with gc_paused():
        for split, sub in _SPLIT_DIRS:
            folder = require_dir(root / sub, f"the {style.title} {sub}/ image folder", root)
            splits[split] = _read_split(folder, style, split)
    return TrackletSet(splits["train"], splits["query"], splits["gallery"], style.name,
                       style.num_cameras, root=root,
                       meta={"junk": "dropped", "distractors": "gallery"})


@register("market1501")
def read_market1501(root: Path) -> TrackletSet:
    """Market-1501: 6 cameras; see the module docstring."""
    return _read_market_like(root, MARKET)


@register("dukemtmc")
def read_dukemtmc(root: Path) -> TrackletSet:
    """DukeMTMC-reID: 8 cameras; see the module docstring."""
    return _read_market_like(root, DUKE)


# -------------------------------------------------------------------------------- MSMT17
MSMT_CAMERAS = 15
_MSMT_NAME = re.compile(r"(\d+)_(\d+)_(\d+)_[^/\\]*\.jpg")
_MSMT_DIRS = {"train": ("train", "mask_train_v2"), "test": ("test", "mask_test_v2")}


def _msmt_root(root: Path) -> Path:
    if (root / "list_train.txt").exists():
        return root
    for sub in ("MSMT17_V2", "MSMT17_V1", "MSMT17"):
        if (root / sub / "list_train.txt").exists():
            return root / sub
    return root


def _msmt_image_dir(root: Path, part: str) -> Path:
    for sub in _MSMT_DIRS[part]:
        if (root / sub).is_dir():
            return root / sub
    a, b = _MSMT_DIRS[part]
    return require_dir(root / a, f"the MSMT17 {part} image folder {a}/ (V1) or {b}/ (V2)", root)


def _read_msmt_list(list_path: Path, image_dir: Path, root: Path, start_tid: int) -> list[Tracklet]:
    lines = read_lines(list_path, "MSMT17 lines '<relpath> <pid>'", root)
    if not lines:
        raise DatasetError(list_path, "MSMT17 lines '<relpath> <pid>'", "an empty file")
    rels, pids, cams = [], [], []
    for i, line in enumerate(lines, 1):
        fields = line.split()
        ok = len(fields) == 2 and fields[1].lstrip("-").isdigit()
        m = _MSMT_NAME.fullmatch(fields[0].replace("\\", "/").rsplit("/", 1)[-1]) if ok else None
        if m is None:
            raise DatasetError(list_path, f"line {i}: '<pid folder>/<pid>_<n>_<camera>_..."
                               f".jpg <pid>' like '0000/0000_000_01_0303morning_0015_0.jpg 0'",
                               repr(line))
        rel, pid, cam = fields[0].replace("\\", "/"), int(fields[1]), int(m.group(3))
        if not 1 <= cam <= MSMT_CAMERAS:
            raise DatasetError(list_path, f"line {i}: camera 01..{MSMT_CAMERAS} in the file name",
                               f"camera {cam} in {rel}")
        folder = rel.split("/", 1)[0] if "/" in rel else None
        if folder is not None and folder.isdigit() and int(folder) != pid:
            raise DatasetError(list_path,
                               f"line {i}: pid {pid} to match the person folder of {rel}",
                               f"folder {folder}")
        rels.append(rel)
        pids.append(pid)
        cams.append(cam - 1)
    # cheap existence check: the first and the last listed image
    for rel, line_no in ((rels[0], 1), (rels[-1], len(rels))):
        if not os.path.exists(os.path.join(image_dir, rel)):
            raise DatasetError(image_dir / rel,
                               f"the image listed at {list_path.name} line {line_no}",
                               "no such file")
    paths = _grouped_paths(image_dir, rels)
    return [Tracklet(p, pid, cam, start_tid + i)
            for i, (p, pid, cam) in enumerate(zip(paths, pids, cams))]


def _grouped_paths(image_dir: Path, rels: list[str]) -> list[FramePaths]:
    """One-frame lazy paths for '<folder>/<name>' relpaths, parsing each folder once."""
    folders: dict[str, Path] = {}
    out = []
    for rel in rels:
        head, _, name = rel.rpartition("/")
        pdir = folders.get(head)
        if pdir is None:
            pdir = folders[head] = image_dir.joinpath(*head.split("/")) if head else image_dir
        out.append(child_paths(pdir, (name,)))
    return out


@register("msmt17")
def read_msmt17(root: Path, combine_val: bool = False) -> TrackletSet:
    """MSMT17 V1/V2 from its list files; see the module docstring."""
    given = Path(root)
    require_dir(given, "an MSMT17 folder with list_train.txt, list_query.txt, list_gallery.txt")
    root = _msmt_root(given)
    lists = {s: require_file(root / f"list_{s}.txt", f"the MSMT17 list_{s}.txt", given)
             for s in ("train", "query", "gallery")}
    train_dir, test_dir = _msmt_image_dir(root, "train"), _msmt_image_dir(root, "test")
    with gc_paused():
        train = _read_msmt_list(lists["train"], train_dir, root, 0)
        if combine_val:
            val = require_file(root / "list_val.txt", "the MSMT17 list_val.txt (combine_val=True)",
                               given)
            train += _read_msmt_list(val, train_dir, root, len(train))
        query = _read_msmt_list(lists["query"], test_dir, root, 0)
        gallery = _read_msmt_list(lists["gallery"], test_dir, root, 0)
    return TrackletSet(train, query, gallery, "msmt17", MSMT_CAMERAS, root=root,
                       meta={"combine_val": bool(combine_val)})
