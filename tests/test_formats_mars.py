"""MARS reader: the real protocol from the real info tables, both protocols, and bad input.

The expected counts are derived from ../shared/fixtures/mars_info with plain numpy below and
checked against the published MARS numbers:

- train: 8298 tracklets of 625 identities (no junk rows in the train table);
- test table: 12180 rows, 870 of them junk (pid -1), 3248 distractor rows (pid 0);
- 1980 queries (query_IDX; none junk or distractor);
- torchreid gallery = rows not in query_IDX and not junk = 12180 - 1980 - 870 = 9330;
- official gallery = every non-junk test row, queries included = 12180 - 870 = 11310.
"""

from __future__ import annotations

import os
import pickle
import shutil
import time

import numpy as np
import pytest

from fakedata import (MARS_INFO, load_real_mars_tables, mars_names, save_mat, scratch_dir,
                      small_mars_tables, touch, write_image_split, write_mars)
from reidlab.data import load_dataset
from reidlab.data.formats.common import child_paths
from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError, DatasetError

needs_real = pytest.mark.skipif(
    not (MARS_INFO / "tracks_test_info.mat").is_file(),
    reason=f"real MARS info tables not found at {MARS_INFO} (the repo expects shared/ beside it)")


# ------------------------------------------------------------------------------- real tables
@pytest.fixture(scope="module")
def real_tables():
    return load_real_mars_tables()


@pytest.fixture(scope="module")
def real_ends_tree(real_tables):
    """Name lists + only the first/last frame of each track: everything the reader touches."""
    root = scratch_dir("reidlab_mars_ends_", min_inodes=50_000)
    try:
        yield root, write_mars(root, *real_tables, frames="ends")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def expected_counts(train, test, query_idx) -> dict:
    """Independent account of the protocol straight from the tables."""
    q = query_idx.ravel().astype(int) - 1
    junk = test[:, 2] == -1
    in_query = np.zeros(len(test), bool)
    in_query[q] = True
    return {
        "train": int((train[:, 2] != -1).sum()),
        "train_ids": len(np.unique(train[train[:, 2] != -1, 2])),
        "query": int((~junk[q]).sum()),
        "gallery_torchreid": int((~junk & ~in_query).sum()),
        "gallery_official": int((~junk).sum()),
        "distractors": int((test[:, 2] == 0).sum()),
    }


@needs_real
def test_real_tables_give_published_numbers(real_tables):
    e = expected_counts(*real_tables)
    assert e == {"train": 8298, "train_ids": 625, "query": 1980, "gallery_torchreid": 9330,
                 "gallery_official": 11310, "distractors": 3248}


def _load_timed(root, protocol):
    """Load and return the CPU seconds it took (process time: the 2 cores of the test machine
    are shared, so wall time measures the neighbours more than the loader)."""
    t0 = time.process_time()
    ds = load_dataset("mars", root, protocol=protocol)
    return ds, time.process_time() - t0


@needs_real
@pytest.mark.parametrize("protocol", ["official", "torchreid"])
def test_real_protocol(real_tables, real_ends_tree, protocol):
    train_t, test_t, q_idx = real_tables
    root, names = real_ends_tree
    ds, seconds = _load_timed(root, protocol)
    assert seconds < 2.0, f"MARS with the real tables took {seconds:.2f} s of CPU"

    assert ds.name == "mars" and ds.num_cameras == 6 and ds.root == root
    assert ds.meta["protocol"] == protocol
    assert len(ds.train) == 8298 and len({t.pid for t in ds.train}) == 625
    assert len(ds.query) == 1980
    assert len(ds.gallery) == (11310 if protocol == "official" else 9330)

    # train keeps real pids (1..1499), cameras 0-based, tids unique within each split
    assert sorted({t.pid for t in ds.train}) == sorted(np.unique(train_t[:, 2]).tolist())
    for split in (ds.train, ds.query, ds.gallery):
        assert len({t.tid for t in split}) == len(split)
        assert {t.camid for t in split} <= set(range(6))
        assert all(t.pid != -1 for t in split)
    assert sum(t.pid == 0 for t in ds.gallery) == 3248
    assert all(t.pid > 0 for t in ds.query)

    # each tracklet is exactly its table row: frames, pid and camera
    for split, table, tracks in (("train", train_t, ds.train), ("test", test_t, ds.query),
                                 ("test", test_t, ds.gallery[::97])):
        for t in tracks[::13]:
            start, end, pid, cam = table[t.tid]
            assert (t.pid, t.camid) == (pid, cam - 1)
            want = names[split][start - 1:end]
            assert [f.name for f in t.frames] == want
            assert t.frames[0] == root / f"bbox_{split}" / want[0][:4] / want[0]

    q_rows = q_idx.ravel().astype(int) - 1
    assert [t.tid for t in ds.query] == q_rows.tolist()
    gallery_tids = {t.tid for t in ds.gallery}
    if protocol == "official":
        assert set(q_rows.tolist()) <= gallery_tids
    else:
        assert not set(q_rows.tolist()) & gallery_tids


