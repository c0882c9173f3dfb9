"""SynthCams: MARS layout, split/query rules, byte determinism, MARS round trip, ensure_default."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.ndimage import gaussian_filter1d

from reidlab import synth as S
from reidlab.synth import render as R
from reidlab.synth import writing

TINY = S.SynthConfig(ids=8, cameras=3, frames=4, height=32, width=16, seed=3, distractors=2, workers=1)
NAME = re.compile(r"^(\d{4})C(\d)T(\d{4})F(\d{3})\.jpg$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return S.generate(tmp_path_factory.mktemp("sc") / "tiny", TINY)


def read_tables(root: Path) -> dict:
    info = root / "info"
    out = {}
    for split, key in (("train", "track_train_info"), ("test", "track_test_info")):
        out[split + "_names"] = (info / f"{split}_name.txt").read_text().split()
        out[split] = scipy.io.loadmat(info / f"tracks_{split}_info.mat")[key]
    out["query"] = scipy.io.loadmat(info / "query_IDX.mat")["query_IDX"]
    return out


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_names_and_tables(tiny):
    t = read_tables(tiny)
    assert (tiny / S.MARKER).is_file()
    for split, folder in (("train", "bbox_train"), ("test", "bbox_test")):
        names, table = t[split + "_names"], t[split]
        assert table.ndim == 2 and table.shape[1] == 4 and table.dtype.kind == "i"
        # rows tile the name list exactly, in order, 1-based inclusive
        assert table[0, 0] == 1 and table[-1, 1] == len(names)
        assert np.all(table[1:, 0] == table[:-1, 1] + 1)
        on_disk = sorted(p.relative_to(tiny / folder).as_posix() for p in (tiny / folder).rglob("*.jpg"))
        assert on_disk == sorted(f"{n[:4]}/{n}" for n in names)
        for start, end, pid, cam in table:
            rows = [NAME.match(n) for n in names[start - 1:end]]
            assert all(rows), names[start - 1:end]
            assert {int(m[1]) for m in rows} == {pid} and {int(m[2]) for m in rows} == {cam}
            assert len({m[3] for m in rows}) == 1
            assert [int(m[4]) for m in rows] == list(range(1, TINY.frames + 1))
            assert 1 <= cam <= TINY.cameras
    from PIL import Image

    with Image.open(tiny / "bbox_train" / t["train_names"][0][:4] / t["train_names"][0]) as im:
        assert im.size == (TINY.width, TINY.height) and im.mode == "RGB"


def test_identities_cameras_and_queries(tiny):
    t = read_tables(tiny)
    train, test = t["train"], t["test"]
    train_ids, test_ids = set(train[:, 2]), set(test[:, 2]) - {0}
    assert not train_ids & test_ids
    assert len(train_ids) == TINY.ids // 2 and len(test_ids) == TINY.ids - TINY.ids // 2
    assert (test[:, 2] == 0).sum() == TINY.distractors
    for table in (train, test):
        cams = defaultdict(set)
        for _, _, pid, cam in table:
            cams[pid].add(cam)
        assert all(len(c) >= 2 for p, c in cams.items() if p > 0)
    q = t["query"].ravel() - 1
    assert t["query"].shape[0] == 1 and len(set(q)) == len(q)
    assert q.min() >= 0 and q.max() < len(test)
    qrows = test[q]
    assert (qrows[:, 2] > 0).all()
    assert len({(p, c) for _, _, p, c in qrows}) == len(q)  # one query per (identity, camera)
    assert set(qrows[:, 2]) == test_ids  # every test identity is queried
    # every query keeps a cross-camera match even with all queries removed from the gallery
    gal = np.delete(test, q, axis=0)
    for _, _, pid, cam in qrows:
        assert ((gal[:, 2] == pid) & (gal[:, 3] != cam)).any()


def test_choose_queries_rule():
    rng = np.random.default_rng(0)
    assert len(S.choose_queries({1: 1, 2: 1}, rng)) == 1  # querying both would leave no match
    assert S.choose_queries({1: 2, 2: 2, 3: 1}, rng) == [1, 2, 3]
    for _ in range(50):
        counts = {c: int(rng.integers(1, 3)) for c in rng.choice(6, size=int(rng.integers(2, 6)), replace=False)}
        chosen = S.choose_queries(counts, rng)
        assert chosen
        left = {c: n - (c in chosen) for c, n in counts.items()}
        assert all(any(left[k] > 0 for k in left if k != c) for c in chosen)


def test_same_seed_byte_identical_and_workers_agree(tiny, tmp_path):
    again = S.generate(tmp_path / "again", S.SynthConfig(**{**TINY.__dict__, "workers": 2}))
    a, b = all_files(tiny), all_files(again)
    assert a.keys() == b.keys()
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, diff[:5]
    assert a["info/tracks_test_info.mat"].startswith(S.MAT_HEADER)
    other = all_files(S.generate(tmp_path / "other", S.SynthConfig(**{**TINY.__dict__, "seed": 4})))
    assert sum(k in a and a[k] != v for k, v in other.items()) > 0


def test_mat_header_fixed_and_readable(tmp_path):
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    S.write_mat(tmp_path / "a.mat", "x", arr)
    data = (tmp_path / "a.mat").read_bytes()
    assert data[:116] == S.MAT_HEADER.ljust(116, b" ")
    assert np.array_equal(scipy.io.loadmat(tmp_path / "a.mat")["x"], arr)


def test_loads_through_mars_reader(tiny):
    from reidlab.data import load_dataset

    t = read_tables(tiny)
    nq = t["query"].size
    off = load_dataset("mars", tiny)
    assert off.num_cameras == TINY.cameras and off.name == "synthcams"
    assert len(off.train) == len(t["train"]) and len(off.query) == nq
    assert len(off.gallery) == len(t["test"])  # official: the query tracks stay in the gallery
    assert {tr.camid for tr in off.train} == set(range(TINY.cameras))
    assert all(len(tr) == TINY.frames and all(Path(f).is_file() for f in tr.frames) for tr in off.train)
    tr = load_dataset("mars", tiny, protocol="torchreid")
    assert len(tr.gallery) == len(t["test"]) - nq
    assert {x.pid for x in off.query} == set(t["test"][:, 2]) - {0}


def test_ensure_default_idempotent_and_marker(tmp_path, monkeypatch):
    root = tmp_path / "default"
    S.ensure_default(root, TINY)
    first = all_files(root)
    calls = []
    real = S.generate
    # ensure_default calls the generate of its module, reidlab.synth.writing
    monkeypatch.setattr(writing, "generate", lambda *a, **k: calls.append(a) or real(*a, **k))
    S.ensure_default(root, TINY)
    assert calls == []  # complete and same config: untouched
    # a killed generation (no marker, a stray half-written file) is redone from scratch
    (root / S.MARKER).unlink()
    stray = root / "bbox_train" / "9999" / "9999C1T0001F001.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"\xff\xd8 half")
    assert not S.is_complete(root)
    S.ensure_default(root, TINY)
    assert len(calls) == 1 and not stray.exists()
    assert all_files(root) == first
    # another config in the same folder is regenerated too
    S.ensure_default(root, S.SynthConfig(**{**TINY.__dict__, "seed": 5}))
    assert len(calls) == 2
    marker = json.loads((root / S.MARKER).read_text())
    assert marker["config"]["seed"] == 5 and marker["counts"]["test_ids"] == TINY.ids - TINY.ids // 2


def test_cli_writes_dataset(tmp_path):
    from reidlab.cli import main

    out = tmp_path / "cli"
    rc = main(["synth", "--out", str(out), "--ids", "6", "--cameras", "2", "--frames", "3",
               "--height", "32", "--width", "16", "--seed", "1", "--distractors", "0", "--workers", "1"])
    assert rc == 0
    t = read_tables(out)
    assert len(t["train_names"]) == 3 * len(t["train"]) and set(t["test"][:, 3]) <= {1, 2}
    assert main(["synth", "--out", str(out), "--cameras", "12"]) == 2  # ConfigError → exit 2


def test_colour_matrix_matches_stepwise_pipeline(rng):
    cam = S.sample_cameras(4, rng)[2]
    x = rng.random((50, 3)).astype(np.float32)
    m, b = R.colour_matrix(cam, 0.9)
    ref = x * np.asarray(cam.gains) * 0.9 + np.asarray(cam.offset)
    grey = ref.mean(axis=1, keepdims=True)
    ref = grey + cam.saturation * (ref - grey)
    ref = (ref - 0.5) * cam.contrast + 0.5
    np.testing.assert_allclose(x @ m + b, ref, rtol=1e-5, atol=1e-5)


def test_spatial_operator_matches_direct_filtering(rng):
    sig = rng.random((40, 7))
    op = R.spatial_operator(40, 2.0, 0.7)
    ref = gaussian_filter1d(sig, 2.0 / 2.5, axis=0)
    small = R._resample(ref, (np.arange(20) + 0.5) * 2 - 0.5, 0)
    ref = gaussian_filter1d(R._resample(small, (np.arange(40) + 0.5) / 2 - 0.5, 0), 0.7, axis=0)
    np.testing.assert_allclose(op @ sig, ref, rtol=1e-4, atol=1e-5)
    assert np.allclose(R.spatial_operator(16, 1.0, 0.0), np.eye(16))


def test_person_visible_and_cameras_differ(rng):
    """The person changes the frame against its background, and two cameras render the same
    person differently (the camera gap exists before any learning)."""
    cams = S.sample_cameras(3, rng)
    person = S.sample_person(rng)
    frames = {}
    for cam in cams:
        spec = R.TrackletSpec(person, cam, "front", ("a", "b"), (0, 1, 2), 64, 32, 90)
        frames[cam.index] = np.stack(R.render_tracklet(spec)).astype(float)
        assert frames[cam.index].shape == (2, 64, 32, 3) and frames[cam.index].dtype == float
    # the person occupies the middle columns: they differ from the frame's left edge column
    f = frames[0][0]
    assert np.abs(f[20:40, 14:18] - f[20:40, :1]).mean() > 10
    assert np.abs(frames[0] - frames[1]).mean() > 10
    with pytest.raises(Exception, match="cameras"):
        S.SynthConfig(cameras=10).validate()


def test_cli_if_missing_keeps_a_finished_dataset(tmp_path, capsys):
    from reidlab.cli import main

    argv = ["synth", "--out", str(tmp_path / "sc"), "--ids", "6", "--cameras", "3", "--frames", "4",
            "--height", "32", "--width", "16", "--distractors", "1", "--workers", "1"]
    assert main(argv) == 0
    marker = tmp_path / "sc" / S.MARKER
    stamp = marker.stat().st_mtime_ns
    assert main(argv + ["--if-missing"]) == 0
    assert "already there" in capsys.readouterr().out
    assert marker.stat().st_mtime_ns == stamp
    # other settings are not "already there": the dataset is rebuilt for them
    assert main(argv[:-2] + ["--seed", "5", "--workers", "1", "--if-missing"]) == 0
    assert marker.stat().st_mtime_ns != stamp


def test_workers_do_not_rerun_a_replaced_main(tmp_path):
    """Streamlit (and AppTest) replaces ``__main__`` by the page script; the worker pool must not
    re-run it (a page that fails bare crashed the forkserver and hung CI for 15 minutes)."""
    import subprocess
    import sys

    page = tmp_path / "page.py"
    page.write_text("raise KeyError('a page run outside streamlit')\n")
    code = f"""
