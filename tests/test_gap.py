"""The camera-gap knob of SynthCams, ``python -m reidlab gap``, bench/gap_sweep.py and its
figure."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from reidlab.analysis.gap import gap_numbers
from reidlab.cli import main
from reidlab.engine.runs import Run
from reidlab import synth as S
from reidlab.synth import render as R
from reidlab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = S.SynthConfig(ids=8, cameras=3, frames=4, height=32, width=16, seed=3, distractors=2,
                     workers=1)
# sha256 of every rendered frame of TINY (style a, then style b), computed with the generator as
# it was before the knob existed (git 9623fbe): gap 1 must keep every existing dataset valid.
# (Rendered arrays, not JPEG files: numpy/scipy pinned in requirements.txt decide them.)
BEFORE_THE_KNOB = {"a": "681e991bfc2b4c5d00c32ff7299577d92e67d42948ae0096097a266a95a1139d",
                   "b": "286491acf3ee3f03fdb264d98d91d956ddb0c2708d01d7e3f080c8349224641d"}


def frames_digest(cfg: S.SynthConfig) -> str:
    h = hashlib.sha256()
    for r in S.plan(cfg)[1]:
        for f in R.render_tracklet(r.spec):
            h.update(np.ascontiguousarray(f).tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- the knob


@pytest.mark.parametrize("style", ["a", "b"])
def test_gap_one_renders_the_frames_of_before_the_knob(style):
    for cfg in (dataclasses.replace(TINY, style=style, gap=1.0),
                # every part named at level 1 is the same dataset, whatever gap says
                dataclasses.replace(TINY, style=style, gap=0.2, gap_parts=",".join(
                    f"{p}=1" for p in S.GAP_PARTS))):
        assert frames_digest(cfg) == BEFORE_THE_KNOB[style]
        assert cfg.identity() == dataclasses.replace(TINY, style=style).identity()
    assert "gap" not in S.SynthConfig().identity() and \
        "gap_levels" not in S.SynthConfig().identity()
    # the marker's cameras are as before too (no knob fields at gap 1)
    assert all("scene_mix" not in S.camera_record(c) for c in S.plan(TINY)[0])


def test_gap_zero_every_camera_the_same():
    cams1, recs1, q1 = S.plan(TINY)
    cams0, recs0, q0 = S.plan(dataclasses.replace(TINY, gap=0.0))
    # same people, tracklets, names and queries: only the cameras change
    assert [(r.pid, r.cam, r.tnum, r.names) for r in recs0] == \
        [(r.pid, r.cam, r.tnum, r.names) for r in recs1] and q0 == q1
    assert [r.spec.person for r in recs0] == [r.spec.person for r in recs1]
    for c in cams0:
        assert c.gains == (1.0, 1.0, 1.0) and c.offset == (0.0, 0.0, 0.0)
        assert (c.contrast, c.gamma, c.saturation, c.downscale, c.blur, c.noise) == \
            (1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
        assert c.view_probs == pytest.approx((0.25,) * 4)
    for key in ("scale", "offset_x", "offset_y", "occlusion_prob", "occluder_color"):
        assert len({getattr(c, key) for c in cams0}) == 1, key
        assert len({getattr(c, key) for c in cams1}) > 1, key
    # one tracklet through each camera: identical frames at gap 0, different at gap 1
    spec0, spec1 = recs0[0].spec, recs1[0].spec
    f0 = [R.render_tracklet(dataclasses.replace(spec0, camera=c))[0] for c in cams0]
    f1 = [R.render_tracklet(dataclasses.replace(spec1, camera=c))[0] for c in cams1]
    assert all(np.array_equal(f0[0], f) for f in f0[1:])
    assert not any(np.array_equal(f1[0], f) for f in f1[1:])
    # a level in between: between the two, in pixels
    cams5 = S.plan(dataclasses.replace(TINY, gap=0.5))[0]
    f5 = R.render_tracklet(dataclasses.replace(spec1, camera=cams5[1]))[0].astype(float)
    d_to_1 = np.abs(f5 - f1[1]).mean()
    assert 0 < d_to_1 < np.abs(f0[1].astype(float) - f1[1]).mean()


def scene(c: R.Camera) -> bytes:
    return R.scene_background(c, 32, 16, (3.0, 2.0)).tobytes()


PART_FIELDS = {"background": (scene, "occlusion_prob", "occluder_color"),
               "imaging": ("gains", "contrast", "gamma", "noise", "blur", "downscale"),
               "viewpoint": ("view_probs",),
               "framing": ("scale", "offset_x", "offset_y")}


@pytest.mark.parametrize("part", S.GAP_PARTS)
def test_each_part_alone_moves_only_its_camera_fields(part):
    cams = S.plan(dataclasses.replace(TINY, gap=0.0, gap_parts=f"{part}=1"))[0]
    for p, fields in PART_FIELDS.items():
        for key in fields:
            distinct = len({key(c) if callable(key) else getattr(c, key) for c in cams})
            assert (distinct > 1) == (p == part), (part, key)


def test_bad_gap_values_are_named_before_anything_is_written(tmp_path, capsys):
    for kw, word in (({"gap": 1.5}, "gap=1.5"), ({"gap": -0.1}, "gap=-0.1"),
                     ({"gap_parts": "colour=1"}, "colour"),
                     ({"gap_parts": "background=2"}, "background=2"),
                     ({"gap_parts": "imaging"}, "imaging")):
        with pytest.raises(ConfigError, match=word):
            S.SynthConfig(**kw).validate()
    out = tmp_path / "sc"
    assert main(["synth", "--out", str(out), "--gap-parts", "framing=x"]) == 2
    assert "gap_parts" in capsys.readouterr().err and not out.exists()
    assert main(["synth", "--out", str(out), "--gap", "3"]) == 2 and not out.exists()


def test_synth_cli_never_writes_a_smaller_gap_over_the_default_dataset(tmp_path, monkeypatch):
    assert S.default_out(S.SynthConfig()) == "data/synthcams"
    assert S.default_out(S.SynthConfig(gap=0.5)) == "data/synthcams_gap0.5"
    assert S.default_out(S.SynthConfig(gap=0, gap_parts="background=1")) == \
        "data/synthcams_gap0_background1"
    assert S.default_out(S.SynthConfig(style="b", gap=0.3)) == "data/synthcams_b_gap0.3"
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--gap", "0.25", "--gap-parts", "framing=1", "--ids", "6",
                 "--cameras", "2", "--frames", "2", "--height", "32", "--width", "16",
                 "--workers", "1"]) == 0
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["synthcams_gap0.25_framing1"]
    marker = json.loads((tmp_path / "data" / "synthcams_gap0.25_framing1" / S.MARKER).read_text())
    assert marker["config"]["gap_levels"] == {"background": 0.25, "imaging": 0.25,
                                              "viewpoint": 0.25, "framing": 1.0}


def test_gap_level_is_part_of_the_dataset_identity(tmp_path):
    half = dataclasses.replace(TINY, gap=0.5)
    assert half.identity()["gap_levels"] == dict.fromkeys(S.GAP_PARTS, 0.5)
    assert dataclasses.replace(TINY, gap=0.0, gap_parts="imaging=0.5").identity()[
        "gap_levels"] == {"background": 0.0, "imaging": 0.5, "viewpoint": 0.0, "framing": 0.0}
    root = S.generate(tmp_path / "sc", half)
    assert S.is_complete(root, half) and not S.is_complete(root, TINY)
    marker = json.loads((root / S.MARKER).read_text())
    assert marker["cameras"][1]["scene_ref"] == 0 and marker["cameras"][1]["scene_mix"] == 0.5


# ----------------------------------------------------------------------------- gap numbers


def constructed(offset: float, rng) -> tuple:
    pids = np.repeat(np.arange(1, 21), 6)
    cams = np.tile(np.arange(6), 20)
    x = rng.normal(size=(20, 16))[pids - 1] + 0.1 * rng.normal(size=(120, 16))
    return x + offset * rng.normal(size=(6, 16))[cams], pids, cams


def test_gap_numbers_on_features_with_and_without_a_camera_offset(rng):
    x, pids, cams = constructed(0.0, rng)
    g = gap_numbers(x, pids, cams, k=5)
    assert g["same_camera_neighbour_share"] == 0.0  # the 5 neighbours: the other cameras' views
    assert g["nearest_same_camera_share"] == 0.0
    assert g["cross_camera_identity_share"] == 1.0 and g["cross_camera_queries"] == 120
    assert g["camera_probe"] < 0.4 and g["chance_share"] == pytest.approx(19 / 119)
    x, pids, cams = constructed(5.0, rng)
    g = gap_numbers(x, pids, cams, k=5, chunk=7)  # chunked: the same numbers
    assert g["same_camera_neighbour_share"] == 1.0 and g["camera_probe"] == 1.0
    assert g["nearest_same_camera_share"] == 1.0
    assert g["cross_camera_identity_share"] < 0.5
    assert g == gap_numbers(x, pids, cams, k=5)
    # distractors (pid ≤ 0) are left out; k is lowered to what the set allows
    pids2 = pids.copy()
    pids2[:6] = 0
    g2 = gap_numbers(x, pids2, cams, k=500)
    assert g2["n"] == 114 and g2["k"] == 113
    with pytest.raises(ValueError, match="2 cameras"):
        gap_numbers(x[:6:6], pids[:6:6], cams[:6:6])


@pytest.fixture(scope="module")
def gapdata(tmp_path_factory):
    base = tmp_path_factory.mktemp("gap")
    cfg = S.SynthConfig(ids=8, cameras=3, frames=3, height=32, width=16, distractors=1,
                        workers=1, gap=0.5)
    return {"data": S.generate(base / "sc", cfg), "runs": base / "runs", "cfg": cfg}


def test_gap_cli_prints_the_numbers_and_caches_the_features(gapdata, capsys):
    argv = ["gap", str(gapdata["data"]), "--runs", str(gapdata["runs"]), "--backbone", "tiny",
            "--k", "10"]
    assert main(argv + ["--json"]) == 0
    g = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("same_camera_neighbour_share", "cross_camera_identity_share", "camera_probe",
                "chance_share"):
        assert 0.0 <= g[key] <= 1.0, key
    assert g["k"] == 10 and g["cameras"] == 3 and g["backbone"] == "tiny"
    feats = Path(g["features"]) / "features" / "final.npz"
    stamp = feats.stat().st_mtime_ns
    assert main(argv) == 0  # the cached features, the same numbers, in words
    out = capsys.readouterr().out
    assert re.search(rf"same-camera neighbour share \(k=10\): +"
                     rf"{g['same_camera_neighbour_share']:.3f} ", out), out
    assert "camera probe" in out and feats.stat().st_mtime_ns == stamp
    # the dataset regenerated in place: the features are computed again
    S.generate(gapdata["data"], gapdata["cfg"])
    assert main(argv + ["--json"]) == 0 and feats.stat().st_mtime_ns != stamp
    capsys.readouterr()


def test_gap_cli_bad_input_is_one_line_before_anything_is_written(gapdata, tmp_path, capsys):
    runs = tmp_path / "runs"
    for extra, words in (([str(tmp_path / "nope")], ("nope", "expected")),
                         ([str(gapdata["data"]), "--format", "mp4"], ("--format", "mars")),
                         ([str(gapdata["data"]), "--backbone", "vit"], ("--backbone",)),
                         ([str(gapdata["data"]), "--k", "0"], ("--k",)),
                         ([str(gapdata["data"]), "--format", "market1501"], ("bounding_box",))):
        assert main(["gap", *extra, "--runs", str(runs)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and all(w in err for w in words), err
        assert not runs.exists()


# ----------------------------------------------------------------------------- sweep + figure


def test_gap_sweep_figure_lines_and_error_bars():
    from reidlab.viz.gap_sweep import gap_sweep_figure

    rows = [{"row": "a", "gap": 0.0, "seed": 0, "rank1": 0.5},
            {"row": "a", "gap": 0.0, "seed": 1, "rank1": 0.3},
            {"row": "a", "gap": 1.0, "seed": 0, "rank1": 0.1},
            {"row": "b", "gap": 1.0, "seed": 0, "rank1": 0.2, "mAP": 0.1}]
    levels = [{"gap": 0.0, "same_camera_neighbour_share": 0.2},
              {"gap": 1.0, "same_camera_neighbour_share": 0.9}]
    fig = gap_sweep_figure(rows, "rank1", levels)
    a, b = fig.data
    assert a.name == "a" and list(a.x) == [0.0, 1.0]
    np.testing.assert_allclose(a.y, [40.0, 10.0])
    np.testing.assert_allclose(a.error_y.array, [np.std([50, 30], ddof=1), 0.0])
    assert list(b.x) == [1.0] and "same-cam 0.90" in fig.layout.xaxis.ticktext[1]
    assert [t.name for t in gap_sweep_figure(rows, "mAP").data] == ["b"]


def test_gap_sweep_runs_end_to_end_with_the_test_preset(tmp_path):
    import gap_sweep

    res = tmp_path / "results"
    argv = ["--levels", "0,1", "--rows", "cawcl", "--seeds", "0", "--preset", "test",
            "--synth", "ids=8", "--synth", "cameras=3", "--synth", "frames=4",
            "--synth", "height=32", "--synth", "width=16", "--synth", "distractors=1",
            "--synth", "workers=1", "--data", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--results", str(res), "--gap-backbone", "tiny"]
    assert gap_sweep.main(argv) == 0
    out = json.loads((res / "gap_sweep.json").read_text())
    assert [(r["row"], r["gap"], r["seed"]) for r in out["rows"]] == \
        [("cawcl", 0.0, 0), ("cawcl", 1.0, 0)]
    for r in out["rows"]:
        assert 0.0 <= r["rank1"] <= 1.0 and 0.0 <= r["mAP"] <= 1.0
        assert r["fscore_first"] is not None  # cawcl clusters
    assert [lv["gap"] for lv in out["levels"]] == [0.0, 1.0]
    assert all(0 <= lv["same_camera_neighbour_share"] <= 1 for lv in out["levels"])
    assert (tmp_path / "data" / "synthcams_gap0").is_dir()
    assert (tmp_path / "data" / "synthcams_gap1").is_dir()
    md = (res / "gap_sweep.md").read_text()
    assert "| cawcl |" in md and "gap 0 | gap 1" in md
    # again: the finished runs are reused (not retrained), the rows replaced, not doubled
    ckpt = tmp_path / "runs" / "gap0" / "cawcl" / "status.json"
    stamp = ckpt.stat().st_mtime_ns
    assert gap_sweep.main(argv) == 0
    assert len(json.loads((res / "gap_sweep.json").read_text())["rows"]) == 2
    assert ckpt.stat().st_mtime_ns == stamp
    # other settings for a finished run: an error naming them, not a silently reused row
    with pytest.raises(SystemExit, match="epochs"):
        gap_sweep.main(argv + ["--epochs", "1"])
    # gap numbers only
    assert gap_sweep.main([*argv, "--gap-only", "--levels-name", "levels"]) == 0
    lv = json.loads((res / "levels.json").read_text())["levels"]
    assert [x["gap"] for x in lv] == [0.0, 1.0] and (res / "levels.md").is_file()
    # the imagenet row from the finished cawcl runs' initial evaluation: nothing is trained
    assert gap_sweep.main([*argv[:2], "--rows", "imagenet", *argv[4:],
                           "--initial-from", "cawcl"]) == 0
    rows = json.loads((res / "gap_sweep.json").read_text())["rows"]
    assert not (tmp_path / "runs" / "gap0" / "supervised").exists()
    for g in (0.0, 1.0):
        img = next(r for r in rows if r["row"] == "imagenet" and r["gap"] == g)
        first = next(m for m in Run(tmp_path / "runs" / f"gap{g:g}" / "cawcl").metrics("eval")
                     if m.get("which") == "initial")
        assert img["rank1"] == first["rank1"] and img["run"].endswith("cawcl")
    assert len(rows) == 4  # the cawcl rows of before are kept


def test_gap_sweep_bad_arguments(tmp_path):
    import gap_sweep

    for argv, word in ((["--levels", "0,2"], "--levels"), (["--rows", "nope"], "nope"),
                       (["--synth", "colour=1"], "colour"), (["--synth", "gap=0"], "gap"),
                       (["--initial-from", "imagenet"], "initial"),
                       (["--initial-from", "padal_mp"], "parts")):
        with pytest.raises(SystemExit) as e:
            gap_sweep.main([*argv, "--data", str(tmp_path / "d"), "--results", str(tmp_path)])
        assert e.value.code != 0
    assert not (tmp_path / "d").exists()


def test_ablations_page_shows_the_sweep(gapdata, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from reidlab.engine.baseline import ensure_baseline
    from reidlab.viz import gap_sweep as GS

    ensure_baseline(gapdata["data"], gapdata["runs"], backbone="tiny")  # one run on the page
    res = tmp_path / "gap_sweep.json"
    res.write_text(json.dumps({"levels": [], "rows": [
        {"row": "cawcl", "gap": g, "seed": s, "rank1": 0.1 * (1 + s) + g, "mAP": 0.1}
        for g in (0.0, 1.0) for s in (0, 1)]}))
    monkeypatch.setattr(GS, "RESULTS_JSON", res)
    monkeypatch.setenv("REIDLAB_DATA", str(gapdata["data"]))
    monkeypatch.setenv("REIDLAB_RUNS", str(gapdata["runs"]))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app_pages" / "7_Ablations.py"), default_timeout=60).run()
    assert not at.exception and not at.error
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    fig = next(c for c in charts if "camera gap" in json.dumps(c["layout"].get("title")))
    np.testing.assert_allclose(fig["data"][0]["y"], [15.0, 115.0])
    monkeypatch.setattr(GS, "RESULTS_JSON", tmp_path / "none.json")
    at = AppTest.from_file(str(ROOT / "app_pages" / "7_Ablations.py"), default_timeout=60).run()
    assert not at.exception and any("No sweep yet" in c.value for c in at.caption)


def test_gap_sweep_table_shows_where_the_first_stage_ends(tmp_path):
    """PIRID's claim at each gap: its intra-camera stage (the stage-end evaluation) against
    the same run's final rank-1; rows of methods without stages leave the section."""
    import argparse

    import gap_sweep

    args = argparse.Namespace(name="s", results=str(tmp_path), preset="test", epochs=None,
                              overrides={}, synth={})
    rows = [{"row": "pirid", "gap": g, "seed": s, "rank1": 0.3, "mAP": 0.2, "stage": "intra",
             "rank1_stage": 0.1 + s / 10, "mAP_stage": 0.1} for g in (0.0, 1.0) for s in (0, 1)]
    rows += [{"row": "padal_id", "gap": 0.0, "seed": 0, "rank1": 0.4, "mAP": 0.3,
              "rank1_stage": None}]
    gap_sweep.write_sweep(rows, [], args, ["--x"], 0.0)
    md = (tmp_path / "s.md").read_text()
    part = md.split("## rank-1 where the first stage ends")[1]
    assert "| pirid | 15.0 ± 7.1 | 15.0 ± 7.1 |" in part and "padal_id" not in part
