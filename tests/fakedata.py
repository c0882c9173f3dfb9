"""Build tiny on-disk dataset trees for the reader tests.

Frames are empty placeholder files: the readers never open images. Every writer returns what
it wrote so tests can compare the reader's output with an independent account of the tree.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.io

MARS_INFO = Path(__file__).resolve().parents[2] / "shared/fixtures/mars_info"


def scratch_dir(prefix: str, min_inodes: int = 0) -> Path:
    """A new temporary folder, on tmpfs (/dev/shm) when it has room: creating and deleting many
    placeholder files there is 10-50x faster than on a shared disk. The caller removes it."""
    shm = Path("/dev/shm")
    use_shm = False
    if shm.is_dir() and os.access(shm, os.W_OK):
        st = os.statvfs(shm)
        use_shm = st.f_favail > 2 * min_inodes + 10_000 and st.f_bavail * st.f_frsize > 2**30
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if use_shm else None))


def touch(path: Path) -> Path:
    """Create an empty file (and its parent folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def touch_many(folder: Path, names: Iterable[str]) -> None:
    """Create empty files ``folder/name`` quickly (os.mknod, no Path objects per file)."""
    os.makedirs(folder, exist_ok=True)
    base = str(folder) + os.sep
    for n in names:
        os.mknod(base + n)


# --------------------------------------------------------------------------------------- MARS
def load_real_mars_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train table, test table, query_IDX) from ../shared/fixtures/mars_info (1-based, raw)."""
    tr = scipy.io.loadmat(MARS_INFO / "tracks_train_info.mat")["track_train_info"]
    te = scipy.io.loadmat(MARS_INFO / "tracks_test_info.mat")["track_test_info"]
    q = scipy.io.loadmat(MARS_INFO / "query_IDX.mat")["query_IDX"]
    return tr, te, q


def mars_folder(pid: int) -> str:
    return "00-1" if pid == -1 else f"{pid:04d}"


def mars_names(table: np.ndarray) -> list[str]:
    """A name list consistent with a track table: row i's frames get names of its pid and camera,
    a per-(pid, camera) tracklet counter T and a frame counter F, at lines start..end."""
    n = int(table[:, 1].max())
    names: list[str | None] = [None] * n
    counter: dict[tuple[int, int], int] = defaultdict(int)
    for start, end, pid, cam in table.tolist():
        counter[pid, cam] += 1
        prefix = f"{mars_folder(pid)}C{cam}T{counter[pid, cam]:04d}F"
        names[start - 1:end] = [f"{prefix}{f:03d}.jpg" for f in range(1, end - start + 2)]
    missing = [i + 1 for i, x in enumerate(names) if x is None]
    if missing:
        raise ValueError(f"table leaves name-list lines uncovered, e.g. {missing[:3]}")
    return names  # type: ignore[return-value]


def save_mat(path: Path, key: str, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {key: np.asarray(array)})


def write_mars(root: Path, train: np.ndarray, test: np.ndarray, query_idx,
               frames: str = "all") -> dict[str, list[str]]:
    """Write a MARS tree for the given tables. ``frames``: "all" (every frame file), "ends"
    (only the first and last frame of each track, all the reader checks) or "none"."""
    root = Path(root)
    info = root / "info"
    info.mkdir(parents=True, exist_ok=True)
    save_mat(info / "tracks_train_info.mat", "track_train_info", np.asarray(train, np.int32))
    save_mat(info / "tracks_test_info.mat", "track_test_info", np.asarray(test, np.int32))
    save_mat(info / "query_IDX.mat", "query_IDX", np.asarray(query_idx, np.uint16).reshape(1, -1))
    out = {}
    for split, table in (("train", np.asarray(train)), ("test", np.asarray(test))):
        names = mars_names(table)
        out[split] = names
        (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        bbox = root / f"bbox_{split}"
        bbox.mkdir(exist_ok=True)
        if frames == "all":
            by_folder = defaultdict(list)
            for n in names:
                by_folder[n[:4]].append(n)
            for folder, files in by_folder.items():
                touch_many(bbox / folder, files)
        elif frames == "ends":
            by_folder = defaultdict(set)
            for start, end, *_ in table.tolist():
                for n in (names[start - 1], names[end - 1]):
                    by_folder[n[:4]].add(n)
            for folder, files in by_folder.items():
                touch_many(bbox / folder, sorted(files))
        elif frames != "none":
            raise ValueError(frames)
    return out


def small_mars_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tiny MARS protocol: 2 train ids over 3 cameras; test with junk, a distractor, 2 ids.

    Test rows (1-based): 1 junk, 2 distractor, 3-4 pid 3 (cams 1, 2), 5-7 pid 4 (cams 1, 3, 3);
    queries are rows 3 and 5.
    """
    train = np.array([[1, 4, 1, 1], [5, 7, 1, 2], [8, 12, 2, 2], [13, 15, 2, 3]])
    test = np.array([[1, 3, -1, 2], [4, 5, 0, 1], [6, 9, 3, 1], [10, 12, 3, 2],
                     [13, 15, 4, 1], [16, 20, 4, 3], [21, 22, 4, 3]])
    return train, test, np.array([3, 5])