@needs_real
@pytest.mark.slow
def test_real_protocol_full_frame_tree(real_tables):
    """Every one of the 1.19 M frames on disk (tmpfs when it has room): the frames of the loaded
    tracklets are exactly the files of the tree minus the junk tracks."""
    n_frames = int(real_tables[0][:, 1].max() + real_tables[1][:, 1].max())
    root = scratch_dir("reidlab_mars_all_", min_inodes=n_frames)
    try:
        write_mars(root, *real_tables, frames="all")
        for protocol, n_gallery in (("official", 11310), ("torchreid", 9330)):
            ds = load_dataset("mars", root, protocol=protocol)
            assert (len(ds.train), len(ds.query), len(ds.gallery)) == (8298, 1980, n_gallery)
        on_disk = set()
        for split in ("train", "test"):
            for folder in os.scandir(root / f"bbox_{split}"):
                if folder.name != "00-1":  # junk tracks are dropped
                    on_disk.update(os.path.join(folder.path, f) for f in os.listdir(folder.path))
        loaded = [str(f) for t in ds.train + ds.gallery + ds.query for f in t.frames]
        assert set(loaded) == on_disk
        assert len(loaded) == len(set(loaded))  # torchreid: no track in two splits
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------- small tree
@pytest.fixture
def small(tmp_path):
    tables = small_mars_tables()
    names = write_mars(tmp_path / "mars", *tables, frames="all")
    return tmp_path / "mars", tables, names


def test_small_tree_both_protocols(small):
    root, (train, test, q), names = small
    off = load_dataset("mars", root)
    assert off.meta["protocol"] == "official"
    assert [(t.pid, t.camid, len(t)) for t in off.train] == [
        (1, 0, 4), (1, 1, 3), (2, 1, 5), (2, 2, 3)]
    assert [(t.pid, t.camid, t.tid) for t in off.query] == [(3, 0, 2), (4, 0, 4)]
    # official gallery: every non-junk row (rows 2-7), queries included; junk row 1 dropped
    assert [t.tid for t in off.gallery] == [1, 2, 3, 4, 5, 6]
    assert off.gallery[0].pid == 0
    tr = load_dataset("mars", root, protocol="torchreid")
    assert tr.meta["protocol"] == "torchreid"
    assert [t.tid for t in tr.gallery] == [1, 3, 5, 6]
    # frames in temporal (name-list) order, under bbox_<split>/<pid4>/
    t = off.gallery[4]
    assert t.frames == tuple(root / "bbox_test" / "0004" / n for n in names["test"][15:20])
    assert [f.name for f in t.frames] == sorted(f.name for f in t.frames)


def test_child_paths_are_lazy_and_equal_plain_paths(tmp_path):
    names = ["0001C1T0001F001.jpg", "0001C1T0001F002.jpg", "0001C1T0001F003.jpg"]
    fast = child_paths(tmp_path / "0001", names)
    plain = tuple(tmp_path / "0001" / n for n in names)
    assert fast == plain and list(fast) == list(plain) and len(fast) == 3
    assert hash(fast) == hash(plain) and [hash(p) for p in fast] == [hash(p) for p in plain]
    assert [str(p) for p in fast] == [str(p) for p in plain]
    assert fast[0].parent == tmp_path / "0001" and fast[-1].suffix == ".jpg"
    assert fast[0].with_suffix(".png").name == "0001C1T0001F001.png"
    assert fast[1:] == plain[1:] and isinstance(fast[1:], type(fast))  # slices stay lazy
    assert fast != plain[:2] and fast != child_paths(tmp_path / "0002", names)
    assert pickle.loads(pickle.dumps(fast)) == plain  # DataLoader workers receive them pickled
    t = Tracklet(fast, 1, 0, 1)
    assert t.frames is fast and len(t) == 3 and t == Tracklet(plain, 1, 0, 1)
    assert Tracklet([str(p) for p in plain], 1, 0, 1).frames == plain  # strings → Paths
    touch(fast[0])
    assert fast[0].exists() and not fast[1].exists()


