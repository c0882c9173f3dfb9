"""CUHK03 (release .mat and torchreid's layout), CUHK01 and VIPeR readers on tiny constructed
trees (noise images, never real people), every bad input of issue 24, ``eval --splits`` and a
training run on CUHK03's new protocol."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import h5py  # pinned in requirements.txt: the CUHK03 release is MATLAB v7.3 (HDF5)
import numpy as np
import pytest
from PIL import Image

from reidlab.data import dataset_names, load_dataset
from reidlab.errors import ConfigError, DatasetError

# tiny CUHK03: pair → people; each person has images 1, 2 (view 1) and 6, 7 (view 2), the
# others empty cells, except the last person of pair 1 who has view 1 only (as in the release)
PAIRS = {1: 4, 2: 3}
IMAGES = (1, 2, 6, 7)
H, W = 8, 4


def _image(pair: int, person: int, img: int, kind: str) -> np.ndarray:
    seed = [pair, person, img, 0 if kind == "labeled" else 1]
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _images_of(pair: int, person: int) -> tuple[int, ...]:
    return (1, 2) if (pair, person) == (1, PAIRS[1]) else IMAGES


def write_cuhk03_mat(path: Path, kinds=("labeled", "detected"), testsets=None) -> Path:
    """A MATLAB v7.3 file in the release's cell structure (cells are HDF5 object references;
    HDF5 holds MATLAB arrays with their dimensions reversed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    testsets = testsets if testsets is not None else [[(1, 1), (2, 3)], [(1, 2), (2, 1)]]
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        count = itertools.count()

        def put(arr):
            return refs.create_dataset(f"r{next(count)}", data=arr).ref

        empty = put(np.zeros(2, np.uint64))  # MATLAB's [] in a v7.3 file
        for kind in kinds:
            pair_refs = []
            for pair, n in PAIRS.items():
                cells = np.empty((10, n), dtype=h5py.ref_dtype)
                for person in range(1, n + 1):
                    for img in range(1, 11):
                        cells[img - 1, person - 1] = (
                            put(_image(pair, person, img, kind).T)
                            if img in _images_of(pair, person) else empty)
                pair_refs.append(put(cells))
            f.create_dataset(kind, data=np.array([pair_refs], dtype=h5py.ref_dtype))
        ts = [put(np.array(rows, np.float64).T) for rows in testsets]
        f.create_dataset("testsets", data=np.array([ts], dtype=h5py.ref_dtype))
    return path


def all_names() -> list[str]:
    return [f"{pair}_{person:03d}_{1 if img <= 5 else 2}_{img:02d}.png"
            for pair, n in PAIRS.items() for person in range(1, n + 1)
            for img in _images_of(pair, person)]


def pid_of(pair: int, person: int) -> int:
    return sum(PAIRS[p] for p in PAIRS if p < pair) + person


# new protocol: people 1-3 (pair 1) train; the rest test, image 01/06... query = first image of
# each view-1 and view-2, gallery the others
TRAIN_PEOPLE = {(1, 1), (1, 2), (1, 3)}


def new_protocol_lists() -> dict[str, list[str]]:
    names = all_names()
    train = [n for n in names if (int(n[0]), int(n[2:5])) in TRAIN_PEOPLE]
    test = [n for n in names if n not in train]
    query = [n for n in test if n.endswith(("_01.png", "_06.png"))]
    gallery = [n for n in test if n not in query]
    return {"train": train, "query": query, "gallery": gallery}


def write_new_config(root: Path, kind: str, lists=None) -> Path:
    import scipy.io

    lists = lists or new_protocol_lists()
    files = sorted({n for v in lists.values() for n in v})
    row = {n: i + 1 for i, n in enumerate(files)}
    labels = [pid_of(int(n[0]), int(n[2:5])) for n in files]
    path = root / f"cuhk03_new_protocol_config_{kind}.mat"
    root.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {
        "filelist": np.array(files, dtype=object).reshape(-1, 1),
        "labels": np.array(labels, np.float64).reshape(-1, 1),
        "camId": np.array([int(n[6]) for n in files], np.float64).reshape(-1, 1),
        **{f"{s}_idx": np.array([row[n] for n in lists[s]], np.float64).reshape(-1, 1)
           for s in ("train", "query", "gallery")}})
    return path


