"""Infrared ↔ colour layouts: SYSU-MM01 and RegDB readers on tiny fixtures in the real layouts,
their bad inputs, the gallery trials and the SYSU evaluation rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reidlab.data import load_dataset
from reidlab.data.tracklets import COLOUR, INFRARED
from reidlab.errors import ConfigError, DatasetError
from reidlab.eval.crossmodal import evaluate_trials, sample_gallery_trials


def _img(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 4, 3), value, np.uint8)).save(path)


def write_sysu(root: Path, per=3, train=(1, 2), val=(3,), test=(4, 5), skip=()) -> Path:
    """cam1..cam6/<pid4>/<img4>.jpg (``per`` images per person and camera, except the
    (camera, pid) pairs in ``skip``) and exp/{train,val,test}_id.txt."""
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True, exist_ok=True)
        for pid in (*train, *val, *test):
            if (cam, pid) in skip:
                continue
            for i in range(1, per + 1):
                _img(root / f"cam{cam}" / f"{pid:04d}" / f"{i:04d}.jpg", 10 * cam + pid)
    (root / "exp").mkdir(exist_ok=True)
    for name, ids in (("train", train), ("val", val), ("test", test)):
        (root / "exp" / f"{name}_id.txt").write_text(",".join(map(str, ids)) + "\n")
    return root


def write_regdb(root: Path, train=(0, 1), test=(2, 3), per=2, trials=(1,)) -> Path:
    for sub, tag in (("Visible", "v"), ("Thermal", "t")):
        for pid in (*train, *test):
            for i in range(per):
                _img(root / sub / "male" / f"{pid}" / f"{tag}_{pid}_{i}.bmp", pid * 20 + i)
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for t in trials:
        for split, ids in (("train", train), ("test", test)):
            for sub, name, tag in (("Visible", "visible", "v"), ("Thermal", "thermal", "t")):
                lines = [f"{sub}/male/{p}/{tag}_{p}_{i}.bmp {p}" for p in ids for i in range(per)]
                (root / "idx" / f"{split}_{name}_{t}.txt").write_text("\n".join(lines) + "\n")
    return root


# ------------------------------------------------------------------------------ SYSU-MM01


def test_sysu_reads_the_real_layout(tmp_path):
    data = load_dataset("SYSU-MM01", write_sysu(tmp_path / "sysu"))
    assert data.name == "sysumm01" and data.num_cameras == 6
    assert {t.pid for t in data.train} == {1, 2, 3}  # train + val
    assert len(data.train) == 3 * 6 * 3
    assert {t.camid for t in data.query} == {2, 5}  # cam3, cam6
    assert all(t.modality == INFRARED for t in data.query)
    assert {t.camid for t in data.gallery} == {0, 1, 3, 4}
    assert all(t.modality == COLOUR for t in data.gallery)
    assert {t.modality for t in data.train} == {COLOUR, INFRARED}
    assert all(len(t) == 1 for t in data.query + data.gallery)
    m = data.meta
    assert m["protocol"] == "sysu-all-search-single-shot-10-trials" and len(m["trials"]) == 10
    for rows in m["trials"]:  # one image per test person and gallery camera
        g = [data.gallery[i] for i in rows]
        assert sorted((t.camid, t.pid) for t in g) == sorted(
            (c, p) for c in (0, 1, 3, 4) for p in (4, 5))
    assert len({tuple(r) for r in m["trials"]}) > 1  # the trials draw differently
    again = load_dataset("sysumm01", tmp_path / "sysu")
    assert again.meta["trials"] == m["trials"]  # seeded: the same galleries every time


def test_sysu_indoor_multi_shot_and_train_only(tmp_path):
    root = write_sysu(tmp_path / "sysu")
    data = load_dataset("sysumm01", root, mode="indoor", shots=10, train_ids="train")
    assert {t.camid for t in data.gallery} == {0, 1}
    assert {t.pid for t in data.train} == {1, 2}
    assert data.meta["protocol"] == "sysu-indoor-search-multi-shot-10-trials"
    assert all(len(r) == len(data.gallery) for r in data.meta["trials"])  # 3 < 10: all


def test_sysu_bad_inputs_name_the_file(tmp_path):
    root = write_sysu(tmp_path / "a")
    (root / "exp" / "test_id.txt").unlink()
    with pytest.raises(DatasetError, match="test_id.txt"):
        load_dataset("sysumm01", root)
    root = write_sysu(tmp_path / "b")
    (root / "exp" / "val_id.txt").write_text("1,x,3\n")
    with pytest.raises(DatasetError, match="val_id.txt.*'x'"):
        load_dataset("sysumm01", root)
    root = write_sysu(tmp_path / "c", skip={(3, 5), (6, 5)})  # person 5: no infrared image
    with pytest.raises(DatasetError, match=r"infrared images.*\[5\]"):
        load_dataset("sysumm01", root)
    root = write_sysu(tmp_path / "d")
    (root / "exp" / "test_id.txt").write_text("2,4\n")
    with pytest.raises(DatasetError, match="disjoint"):
        load_dataset("sysumm01", root)
    import shutil

    shutil.rmtree(root / "cam6")
    with pytest.raises(DatasetError, match="cam6"):
        load_dataset("sysumm01", root)
    with pytest.raises(ConfigError, match="mode"):
        load_dataset("sysumm01", write_sysu(tmp_path / "e"), mode="outdoor")


def test_gallery_trials_by_hand():
    # pool: person 1 twice in camera 0 and once in camera 1; person 2 once in each
    pids, camids = [1, 1, 1, 2, 2], [0, 0, 1, 0, 1]
    trials = sample_gallery_trials(pids, camids, cameras=(0, 1), shots=1, trials=20, seed=3)
    for rows in trials:  # the singletons always, one of the two (person 1, camera 0) images
        assert len(rows) == 4 and {2, 3, 4} <= set(rows.tolist())
        assert len({0, 1} & set(rows.tolist())) == 1
    assert {int(r[0]) for r in trials} == {0, 1}  # both drawn over 20 trials
    multi = sample_gallery_trials(pids, camids, cameras=(0,), shots=10, trials=2)
    assert [r.tolist() for r in multi] == [[0, 1, 3], [0, 1, 3]]  # camera 1 not asked for
    with pytest.raises(ConfigError):
        sample_gallery_trials(pids, camids, (0,), shots=0, trials=1)


def test_sysu_rule_drops_camera_2_for_camera_3_queries():
    """Query 0 from cam3 (camid 2), query 1 from cam6 (camid 5), both person 7. Gallery:
    g0 person 7 in cam2 (camid 1, nearest), g1 person 8 in cam1, g2 person 7 in cam1."""
    d = np.array([[0.1, 0.2, 0.3],
                  [0.1, 0.2, 0.3]], np.float32)
    qp, qc = np.array([7, 7]), np.array([2, 5])
    gp, gc = np.array([7, 8, 7]), np.array([1, 0, 0])
    res = evaluate_trials(d, qp, gp, qc, gc, trials=[[0, 1, 2]], ignore="sysu_cam3_cam2")
    # query 0 ranks g1, g2 (g0 dropped): first match at rank 2, AP 1/2; query 1: g0 first, AP
    # (1/1 + 2/3) / 2
    assert res["rank1"] == pytest.approx(0.5)
    assert res["mAP"] == pytest.approx((0.5 + (1 + 2 / 3) / 2) / 2)
    std = evaluate_trials(d, qp, gp, qc, gc, trials=[[0, 1, 2], [1, 2]])
    assert std["trials"] == 2 and std["per_trial"][1]["rank1"] == 0.0
    assert std["rank1"] == pytest.approx(0.5) and std["rank1_std"] == pytest.approx(
        np.std([1.0, 0.0], ddof=1))
    with pytest.raises(ConfigError, match="ignore rule"):
        evaluate_trials(d, qp, gp, qc, gc, trials=[[0]], ignore="nope")


def test_run_metrics_average_the_trials(tmp_path):
    from reidlab.engine.runs import evaluate_feature_set
    from reidlab.eval.features import FeatureSet

    data = load_dataset("sysumm01", write_sysu(tmp_path / "sysu"), trials=3)
    rng = np.random.default_rng(0)
    centre = {p: rng.normal(size=8) for p in (4, 5)}
    q = np.stack([centre[t.pid] + 0.1 * rng.normal(size=8) for t in data.query])
    g = np.stack([centre[t.pid] + 0.1 * rng.normal(size=8) for t in data.gallery])
    fs = FeatureSet(q_feat=q.astype(np.float32), g_feat=g.astype(np.float32),
                    q_pids=np.array([t.pid for t in data.query]),
                    g_pids=np.array([t.pid for t in data.gallery]),
                    q_camids=np.array([t.camid for t in data.query]),
                    g_camids=np.array([t.camid for t in data.gallery]),
                    q_index=np.arange(len(data.query)), g_index=np.arange(len(data.gallery)))
    m = evaluate_feature_set(fs, 6, data.meta["protocol"], meta=data.meta)
    assert m["trials"] == 3 and len(m["per_trial"]) == 3 and m["rank1"] == 1.0
    assert m["protocol"] == "sysu-all-search-single-shot-3-trials"
    assert m["num_gallery_per_trial"] == 8  # 2 people × 4 colour cameras


# ------------------------------------------------------------------------------ RegDB


def test_regdb_reads_the_real_layout_both_directions(tmp_path):
    root = write_regdb(tmp_path / "RegDB")
    v2t = load_dataset("regdb", root)
    assert v2t.num_cameras == 2 and len(v2t.train) == 2 * 2 * 2
    assert all(t.camid == 0 and t.modality == COLOUR for t in v2t.query)
    assert all(t.camid == 1 and t.modality == INFRARED for t in v2t.gallery)
    assert {t.pid for t in v2t.query} == {2, 3} and v2t.meta["protocol"] == "regdb-v2t-trial-1"
    t2v = load_dataset("regdb", root, direction="t2v")
    assert all(t.modality == INFRARED for t in t2v.query)
    assert t2v.meta["query_modality"] == "infrared"


def test_regdb_bad_inputs_name_the_file(tmp_path):
    root = write_regdb(tmp_path / "a")
    with pytest.raises(DatasetError, match="train_visible_2.txt"):
        load_dataset("regdb", root, trial=2)
    (root / "idx" / "test_thermal_1.txt").write_text("Thermal/male/2/t_2_0.bmp\n")
    with pytest.raises(DatasetError, match="line 1"):
        load_dataset("regdb", root)
    root = write_regdb(tmp_path / "b")
    (root / "Thermal" / "male" / "3" / "t_3_1.bmp").unlink()
    with pytest.raises(DatasetError, match="t_3_1.bmp"):
        load_dataset("regdb", root)
    root = write_regdb(tmp_path / "c")
    lines = (root / "idx" / "test_thermal_1.txt").read_text().splitlines()
    (root / "idx" / "test_thermal_1.txt").write_text(
        "\n".join(ln for ln in lines if not ln.endswith(" 3")) + "\n")  # person 3: no thermal
    with pytest.raises(DatasetError, match=r"only one of them: \[3\]"):
        load_dataset("regdb", root)
    with pytest.raises(ConfigError, match="direction"):
        load_dataset("regdb", write_regdb(tmp_path / "d"), direction="x")


def test_features_files_carry_the_modality(tmp_path):
    """extract_features writes each row's modality; files from before modalities load as
    colour."""
    from reidlab.engine.config import make_config
    from reidlab.eval.features import FeatureSet, extract_features

    data = load_dataset("regdb", write_regdb(tmp_path / "RegDB"))
    cfg = make_config("test", dataset=str(tmp_path / "RegDB"))

    def embed(clips):
        return clips.mean(dim=(1, 3, 4))

    fs = extract_features(embed, data.query, data.gallery, cfg, input_norm=((0, 0, 0), (1, 1, 1)))
    assert fs.q_modality.tolist() == [COLOUR] * len(data.query)
    assert fs.g_modality.tolist() == [INFRARED] * len(data.gallery)
    fs.save(tmp_path / "f.npz")
    back = FeatureSet.load(tmp_path / "f.npz")
    assert back.g_modality.tolist() == fs.g_modality.tolist()
    old = {k: v for k, v in np.load(tmp_path / "f.npz").items() if "modality" not in k}
    np.savez(tmp_path / "old.npz", **old)
    assert FeatureSet.load(tmp_path / "old.npz").g_modality.tolist() == [0] * len(data.gallery)


def test_cli_trains_on_sysu_and_reports_the_trials(tmp_path, capsys):
    """`reidlab train --format sysumm01 --data-opt ...`: a tiny run on the SYSU layout whose
    final metrics are the mean over its gallery trials and say the protocol."""
    import json

    from reidlab.cli import main

    root = write_sysu(tmp_path / "sysu")
    out = tmp_path / "run"
    rc = main(["train", "--preset", "test", "--method", "supervised", "--dataset", str(root),
               "--format", "sysumm01", "--data-opt", "mode=indoor", "--data-opt", "trials=2",
               "--epochs", "1", "--out", str(out), "--no-progress"])
    assert rc == 0
    final = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()
             if '"final"' in x][-1]
    assert final["trials"] == 2 and len(final["per_trial"]) == 2
    assert final["protocol"] == "sysu-indoor-search-single-shot-2-trials"
    assert main(["train", "--preset", "test", "--dataset", str(root), "--format", "sysumm01",
                 "--data-opt", "mode", "--out", str(tmp_path / "x"), "--no-progress"]) != 0
    assert "--data-opt: expected KEY=VALUE, got 'mode'" in capsys.readouterr().err


# ------------------------------------------------------------------- infrared SynthCams


def test_infrared_synthcams_is_read_by_the_sysu_reader(tmp_path):
    """cam3/cam6 render thermal images (one channel replicated, the body warmer than the
    scene), the others colour; the SYSU-MM01 reader reads the layout; same seed, same bytes."""
    from reidlab.synth import SynthConfig, generate

    cfg = SynthConfig(ids=10, frames=2, height=32, width=16, distractors=0, workers=1,
                      infrared=True)
    root = generate(tmp_path / "ir", cfg)
    data = load_dataset("sysumm01", root, mode="indoor")
    assert {t.camid for t in data.query} <= {2, 5}
    test_ids = {t.pid for t in data.query}
    assert test_ids == {t.pid for t in data.gallery} and len(test_ids) == 5
    ir = np.asarray(Image.open(data.query[0].frames[0])).astype(int)
    assert np.abs(ir[..., 0] - ir[..., 1]).max() <= 2 and np.abs(ir[..., 0] - ir[..., 2]).max() <= 2
    rgb = np.stack([np.asarray(Image.open(t.frames[0])) for t in data.gallery]).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 5  # colour cameras keep colour
    centre = ir[8:24, 5:11, 0].mean()  # the person stands in the middle
    edge = np.concatenate([ir[:, :2, 0].ravel(), ir[:, -2:, 0].ravel()]).mean()
    assert centre > edge + 40  # warmer than the scene
    again = generate(tmp_path / "ir2", cfg)
    f = data.query[0].frames[0].relative_to(root)
    assert (again / f).read_bytes() == (root / f).read_bytes()
    assert "infrared" not in SynthConfig().identity()  # the default dataset is unchanged
    with pytest.raises(ConfigError, match="cameras=4 with infrared"):
        SynthConfig(cameras=4, infrared=True).validate()



def test_thermal_look_is_all_an_infrared_camera_keeps_of_a_person():
    """Two people who differ only in colours and patterns (clothes, skin, hair, bag) render
    the same infrared frames, so ``thermal_look`` (plus build) is what identifies a person in
    infrared; a colour camera tells them apart, and a different look changes the infrared
    frames."""
    import dataclasses

    from reidlab.synth import render as R
    from reidlab.synth import sample_cameras, sample_person

    rng = np.random.default_rng(3)
    a, b = sample_person(rng), sample_person(rng)
    b = dataclasses.replace(b, **{k: getattr(a, k) for k in (
        "hair_style", "long_sleeves", "legwear", "bag", "coat", "suitcase", "build_w",
        "build_h")})
    b = dataclasses.replace(b, pattern="stripes" if a.pattern == "plain" else "plain")
    assert R.thermal_look(a) == R.thermal_look(b) and a.torso != b.torso
    cam = sample_cameras(2, np.random.default_rng(0))[0]

    def frames(person, thermal, **change):
        spec = R.TrackletSpec(dataclasses.replace(person, **change),
                              dataclasses.replace(cam, thermal=thermal), "front", ("x",) * 2,
                              (0, 1), 64, 32, 90)
        return np.stack(R.render_tracklet(spec))

    np.testing.assert_array_equal(frames(a, True), frames(b, True))
    assert not np.array_equal(frames(a, False), frames(b, False))
    other = "shorts" if a.legwear != "shorts" else "trousers"
    assert not np.array_equal(frames(a, True), frames(a, True, legwear=other))



def test_near_infrared_synthcams_keeps_garments_without_colour(tmp_path):
    """``infrared_kind="nir"``: the same people, cameras and tracklets as the thermal
    SynthCams, but cam3/cam6 render one grey level per garment (NIR reflectance: a garment keeps
    its grey, colours are gone), so two people who look alike in thermal differ in NIR; the
    SYSU-MM01 reader reads it; the thermal dataset's identity is unchanged."""
    import dataclasses

    from reidlab.synth import render as R
    from reidlab.synth import SynthConfig, generate, plan_infrared, sample_cameras, \
        sample_person

    cfg = SynthConfig(ids=10, frames=2, height=32, width=16, distractors=0, workers=1,
                      infrared=True, infrared_kind="nir")
    thermal = dataclasses.replace(cfg, infrared_kind="thermal")
    (cams_n, rec_n), (cams_t, rec_t) = plan_infrared(cfg), plan_infrared(thermal)
    assert [c.index + 1 for c in cams_n if c.nir] == [3, 6] and not any(c.thermal for c in cams_n)
    assert [(r.pid, r.cam, r.names, r.spec.person) for r in rec_n] == \
        [(r.pid, r.cam, r.names, r.spec.person) for r in rec_t]
    assert "infrared_kind" not in thermal.identity() and cfg.identity()["infrared_kind"] == "nir"
    root = generate(tmp_path / "nir", cfg)
    data = load_dataset("sysumm01", root, mode="all")
    ir = np.asarray(Image.open(data.query[0].frames[0])).astype(int)
    assert np.abs(ir[..., 0] - ir[..., 2]).max() <= 2  # one channel, replicated
    # a thermal look-alike: same styles and build, other colours
    rng = np.random.default_rng(3)
    a, b = sample_person(rng), sample_person(rng)
    b = dataclasses.replace(b, **{k: getattr(a, k) for k in (
        "hair_style", "long_sleeves", "legwear", "bag", "coat", "suitcase", "build_w",
        "build_h", "pattern")})
    cam = sample_cameras(2, np.random.default_rng(0))[0]

    def frames(person, **kind):
        spec = R.TrackletSpec(person, dataclasses.replace(cam, **kind), "front", ("x",) * 2,
                              (0, 1), 64, 32, 90)
        return np.stack(R.render_tracklet(spec)).astype(int)

    np.testing.assert_array_equal(frames(a, thermal=True), frames(b, thermal=True))
    assert np.abs(frames(a, nir=True) - frames(b, nir=True)).mean() > 1.0
    # NIR grey is partly the colour's luminance, partly not: neither lost nor a plain grey copy
    cols = np.random.default_rng(1).random((500, 3))
    refl = np.array([R.nir_reflectance(tuple(c)) for c in cols])
    corr = np.corrcoef(refl, cols @ [0.299, 0.587, 0.114])[0, 1]
    assert 0.12 <= refl.min() and refl.max() <= 0.92 and 0.3 < corr < 0.9
    with pytest.raises(ConfigError, match="infrared_kind"):
        SynthConfig(infrared_kind="nir").validate()
    with pytest.raises(ConfigError, match="infrared_kind"):
        SynthConfig(infrared=True, infrared_kind="uv").validate()
    from reidlab.synth import ensure_infrared

    with pytest.raises(ConfigError, match="infrared_kind"):  # before anything is written
        ensure_infrared(tmp_path / "uv", kind="uv")
    assert not (tmp_path / "uv").exists()