# ------------------------------------------------------------------------ Market/Duke/MSMT17
def write_image_split(folder: Path, names: Iterable[str]) -> list[str]:
    names = list(names)
    touch_many(folder, names)
    return names


def write_msmt(root: Path, lists: dict[str, list[tuple[str, int]]], v2: bool = False,
               make_files: bool = True) -> None:
    """lists: {"train"|"val"|"query"|"gallery": [(relpath, pid), ...]}."""
    root.mkdir(parents=True, exist_ok=True)
    dirs = {"train": "mask_train_v2" if v2 else "train", "val": "mask_train_v2" if v2 else "train",
            "query": "mask_test_v2" if v2 else "test", "gallery": "mask_test_v2" if v2 else "test"}
    for split, rows in lists.items():
        (root / f"list_{split}.txt").write_text("".join(f"{p} {pid}\n" for p, pid in rows))
        if make_files:
            for p, _ in rows:
                touch(root / dirs[split] / p)
    for d in set(dirs.values()):
        (root / d).mkdir(exist_ok=True)


# ---------------------------------------------------------------------------- PRID / iLIDS
def write_prid(root: Path, lengths: dict[str, dict[int, int]], splits: list[dict]) -> Path:
    """lengths: {"cam_a": {person: n_frames}, "cam_b": {...}}; writes root/prid_2011/..."""
    base = root / "prid_2011" / "multi_shot"
    for cam, people in lengths.items():
        for person, n in people.items():
            frames = [f"{i:04d}.png" for i in range(1, n + 1)]
            touch_many(base / cam / f"person_{person:04d}", frames)
    (root / "splits_prid2011.json").write_text(json.dumps(splits))
    return root


def write_ilids(root: Path, lengths: dict[str, dict[int, int]], ls_set: np.ndarray) -> Path:
    """lengths: {"cam1": {person: n_frames}, "cam2": {...}}; ls_set: splits x people."""
    base = root / "i-LIDS-VID" / "sequences"
    for cam, people in lengths.items():
        for person, n in people.items():
            pdir = base / cam / f"person{person:03d}"
            # frame numbers are not contiguous in the real data; make them irregular here too
            touch_many(pdir, [f"{cam}_person{person:03d}_{(7 * i + 13):05d}.png" for i in range(n)])
    save_mat(root / "train-test people splits" / "train_test_splits_ilidsvid.mat", "ls_set",
             np.asarray(ls_set, dtype=np.float64))
    return root


# ----------------------------------------------------------------------------------- folder
def write_folder(root: Path, tree: dict[str, dict[str, dict[str, list[str]]]]) -> Path:
    """tree: {split: {camera: {person: [frame names]}}}."""
    for split, cams in tree.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for cam, people in cams.items():
            for person, frames in people.items():
                touch_many(root / split / cam / person, frames)
    return root