def release_tree(root: Path) -> Path:
    write_cuhk03_mat(root / "cuhk03_release" / "cuhk-03.mat")
    for kind in ("labeled", "detected"):
        write_new_config(root, kind)
    return root


def torchreid_tree(root: Path, kind: str = "labeled") -> Path:
    """torchreid's extracted layout: images_<kind>/ and its split json files (paths of
    another machine)."""
    d = root / f"images_{kind}"
    d.mkdir(parents=True)
    for n in all_names():
        pair, person, img = int(n[0]), int(n[2:5]), int(n[8:10])
        Image.fromarray(_image(pair, person, img, kind)).save(d / n)

    def entry(n):
        return [f"/home/someone/reid-data/cuhk03/images_{kind}/{n}", 0, int(n[6]) - 1]

    lists = new_protocol_lists()
    (root / f"splits_new_{kind}.json").write_text(json.dumps(
        [{p: [entry(n) for n in lists[p]] for p in ("train", "query", "gallery")}]))
    classic = []
    for test in ([(1, 1), (2, 3)], [(1, 2), (2, 1)]):
        tn = [n for n in all_names() if (int(n[0]), int(n[2:5])) in test]
        classic.append({"train": [entry(n) for n in all_names() if n not in tn],
                        "query": [entry(n) for n in tn], "gallery": [entry(n) for n in tn]})
    (root / f"splits_classic_{kind}.json").write_text(json.dumps(classic))
    return root


# ----------------------------------------------------------------------------- CUHK03
def test_new_formats_are_registered():
    assert {"cuhk03", "cuhk01", "viper"} <= set(dataset_names())


def test_cuhk03_release_extracts_once_and_reads_the_new_protocol(tmp_path):
    root = release_tree(tmp_path / "cuhk03")
    data = load_dataset("cuhk03", root, images="labeled", progress=False)
    folder = root / "images_labeled"
    assert sorted(os.listdir(folder)) == sorted(all_names())
    assert not (root / "images_detected").exists()  # only the kind asked for
    assert not list(root.glob(".images_*"))  # no temporary folder left
    # pixels: MATLAB's H × W × 3 image, transposed back from HDF5's order
    got = np.asarray(Image.open(folder / "2_003_2_07.png"))
    np.testing.assert_array_equal(got, _image(2, 3, 7, "labeled"))
    lists = new_protocol_lists()
    assert [t.frames[0].name for t in data.train] == lists["train"]
    assert [t.frames[0].name for t in data.query] == lists["query"]
    assert [t.frames[0].name for t in data.gallery] == lists["gallery"]
    assert data.num_cameras == 10 and data.meta["protocol"] == "cuhk03-new-labeled"
    assert {t.pid for t in data.train} == {1, 2, 3}
    assert {t.pid for t in data.query} == {4, 5, 6, 7}
    q = {t.frames[0].name: (t.pid, t.camid) for t in data.query}
    assert q["2_002_2_06.png"] == (6, 3)  # pair 2, view 2 → camid 3; pid 4 + 2
    assert q["1_004_1_01.png"] == (4, 0)
    # a second read does not extract again
    mtime = (folder / "1_001_1_01.png").stat().st_mtime_ns
    load_dataset("cuhk03", root, images="labeled", progress=False)
    assert (folder / "1_001_1_01.png").stat().st_mtime_ns == mtime
    det = load_dataset("cuhk03", root, progress=False)  # default: detected
    assert det.meta["images"] == "detected" and (root / "images_detected").is_dir()
    got = np.asarray(Image.open(det.query[0].frames[0]))
    n = det.query[0].frames[0].name
    np.testing.assert_array_equal(got, _image(int(n[0]), int(n[2:5]), int(n[8:10]), "detected"))


