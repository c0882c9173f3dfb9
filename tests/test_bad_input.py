"""The bad-input matrix: every dataset reader and entry point given what users really give it.

Each bad input must end in an error that names the file or folder and what was expected (an
exception of ``reidlab.errors``; the CLI prints it as one ``error:`` line, exit code 2), or in
a documented skip that is counted (unreadable frames: replaced or dropped, one warning each,
``corrupt_frames`` per epoch). docs/datasets.md lists what each one says.

Readers are tested on placeholder trees (empty frame files, ``fakedata``); training and
feature extraction on ``tiny_mars`` / a tiny folder-layout dataset with real images.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakedata import (save_mat, small_mars_tables, touch, write_folder, write_ilids,
                      write_image_split, write_mars, write_msmt, write_prid)
from reidlab.data import load_dataset
from reidlab.errors import ConfigError, CorruptFrameError, DatasetError, RunStoreError
from tiny_mars import write_tiny_mars

FORMATS = ["mars", "prid2011", "ilidsvid", "market1501", "dukemtmc", "msmt17", "folder"]


# ----------------------------------------------------------------------------- good trees

def good_tree(fmt: str, root: Path) -> Path:
    """A small valid placeholder tree of ``fmt`` (frames are empty files: readers never open
    them)."""
    if fmt == "mars":
        write_mars(root, *small_mars_tables(), frames="ends")
    elif fmt == "prid2011":
        lengths = {c: {p: 30 for p in range(1, 5)} for c in ("cam_a", "cam_b")}
        write_prid(root, lengths, [{"train": [1, 2], "test": [3, 4]}])
    elif fmt == "ilidsvid":
        lengths = {c: {p: 5 for p in (1, 2, 3, 4)} for c in ("cam1", "cam2")}
        write_ilids(root, lengths, np.array([[1, 2, 3, 4]]))
    elif fmt == "market1501":
        for sub, names in {"bounding_box_train": ["0002_c1s1_000451_03.jpg",
                                                  "0002_c2s1_000301_01.jpg"],
                           "query": ["0001_c1s1_001051_00.jpg"],
                           "bounding_box_test": ["0001_c2s1_000151_01.jpg"]}.items():
            write_image_split(root / sub, names)
    elif fmt == "dukemtmc":
        for sub, names in {"bounding_box_train": ["0001_c2_f0046182.jpg"],
                           "query": ["0005_c2_f0046985.jpg"],
                           "bounding_box_test": ["0005_c5_f0051781.jpg"]}.items():
            write_image_split(root / sub, names)
    elif fmt == "msmt17":
        write_msmt(root, {"train": [("0000/0000_000_01_0303morning_0015_0.jpg", 0)],
                          "val": [("0002/0002_003_03_0303noon_0010_0.jpg", 2)],
                          "query": [("0000/0000_000_07_0303morning_0008_0.jpg", 0)],
                          "gallery": [("0000/0000_004_02_0303morning_0100_1.jpg", 0)]})
    elif fmt == "folder":
        write_folder(root, {"train": {"c1": {"1": ["a.jpg"]}, "c2": {"1": ["b.jpg"]}},
                            "query": {"c1": {"5": ["q.jpg"]}},
                            "gallery": {"c2": {"5": ["g.jpg"]}}})
    return root


def error_of(fmt: str, root: Path, **kw) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load_dataset(fmt, root, **kw)
    return info.value


def names_a_path_under(err: DatasetError, root: Path) -> None:
    """The message starts with a path inside (or equal to) ``root`` and says what was
    expected."""
    msg = str(err)
    assert msg.startswith(str(err.path)) and ": expected " in msg, msg
    assert err.path == root or root in err.path.parents, (err.path, root)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_good_trees_load(fmt, tmp_path):
    ds = load_dataset(fmt, good_tree(fmt, tmp_path / fmt))
    assert ds.query and ds.gallery


# ----------------------------------------------------------------------------- readers

@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_folder(fmt, tmp_path):
    err = error_of(fmt, tmp_path / "nowhere")
    assert err.path == tmp_path / "nowhere" and "no such folder" in str(err)
    assert fmt.replace("2011", "").replace("vid", "") in err.expected.lower() or fmt in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_instead_of_a_folder(fmt, tmp_path):
    (tmp_path / "data.zip").write_bytes(b"PK")
    err = error_of(fmt, tmp_path / "data.zip")
    assert err.path == tmp_path / "data.zip"


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_layout_says_what_it_found(fmt, tmp_path):
    """A dataset of another layout given to this reader: the error names the missing piece
    and, where the reader can tell, what the folder looks like instead."""
    other = "market1501" if fmt != "market1501" else "mars"
    root = good_tree(other, tmp_path / "other")
    err = error_of(fmt, root)
    names_a_path_under(err, root)
    assert "no such" in str(err) or "found" in str(err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_folder(fmt, tmp_path):
    (tmp_path / "empty").mkdir()
    err = error_of(fmt, tmp_path / "empty")
    names_a_path_under(err, tmp_path / "empty")


def _empty_split(fmt: str, root: Path) -> Path:
    """Make one required split of a good tree empty; returns the file/folder that is."""
    if fmt == "mars":
        (root / "info" / "test_name.txt").write_text("")
        return root / "info" / "test_name.txt"
    if fmt == "prid2011":
        (root / "splits_prid2011.json").write_text(json.dumps([{"train": [1, 2], "test": []}]))
        return root / "splits_prid2011.json"
    if fmt == "ilidsvid":
        path = root / "train-test people splits" / "train_test_splits_ilidsvid.mat"
        save_mat(path, "ls_set", np.zeros((1, 0)))
        return path
    if fmt in ("market1501", "dukemtmc"):
        for f in (root / "query").iterdir():
            f.unlink()
        return root / "query"
    if fmt == "msmt17":
        (root / "list_query.txt").write_text("")
        return root / "list_query.txt"
    shutil.rmtree(root / "gallery")
    (root / "gallery").mkdir()
    return root / "gallery"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_split(fmt, tmp_path):
    root = good_tree(fmt, tmp_path / fmt)
    where = _empty_split(fmt, root)
    err = error_of(fmt, root)
    assert err.path == where, str(err)


def _index_disagrees(fmt: str, root: Path) -> Path:
    """Make the dataset's own index disagree with its frame files; returns the path the error
    must name."""
    if fmt == "mars":  # the name list says frames that are not on disk
        names = (root / "info" / "train_name.txt").read_text().split()
        first = root / "bbox_train" / names[0][:4] / names[0]
        first.unlink()
        return first
    if fmt == "prid2011":  # the split names a person without a folder
        (root / "splits_prid2011.json").write_text(json.dumps([{"train": [1, 2],
                                                                 "test": [3, 9]}]))
        return root / "prid_2011" / "multi_shot" / "cam_a" / "person_0009"
    if fmt == "ilidsvid":  # the split table indexes more people than there are folders
        path = root / "train-test people splits" / "train_test_splits_ilidsvid.mat"
        save_mat(path, "ls_set", np.array([[1, 2, 3, 7]]))
        return path
    if fmt in ("market1501", "dukemtmc"):  # a frame whose name is not the layout's
        touch(root / "query" / "person7.jpg")
        return root / "query" / "person7.jpg"
    if fmt == "msmt17":  # a listed image that is not on disk
        (root / "test" / "0000" / "0000_004_02_0303morning_0100_1.jpg").unlink()
        return root / "test" / "0000" / "0000_004_02_0303morning_0100_1.jpg"
    touch(root / "query" / "c1" / "5" / "notes.txt")  # folder: a stray non-image file
    return root / "query" / "c1" / "5" / "notes.txt"


@pytest.mark.parametrize("fmt", FORMATS)
def test_index_disagrees_with_the_frame_files(fmt, tmp_path):
    root = good_tree(fmt, tmp_path / fmt)
    where = _index_disagrees(fmt, root)
    err = error_of(fmt, root)
    assert err.path == where, str(err)


def test_mars_table_rows_that_disagree_with_the_name_list(tmp_path):
    train, test, q = small_mars_tables()
    root = tmp_path / "m"
    write_mars(root, train, test, q, frames="ends")
    bad = train.copy()
    bad[0, 2] = 2  # row 1 claims pid 2 but its names are pid 1's
    save_mat(root / "info" / "tracks_train_info.mat", "track_train_info", bad.astype(np.int32))
    err = error_of("mars", root)
    assert err.path == root / "info" / "tracks_train_info.mat"
    assert "row 1" in str(err) and "pid 2" in str(err)


def test_mars_one_frame_tracklets_load(tmp_path):
    train, test, q = small_mars_tables()
    train = np.vstack([train, [16, 16, 5, 1]])  # a one-frame track of a new person
    root = tmp_path / "m"
    write_mars(root, train, test, q, frames="ends")
    ds = load_dataset("mars", root)
    assert [len(t) for t in ds.train if t.pid == 5] == [1]


# ----------------------------------------------------------------------------- frames

def _write_jpg(path: Path, rng, size=(32, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(img).save(path, quality=90)
    return path


def _write_png(path: Path, rng, size=(32, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, size=(*size, 3), dtype=np.uint8)).save(path)
    return path


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("kind", ["truncated jpg", "truncated png", "zero bytes", "text",
                                  "missing"])
def test_read_frame_names_the_bad_file(kind, tmp_path, rng):
    from reidlab.data.images import read_frame

    if kind == "truncated jpg":
        p = _truncate(_write_jpg(tmp_path / "f.jpg", rng))
    elif kind == "truncated png":
        p = _truncate(_write_png(tmp_path / "f.png", rng))
    elif kind == "zero bytes":
        p = touch(tmp_path / "f.jpg")
    elif kind == "text":
        p = tmp_path / "f.png"
        p.write_text("not an image")
    else:
        p = tmp_path / "gone.jpg"
    with pytest.raises(CorruptFrameError) as info:
        read_frame(p)
    assert info.value.path == p and "expected a decodable image" in str(info.value)


def write_tiny_folder(root: Path, rng, one_frame: bool = False, cameras=("c1", "c2")) -> Path:
    """A tiny folder-layout dataset with real frames: 4 train people seen by every camera in
    ``cameras`` (jpg in the first camera, png in the others), 2 test people; with
    ``one_frame`` one train and one query tracklet have a single frame."""
    for split, people in (("train", range(1, 5)), ("query", (7, 8)), ("gallery", (7, 8))):
        for k, cam in enumerate(cameras):
            for p in people:
                if split == "query" and k > 0 or split == "gallery" and k == 0:
                    continue
                n = 1 if one_frame and p in (1, 7) and k == 0 else 4
                for f in range(n):
                    writer = _write_jpg if k == 0 else _write_png
                    writer(root / split / cam / str(p) / f"f{f}.{'jpg' if k == 0 else 'png'}",
                           rng)
    return root


def _train(root: Path, out: Path, fmt: str = "folder", method: str = "padal_id", **kw):
    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train

    kw.setdefault("epochs", 1)
    kw.setdefault("batch_size", 4)
    return train(make_config("test", dataset=str(root), dataset_format=fmt, method=method,
                             **kw), out)


def test_training_skips_and_counts_unreadable_frames(tmp_path, rng):
    """Truncated JPEG and PNG frames, a training tracklet with no readable frame and a query
    without one: the run finishes; each file is named once in a ``warning`` record, the
    epoch counts them, the dead query is left out."""
    from reidlab.engine.runs import Run

    root = write_tiny_folder(tmp_path / "d", rng)
    bad_jpg = _truncate(root / "train" / "c1" / "1" / "f1.jpg")
    bad_png = _truncate(root / "train" / "c2" / "2" / "f2.png", 0.3)
    dead = sorted((root / "train" / "c1" / "4").iterdir())
    dead_query = sorted((root / "query" / "c1" / "8").iterdir())
    for p in dead + dead_query:
        p.write_bytes(b"")
    ds = load_dataset("folder", root)
    assert len(ds.train) == 8
    out = _train(root, tmp_path / "run", frames_per_clip=4)  # 4 chunks: every frame is read
    run = Run(out)
    assert run.status()["state"] == "finished"
    warned = [r["path"] for r in run.metrics("warning")]
    for p in (bad_jpg, bad_png):
        assert warned.count(str(p)) == 1, (p, warned)
    assert any("no readable frame" in r["message"] for r in run.metrics("warning"))
    assert sum(r["corrupt_frames"] for r in run.metrics("epoch")) == 2 + len(dead)
    fs = run.features("final")
    q8 = [i for i, t in enumerate(ds.query) if t.pid == 8]
    assert q8 and not set(q8) & set(fs.q_index.tolist())
    assert any("query tracklet" in r["message"] for r in run.metrics("warning"))


def test_a_frame_the_index_lists_but_the_disk_lacks(tmp_path):
    """MARS's reader checks the first and last frame of each track; a missing frame in the
    middle is found when it is read, skipped and counted like a corrupt one."""
    from reidlab.engine.runs import Run

    root = write_tiny_mars(tmp_path / "m", train_ids=3, test_ids=2, frames=(4, 4))
    first = sorted((root / "bbox_train" / "0001").iterdir())
    gone = first[1]
    gone.unlink()
    out = _train(root, tmp_path / "run", fmt="mars", frames_per_clip=4, batch_size=2)
    run = Run(out)
    assert run.status()["state"] == "finished"
    rec = [r for r in run.metrics("warning") if r["path"] == str(gone)]
    assert len(rec) == 1 and "missing" in rec[0]["message"]
    assert sum(r["corrupt_frames"] for r in run.metrics("epoch")) == 1


@pytest.mark.parametrize("method", ["cawcl", "padal_mp", "pirid"])
def test_one_frame_tracklets_train(method, tmp_path, rng):
    """A tracklet of one frame is repeated to fill its clips (2 segment clips for CAWCL)."""
    from reidlab.engine.runs import Run

    root = write_tiny_folder(tmp_path / "d", rng, one_frame=True)
    opts = {"options": {"k1": 4, "k2": 2, "eps": 0.7, "min_samples": 2}} \
        if method == "cawcl" else {}
    out = _train(root, tmp_path / "run", method=method, **opts)
    assert Run(out).status()["state"] == "finished"
    assert len(Run(out).features("final").q_index) == 2


# ----------------------------------------------------------------------------- cameras

ALIGNMENT = [("padal_a", {}), ("padal_m", {}), ("padal_mp", {}), ("padal_ap", {}),
             ("cawcl", {"cam_loss": "ce"}), ("cawcl", {"cam_loss": "clc"}), ("calr", {}),
             ("pirid", {})]


@pytest.fixture(scope="module")
def one_camera(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("cam1") / "mars", train_ids=3, test_ids=2,
                           cameras=1)


@pytest.mark.parametrize("method,options", ALIGNMENT)
def test_one_camera_to_a_camera_alignment_method(method, options, one_camera, tmp_path):
    with pytest.raises(ConfigError) as info:
        _train(one_camera, tmp_path / "r", fmt="mars", method=method, options=options)
    msg = str(info.value)
    assert "2 cameras" in msg or "2 training cameras" in msg, msg
    assert str(one_camera) in msg and "1 camera(s)" in msg  # names the dataset and the count


def test_one_training_camera_among_several(tmp_path, rng):
    """Cameras that appear only in the test split do not make a training set alignable."""
    root = write_tiny_folder(tmp_path / "d", rng, cameras=("c1", "c2", "c3"))
    for cam in ("c2", "c3"):
        shutil.rmtree(root / "train" / cam)
    with pytest.raises(ConfigError, match="from at least 2 cameras; found 1"):
        _train(root, tmp_path / "r", method="padal_m")
    _train(root, tmp_path / "ok", method="padal_id")  # no alignment: trains


def test_a_dataset_without_training_tracklets(tmp_path, rng):
    root = write_tiny_folder(tmp_path / "d", rng)
    shutil.rmtree(root / "train")
    with pytest.raises(DatasetError) as info:
        _train(root, tmp_path / "r")
    assert info.value.path == root and "training tracklets" in str(info.value)


# ----------------------------------------------------------------------------- run store

def _in_the_way(tmp_path) -> Path:
    (tmp_path / "runs").write_text("a file where the runs folder should be")
    return tmp_path / "runs" / "r"


def test_unwritable_runs_folder_trainer_cli_jobs(tmp_path, rng, capsys):
    from reidlab.cli import main
    from reidlab.engine import jobs

    root = write_tiny_folder(tmp_path / "d", rng)
    out = _in_the_way(tmp_path)
    with pytest.raises(RunStoreError) as info:
        _train(root, out)
    assert info.value.path == out and "is a file, not a folder" in str(info.value)
    rc = main(["train", "--preset", "test", "--dataset", str(root), "--format", "folder",
               "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and str(out) in err
    with pytest.raises(RunStoreError, match="writable runs folder"):
        jobs.submit("x", ["-c", "pass"], root=tmp_path / "runs")


def test_read_only_runs_folder(tmp_path, rng, monkeypatch):
    root = write_tiny_folder(tmp_path / "d", rng)
    runs = tmp_path / "ro"
    runs.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the write check fail as it would
        import tempfile

        real = tempfile.mkstemp

        def mkstemp(*a, dir=None, **kw):
            if dir is not None and Path(dir).is_relative_to(runs):
                raise PermissionError(13, "Permission denied")
            return real(*a, dir=dir, **kw)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    else:
        runs.chmod(0o555)
    try:
        with pytest.raises(RunStoreError) as info:
            _train(root, runs / "r")
        assert info.value.path == runs / "r" and "Permission denied" in str(info.value)
    finally:
        runs.chmod(0o755)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train

    base = tmp_path_factory.mktemp("old")
    data = write_tiny_mars(base / "mars", train_ids=3, test_ids=2)
    return train(make_config("test", dataset=str(data), method="padal_id", epochs=1),
                 base / "run")


OLD_CONFIGS = {
    "not JSON": lambda c: "{'config': ",
    "a list": lambda c: [c],
    "no config entry": lambda c: {k: v for k, v in c.items() if k != "config"},
    "no dataset entry": lambda c: {k: v for k, v in c.items() if k != "dataset"},
    "dataset without root": lambda c: {**c, "dataset": {"format": "mars"}},
    "unknown setting": lambda c: {**c, "config": {**c["config"], "turbo": True}},
    "setting of a wrong type": lambda c: {**c, "config": {**c["config"], "seed": [1, 2]}},
}


@pytest.mark.parametrize("case", sorted(OLD_CONFIGS))
def test_a_run_folder_from_another_version(case, finished_run, tmp_path, capsys):
    from reidlab.cli import main
    from reidlab.engine.config import make_config
    from reidlab.engine.restore import load_run_model
    from reidlab.engine.runs import Run, list_runs
    from reidlab.engine.trainer import train

    run = tmp_path / "runs" / "old"
    shutil.copytree(finished_run, run)
    cfg = json.loads((run / "config.json").read_text())
    new = OLD_CONFIGS[case](cfg)
    (run / "config.json").write_text(new if isinstance(new, str) else json.dumps(new))
    where = str(run / "config.json")

    def refused(fn):
        with pytest.raises(RunStoreError) as info:
            fn()
        assert str(info.value).startswith(where), str(info.value)

    refused(lambda: load_run_model(run))
    refused(lambda: train(make_config("test", method="padal_id", epochs=2), run, resume=True))
    problems = []
    listed = list_runs(tmp_path / "runs", problems=problems)
    if case in ("not JSON", "a list", "no config entry"):  # nothing of the run is readable
        refused(lambda: Run(run).config)
        assert listed == [] and [p for p, _ in problems] == [run]  # skipped, and said so
    else:  # still listed (its metrics and features show); what needs the part refuses
        assert [r.path for r in listed] == [run] and problems == []
    if case in ("no dataset entry", "dataset without root"):
        refused(lambda: Run(run).dataset())
    else:
        refused(lambda: Run(run).train_config())
    rc = main(["train", "--resume", "--out", str(run), "--no-progress"])
    assert rc == 2 and capsys.readouterr().err.startswith(f"error: {where}")


def test_an_older_run_with_padal_options_at_the_top_level_still_reads(finished_run, tmp_path):
    """Before per-method options, PADAL's K, lam... were top-level settings: still read."""
    from reidlab.engine.runs import Run

    run = tmp_path / "old"
    shutil.copytree(finished_run, run)
    cfg = json.loads((run / "config.json").read_text())
    opts = cfg["config"].pop("options")
    cfg["config"].update(K=opts["K"], lam=0.3)
    (run / "config.json").write_text(json.dumps(cfg))
    assert Run(run).train_config().lam == 0.3


