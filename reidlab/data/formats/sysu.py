"""SYSU-MM01 (Wu et al., ICCV 2017): infrared ↔ colour re-ID, 4 colour + 2 infrared cameras.

Layout (``root`` holds the camera folders)::

    root/cam1/0001/0001.jpg ...        colour (indoor)      camid 0
    root/cam2/...                      colour (indoor)      camid 1
    root/cam3/...                      infrared (indoor)    camid 2
    root/cam4/...  root/cam5/...       colour (outdoor)     camid 3, 4
    root/cam6/...                      infrared (outdoor)   camid 5
    root/exp/train_id.txt  val_id.txt  test_id.txt   comma-separated person ids (e.g. 1,2,4,...)

Every image is a one-frame tracklet (an image dataset). Options:

- ``mode``: ``all`` (all-search: the gallery comes from cam1, 2, 4, 5) or ``indoor``
  (indoor-search: cam1, 2); the queries are every infrared image (cam3, cam6) of the test people.
- ``shots``: 1 (single-shot) or 10 (multi-shot): images per test person and gallery camera in
  each trial's gallery; ``trials`` (10) galleries are drawn (``reidlab.eval.crossmodal``), seeded
  by ``trial_seed``; results are the mean over them.
- ``train_ids``: ``train+val`` (395 people, the usual practice) or ``train`` (the 296 of
  train_id.txt).

``gallery`` holds the whole pool the trials draw from (every colour image of the test people in
the mode's cameras); ``meta["trials"]`` lists each trial's gallery rows and ``meta["ignore"]``
the camera-3/camera-2 rule of the official evaluation. A person of the test list without any
infrared (or colour) image is an error that names them.
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, read_lines, require_dir
from reidlab.data.tracklets import COLOUR, INFRARED, Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

CAMERAS = ("cam1", "cam2", "cam3", "cam4", "cam5", "cam6")
INFRARED_CAMS = (2, 5)  # camids of cam3, cam6
GALLERY_CAMS = {"all": (0, 1, 3, 4), "indoor": (0, 1)}
_ID_LIST = "comma-separated person ids (e.g. 1,2,4,5)"
_IMAGE = re.compile(r"\d+\.(jpg|jpeg|png)", re.IGNORECASE)


def read_id_list(path: Path, root: Path) -> list[int]:
    ids = []
    for line in read_lines(path, f"the SYSU-MM01 id list: {_ID_LIST}", root):
        for item in re.split(r"[,\s]+", line.strip()):
            if not item:
                continue
            if not item.isdigit():
                raise DatasetError(path, _ID_LIST, repr(item))
            ids.append(int(item))
    if not ids:
        raise DatasetError(path, _ID_LIST, "no id")
    return ids


def _images(root: Path, camid: int, pid: int) -> list[Tracklet]:
    folder = root / CAMERAS[camid] / f"{pid:04d}"
    if not folder.is_dir():
        return []
    names = [n for n in list_dir(folder, dirs=False) if _IMAGE.fullmatch(n)]
    modality = INFRARED if camid in INFRARED_CAMS else COLOUR
    return [Tracklet(child_paths(folder, [n]), pid, camid, 0, modality=modality)
            for n in names]


@register("sysumm01")
def read(root: Path, mode: str = "all", shots: int = 1, trials: int = 10,
         trial_seed: int = 0, train_ids: str = "train+val") -> TrackletSet:
    """Read SYSU-MM01; see the module docstring."""
    root = Path(root)
    if mode not in GALLERY_CAMS:
        raise ConfigError(f"sysumm01: mode={mode!r}; expected 'all' or 'indoor'")
    if int(shots) not in (1, 10):
        raise ConfigError(f"sysumm01: shots={shots!r}; expected 1 (single-shot) or 10 "
                          "(multi-shot)")
    if train_ids not in ("train+val", "train"):
        raise ConfigError(f"sysumm01: train_ids={train_ids!r}; expected 'train+val' or 'train'")
    for cam in CAMERAS:
        require_dir(root / cam, f"the SYSU-MM01 {cam}/ folder", root)
    exp = require_dir(root / "exp", "the SYSU-MM01 exp/ folder of id lists", root)
    train = read_id_list(exp / "train_id.txt", root)
    if train_ids == "train+val":
        train += read_id_list(exp / "val_id.txt", root)
    test = read_id_list(exp / "test_id.txt", root)
    both = sorted(set(train) & set(test))
    if both:
        raise DatasetError(exp / "test_id.txt", "test people disjoint from the training ones",
                           f"also in training: {both[:5]}")

    def collect(ids, camids):
        return {p: [t for c in camids for t in _images(root, c, p)] for p in sorted(set(ids))}

    train_set = collect(train, range(len(CAMERAS)))
    empty = [p for p, ts in train_set.items() if not ts]
    if empty:
        raise DatasetError(root / "cam1", "images of every training person in cam1..cam6/<pid4>/",
                           f"none for {len(empty)} people, e.g. {empty[:5]}")
    query = collect(test, INFRARED_CAMS)
    gallery = collect(test, GALLERY_CAMS[mode])
    no_ir = [p for p, ts in query.items() if not ts]
    if no_ir:
        raise DatasetError(root / "cam3", "infrared images (cam3/ or cam6/) of every test person",
                           f"none for {no_ir[:5]}")
    no_rgb = [p for p, ts in gallery.items() if not ts]
    if no_rgb:
        raise DatasetError(root / "cam1", f"colour images of every test person in the {mode}-"
                           f"search cameras {[CAMERAS[c] for c in GALLERY_CAMS[mode]]}",
                           f"none for {no_rgb[:5]}")

    def numbered(groups):
        out = []
        for ts in groups.values():
            for t in ts:
                out.append(Tracklet(t.frames, t.pid, t.camid, len(out), modality=t.modality))
        return out

    train_l, query_l, gallery_l = numbered(train_set), numbered(query), numbered(gallery)
    from reidlab.data.formats.splits import sample_gallery_trials

    trial_rows = sample_gallery_trials([t.pid for t in gallery_l], [t.camid for t in gallery_l],
                                       GALLERY_CAMS[mode], int(shots), int(trials),
                                       int(trial_seed))
    shot_name = "single" if int(shots) == 1 else "multi"
    meta = {"protocol": f"sysu-{mode}-search-{shot_name}-shot-{int(trials)}-trials",
            "mode": mode, "shots": int(shots), "trial_seed": int(trial_seed),
            "train_ids": train_ids, "ignore": "sysu_cam3_cam2", "query_modality": "infrared",
            "trials": [r.tolist() for r in trial_rows]}
    return TrackletSet(train_l, query_l, gallery_l, "sysumm01", len(CAMERAS), root=root,
                       meta=meta)