def test_cuhk03_classic_splits_single_shot(tmp_path):
    root = release_tree(tmp_path / "cuhk03")
    data = load_dataset("cuhk03", root, images="labeled", protocol="classic", split=1,
                        trials=3, progress=False)
    test = {pid_of(1, 2), pid_of(2, 1)}
    assert {t.pid for t in data.query} == test and {t.pid for t in data.gallery} == test
    assert not test & {t.pid for t in data.train}
    assert len({t.pid for t in data.train}) == 5
    assert all(t.camid % 2 == 0 for t in data.query)  # view 1
    assert all(t.camid % 2 == 1 for t in data.gallery)  # view 2
    assert len(data.meta["trials"]) == 3
    for rows in data.meta["trials"]:  # one view-2 image per test person
        assert sorted(data.gallery[i].pid for i in rows) == sorted(test)
    assert data.meta["protocol"] == "cuhk03-classic-labeled-split-1-single-shot-3-trials"
    with pytest.raises(ConfigError, match="split=2; expected 0..1"):
        load_dataset("cuhk03", root, images="labeled", protocol="classic", split=2,
                     progress=False)


def test_cuhk03_torchreid_layout_gives_the_same_sets(tmp_path):
    rel = release_tree(tmp_path / "release")
    tr = torchreid_tree(tmp_path / "torchreid")
    for protocol, split in (("new", 0), ("classic", 0), ("classic", 1)):
        a = load_dataset("cuhk03", rel, images="labeled", protocol=protocol, split=split,
                         progress=False)
        b = load_dataset("cuhk03", tr, images="labeled", protocol=protocol, split=split)
        for part in ("train", "query", "gallery"):
            ka = [(t.frames[0].name, t.pid, t.camid) for t in getattr(a, part)]
            kb = [(t.frames[0].name, t.pid, t.camid) for t in getattr(b, part)]
            assert ka == kb, (protocol, split, part)
        assert a.meta.get("trials") == b.meta.get("trials")


def test_cuhk03_killed_extraction_is_redone(tmp_path, monkeypatch):
    root = release_tree(tmp_path / "cuhk03")
    # an extraction killed earlier (its process is gone) left a partial folder
    stale = root / ".images_labeled.partial-999999999"
    stale.mkdir()
    (stale / "1_001_1_01.png").write_bytes(b"half")
    # and this one fails half-way
    saved = []
    real_save = Image.Image.save

    def flaky(self, fp, *a, **k):
        if len(saved) == 5:
            raise OSError(28, "No space left on device")
        saved.append(fp)
        return real_save(self, fp, *a, **k)

    monkeypatch.setattr(Image.Image, "save", flaky)
    with pytest.raises(OSError):
        load_dataset("cuhk03", root, images="labeled", progress=False)
    assert not (root / "images_labeled").exists()  # never half-read
    assert [p.name for p in root.glob(".images_labeled.partial-*")] == []
    monkeypatch.setattr(Image.Image, "save", real_save)
    data = load_dataset("cuhk03", root, images="labeled", progress=False)
    assert len(os.listdir(root / "images_labeled")) == len(all_names())
    assert len(data.train) + len(data.query) + len(data.gallery) == len(all_names())


