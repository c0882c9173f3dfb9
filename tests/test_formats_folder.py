"""The generic <root>/<split>/<camera>/<person>/<frames> reader."""

from __future__ import annotations

import shutil

import pytest

from fakedata import touch, write_folder, write_image_split
from reidlab.data import load_dataset
from reidlab.errors import DatasetError

FR = ["f1.jpg", "f2.jpg", "f10.jpg"]  # natural order: f1, f2, f10

TREE = {
    "train": {"cam10": {"12": FR[:2]}, "cam2": {"12": ["a.png"], "3": FR}},
    "query": {"cam2": {"5": ["q.jpg"]}},
    "gallery": {"cam1": {"5": ["g1.jpg", "g2.jpg"], "0": ["d.jpg"]}, "cam10": {"5": ["x.jpg"]}},
}


def _err(root, **kw) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset("folder", root, **kw)
    return str(info.value)


def test_integer_people_keep_their_numbers(tmp_path):
    root = write_folder(tmp_path / "own", TREE)
    ds = load_dataset("folder", root)
    assert ds.name == "folder" and ds.num_cameras == 3
    assert ds.meta["cameras"] == ["cam1", "cam2", "cam10"] and ds.meta["pid_names"] is None
    # order: camera, then person (both natural), tid counts within the split
    assert [(t.pid, t.camid, t.tid, len(t)) for t in ds.train] == [(3, 1, 0, 3), (12, 1, 1, 1),
                                                                   (12, 2, 2, 2)]
    assert [(t.pid, t.camid) for t in ds.query] == [(5, 1)]
    assert [(t.pid, t.camid, len(t)) for t in ds.gallery] == [(0, 0, 1), (5, 0, 2), (5, 2, 1)]
    assert [f.name for f in ds.train[0].frames] == FR
    assert ds.train[0].frames[0] == root / "train" / "cam2" / "3" / "f1.jpg"


def test_named_people_get_sorted_indices(tmp_path):
    tree = {"train": {"A": {"zoe": ["1.jpg"], "bob": ["1.jpg"]}},
            "query": {"A": {"carol": ["1.jpg"]}},
            "gallery": {"B": {"carol": ["1.jpg"], "person10": ["1.jpg"], "person9": ["1.jpg"]}}}
    ds = load_dataset("folder", write_folder(tmp_path, tree))
    names = ["bob", "carol", "person9", "person10", "zoe"]
    assert ds.meta["pid_names"] == names
    assert [ds.meta["pid_names"][t.pid] for t in ds.train] == ["bob", "zoe"]
    assert [t.pid for t in ds.query] == [1] and [t.pid for t in ds.gallery] == [1, 2, 3]
    assert [t.camid for t in ds.gallery] == [1, 1, 1]


def test_tracklet_subfolders_and_optional_train(tmp_path):
    tree = {"query": {"c1": {"1": ["a.jpg"]}}, "gallery": {"c2": {"1": ["b.jpg"]}}}
    root = write_folder(tmp_path, tree)
    write_image_split(root / "gallery" / "c2" / "2" / "t2", ["x.jpg", "y.jpg"])
    write_image_split(root / "gallery" / "c2" / "2" / "t10", ["z.jpg"])
    ds = load_dataset("folder", root)
    assert ds.train == [] and ds.meta["has_train"] is False
    assert [(t.pid, len(t), t.frames[0].parent.name) for t in ds.gallery] == [
        (1, 1, "1"), (2, 2, "t2"), (2, 1, "t10")]


def test_ignores_hidden_and_thumbs(tmp_path):
    root = write_folder(tmp_path, TREE)
    touch(root / "query" / "cam2" / "5" / ".DS_Store")
    touch(root / "query" / "cam2" / "5" / "Thumbs.db")
    assert len(load_dataset("folder", root).query[0]) == 1


def test_missing_root_and_gallery(tmp_path):
    msg = _err(tmp_path / "absent")
    assert str(tmp_path / "absent") in msg and "no such folder" in msg
    root = write_folder(tmp_path / "x", {k: v for k, v in TREE.items() if k != "gallery"})
    msg = _err(root)
    assert str(root / "gallery") in msg and "gallery/" in msg and "no such folder" in msg


def test_market_tree_passed_as_folder(tmp_path):
    for sub in ("bounding_box_train", "bounding_box_test", "query"):
        write_image_split(tmp_path / sub, ["0002_c1s1_000451_03.jpg"])
    msg = _err(tmp_path)  # no gallery/; the error says what the root looks like instead
    assert str(tmp_path / "gallery") in msg and "Market-1501" in msg
    (tmp_path / "gallery").mkdir()
    msg = _err(tmp_path)  # query/ holds images, not camera folders
    assert str(tmp_path / "query" / "0002_c1s1_000451_03.jpg") in msg and "camera folders" in msg


def test_empty_tracklet_and_empty_split(tmp_path):
    root = write_folder(tmp_path, TREE)
    (root / "gallery" / "cam1" / "7").mkdir()
    msg = _err(root)
    assert str(root / "gallery" / "cam1" / "7") in msg and "empty tracklet" in msg
    shutil.rmtree(root / "query" / "cam2")
    shutil.rmtree(root / "gallery" / "cam1" / "7")
    msg = _err(root)
    assert str(root / "query") in msg and "at least one" in msg


def test_malformed_entries(tmp_path):
    root = write_folder(tmp_path, TREE)
    bad = touch(root / "train" / "cam2" / "3" / "notes.txt")
    msg = _err(root)
    assert str(bad) in msg and "image frame" in msg
    bad.unlink()
    stray = touch(root / "train" / "cam2" / "frame.jpg")  # a frame where a person folder belongs
    msg = _err(root)
    assert str(stray) in msg and "person folders" in msg
    stray.unlink()
    write_image_split(root / "train" / "cam2" / "3" / "sub", ["a.jpg"])  # files + folders
    msg = _err(root)
    assert str(root / "train" / "cam2" / "3") in msg and "not both" in msg


def test_numeric_names_that_collide(tmp_path):
    tree = {"query": {"c": {"7": ["a.jpg"]}}, "gallery": {"c": {"007": ["a.jpg"]}}}
    msg = _err(write_folder(tmp_path, tree))
    assert str(tmp_path) in msg and "differ as numbers" in msg
