"""MARS (Zheng et al., ECCV 2016) video re-ID layout, also written by SynthCams.

Layout::

    root/bbox_train/<pid4>/<pid4>C<c>T<t4>F<f3>.jpg      (junk pid -1 lives in folder "00-1")
    root/bbox_test/...
    root/info/train_name.txt          frame file names, one a line, tracks are contiguous runs
    root/info/test_name.txt
    root/info/tracks_train_info.mat   track_train_info: rows (start, end, pid, cam), start/end
    root/info/tracks_test_info.mat    track_test_info    1-based inclusive into the name list
    root/info/query_IDX.mat           query_IDX: 1-based rows of the test table

Protocols (option ``protocol``):

- ``"official"`` (default, the MARS evaluation code): the query tracks stay in the gallery; the
  evaluation ignores same-pid same-camera gallery items, so a query never matches itself.
- ``"torchreid"``: the query rows are removed from the gallery.

pid -1 (junk) is dropped everywhere; pid 0 (distractors) is kept in the gallery. Train pids keep
their real values (methods relabel themselves). ``tid`` is the 0-based row of the track in its
table, so a query track and its copy in the official gallery share a tid.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, gc_paused, load_mat, require_dir, require_file
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

# written last by reidlab.synth (SynthCams): a MARS-layout folder holding it is SynthCams
SYNTHCAMS_MARKER = "SYNTHCAMS_COMPLETE.json"

PROTOCOLS = ("official", "torchreid")
NAME_RE = re.compile(r"(\d{4}|00-1)C(\d+)T(\d{4,})F(\d{3,})\.jpg")
_TABLES = {
    "train": ("tracks_train_info.mat", "track_train_info", "train_name.txt"),
    "test": ("tracks_test_info.mat", "track_test_info", "test_name.txt"),
}


def parse_name(name: str) -> tuple[int, int] | None:
    """(pid, camera 1-based) encoded in a MARS frame name, or None if malformed."""
    m = NAME_RE.fullmatch(name)
    if m is None:
        return None
    pid = -1 if m.group(1) == "00-1" else int(m.group(1))
    return pid, int(m.group(2))


def _read_names(path: Path, root: Path) -> list[str]:
    require_file(path, "a list of MARS frame names, one a line", root)
    text = path.read_text()
    if "/" in text or "\\" in text:
        raise DatasetError(path, "bare frame names like 0001C1T0001F001.jpg", "names with folders")
    names = text.split()
    if not names:
        raise DatasetError(path, "a list of MARS frame names, one a line", "an empty file")
    return names


def _read_table(info: Path, split: str, root: Path) -> np.ndarray:
    mat_name, key, _ = _TABLES[split]
    path = info / mat_name
    table = load_mat(path, key, root=root)
    if table.ndim != 2 or table.shape[1] != 4 or table.shape[0] == 0:
        raise DatasetError(path, f"'{key}' of shape (tracks, 4) with rows start,end,pid,cam",
                           f"shape {table.shape}")
    return table.astype(np.int64)


def _check_rows(table: np.ndarray, names: list[str], split: str, info: Path) -> None:
    """Every row must index a non-empty run of the name list whose first and last names encode
    the row's pid and camera."""
    mat_name, _, names_file = _TABLES[split]
    path = info / mat_name
    n = len(names)
    for i, (start, end, pid, cam) in enumerate(table.tolist()):
        where = f"row {i + 1}"
        if end < start:
            raise DatasetError(path, f"{where}: a non-empty track (start <= end)",
                               f"empty track start={start}, end={end}")
        if start < 1 or end > n:
            bad = f"start={start}" if start < 1 else f"end={end}"
            raise DatasetError(path, f"{where}: frames 1..{n} of {names_file}", bad)
        if cam < 1:
            raise DatasetError(path, f"{where}: a 1-based camera number", f"cam={cam}")
        for line in (start, end):
            got = parse_name(names[line - 1])
            if got is None:
                raise DatasetError(info / names_file,
                                   f"line {line}: a name like 0001C1T0001F001.jpg",
                                   repr(names[line - 1]))
            if got != (pid, cam):
                raise DatasetError(
                    path, f"{where}: frames of pid {pid}, camera {cam} (as in {names_file} "
                    f"line {line})", f"{names[line - 1]} (pid {got[0]}, camera {got[1]})")