def test_cuhk03_bad_inputs(tmp_path):
    # a missing split file
    root = tmp_path / "nosplit"
    write_cuhk03_mat(root / "cuhk03_release" / "cuhk-03.mat")
    with pytest.raises(DatasetError, match=r"cuhk03_new_protocol_config_detected\.mat: expected "
                       r"the new-protocol split file .*found no such file"):
        load_dataset("cuhk03", root, progress=False)
    assert not (root / "images_detected").exists()  # refused before extracting
    # a .mat without 'labeled'
    root = tmp_path / "nolabeled"
    write_cuhk03_mat(root / "cuhk03_release" / "cuhk-03.mat", kinds=("detected",))
    write_new_config(root, "labeled")
    with pytest.raises(DatasetError, match=r"cuhk-03\.mat: expected a variable 'labeled'.*"
                       r"found no such variable"):
        load_dataset("cuhk03", root, images="labeled", progress=False)
    assert not (root / "images_labeled").exists()
    # neither images nor the .mat (the split file is there)
    root = tmp_path / "noimages"
    write_new_config(root, "detected")
    with pytest.raises(DatasetError, match=r"images_detected: expected the CUHK03 "
                       r"images_detected/ folder, or cuhk03_release/cuhk-03.mat"):
        load_dataset("cuhk03", root)
    # an image named outside the pattern
    root = torchreid_tree(tmp_path / "badname")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "images_labeled" / "p7.png")
    with pytest.raises(DatasetError, match=r"images_labeled/p7\.png: expected a CUHK03 image "
                       r"named like 1_001_1_01\.png"):
        load_dataset("cuhk03", root, images="labeled")
    # a split naming a missing file (config .mat and torchreid json)
    root = release_tree(tmp_path / "missing")
    load_dataset("cuhk03", root, images="labeled", progress=False)
    (root / "images_labeled" / "2_001_2_07.png").unlink()
    with pytest.raises(DatasetError, match=r"images_labeled/2_001_2_07\.png: expected the image "
                       r"listed in cuhk03_new_protocol_config_labeled\.mat, found no such file"):
        load_dataset("cuhk03", root, images="labeled", progress=False)
    root = torchreid_tree(tmp_path / "missing_tr")
    (root / "images_labeled" / "1_001_1_02.png").unlink()
    with pytest.raises(DatasetError, match=r"1_001_1_02\.png: expected the image listed in "
                       r"splits_new_labeled\.json"):
        load_dataset("cuhk03", root, images="labeled")
    # a classic test set naming people without images
    root = tmp_path / "classic_missing"
    write_cuhk03_mat(root / "cuhk03_release" / "cuhk-03.mat", testsets=[[(1, 1), (3, 1)]])
    with pytest.raises(DatasetError, match=r"cuhk-03\.mat: expected classic split 0: people "
                       r"with images"):
        load_dataset("cuhk03", root, protocol="classic", progress=False)
    # a torchreid json that is not json, bad options
    root = torchreid_tree(tmp_path / "badjson")
    (root / "splits_new_labeled.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"splits_new_labeled\.json: expected a JSON list"):
        load_dataset("cuhk03", root, images="labeled")
    with pytest.raises(ConfigError, match="images='both'"):
        load_dataset("cuhk03", root, images="both")
    with pytest.raises(ConfigError, match="protocol='old'"):
        load_dataset("cuhk03", root, protocol="old")


def test_cuhk03_read_only_folder_cannot_extract(tmp_path, monkeypatch):
    root = release_tree(tmp_path / "ro")
    real_access = os.access
    # (tests may run as root, who writes anywhere: the check itself is what is tested)
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == root
                        else real_access(p, mode))
    with pytest.raises(DatasetError, match=r"ro: expected a writable dataset folder to extract "
                       r"images_detected/ into from cuhk-03\.mat, found a read-only folder"):
        load_dataset("cuhk03", root, progress=False)
    assert not list(root.glob("*images*"))


# ----------------------------------------------------------------------------- CUHK01
def cuhk01_tree(root: Path, people: int = 9) -> Path:
    d = root / "campus"
    d.mkdir(parents=True)
    for p in range(1, people + 1):
        for m in range(1, 5):
            Image.fromarray(np.full((H, W, 3), 10 * p + m, np.uint8)).save(d / f"{p:04d}{m:03d}.png")
    return root


