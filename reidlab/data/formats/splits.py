"""Seeded identity splits of the two-camera sets (CUHK01, VIPeR) and their single-shot galleries;
the seeded gallery trials of a protocol that samples its gallery (:func:`sample_gallery_trials`:
CUHK01, SYSU-MM01; evaluated by ``reidlab.eval.crossmodal``).

The literature splits the identities of these sets at random into a training half and a test
half (CUHK01: 485 / 486 of 971, VIPeR: 316 / 316 of 632) and reports the mean over 10 such
splits. reidlab draws the 10 splits from a seed, writes them beside the data as a JSON file the
first time (so the split lists can be read, cited and reused), and reads that file afterwards:
a file that is already there (also one written by hand) is used as it is.

File format::

    {"dataset": "cuhk01", "seed": 0, "num_train": 485,
     "splits": [{"train": [pid, ...], "test": [pid, ...]}, ...]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from reidlab.errors import ConfigError, DatasetError

NUM_SPLITS = 10


def draw_splits(pids: list[int], seed: int, num_splits: int = NUM_SPLITS) -> list[dict]:
    """``num_splits`` random halves of ``pids``: ``train`` = the first ``len // 2`` of a
    permutation drawn with ``numpy.random.default_rng([seed, k])``, ``test`` the rest."""
    pids = sorted(int(p) for p in pids)
    n_train = len(pids) // 2
    out = []
    for k in range(num_splits):
        order = np.random.default_rng([seed, k]).permutation(len(pids))
        train = sorted(pids[i] for i in order[:n_train])
        test = sorted(pids[i] for i in order[n_train:])
        out.append({"train": train, "test": test})
    return out


def _check(path: Path, splits, known: set[int]) -> list[dict]:
    what = 'a JSON object {"splits": [{"train": [pid, ...], "test": [pid, ...]}, ...]}'
    if not isinstance(splits, list) or not splits:
        raise DatasetError(path, what, "no list of splits")
    for k, s in enumerate(splits):
        if not isinstance(s, dict) or not isinstance(s.get("train"), list) \
                or not isinstance(s.get("test"), list):
            raise DatasetError(path, f"split {k}: {what}", repr(s)[:80])
        for part in ("train", "test"):
            bad = [p for p in s[part] if not isinstance(p, int) or isinstance(p, bool)]
            if bad:
                raise DatasetError(path, f"split {k} {part}: integer person ids", repr(bad[:3]))
            missing = sorted(set(s[part]) - known)
            if missing:
                raise DatasetError(path, f"split {k} {part}: people that have images in the "
                                   "dataset", f"no image of person {missing[:5]}")
        both = sorted(set(s["train"]) & set(s["test"]))
        if both:
            raise DatasetError(path, f"split {k}: disjoint train and test people",
                               f"both hold {both[:5]}")
        if not s["test"]:
            raise DatasetError(path, f"split {k}: at least one test person", "none")
    return splits


def load_or_write_splits(path: Path, name: str, pids: list[int], seed: int) -> tuple[list[dict], str]:
    """The splits in ``path`` (checked against ``pids``), or new seeded ones written there.
    Returns (splits, how): how is ``"read"``, ``"written"`` or ``"drawn"`` (the folder is not
    writable: the same seeded splits, not saved)."""
    known = {int(p) for p in pids}
    if path.exists():
        try:
            obj = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise DatasetError(path, f"the {name} split list (JSON)", f"invalid JSON ({err})") \
                from None
        if not isinstance(obj, dict):
            raise DatasetError(path, 'a JSON object {"splits": [...]}', type(obj).__name__)
        if obj.get("seed") is not None and obj["seed"] != seed:
            raise ConfigError(f"{name}: split_seed={seed}, but {path} holds the splits drawn "
                              f"with seed {obj['seed']}; pass split_seed={obj['seed']}, or move "
                              "the file away to draw new ones")
        return _check(path, obj.get("splits"), known), "read"
    splits = draw_splits(sorted(known), seed)
    obj = {"dataset": name, "seed": int(seed), "num_train": len(known) // 2, "splits": splits}
    from reidlab.atomic import write_json_atomic_plain

    try:
        write_json_atomic_plain(path, obj, indent=None)
        return splits, "written"
    except OSError:
        return splits, "drawn"


def pick_split(splits: list[dict], split: int, name: str, path: Path) -> dict:
    if not isinstance(split, int) or not 0 <= split < len(splits):
        raise ConfigError(f"{name}: split={split!r}; expected 0..{len(splits) - 1} ({path} "
                          f"holds {len(splits)} splits)")
    return splits[split]


def sample_gallery_trials(pids: Sequence[int], camids: Sequence[int], cameras: Sequence[int],
                          shots: int, trials: int, seed: int = 0) -> list[np.ndarray]:
    """Indices (into the gallery pool) of each trial's gallery: for every camera in ``cameras``
    and every identity (ascending), ``shots`` images drawn without replacement (all of them
    when fewer), in that order. Trial ``t`` draws with ``numpy.random.default_rng([seed, t])``,
    so every run and every machine evaluates the same galleries."""
    if shots < 1 or trials < 1:
        raise ConfigError(f"gallery trials: expected shots ≥ 1 and trials ≥ 1, got {shots}, "
                          f"{trials}")
    pids, camids = np.asarray(pids), np.asarray(camids)
    groups = {}
    for cam in cameras:
        for pid in np.unique(pids):
            idx = np.flatnonzero((pids == pid) & (camids == cam))
            if idx.size:
                groups[cam, int(pid)] = idx
    out = []
    for t in range(trials):
        rng = np.random.default_rng([seed, t])
        chosen = [rng.choice(idx, size=min(shots, idx.size), replace=False)
                  for _, idx in sorted(groups.items())]
        out.append(np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64))
    return out