def test_an_older_run_without_a_dataset_fingerprint_cannot_resume(finished_run, tmp_path):
    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train

    run = tmp_path / "old"
    shutil.copytree(finished_run, run)
    cfg = json.loads((run / "config.json").read_text())
    del cfg["dataset"]["fingerprint"]
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunStoreError, match="fingerprint"):
        train(make_config("test", method="padal_id", epochs=2), run, resume=True)


def test_damaged_run_files_are_named(finished_run, tmp_path):
    """A truncated features file, metrics with a partial last line, a status that is not
    JSON: errors naming the file, or (metrics, status) a documented fallback."""
    from reidlab.engine.runs import Run

    run = tmp_path / "old"
    shutil.copytree(finished_run, run)
    n = len(Run(run).metrics())
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "step", "ep')
    assert len(Run(run).metrics()) == n  # a partial last line is skipped
    (run / "status.json").write_text("{")
    assert Run(run).status() == {"state": "unknown"}
    _truncate(run / "features" / "final.npz")
    with pytest.raises(DatasetError) as info:
        Run(run).features("final")
    assert info.value.path == run / "features" / "final.npz"


def test_cli_entry_points_give_one_line_errors(tmp_path, finished_run, capsys):
    from reidlab.cli import main

    no_features = tmp_path / "nofeat"
    shutil.copytree(finished_run, no_features)
    shutil.rmtree(no_features / "features")
    rc = main(["eval", "--run", str(no_features)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"error: {no_features / 'features' / 'final.npz'}")

    cases = [
        (["train", "--preset", "test", "--dataset", str(tmp_path / "nope"), "--out",
          str(tmp_path / "r"), "--no-progress"], str(tmp_path / "nope")),
        (["train", "--preset", "test", "--dataset", str(tmp_path), "--format", "folder",
          "--out", str(tmp_path / "r2"), "--no-progress"], str(tmp_path / "query")),
        (["eval", "--run", str(tmp_path / "nope")], str(tmp_path / "nope")),
        (["train", "--preset", "test", "--method", "cawcl", "--dataset", str(tmp_path),
          "--source", str(tmp_path / "no_source"), "--out", str(tmp_path / "r3"),
          "--no-progress"], str(tmp_path / "no_source")),
        (["baseline", "--dataset", str(tmp_path / "nope"), "--runs", str(tmp_path / "runs")],
         str(tmp_path / "nope")),
    ]
    for argv, where in cases:
        rc = main(argv)
        err = capsys.readouterr().err
        last = err.strip().split("\n")[-1]  # (the baseline draws a progress bar first)
        assert rc == 2 and last.startswith("error: ") and where in last, (argv, err)
        assert "Traceback" not in err


# ----------------------------------------------------------------------------- the app

def test_the_data_page_shows_unreadable_frames_as_crosses(tmp_path, monkeypatch):
    """A corrupt frame in the thumbnail grid or the frame strip: the page draws a grey cross
    in its place and names the file once, instead of failing."""
    from streamlit.testing.v1 import AppTest

    data = write_tiny_mars(tmp_path / "mars", train_ids=3, test_ids=2)
    bad = sorted((data / "bbox_train" / "0001").iterdir())
    for p in bad:
        _truncate(p, 0.2)
    monkeypatch.setenv("REIDLAB_DATA", str(data))
    monkeypatch.setenv("REIDLAB_RUNS", str(tmp_path / "runs"))
    page = Path(__file__).resolve().parents[1] / "app_pages" / "1_Data.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    train = load_dataset("mars", data).train
    shown = {str(p) for p in train[0].frames[:16]}  # the strip: the first tracklet's frames
    shown |= {str(t.frames[len(t.frames) // 2]) for t in train}  # the grid: middle frames
    expected = shown & {str(p) for p in bad}
    warned = [w.value for w in at.warning if "could not be read" in w.value]
    assert len(warned) == 1 and warned[0].startswith(f"{len(expected)} frame(s)"), warned
    assert any(p in warned[0] for p in expected)


def test_unreadable_frame_stand_in():
    from reidlab.app_support import unreadable_frame

    img = unreadable_frame(8, 4)
    assert img.shape == (8, 4, 3) and img.dtype == np.uint8
    assert (img == 128).all(axis=2).any() and (img[..., 0] == 220).any()


def test_run_pickers_name_run_folders_they_cannot_read(finished_run, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / "good")
    shutil.copytree(finished_run, runs / "broken")
    (runs / "broken" / "config.json").write_text("{")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    monkeypatch.setenv("REIDLAB_DATA", str(Path(json.loads(
        (finished_run / "config.json").read_text())["dataset"]["root"])))

    def script():
        from reidlab import app_support as ui

        run = ui.run_picker("run", "pick", default_baseline=False)
        import streamlit as st

        st.write(f"picked {run.name}")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning if "1 run folder(s) could not be read" in w.value
            and "broken/config.json" in w.value]
    assert [m.value for m in at.markdown if m.value == "picked good"]