def test_pseudo_infrared_cameras_of_any_layout(tmp_path):
    """The paper's Market trick: half the cameras (seeded) or chosen ones become infrared and
    are read as their red channel, in training batches and features alike."""
    import dataclasses

    from reidlab.data.loader import EvalTrackletDataset
    from reidlab.engine.config import make_config
    from tiny_mars import write_tiny_mars

    root = write_tiny_mars(tmp_path / "mars", train_ids=3, test_ids=2, cameras=4)
    data = load_dataset("mars", root, pseudo_infrared="2,4")
    assert data.meta["pseudo_infrared_cameras"] == [2, 4]
    for t in data.train + data.query + data.gallery:
        assert (t.modality == INFRARED) == (t.camid in (1, 3)) == t.pseudo_infrared
    half = load_dataset("mars", root, pseudo_infrared="half")
    assert len(half.meta["pseudo_infrared_cameras"]) == 2
    assert load_dataset("mars", root, pseudo_infrared="half").meta == half.meta  # seeded
    cfg = make_config("test", dataset=str(root))
    t = next(t for t in data.gallery if t.pseudo_infrared)
    ds = EvalTrackletDataset([t, dataclasses.replace(t, pseudo_infrared=False)], cfg,
                             ((0, 0, 0), (1, 1, 1)))
    red, colour = ds[0]["clips"], ds[1]["clips"]
    assert torch_equal(red[:, :, 0], red[:, :, 1]) and torch_equal(red[:, :, 0], colour[:, :, 0])
    with pytest.raises(ConfigError, match="pseudo_infrared"):
        load_dataset("mars", root, pseudo_infrared="1,2,3,4")
    with pytest.raises(ConfigError, match="pseudo_infrared"):
        load_dataset("mars", root, pseudo_infrared="9")


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
