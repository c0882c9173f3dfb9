"""iLIDS-VID (Wang et al., ECCV 2014) video re-ID layout.

Layout (``root`` is the folder that holds both entries, as in the original archive; passing
``i-LIDS-VID`` itself also works when the split folder sits beside it)::

    root/i-LIDS-VID/sequences/cam1/person001/cam1_person001_00317.png ...
    root/i-LIDS-VID/sequences/cam2/person001/cam2_person001_00022.png ...
    root/train-test people splits/train_test_splits_ilidsvid.mat     key ls_set, 10 x 300

Split convention (as the dataset's evaluation code and torchreid use it): each row of ``ls_set``
is a permutation of 1..P, 1-based positions in the *sorted* list of person folders (the folder
numbers run to 319 with gaps, so they are positions, not folder numbers). The first half of a row
are the test people, the second half the train people. Option ``split`` (row, default 0).

Query = cam1 tracks of the test people, gallery = cam2 tracks; train = both cameras of the train
people. pid = the number in the person folder name; camid 0 = cam1, 1 = cam2; frames sorted by
their frame number; ``tid`` counts tracklets within each split.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, load_mat, require_dir
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

CAMERAS = ("cam1", "cam2")
SPLITS_DIR = "train-test people splits"
SPLITS_FILE = "train_test_splits_ilidsvid.mat"
_PERSON = re.compile(r"person(\d+)")


def _locate(root: Path) -> tuple[Path, Path]:
    """(the sequences folder, the splits .mat)."""
    base = root / "i-LIDS-VID" if (root / "i-LIDS-VID").is_dir() else root
    seq = require_dir(base / "sequences", "the iLIDS-VID i-LIDS-VID/sequences/ folder", root)
    for cand in (root / SPLITS_DIR / SPLITS_FILE, base.parent / SPLITS_DIR / SPLITS_FILE):
        if cand.is_file():
            return seq, cand
    raise DatasetError(root / SPLITS_DIR / SPLITS_FILE,
                       "the iLIDS-VID split file (beside i-LIDS-VID/)", "no such file")


def _people(cam_dir: Path) -> list[str]:
    names = sorted(list_dir(cam_dir, dirs=True))
    for n in names:
        if _PERSON.fullmatch(n) is None:
            raise DatasetError(cam_dir / n, "a person folder named like person001", repr(n))
    if not names:
        raise DatasetError(cam_dir, "person folders named like person001", "none")
    return names


def _frames(folder: Path, cam: str, person: str) -> tuple[Path, ...]:
    pattern = re.compile(rf"{cam}_{person}_(\d+)\.png")
    numbered = []
    for name in list_dir(folder, dirs=False):
        if not name.lower().endswith(".png"):
            continue
        m = pattern.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, f"a frame named like {cam}_{person}_00001.png",
                               repr(name))
        numbered.append((int(m.group(1)), name))
    if not numbered:
        raise DatasetError(folder, f"at least one {cam}_{person}_NNNNN.png frame",
                           "an empty tracklet")
    numbered.sort()
    return child_paths(folder, [n for _, n in numbered])


def _split_rows(mat_path: Path, split: int, n_people: int) -> tuple[list[int], list[int]]:
    ls_set = load_mat(mat_path, "ls_set")
    if ls_set.ndim != 2 or ls_set.shape[1] % 2 or ls_set.shape[1] == 0:
        raise DatasetError(mat_path, "'ls_set' of shape (splits, people) with an even number "
                           "of people", f"shape {ls_set.shape}")
    if not 0 <= split < ls_set.shape[0]:
        raise ConfigError(f"ilidsvid: split={split}; expected 0..{ls_set.shape[0] - 1} "
                          f"({mat_path} holds {ls_set.shape[0]} splits)")
    row = ls_set[split]
    if not np.all(row == np.round(row)):
        raise DatasetError(mat_path, f"ls_set row {split + 1}: integer positions", "fractions")
    row = row.astype(np.int64)
    if row.min() < 1 or row.max() > n_people:
        raise DatasetError(mat_path, f"ls_set row {split + 1}: positions 1..{n_people} in the "
                           f"sorted list of the {n_people} person folders",
                           f"values {row.min()}..{row.max()}")
    if len(np.unique(row)) != len(row):
        raise DatasetError(mat_path, f"ls_set row {split + 1}: distinct people", "repeats")
    half = len(row) // 2
    return sorted((row[half:] - 1).tolist()), sorted((row[:half] - 1).tolist())


@register("ilidsvid")
def read(root: Path, split: int = 0) -> TrackletSet:
    """Read iLIDS-VID sequences; see the module docstring."""
    root = Path(root)
    seq, mat_path = _locate(root)
    cam_dirs = [require_dir(seq / c, f"the iLIDS-VID sequences/{c}/ folder", root) for c in CAMERAS]
    people = _people(cam_dirs[0])
    other = _people(cam_dirs[1])
    if other != people:
        diff = sorted(set(people) ^ set(other))
        raise DatasetError(cam_dirs[1], f"the same person folders as {cam_dirs[0]}",
                           f"differences {diff[:5]}")
    train_pos, test_pos = _split_rows(mat_path, int(split), len(people))

    def tracks(positions: list[int], cams: tuple[int, ...]) -> list[Tracklet]:
        out = []
        for i in positions:
            person = people[i]
            pid = int(_PERSON.fullmatch(person).group(1))  # type: ignore[union-attr]
            for c in cams:
                frames = _frames(cam_dirs[c] / person, CAMERAS[c], person)
                out.append(Tracklet(frames, pid, c, len(out)))
        return out

    train = tracks(train_pos, (0, 1))
    query, gallery = tracks(test_pos, (0,)), tracks(test_pos, (1,))
    meta = {"split": int(split), "splits_file": str(mat_path)}
    return TrackletSet(train, query, gallery, "ilidsvid", 2, root=root, meta=meta)