import sys, types
from reidlab import synth as S
main = types.ModuleType("__main__"); main.__file__ = {str(page)!r}
sys.modules["__main__"] = main
cfg = S.SynthConfig(**{{**{TINY.__dict__!r}, "workers": 2}})
S.generate({str(tmp_path / "out")!r}, cfg)
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


TINY_B = S.SynthConfig(**{**TINY.__dict__, "style": "b"})


def test_style_b_is_another_domain_with_the_same_layout(tiny, tmp_path):
    b = S.generate(tmp_path / "b", TINY_B)
    ta, tb = read_tables(tiny), read_tables(b)
    for key in ("train", "test"):  # the same split rules and MARS tables
        assert ta[key].shape[1] == tb[key].shape[1] == 4
        assert set(tb[key][:, 3]) <= set(range(1, TINY.cameras + 1))
    fa, fb = all_files(tiny), all_files(b)
    jpgs = [k for k in fb if k.endswith(".jpg")]
    assert jpgs and not any(fa.get(k) == fb[k] for k in jpgs)  # other people, other cameras
    marker = json.loads((b / S.MARKER).read_text())
    assert json.dumps(marker).count('"b"') >= 1
    again = S.generate(tmp_path / "b2", TINY_B)
    assert all_files(again) == fb  # deterministic


def test_style_b_draws_other_people_and_cameras():
    pa = S.sample_person(np.random.default_rng(0), "a")
    pb = S.sample_person(np.random.default_rng(0), "b")
    assert pa != pb
    ca = S.sample_cameras(4, np.random.default_rng(0))
    cb = S.sample_cameras(4, np.random.default_rng(0), style="b")
    assert [c.bg_color for c in ca] != [c.bg_color for c in cb]


def test_default_style_identity_unchanged_and_bad_style_named():
    assert "style" not in S.SynthConfig().identity()
    assert S.SynthConfig(style="b").identity()["style"] == "b"
    with pytest.raises(S.ConfigError, match="style='c'"):
        S.SynthConfig(style="c").validate()
