"""Market-1501, DukeMTMC-reID and MSMT17 readers on tiny placeholder trees."""

from __future__ import annotations

import shutil

import pytest

from fakedata import write_image_split, write_msmt
from reidlab.data import load_dataset
from reidlab.errors import DatasetError

MARKET = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg",
                           "0007_c3s3_077419_03.jpg", "Thumbs.db"],
    "query": ["0001_c1s1_001051_00.jpg", "0003_c2s1_000551_00.jpg"],
    "bounding_box_test": ["-1_c1s1_000401_03.jpg", "0000_c1s1_000151_01.jpg",
                          "0001_c2s1_000151_01.jpg", "0001_c1s1_001051_02.jpg",
                          "0003_c6s4_002202_05.jpg", "Thumbs.db"],
}
DUKE = {
    "bounding_box_train": ["0001_c2_f0046182.jpg", "0001_c6_f0030883.jpg", "0005_c8_f0000001.jpg"],
    "query": ["0005_c2_f0046985.jpg"],
    "bounding_box_test": ["0005_c5_f0051781.jpg", "0005_c2_f0047000.jpg", "0000_c1_f0000002.jpg",
                          "0009_c3_f0001111.jpg"],
}


def _write(root, layout):
    for sub, names in layout.items():
        write_image_split(root / sub, names)
    return root


def _summary(items):
    return [(t.frames[0].name, t.pid, t.camid, t.tid, len(t)) for t in items]


def test_market1501(tmp_path):
    root = _write(tmp_path / "market", MARKET)
    ds = load_dataset("market1501", root)
    assert ds.name == "market1501" and ds.num_cameras == 6 and ds.root == root
    assert _summary(ds.train) == [("0002_c1s1_000451_03.jpg", 2, 0, 0, 1),
                                  ("0002_c2s1_000301_01.jpg", 2, 1, 1, 1),
                                  ("0007_c3s3_077419_03.jpg", 7, 2, 2, 1)]
    assert _summary(ds.query) == [("0001_c1s1_001051_00.jpg", 1, 0, 0, 1),
                                  ("0003_c2s1_000551_00.jpg", 3, 1, 1, 1)]
    # junk (-1) dropped, distractor (0000) kept, sorted by file name
    assert _summary(ds.gallery) == [("0000_c1s1_000151_01.jpg", 0, 0, 0, 1),
                                    ("0001_c1s1_001051_02.jpg", 1, 0, 1, 1),
                                    ("0001_c2s1_000151_01.jpg", 1, 1, 2, 1),
                                    ("0003_c6s4_002202_05.jpg", 3, 5, 3, 1)]
    assert ds.gallery[0].frames[0] == root / "bounding_box_test" / "0000_c1s1_000151_01.jpg"


def test_dukemtmc(tmp_path):
    root = _write(tmp_path / "duke", DUKE)
    ds = load_dataset("dukemtmc", root)
    assert ds.num_cameras == 8
    assert [(t.pid, t.camid) for t in ds.train] == [(1, 1), (1, 5), (5, 7)]
    assert [(t.pid, t.camid) for t in ds.query] == [(5, 1)]
    assert [(t.pid, t.camid) for t in ds.gallery] == [(0, 0), (5, 1), (5, 4), (9, 2)]


def _err(name, root, **kw) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(name, root, **kw)
    return str(info.value)


@pytest.mark.parametrize("name", ["market1501", "dukemtmc"])
def test_missing_folders(tmp_path, name):
    msg = _err(name, tmp_path / "absent")
    assert str(tmp_path / "absent") in msg and "no such folder" in msg
    layout = dict(MARKET if name == "market1501" else DUKE)
    del layout["query"]
    root = _write(tmp_path / "partial", layout)
    msg = _err(name, root)
    assert str(root / "query") in msg and "query/" in msg and "no such folder" in msg


def test_mars_tree_passed_as_market(tmp_path):
    for sub in ("bbox_train", "bbox_test", "info"):
        (tmp_path / sub).mkdir()
    msg = _err("market1501", tmp_path)
    assert str(tmp_path / "bounding_box_train") in msg and "MARS" in msg


def test_duke_names_in_market_reader(tmp_path):
    root = _write(tmp_path, DUKE)
    msg = _err("market1501", root)
    assert str(root / "bounding_box_train" / "0001_c2_f0046182.jpg") in msg
    assert "0002_c1s1_000451_03.jpg" in msg  # what a Market name looks like


@pytest.mark.parametrize("bad,expect", [("12_c1s1_000451_03.jpg", "Market-1501 name"),
                                        ("0002_c7s1_000451_03.jpg", "camera c1..c6")])
def test_market_malformed_name(tmp_path, bad, expect):
    layout = {k: list(v) for k, v in MARKET.items()}
    layout["query"].append(bad)
    root = _write(tmp_path, layout)
    msg = _err("market1501", root)
    assert str(root / "query" / bad) in msg and expect in msg


