"""PRID-2011 multi-shot (Hirzer et al., SCIA 2011) video re-ID layout.

Layout (``root`` is the folder that holds ``prid_2011/``, or ``prid_2011`` itself)::

    root/prid_2011/multi_shot/cam_a/person_0001/0001.png ...
    root/prid_2011/multi_shot/cam_b/person_0001/0001.png ...
    root/splits_prid2011.json        [{"train": [...], "test": [...]}, ...]

Split entries are person folder names ("person_0001", as in torchreid's json) or person numbers
(1 or "1"). Options: ``split`` (index into the json, default 0) and ``min_seq_len`` (default 27).

The filter: the standard protocol (Wang et al., ECCV 2014, followed by the RNN/torchreid line of
work) uses only the people whose sequences in *both* cameras are long enough, 178 of the 200
people seen by both cameras. torchreid does not filter at load time; its json already lists only
those 178 people (89 train / 89 test per split). We apply the filter to the people of the chosen
split: a person is kept only if both the cam_a and the cam_b sequence have ``>= min_seq_len``
frames, so with torchreid's json the filter removes nobody, and with a json over all 200 people it
gives the standard subset. ``min_seq_len=0`` reproduces torchreid exactly. Dropped people are
listed in ``meta["dropped_short"]``.

Query = cam_a tracks of the test people, gallery = cam_b tracks of the test people, train = both
cameras of the train people. pid = the person number; camid 0 = cam_a, 1 = cam_b; ``tid`` counts
tracklets within each split.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, require_dir
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

CAMERAS = ("cam_a", "cam_b")
SPLITS_FILE = "splits_prid2011.json"
_FRAME = re.compile(r"(\d+)\.png")
_PERSON = re.compile(r"(?:person_)?(\d+)")


def _locate(root: Path) -> tuple[Path, Path]:
    """(the prid_2011 folder, the splits json)."""
    base = root / "prid_2011" if (root / "prid_2011").is_dir() else root
    require_dir(base / "multi_shot", "the PRID-2011 prid_2011/multi_shot/ folder", root)
    for candidate in (root / SPLITS_FILE, base / SPLITS_FILE, base.parent / SPLITS_FILE):
        if candidate.is_file():
            return base, candidate
    raise DatasetError(root / SPLITS_FILE,
                       f"the PRID-2011 split file {SPLITS_FILE} (beside prid_2011/)",
             "no such file")


def _read_split(path: Path, split: int) -> tuple[list[int], list[int]]:
    what = 'a JSON list of {"train": [...], "test": [...]} person ids'
    try:
        splits = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise DatasetError(path, what, f"invalid JSON ({err})") from None
    if not isinstance(splits, list) or not splits:
        raise DatasetError(path, what, type(splits).__name__)
    if not 0 <= split < len(splits):
        raise ConfigError(f"prid2011: split={split}; expected 0..{len(splits) - 1} "
                          f"({path} holds {len(splits)} splits)")
    entry = splits[split]
    if not isinstance(entry, dict) or not isinstance(entry.get("train"), list) \
            or not isinstance(entry.get("test"), list):
        raise DatasetError(path, f"split {split}: {what}", repr(entry)[:80])
    out = []
    for part in ("train", "test"):
        ids = []
        for item in entry[part]:
            m = _PERSON.fullmatch(str(item))
            if m is None:
                raise DatasetError(path,
                                   f"split {split} {part}: person ids like 'person_0001' or 1",
                                   repr(item))
            ids.append(int(m.group(1)))
        out.append(ids)
    train, test = out
    both = sorted(set(train) & set(test))
    if both:
        raise DatasetError(path, f"split {split}: disjoint train and test people",
                           f"both hold {both[:5]}")
    return train, test


def _frames(folder: Path, listed_in: str = "") -> tuple[Path, ...]:
    require_dir(folder, "a PRID-2011 person folder of NNNN.png frames" + listed_in)
    numbered = []
    for name in list_dir(folder, dirs=False):
        if not name.lower().endswith(".png"):
            continue
        m = _FRAME.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, "a frame named like 0001.png", repr(name))
        numbered.append((int(m.group(1)), name))
    if not numbered:
        raise DatasetError(folder, "at least one NNNN.png frame", "an empty tracklet")
    numbered.sort()
    return child_paths(folder, [n for _, n in numbered])


@register("prid2011")
def read(root: Path, split: int = 0, min_seq_len: int = 27) -> TrackletSet:
    """Read PRID-2011 multi-shot; see the module docstring."""
    root = Path(root)
    base, splits_path = _locate(root)
    cams = [require_dir(base / "multi_shot" / c, f"the PRID-2011 multi_shot/{c}/ folder", root)
            for c in CAMERAS]
    train_ids, test_ids = _read_split(splits_path, int(split))
    listed = f" (person {{}} of split {split} in {splits_path.name})"
    frames = {p: [_frames(cam / f"person_{p:04d}", listed.format(p)) for cam in cams]
              for p in train_ids + test_ids}
    dropped = sorted(p for p, seqs in frames.items() if min(map(len, seqs)) < min_seq_len)
    keep = set(frames) - set(dropped)

    def tracks(ids: list[int], cam_indices: tuple[int, ...]) -> list[Tracklet]:
        out = []
        for p in ids:
            if p in keep:
                for c in cam_indices:
                    out.append(Tracklet(frames[p][c], p, c, len(out)))
        return out

    train = tracks(train_ids, (0, 1))
    query, gallery = tracks(test_ids, (0,)), tracks(test_ids, (1,))
    if not query:
        raise DatasetError(splits_path, f"split {split}: test people with >= {min_seq_len} frames "
                           "in both cameras", "none")
    meta = {"split": int(split), "min_seq_len": int(min_seq_len), "dropped_short": dropped,
            "splits_file": str(splits_path)}
    return TrackletSet(train, query, gallery, "prid2011", 2, root=root, meta=meta)