def test_cuhk01_splits_written_beside_the_data(tmp_path):
    root = cuhk01_tree(tmp_path / "CUHK01")
    data = load_dataset("cuhk01", root, trials=4)
    path = root / "splits_cuhk01.json"
    obj = json.loads(path.read_text())
    assert obj["seed"] == 0 and obj["num_train"] == 4 and len(obj["splits"]) == 10
    s0 = obj["splits"][0]
    assert len(s0["train"]) == 4 and len(s0["test"]) == 5  # 485 / 486 of 971 in the real set
    assert sorted(s0["train"] + s0["test"]) == list(range(1, 10))
    assert {t.pid for t in data.train} == set(s0["train"])
    assert len(data.train) == 4 * 4
    assert {t.pid for t in data.query} == set(s0["test"]) == {t.pid for t in data.gallery}
    assert all(t.camid == 0 and t.frames[0].name[-7:-4] in ("001", "002") for t in data.query)
    assert all(t.camid == 1 and t.frames[0].name[-7:-4] in ("003", "004") for t in data.gallery)
    assert len(data.meta["trials"]) == 4
    for rows in data.meta["trials"]:  # single-shot: one camera-B image per test person
        assert sorted(data.gallery[i].pid for i in rows) == sorted(s0["test"])
    # splits differ from each other, and the file is read (not redrawn) afterwards
    assert len({tuple(s["test"]) for s in obj["splits"]}) > 1
    obj["splits"][3] = {"train": [1, 2, 3, 4], "test": [5, 6, 7, 8, 9]}
    path.write_text(json.dumps(obj))
    d3 = load_dataset("cuhk01", root, split=3)
    assert {t.pid for t in d3.query} == {5, 6, 7, 8, 9}
    assert d3.meta["protocol"] == "cuhk01-split-3-single-shot-10-trials"
    # the same seed draws the same splits in another folder
    other = cuhk01_tree(tmp_path / "copy")
    load_dataset("cuhk01", other)
    assert json.loads((other / "splits_cuhk01.json").read_text())["splits"][0] == s0
    with pytest.raises(ConfigError, match=r"split=10; expected 0\.\.9"):
        load_dataset("cuhk01", root, split=10)
    with pytest.raises(ConfigError, match=r"split_seed=1, but .*splits_cuhk01\.json holds the "
                       r"splits drawn with seed 0"):
        load_dataset("cuhk01", root, split_seed=1)


def test_cuhk01_bad_inputs(tmp_path):
    with pytest.raises(DatasetError, match=r"campus: expected the CUHK01 campus/ folder"):
        load_dataset("cuhk01", (tmp_path / "empty").mkdir() or tmp_path / "empty")
    root = cuhk01_tree(tmp_path / "a", people=4)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "campus" / "person1.png")
    with pytest.raises(DatasetError, match=r"campus/person1\.png: expected a CUHK01 image named "
                       r"NNNNMMM\.png"):
        load_dataset("cuhk01", root)
    (root / "campus" / "person1.png").unlink()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "campus" / "0001005.png")
    with pytest.raises(DatasetError, match=r"0001005\.png: expected person 0001\.\. and image "
                       r"001-004"):
        load_dataset("cuhk01", root)
    (root / "campus" / "0001005.png").unlink()
    # a split naming a person without images
    (root / "splits_cuhk01.json").write_text(json.dumps(
        {"splits": [{"train": [1, 2], "test": [3, 44]}]}))
    with pytest.raises(DatasetError, match=r"splits_cuhk01\.json: expected split 0 test: people "
                       r"that have images in the dataset, found no image of person \[44\]"):
        load_dataset("cuhk01", root)
    (root / "splits_cuhk01.json").write_text(json.dumps(
        {"splits": [{"train": [1, 2, 3], "test": [3, 4]}]}))
    with pytest.raises(DatasetError, match="disjoint train and test people"):
        load_dataset("cuhk01", root)
    (root / "splits_cuhk01.json").write_text("[1, 2")
    with pytest.raises(DatasetError, match=r"splits_cuhk01\.json: expected the cuhk01 split list "
                       r"\(JSON\), found invalid JSON"):
        load_dataset("cuhk01", root)


# ----------------------------------------------------------------------------- VIPeR
def viper_tree(root: Path, people=(0, 1, 3, 4, 7, 9)) -> Path:
    for c, angle in (("cam_a", 0), ("cam_b", 90)):
        d = root / c
        d.mkdir(parents=True)
        for p in people:
            Image.fromarray(np.full((H, W, 3), p, np.uint8)).save(d / f"{p:03d}_{angle}.bmp")
    return root


def test_viper_pairs_and_splits(tmp_path):
    root = viper_tree(tmp_path / "VIPeR")
    data = load_dataset("viper", root, split=2)
    obj = json.loads((root / "splits_viper.json").read_text())
    s = obj["splits"][2]
    assert len(s["train"]) == 3 and len(s["test"]) == 3  # 316 / 316 of 632 in the real set
    assert len(data.train) == 6 and {t.pid for t in data.train} == set(s["train"])
    assert [t.pid for t in data.query] == s["test"] == [t.pid for t in data.gallery]
    assert {t.camid for t in data.query} == {0} and {t.camid for t in data.gallery} == {1}
    assert data.query[0].frames[0].parent.name == "cam_a"
    assert "trials" not in data.meta  # one image per person and camera: the plain CMC
    assert data.meta["protocol"] == "viper-split-2-single-shot"
    # the release archive's VIPeR/ folder inside root
    outer = tmp_path / "outer"
    viper_tree(outer / "VIPeR")
    assert len(load_dataset("viper", outer).query) == 3