def _tracklets(table: np.ndarray, rows, names: list[str], folder: Path,
               frames_file: Path) -> list[Tracklet]:
    """Tracklets of the given table rows; checks that each first/last frame exists on disk."""
    out = []
    folders: dict[str, tuple[Path, str]] = {}
    exists = os.path.exists
    rows_list = table.tolist()
    for r in rows:
        start, end, pid, cam = rows_list[r]
        run = names[start - 1:end]
        sub = run[0][:4]
        pdir, prefix = folders.get(sub) or folders.setdefault(
            sub, (folder / sub, str(folder / sub) + os.sep))
        for line, name in ((start, run[0]), (end, run[-1])):
            if not exists(prefix + name):
                raise DatasetError(pdir / name,
                                   f"the frame listed at {frames_file.name} line {line}",
                                   "no such file")
        out.append(Tracklet(child_paths(pdir, run), pid, cam - 1, r))
    return out


@register("mars")
def read(root: Path, protocol: str = "official") -> TrackletSet:
    """Read a MARS-layout dataset; see the module docstring for the layout and protocols."""
    with gc_paused():
        return _read(Path(root), protocol)


def _read(root: Path, protocol: str) -> TrackletSet:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"mars: protocol={protocol!r}; expected one of {PROTOCOLS}")
    what = "a MARS dataset folder with bbox_train/, bbox_test/ and info/"
    require_dir(root, what)
    info = require_dir(root / "info", "the MARS info/ folder (name lists and track tables)", root)
    bbox = {s: require_dir(root / f"bbox_{s}", f"the MARS bbox_{s}/ frame folder", root)
            for s in ("train", "test")}

    tables, names = {}, {}
    for split in ("train", "test"):
        names[split] = _read_names(info / _TABLES[split][2], root)
        tables[split] = _read_table(info, split, root)
        _check_rows(tables[split], names[split], split, info)

    test = tables["test"]
    q_path = info / "query_IDX.mat"
    q_idx = load_mat(q_path, "query_IDX", root=root).ravel().astype(np.int64)
    if q_idx.size == 0:
        raise DatasetError(q_path, "at least one query row", "an empty query_IDX")
    if q_idx.min() < 1 or q_idx.max() > len(test):
        bad = q_idx[(q_idx < 1) | (q_idx > len(test))][0]
        raise DatasetError(q_path, f"1-based rows 1..{len(test)} of tracks_test_info.mat",
                           f"row {bad}")
    if len(np.unique(q_idx)) != len(q_idx):
        raise DatasetError(q_path, "distinct query rows", "repeated rows")
    q_rows = q_idx - 1

    keep_test = test[:, 2] != -1
    is_query = np.zeros(len(test), bool)
    is_query[q_rows] = True
    query_rows = [int(r) for r in q_rows if keep_test[r]]
    gallery_mask = keep_test if protocol == "official" else keep_test & ~is_query
    train_rows = np.flatnonzero(tables["train"][:, 2] != -1)

    train = _tracklets(tables["train"], train_rows.tolist(), names["train"], bbox["train"],
                       info / "train_name.txt")
    test_rows = np.flatnonzero(gallery_mask | (is_query & keep_test)).tolist()
    by_row = {t.tid: t for t in _tracklets(test, test_rows, names["test"], bbox["test"],
                                          info / "test_name.txt")}
    query = [by_row[r] for r in query_rows]
    gallery = [by_row[r] for r in np.flatnonzero(gallery_mask).tolist()]
    num_cameras = int(max(tables["train"][:, 3].max(), test[:, 3].max()))
    meta = {
        "protocol": protocol,
        "query_in_gallery": protocol == "official",
        "junk_tracks_dropped": {"train": int(len(tables["train"]) - len(train_rows)),
                                "test": int((~keep_test).sum())},
    }
    # SynthCams is written in this layout; its completion marker names it
    name = "synthcams" if (root / SYNTHCAMS_MARKER).is_file() else "mars"
    return TrackletSet(train, query, gallery, name, num_cameras, root=root, meta=meta)
