"""VIPeR (Gray, Brennan & Tao, PETS 2007): 632 people, one image in each of two cameras.

Layout (``root`` holds ``cam_a/`` and ``cam_b/``, or ``VIPeR/`` holding them, as in the
release archive)::

    root/cam_a/000_45.bmp ...     <person>_<viewpoint angle>.bmp, camid 0
    root/cam_b/000_45.bmp ...     the same person numbers, camid 1
    root/splits_viper.json        written on first use: 10 seeded 316 / 316 identity splits

A person is the number before the first ``_`` of the file name (the release numbers both
cameras alike, 000..873 with gaps); every person must have exactly one image in each camera.
``split`` (0..9) picks one of the 10 splits drawn with ``split_seed`` (default 0) and written
beside the data (``reidlab.data.formats.splits``); an existing file is read and checked.

Test: query = the camera-A image of each test person, gallery = the camera-B image: one image
per person and camera, so the standard CMC is the single-shot CMC of the literature. Train =
both images of the training people; pid = the person number; ``tid`` counts images per split.
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, require_dir
from reidlab.data.formats.splits import load_or_write_splits, pick_split
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import DatasetError

CAMERAS = ("cam_a", "cam_b")
SPLITS_FILE = "splits_viper.json"
_NAME = re.compile(r"(\d+)_[^/\\]*\.bmp", re.IGNORECASE)


def _camera(folder: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in sorted(list_dir(folder, dirs=False)):
        if not name.lower().endswith(".bmp"):
            continue  # Thumbs.db and the like
        m = _NAME.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, "a VIPeR image named <person>_<angle>.bmp like "
                               "000_45.bmp", repr(name))
        pid = int(m.group(1))
        if pid in out:
            raise DatasetError(folder / name, f"one image of person {pid} in {folder.name}/",
                               f"also {out[pid]}")
        out[pid] = name
    if not out:
        raise DatasetError(folder, "VIPeR images named like 000_45.bmp", "no .bmp files")
    return out


@register("viper")
def read(root: Path, split: int = 0, split_seed: int = 0) -> TrackletSet:
    """Read VIPeR; see the module docstring."""
    root = Path(root)
    base = root / "VIPeR" if (root / "VIPeR").is_dir() and not (root / "cam_a").is_dir() \
        else root
    folders = [require_dir(base / c, f"the VIPeR {c}/ folder of .bmp images", root)
               for c in CAMERAS]
    cams = [_camera(f) for f in folders]
    for c in (0, 1):
        lonely = sorted(set(cams[c]) - set(cams[1 - c]))
        if lonely:
            p = lonely[0]
            raise DatasetError(folders[c] / cams[c][p], f"an image of person {p} in "
                               f"{CAMERAS[1 - c]}/ too (VIPeR pairs the two cameras)",
                               f"none for {len(lonely)} people, e.g. {lonely[:5]}")
    splits_path = base / SPLITS_FILE
    splits, _ = load_or_write_splits(splits_path, "viper", sorted(cams[0]), int(split_seed))
    chosen = pick_split(splits, int(split), "viper", splits_path)

    def tracks(pids, cam_ids):
        return [Tracklet(child_paths(folders[c], (cams[c][p],)), p, c, 0)
                for p in pids for c in cam_ids]

    def numbered(ts):
        return [Tracklet(t.frames, t.pid, t.camid, i) for i, t in enumerate(ts)]

    train = numbered(tracks(chosen["train"], (0, 1)))
    query, gallery = numbered(tracks(chosen["test"], (0,))), numbered(tracks(chosen["test"], (1,)))
    meta = {"protocol": f"viper-split-{int(split)}-single-shot", "split": int(split),
            "num_splits": len(splits), "splits_file": str(splits_path),
            "split_seed": int(split_seed)}
    return TrackletSet(train, query, gallery, "viper", 2, root=root, meta=meta)