def test_unknown_protocol(small):
    with pytest.raises(ConfigError, match="protocol"):
        load_dataset("mars", small[0], protocol="mars2016")


# ------------------------------------------------------------------------------- bad input
def _err(root, **kw) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset("mars", root, **kw)
    return str(info.value)


def test_missing_root(tmp_path):
    msg = _err(tmp_path / "nope")
    assert str(tmp_path / "nope") in msg and "no such folder" in msg


def test_missing_bbox_folder(small):
    root = small[0]
    shutil.rmtree(root / "bbox_test")
    msg = _err(root)
    assert str(root / "bbox_test") in msg and "bbox_test/" in msg and "no such folder" in msg


def test_market_tree_passed_as_mars(tmp_path):
    for split in ("bounding_box_train", "bounding_box_test", "query"):
        write_image_split(tmp_path / split, ["0002_c1s1_000451_03.jpg"])
    msg = _err(tmp_path)
    assert str(tmp_path / "info") in msg and "Market-1501" in msg


def test_table_end_beyond_name_list(small):
    root, (train, test, q), _ = small
    bad = test.copy()
    bad[6, 1] = 40
    save_mat(root / "info/tracks_test_info.mat", "track_test_info", bad)
    msg = _err(root)
    assert str(root / "info/tracks_test_info.mat") in msg
    assert "row 7: frames 1..22 of test_name.txt" in msg and "end=40" in msg


def test_table_pid_disagrees_with_names(small):
    root, (train, test, q), _ = small
    bad = train.copy()
    bad[2, 2] = 7
    save_mat(root / "info/tracks_train_info.mat", "track_train_info", bad)
    msg = _err(root)
    assert str(root / "info/tracks_train_info.mat") in msg
    assert "row 3: frames of pid 7, camera 2" in msg and "0002C2T0001F001.jpg" in msg


def test_empty_tracklet(small):
    root, (train, test, q), _ = small
    bad = test.copy()
    bad[3, 1] = bad[3, 0] - 1
    save_mat(root / "info/tracks_test_info.mat", "track_test_info", bad)
    msg = _err(root)
    assert str(root / "info/tracks_test_info.mat") in msg
    assert "row 4" in msg and "empty track" in msg


def test_malformed_name(small):
    root, _, names = small
    lines = list(names["train"])
    lines[3] = "person1_frame4.jpg"  # last frame of train row 1
    (root / "info/train_name.txt").write_text("\n".join(lines))
    msg = _err(root)
    assert str(root / "info/train_name.txt") in msg and "line 4" in msg
    assert "0001C1T0001F001.jpg" in msg and "person1_frame4.jpg" in msg


def test_missing_frame_on_disk(small):
    root, _, names = small
    last = root / "bbox_test" / "0004" / names["test"][19]
    last.unlink()
    msg = _err(root)
    assert str(last) in msg and "test_name.txt line 20" in msg


def test_query_index_out_of_range(small):
    root = small[0]
    save_mat(root / "info/query_IDX.mat", "query_IDX", np.array([[3, 8]], np.uint16))
    msg = _err(root)
    assert str(root / "info/query_IDX.mat") in msg and "rows 1..7" in msg and "row 8" in msg


def test_missing_table_and_wrong_key(small):
    root = small[0]
    save_mat(root / "info/query_IDX.mat", "queries", np.array([[3]]))
    msg = _err(root)
    assert str(root / "info/query_IDX.mat") in msg and "'query_IDX'" in msg
    (root / "info/tracks_train_info.mat").unlink()
    msg = _err(root)
    assert str(root / "info/tracks_train_info.mat") in msg and "no such file" in msg


def test_table_wrong_shape_and_garbage(small):
    root = small[0]
    save_mat(root / "info/tracks_train_info.mat", "track_train_info", np.zeros((3, 3)))
    msg = _err(root)
    assert "tracks_train_info.mat" in msg and "shape (tracks, 4)" in msg and "(3, 3)" in msg
    (root / "info/tracks_train_info.mat").write_bytes(b"not a mat file at all")
    msg = _err(root)
    assert "tracks_train_info.mat" in msg and "MATLAB" in msg


def test_names_helper_matches_table():
    train, test, _ = small_mars_tables()
    names = mars_names(test)
    assert names[0] == "00-1C2T0001F001.jpg" and names[3] == "0000C1T0001F001.jpg"
    assert names[20] == "0004C3T0002F001.jpg"
