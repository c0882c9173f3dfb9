"""PRID-2011 and iLIDS-VID readers on tiny placeholder trees."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fakedata import save_mat, touch, write_image_split, write_ilids, write_prid
from reidlab.data import load_dataset
from reidlab.errors import ConfigError, DatasetError


def _err(name, root, **kw) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(name, root, **kw)
    return str(info.value)


def _summary(items):
    return [(t.pid, t.camid, t.tid, len(t)) for t in items]


# ------------------------------------------------------------------------------------ PRID
PRID_LENGTHS = {
    "cam_a": {1: 30, 2: 27, 3: 40, 4: 26, 5: 50, 6: 31, 7: 10},
    "cam_b": {1: 28, 2: 35, 3: 27, 4: 60, 5: 20, 6: 33, 8: 40},
}
PRID_SPLITS = [
    {"train": ["person_0001", "person_0002", "person_0005"],
     "test": ["person_0003", "person_0004", "person_0006"]},
    {"train": [3, 4], "test": [1, "2"]},
]


@pytest.fixture
def prid(tmp_path):
    return write_prid(tmp_path / "prid2011", PRID_LENGTHS, PRID_SPLITS)


def test_prid_split0_with_length_filter(prid):
    ds = load_dataset("prid2011", prid)
    assert ds.name == "prid2011" and ds.num_cameras == 2
    # person 4 (26 frames in cam_a) and person 5 (20 frames in cam_b) are dropped
    assert ds.meta["dropped_short"] == [4, 5] and ds.meta["min_seq_len"] == 27
    assert _summary(ds.train) == [(1, 0, 0, 30), (1, 1, 1, 28), (2, 0, 2, 27), (2, 1, 3, 35)]
    assert _summary(ds.query) == [(3, 0, 0, 40), (6, 0, 1, 31)]
    assert _summary(ds.gallery) == [(3, 1, 0, 27), (6, 1, 1, 33)]
    t = ds.query[0]
    base = prid / "prid_2011" / "multi_shot" / "cam_a" / "person_0003"
    assert t.frames == tuple(base / f"{i:04d}.png" for i in range(1, 41))


def test_prid_no_filter_and_other_split(prid):
    ds = load_dataset("prid2011", prid, min_seq_len=0)  # torchreid behaviour
    assert [t.pid for t in ds.train] == [1, 1, 2, 2, 5, 5]
    assert [t.pid for t in ds.query] == [3, 4, 6] and [t.pid for t in ds.gallery] == [3, 4, 6]
    ds1 = load_dataset("prid2011", prid, split=1)
    assert ds1.meta["split"] == 1 and ds1.meta["dropped_short"] == [4]
    assert [t.pid for t in ds1.train] == [3, 3] and [t.pid for t in ds1.query] == [1, 2]


def test_prid_root_may_be_prid_2011_itself(prid):
    ds = load_dataset("prid2011", prid / "prid_2011")
    assert len(ds.train) == 4 and ds.meta["splits_file"] == str(prid / "splits_prid2011.json")


def test_prid_bad_split_index(prid):
    with pytest.raises(ConfigError, match=r"split=5; expected 0\.\.1"):
        load_dataset("prid2011", prid, split=5)


def test_prid_missing_folder(tmp_path, prid):
    msg = _err("prid2011", tmp_path / "nothing")
    assert str(tmp_path / "nothing") in msg and "no such folder" in msg
    shutil.rmtree(prid / "prid_2011" / "multi_shot" / "cam_b")
    msg = _err("prid2011", prid)
    assert str(prid / "prid_2011/multi_shot/cam_b") in msg and "no such folder" in msg


def test_prid_wrong_layout(tmp_path):
    for sub in ("bounding_box_train", "bounding_box_test", "query"):
        write_image_split(tmp_path / sub, ["0002_c1s1_000451_03.jpg"])
    msg = _err("prid2011", tmp_path)
    assert str(tmp_path / "multi_shot") in msg and "prid_2011/multi_shot/" in msg
    assert "Market-1501" in msg


def test_prid_split_names_person_without_folder(prid):
    (prid / "splits_prid2011.json").write_text(json.dumps([{"train": [1], "test": [7]}]))
    msg = _err("prid2011", prid)  # person 7 is only in cam_a
    assert str(prid / "prid_2011/multi_shot/cam_b/person_0007") in msg and "no such folder" in msg


def test_prid_bad_json(prid):
    path = prid / "splits_prid2011.json"
    path.write_text(json.dumps([{"train": ["bob"], "test": [3]}]))
    msg = _err("prid2011", prid)
    assert str(path) in msg and "'person_0001'" in msg and "'bob'" in msg
    path.write_text(json.dumps([{"train": [3], "test": [3]}]))
    assert "disjoint" in _err("prid2011", prid)
    path.write_text("{not json")
    msg = _err("prid2011", prid)
    assert str(path) in msg and "invalid JSON" in msg
    path.unlink()
    msg = _err("prid2011", prid)
    assert str(path) in msg and "no such file" in msg


def test_prid_empty_tracklet_and_malformed_frame(prid):
    folder = prid / "prid_2011/multi_shot/cam_a/person_0003"
    touch(folder / "frame_x.png")
    msg = _err("prid2011", prid)
    assert str(folder / "frame_x.png") in msg and "0001.png" in msg
    shutil.rmtree(folder)
    folder.mkdir()
    msg = _err("prid2011", prid)
    assert str(folder) in msg and "empty tracklet" in msg


# ------------------------------------------------------------------------------------ iLIDS
ILIDS_PEOPLE = [1, 2, 4, 7, 10, 11]  # folder numbers have gaps, as in the real data
ILIDS_LENGTHS = {"cam1": {p: 5 + p for p in ILIDS_PEOPLE},
                 "cam2": {p: 30 - p for p in ILIDS_PEOPLE}}
# rows: first half = test positions, second half = train positions (1-based, sorted folders)
LS_SET = np.array([[3, 1, 6, 2, 5, 4], [2, 4, 5, 6, 1, 3]])


@pytest.fixture
def ilids(tmp_path):
    return write_ilids(tmp_path / "ilids", ILIDS_LENGTHS, LS_SET)


def test_ilids_split0(ilids):
    ds = load_dataset("ilidsvid", ilids)
    assert ds.name == "ilidsvid" and ds.num_cameras == 2 and ds.meta["split"] == 0
    # positions 1, 3, 6 of [person001, 002, 004, 007, 010, 011] are the test people
    assert _summary(ds.query) == [(1, 0, 0, 6), (4, 0, 1, 9), (11, 0, 2, 16)]
    assert _summary(ds.gallery) == [(1, 1, 0, 29), (4, 1, 1, 26), (11, 1, 2, 19)]
    assert [(t.pid, t.camid) for t in ds.train] == [
        (2, 0), (2, 1), (7, 0), (7, 1), (10, 0), (10, 1)]
    frames = ds.gallery[2].frames
    seq = ilids / "i-LIDS-VID/sequences/cam2/person011"
    assert frames == tuple(seq / f"cam2_person011_{7 * i + 13:05d}.png" for i in range(19))


def test_ilids_split1_and_root_variants(ilids):
    ds = load_dataset("ilidsvid", ilids, split=1)
    assert [t.pid for t in ds.query] == [2, 7, 10] and [t.pid for t in ds.train][::2] == [1, 4, 11]
    inner = load_dataset("ilidsvid", ilids / "i-LIDS-VID")
    assert [t.pid for t in inner.query] == [1, 4, 11]
    with pytest.raises(ConfigError, match=r"split=2; expected 0\.\.1"):
        load_dataset("ilidsvid", ilids, split=2)


def test_ilids_frames_sorted_numerically(ilids):
    seq = ilids / "i-LIDS-VID/sequences/cam1/person002"
    shutil.rmtree(seq)
    names = ["cam1_person002_100.png", "cam1_person002_99.png", "cam1_person002_0098.png"]
    write_image_split(seq, names)
    ds = load_dataset("ilidsvid", ilids)
    t = next(t for t in ds.train if (t.pid, t.camid) == (2, 0))
    assert [f.name for f in t.frames] == [names[2], names[1], names[0]]


def test_ilids_missing_and_wrong_layout(tmp_path, ilids):
    msg = _err("ilidsvid", tmp_path / "nope")
    assert "nope" in msg and "no such folder" in msg
    mars = tmp_path / "mars"
    for sub in ("bbox_train", "bbox_test", "info"):
        (mars / sub).mkdir(parents=True)
    msg = _err("ilidsvid", mars)
    assert str(mars / "sequences") in msg and "MARS" in msg
    mat = ilids / "train-test people splits/train_test_splits_ilidsvid.mat"
    mat.unlink()
    msg = _err("ilidsvid", ilids)
    assert str(mat) in msg and "no such file" in msg


def test_ilids_split_table_disagrees_with_folders(ilids):
    mat = ilids / "train-test people splits/train_test_splits_ilidsvid.mat"
    save_mat(mat, "ls_set", np.array([[3, 1, 7, 2, 5, 4]], float))
    msg = _err("ilidsvid", ilids)
    assert str(mat) in msg and "positions 1..6" in msg and "values 1..7" in msg
    save_mat(mat, "ls_set", np.array([[3, 1, 6, 2, 5]], float))
    msg = _err("ilidsvid", ilids)
    assert str(mat) in msg and "even number" in msg
    save_mat(mat, "other", np.array([[1]]))
    msg = _err("ilidsvid", ilids)
    assert str(mat) in msg and "'ls_set'" in msg


def test_ilids_cameras_disagree(ilids):
    extra = ilids / "i-LIDS-VID/sequences/cam2/person099"
    write_image_split(extra, ["cam2_person099_00001.png"])
    msg = _err("ilidsvid", ilids)
    assert str(ilids / "i-LIDS-VID/sequences/cam2") in msg and "person099" in msg


def test_ilids_empty_tracklet_and_malformed_names(ilids):
    seq = ilids / "i-LIDS-VID/sequences/cam1"
    touch(seq / "person004" / "cam2_person004_00001.png")  # wrong camera in the name
    msg = _err("ilidsvid", ilids)
    assert str(seq / "person004" / "cam2_person004_00001.png") in msg
    assert "cam1_person004_00001.png" in msg
    (seq / "person004" / "cam2_person004_00001.png").unlink()
    for f in (seq / "person011").iterdir():
        f.unlink()
    msg = _err("ilidsvid", ilids)
    assert str(seq / "person011") in msg and "empty tracklet" in msg
    (seq / "bob").mkdir()
    msg = _err("ilidsvid", ilids)
    assert str(seq / "bob") in msg and "person001" in msg