def test_market_empty_split(tmp_path):
    layout = dict(MARKET, query=[])
    root = _write(tmp_path, layout)
    (root / "query").mkdir(exist_ok=True)
    msg = _err("market1501", root)
    assert str(root / "query") in msg and "no .jpg files" in msg


# ------------------------------------------------------------------------------------ MSMT17
MSMT_LISTS = {
    "train": [("0000/0000_000_01_0303morning_0015_0.jpg", 0),
              ("0000/0000_001_05_0303morning_0036_1.jpg", 0),
              ("0001/0001_002_15_0303afternoon_0040_0.jpg", 1)],
    "val": [("0002/0002_003_03_0303noon_0010_0.jpg", 2)],
    "query": [("0000/0000_000_07_0303morning_0008_0.jpg", 0)],
    "gallery": [("0000/0000_004_02_0303morning_0100_1.jpg", 0),
                ("0003/0003_005_11_0303noon_0200_0.jpg", 3)],
}


@pytest.mark.parametrize("v2", [False, True])
def test_msmt17(tmp_path, v2):
    root = tmp_path / ("MSMT17_V2" if v2 else "MSMT17_V1")
    write_msmt(root, MSMT_LISTS, v2=v2)
    ds = load_dataset("msmt17", root)
    assert ds.num_cameras == 15 and ds.meta == {"combine_val": False}
    assert [(t.pid, t.camid, t.tid) for t in ds.train] == [(0, 0, 0), (0, 4, 1), (1, 14, 2)]
    assert [(t.pid, t.camid) for t in ds.query] == [(0, 6)]
    assert [(t.pid, t.camid) for t in ds.gallery] == [(0, 1), (3, 10)]
    train_dir = "mask_train_v2" if v2 else "train"
    assert ds.train[2].frames == (root / train_dir / MSMT_LISTS["train"][2][0],)
    assert all(f.exists() for t in ds.train + ds.query + ds.gallery for f in t.frames)
    both = load_dataset("msmt17", root, combine_val=True)
    assert [(t.pid, t.camid, t.tid) for t in both.train][3:] == [(2, 2, 3)]
    # root may also be the folder holding MSMT17_V1 / MSMT17_V2
    assert len(load_dataset("msmt17", tmp_path).train) == 3


def test_msmt17_bad_inputs(tmp_path):
    root = tmp_path / "msmt"
    write_msmt(root, MSMT_LISTS)
    msg = _err("msmt17", tmp_path / "none")
    assert "none" in msg and "no such folder" in msg

    (root / "list_gallery.txt").unlink()
    msg = _err("msmt17", root)
    assert str(root / "list_gallery.txt") in msg and "no such file" in msg

    bad = dict(MSMT_LISTS, gallery=[("0000/0000_004_02_0303morning_0100_1.jpg", 5)])
    write_msmt(root, bad, make_files=False)
    msg = _err("msmt17", root)  # list disagrees with the files: pid 5 in folder 0000
    assert str(root / "list_gallery.txt") in msg and "line 1" in msg and "pid 5" in msg

    write_msmt(root, dict(MSMT_LISTS, query=[("0000/broken-name.jpg", 0)]), make_files=False)
    msg = _err("msmt17", root)
    assert str(root / "list_query.txt") in msg and "line 1" in msg and "broken-name" in msg

    write_msmt(root, dict(MSMT_LISTS, query=[("0000/0000_000_16_0303morning_0008_0.jpg", 0)]),
               make_files=False)
    msg = _err("msmt17", root)
    assert "camera 01..15" in msg and "camera 16" in msg

    write_msmt(root, dict(MSMT_LISTS, query=[("0009/0009_000_01_0303morning_0008_0.jpg", 9)]),
               make_files=False)
    msg = _err("msmt17", root)  # listed image missing on disk
    assert str(root / "test/0009/0009_000_01_0303morning_0008_0.jpg") in msg
    assert "list_query.txt line 1" in msg

    write_msmt(root, dict(MSMT_LISTS, query=[]), make_files=False)
    msg = _err("msmt17", root)  # empty list
    assert str(root / "list_query.txt") in msg and "empty" in msg

    (root / "list_val.txt").unlink()
    write_msmt(root, {k: v for k, v in MSMT_LISTS.items() if k != "val"}, make_files=False)
    msg = _err("msmt17", root, combine_val=True)
    assert str(root / "list_val.txt") in msg


def test_msmt17_missing_image_folder(tmp_path):
    root = tmp_path / "msmt"
    write_msmt(root, MSMT_LISTS)
    shutil.rmtree(root / "test")
    msg = _err("msmt17", root)
    assert str(root / "test") in msg and "mask_test_v2/" in msg

