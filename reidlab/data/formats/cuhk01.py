"""CUHK01 (Li, Zhao & Wang, ACCV 2012): 971 people, two camera views, two images each.

Layout (``root`` holds ``campus/``, or is ``campus`` itself)::

    root/campus/NNNNMMM.png       NNNN = person 0001..0971, MMM = image 001..004
                                  001, 002: camera A (camid 0);  003, 004: camera B (camid 1)
    root/splits_cuhk01.json       written on first use: 10 seeded 485 / 486 identity splits

The protocol of the literature: half the people (485) for training, the other half (486) for
testing, 10 random splits, results averaged over them. ``split`` (0..9) picks one; the splits
are drawn with ``split_seed`` (default 0) and written beside the data the first time
(``reidlab.data.formats.splits``); an existing file is read and checked instead.

Test: query = camera A images of the test people; the gallery pool = their camera B images.
The evaluation is single-shot: ``trials`` (10) galleries of one camera-B image per person, drawn
with ``trial_seed`` (the SYSU-MM01 machinery, ``reidlab.eval.crossmodal``), results the mean over
them. Train = both cameras of the training people. pid = NNNN; ``tid`` counts images per split.
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, require_dir
from reidlab.data.formats.splits import load_or_write_splits, pick_split
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

SPLITS_FILE = "splits_cuhk01.json"
_NAME = re.compile(r"(\d{4})(\d{3})\.png")


def read_campus(folder: Path) -> dict[int, list[tuple[str, int]]]:
    """person → [(file name, camid)] of ``campus/``; a .png named otherwise is an error."""
    people: dict[int, list[tuple[str, int]]] = {}
    for name in sorted(list_dir(folder, dirs=False)):
        if not name.lower().endswith(".png"):
            continue  # Thumbs.db and the like
        m = _NAME.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, "a CUHK01 image named NNNNMMM.png like "
                               "0001001.png (person, image 001-004)", repr(name))
        pid, img = int(m.group(1)), int(m.group(2))
        if not 1 <= img <= 4 or pid < 1:
            raise DatasetError(folder / name, "person 0001.. and image 001-004 (001-002 camera "
                               "A, 003-004 camera B)", f"person {pid}, image {img:03d}")
        people.setdefault(pid, []).append((name, 0 if img <= 2 else 1))
    if not people:
        raise DatasetError(folder, "CUHK01 images named NNNNMMM.png", "no .png files")
    return people


def single_shot_set(name: str, root: Path, train_items, query_items, gallery_items, *,
                    num_cameras: int, gallery_cams: tuple[int, ...], shots: int, trials: int,
                    trial_seed: int, meta: dict) -> TrackletSet:
    """A TrackletSet of one-frame tracklets from ``(folder, file name, pid, camid)`` items,
    with single-shot gallery trials in ``meta`` (shared by CUHK01 and classic CUHK03)."""
    def tracks(items):
        return [Tracklet(child_paths(folder, (fname,)), pid, cam, i)
                for i, (folder, fname, pid, cam) in enumerate(items)]

    train, query, gallery = tracks(train_items), tracks(query_items), tracks(gallery_items)
    if not query or not gallery:
        raise DatasetError(root, f"{name}: test people with images in both camera views",
                           f"{len(query)} query and {len(gallery)} gallery images")
    if int(trials) < 1:
        raise ConfigError(f"{name}: trials={trials!r}; expected an integer >= 1")
    from reidlab.data.formats.splits import sample_gallery_trials

    rows = sample_gallery_trials([t.pid for t in gallery], [t.camid for t in gallery],
                                 gallery_cams, int(shots), int(trials), int(trial_seed))
    meta = {**meta, "trials": [r.tolist() for r in rows], "ignore": None,
            "trial_seed": int(trial_seed)}
    return TrackletSet(train, query, gallery, name, num_cameras, root=root, meta=meta)


@register("cuhk01")
def read(root: Path, split: int = 0, split_seed: int = 0, trials: int = 10,
         trial_seed: int = 0) -> TrackletSet:
    """Read CUHK01; see the module docstring."""
    root = Path(root)
    base = root if root.name == "campus" and not (root / "campus").is_dir() else root / "campus"
    folder = require_dir(base, "the CUHK01 campus/ folder of NNNNMMM.png images", root)
    people = read_campus(folder)
    splits_path = folder.parent / SPLITS_FILE
    splits, _ = load_or_write_splits(splits_path, "cuhk01", sorted(people), int(split_seed))
    chosen = pick_split(splits, int(split), "cuhk01", splits_path)
    train = [(folder, n, p, c) for p in chosen["train"] for n, c in people[p]]
    query = [(folder, n, p, c) for p in chosen["test"] for n, c in people[p] if c == 0]
    gallery = [(folder, n, p, c) for p in chosen["test"] for n, c in people[p] if c == 1]
    meta = {"protocol": f"cuhk01-split-{int(split)}-single-shot-{int(trials)}-trials",
            "split": int(split), "num_splits": len(splits), "splits_file": str(splits_path),
            "split_seed": int(split_seed)}
    return single_shot_set("cuhk01", root, train, query, gallery, num_cameras=2,
                           gallery_cams=(1,), shots=1, trials=trials, trial_seed=trial_seed,
                           meta=meta)