def test_viper_bad_inputs(tmp_path):
    root = viper_tree(tmp_path / "v")
    (root / "cam_b" / "007_90.bmp").unlink()
    with pytest.raises(DatasetError, match=r"cam_a/007_0\.bmp: expected an image of person 7 in "
                       r"cam_b/ too"):
        load_dataset("viper", root)
    root = viper_tree(tmp_path / "w")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "cam_a" / "front.bmp")
    with pytest.raises(DatasetError, match=r"cam_a/front\.bmp: expected a VIPeR image named "
                       r"<person>_<angle>\.bmp"):
        load_dataset("viper", root)
    root = viper_tree(tmp_path / "x")
    (root / "splits_viper.json").write_text(json.dumps(
        {"splits": [{"train": [0, 1, 3], "test": [4, 7, 8]}]}))
    with pytest.raises(DatasetError, match=r"splits_viper\.json: expected split 0 test: people "
                       r"that have images in the dataset, found no image of person \[8\]"):
        load_dataset("viper", root)
    with pytest.raises(DatasetError, match=r"cam_b: expected the VIPeR cam_b/ folder"):
        (tmp_path / "y" / "cam_a").mkdir(parents=True)
        load_dataset("viper", tmp_path / "y")


# ----------------------------------------------------------------------------- CLI
def test_train_cuhk03_new_protocol_cli(tmp_path, capsys):
    from reidlab.cli import main

    root = release_tree(tmp_path / "cuhk03")
    out = tmp_path / "runs_cuhk03"
    assert main(["train", "--format", "cuhk03", "--dataset", str(root), "--preset", "test",
                 "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    from reidlab.engine.runs import Run

    m = Run(out).final_metrics()
    assert m is not None and 0.0 <= m["rank1"] <= 1.0
    assert Run(out).config["dataset"]["meta"]["protocol"] == "cuhk03-new-detected"
    capsys.readouterr()
    assert main(["eval", "--run", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["protocol"] == "cuhk03-new-detected" and res["rank1"] == pytest.approx(m["rank1"])


def test_eval_splits_averages_the_runs_of_each_split(tmp_path, capsys):
    from reidlab.cli import main
    from reidlab.engine.cli_eval import evaluate_run
    from reidlab.engine.runs import Run

    root = viper_tree(tmp_path / "VIPeR", people=tuple(range(12)))
    base = tmp_path / "runs_viper"
    for k in (0, 1):
        assert main(["train", "--format", "viper", "--dataset", str(root), "--data-opt",
                     f"split={k}", "--preset", "test", "--epochs", "1", "--out",
                     str(base / f"split{k}"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", "--run", str(base), "--splits", "2"]) == 0
    res = json.loads(capsys.readouterr().out)
    each = [evaluate_run(Run(base / f"split{k}")) for k in (0, 1)]
    assert [p["split"] for p in res["per_split"]] == [0, 1]
    assert [p["rank1"] for p in res["per_split"]] == [e["rank1"] for e in each]
    assert res["rank1"] == pytest.approx(np.mean([e["rank1"] for e in each]))
    assert res["mAP_std"] == pytest.approx(np.std([e["mAP"] for e in each], ddof=1))
    assert res["splits"] == 2 and res["format"] == "viper"
    assert res["protocol"] == "viper-split-0-single-shot (mean over 2 splits)"
    # the test people differ between the splits (each run is evaluated on its own split)
    q = [{t.pid for t in Run(base / f"split{k}").dataset().query} for k in (0, 1)]
    assert q[0] != q[1]
    # bad uses: a missing split, one run instead of the folder
    assert main(["eval", "--run", str(base), "--splits", "3"]) == 2
    assert "holds no run of split(s) [2] (found splits [0, 1])" in capsys.readouterr().err
    assert main(["eval", "--run", str(base / "split0"), "--splits", "2"]) == 2
    assert "is one run; pass the folder" in capsys.readouterr().err
