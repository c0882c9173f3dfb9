"""Every app page under streamlit.testing.v1.AppTest, on a tiny SynthCams and fake run stores.

Figures are read back from the page (plotly JSON; typed arrays are base64 ``{"dtype",
"bdata"}``) and compared with what the package computes from the same files.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from reidlab.eval.features import FeatureSet

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


# --------------------------------------------------------------------------- helpers

def decode(obj):
    """Plotly JSON → Python with typed arrays decoded to numpy."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if "shape" in obj:
                a = a.reshape([int(s) for s in str(obj["shape"]).split(",")])
            return a
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def charts(at) -> list[dict]:
    return [decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]


def chart_titled(at, text: str) -> dict:
    for c in charts(at):
        t = c["layout"].get("title", {})
        t = t.get("text", "") if isinstance(t, dict) else str(t)
        if text in (t or ""):
            return c
    raise AssertionError(f"no chart titled {text!r}; titles: "
                         f"{[c['layout'].get('title') for c in charts(at)]}")


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / name), default_timeout=TIMEOUT)
    return at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A tiny dataset, its ImageNet baseline, and two fake finished runs."""
    from reidlab.data import load_dataset
    from reidlab.data.synthcams import SynthConfig, generate
    from reidlab.engine.baseline import ensure_baseline

    base = tmp_path_factory.mktemp("lab")
    data_root = base / "synth"
    generate(data_root, SynthConfig(ids=8, cameras=3, frames=3, height=32, width=16,
                                    distractors=0, workers=1))
    runs = base / "runs"
    ensure_baseline(data_root, runs)
    data = load_dataset("mars", data_root)
    rng = np.random.default_rng(0)

    def feats(items, by: str, n_dim=12):
        out = np.zeros((len(items), n_dim), np.float32)
        for i, t in enumerate(items):
            out[i, (t.camid if by == "cam" else t.pid) % n_dim] = 3.0
        return out + rng.normal(0, 0.3, out.shape).astype(np.float32)

    def fs(by):
        q, g = data.query, data.gallery
        return FeatureSet(feats(q, by), feats(g, by), np.array([t.pid for t in q]),
                          np.array([t.pid for t in g]), np.array([t.camid for t in q]),
                          np.array([t.camid for t in g]), np.arange(len(q)), np.arange(len(g)))

    from reidlab.engine.config import make_config
    from reidlab.engine.runs import evaluate_features

    for name, K, r1 in (("fake_k2", 2, None), ("fake_k4", 4, None)):
        out = runs / name
        cfg = make_config("test", method="padal_mp", K=K, dataset=str(data_root))
        (out / "features").mkdir(parents=True)
        init, final = fs("cam"), fs("pid")
        init.save(out / "features" / "initial.npz")
        final.save(out / "features" / "final.npz")
        (out / "config.json").write_text(json.dumps({
            "config": cfg.to_dict(), "created": time.time(),
            "dataset": {"format": "mars", "root": str(data_root), "options": {},
                        "name": data.name, "num_cameras": data.num_cameras}}))
        (out / "status.json").write_text(json.dumps({"state": "finished", "progress": 1.0}))
        recs = [{"kind": "step", "epoch": 1 + s // 5, "step": s, "loss": 3.0 / (s + 1),
                 "terms": {"id": 2.0 / (s + 1), "adv": 0.7}} for s in range(10)]
        for which, f, ep in (("initial", init, 0), ("final", final, 2)):
            recs.append({"kind": "eval", "which": which, "epoch": ep,
                         **evaluate_features(f, data.num_cameras)})
        (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return {"data": data_root, "runs": runs, "dataset": data}


@pytest.fixture(autouse=True)
def env(lab, monkeypatch):
    monkeypatch.setenv("REIDLAB_DATA", str(lab["data"]))
    monkeypatch.setenv("REIDLAB_RUNS", str(lab["runs"]))
    monkeypatch.chdir(ROOT)


def pick(at, key, label_part):
    sb = at.selectbox(key=key)
    for opt in sb.options:
        if label_part in opt:
            return sb.select(opt)
    raise AssertionError(f"{label_part!r} not in {sb.options}")


# --------------------------------------------------------------------------- pages

def test_landing_shows_dataset_and_baseline(lab):
    from reidlab.engine.baseline import baseline_name
    from reidlab.engine.runs import Run

    at = page("app.py").run()
    no_errors(at)
    base = Run(lab["runs"] / baseline_name(lab["data"]))
    vals = {m.label: m.value for m in at.metric}
    assert vals["cameras"] == "3"
    assert vals["rank-1 (%)"] == f"{100 * base.final_metrics()['rank1']:.1f}"
    assert vals["train tracklets"] == str(len(lab["dataset"].train))


def test_data_page_counts_grid_and_bad_path(lab):
    at = page("pages/1_Data.py").run()
    no_errors(at)
    bar = chart_titled(at, "Tracklets per camera")
    s = lab["dataset"].summary()
    for trace in bar["data"]:
        per = s[trace["name"]]["per_camera"]
        assert list(trace["y"]) == [per.get(c, 0) for c in range(3)]
    assert chart_titled(at, "train: camera × identity")
    at.radio(key="split").set_value("gallery").run()
    grid = chart_titled(at, "gallery: camera × identity")
    assert grid["layout"]["xaxis"]["ticktext"] == [str(p) for p in
                                                    sorted({t.pid for t in lab["dataset"].gallery})]
    at.text_input(key="root").set_value("/nonexistent/folder").run()
    assert not at.exception
    assert any("/nonexistent/folder" in e.value for e in at.error)


def test_domain_gap_embeddings_match_package(lab):
    from reidlab.analysis.domain_gap import camera_probe, pooled
    from reidlab.analysis.embedding import embed_2d

    at = page("pages/3_Domain_gap.py")
    at.run()
    pick(at, "gap_run", "fake_k2").run()
    no_errors(at)
    before = chart_titled(at, "fake_k2 (padal_mp) — before")
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "initial.npz")
    feats, pids, camids = pooled(fs)
    xy = embed_2d(feats, method="pca", seed=0, use_cache=False)
    cam1 = next(t for t in before["data"] if t.get("name") == "cam 1")
    np.testing.assert_allclose(cam1["x"], xy[camids == 0, 0], rtol=1e-5, atol=1e-5)
    gap = chart_titled(at, "Camera-domain gap")
    probe = camera_probe(feats, camids, groups=pids, cv=3)["accuracy"]
    init_bar = next(t for t in gap["data"] if t["name"] == "initial")
    assert init_bar["y"][0] == pytest.approx(probe)
    final_bar = next(t for t in gap["data"] if t["name"] == "final")
    assert final_bar["y"][0] < init_bar["y"][0]  # final features carry no camera
    assert chart_titled(at, "rank-1 (%) per camera pair")
    at.multiselect(key="gap_views").set_value(["final"]).run()
    titles = [c["layout"].get("title", {}).get("text", "") for c in charts(at)]
    assert not any("before" in t for t in titles) and any("after" in t for t in titles)


def test_part_masks_k_slider(lab):
    at = page("pages/4_Part_masks.py").run()
    pick(at, "pm_run", "fake_k2").run()
    no_errors(at)

    def parts(at):
        fig = charts(at)[0]
        return [t["name"] for t in fig["data"] if t["type"] == "scatter"]

    assert parts(at) == ["part 1", "part 2", "part 3"]
    at.slider(key="pm_K").set_value(5).run()
    no_errors(at)
    assert parts(at) == [f"part {k}" for k in range(1, 6)]
    n_frames = len(at.multiselect(key="pm_items").value)
    images = [t for t in charts(at)[0]["data"] if t["type"] == "image"]
    assert len(images) == 3 * n_frames  # frames, K-means parts, strict stripes


def test_distances_page_overlay_and_pairs(lab):
    from reidlab.analysis.domain_gap import distance_distributions

    at = page("pages/5_Distances.py").run()
    pick(at, "dist_a", "fake_k2").run()
    no_errors(at)
    fig = charts(at)[0]
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "final.npz")
    d = distance_distributions((fs.q_feat, fs.g_feat), fs.q_pids, fs.g_pids, fs.q_camids,
                               fs.g_camids, max_pairs=100_000)
    same = next(t for t in fig["data"] if t["name"] == "same person")
    np.testing.assert_allclose(np.sort(same["x"]), np.sort(d["same"]), rtol=1e-5)
    pick(at, "dist_b", "fake_k4").run()
    no_errors(at)
    names = {t["name"] for t in charts(at)[0]["data"]}
    assert len(names) == 4 and any("fake_k4" in n for n in names)
    at.toggle(key="dist_pairs").set_value(True).run()
    no_errors(at)
    fig = charts(at)[0]
    n_pairs = len({(a, b) for a, b in d["by_pair"]})
    assert len([a for a in fig["layout"]["annotations"] if "cam" in a["text"]]) >= n_pairs


def test_rank_lists_topk_and_worst_first(lab):
    from reidlab.analysis.ranklists import worst_queries
    from reidlab.eval.ranking import compute_distmat

    at = page("pages/6_Rank_lists.py").run()
    pick(at, "rl_run", "fake_k2").run()
    no_errors(at)
    at.slider(key="rl_k").set_value(3).run()
    fig = charts(at)[0]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    counted = [t for t in titles[1:] if "(junk)" not in t]
    assert len(counted) == 3 and titles[0].startswith("query")
    at.radio(key="rl_order").set_value("worst first").run()
    no_errors(at)
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "final.npz")
    dist = compute_distmat(fs.q_feat, fs.g_feat)
    worst = int(worst_queries(dist, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids, n=1)[0])
    assert f"query row {worst}" in at.markdown[0].value or \
        any(f"query row {worst}" in m.value for m in at.markdown)


def test_ablations_plot_and_table(lab):
    from reidlab.engine.runs import Run

    at = page("pages/7_Ablations.py").run()
    no_errors(at)
    fig = chart_titled(at, "vs K")
    r1 = next(t for t in fig["data"] if t["name"] == "padal_mp rank1")
    assert list(r1["x"]) == [2, 4]
    expect = [100 * Run(lab["runs"] / n).final_metrics()["rank1"] for n in ("fake_k2", "fake_k4")]
    np.testing.assert_allclose(r1["y"], expect)
    at.multiselect(key="abl_metrics").set_value(["mAP"]).run()
    assert [t["name"] for t in chart_titled(at, "vs K")["data"]] == ["padal_mp mAP"]
    table = at.dataframe[0].value
    assert {"fake_k2 (padal_mp)", "fake_k4 (padal_mp)"} <= set(table.index)


def test_export_page_settings_and_tables(lab):
    at = page("pages/8_Export.py").run()
    no_errors(at)
    at.number_input(key="export_dpi").set_value(100).run()
    at.number_input(key="export_w").set_value(3.0).run()
    assert any("PNG: 300×400 px" in c.value for c in at.caption)
    assert at.selectbox(key="ex_table").value == "results"
    tex = at.code[0].value
    assert "\\toprule" in tex and "fake\\_k2" in tex
    assert len(at.multiselect(key="ex_figs").options) >= 4


def test_train_page_submits_once_and_shows_curves(lab):
    from reidlab.engine import jobs

    at = page("pages/2_Train.py").run()
    no_errors(at)
    at.selectbox(key=None) if False else None
    form_sel = [s for s in at.selectbox if s.label == "preset"][0]
    form_sel.set_value("test")
    [s for s in at.selectbox if s.label == "method"][0].set_value("padal_m")
    [n for n in at.number_input if n.label.startswith("epochs")][0].set_value(1)
    at.text_input(key="run_name").set_value("app_job")
    at.button[0].click().run()
    no_errors(at)
    job = jobs.job_state("app_job", lab["runs"])
    assert job is not None and job.argv[-2:] == ["--out", str(lab["runs"] / "app_job")]
    assert "--preset" in job.argv and job.argv[job.argv.index("--preset") + 1] == "test"
    at.button[0].click().run()  # a second submit (e.g. another tab) returns the same job
    assert jobs.job_state("app_job", lab["runs"]).pid == job.pid
    end = time.time() + 150
    while time.time() < end and jobs.job_state("app_job", lab["runs"]).active:
        time.sleep(0.5)
    assert jobs.job_state("app_job", lab["runs"]).state == "finished", job.log_tail()
    at = page("pages/2_Train.py").run()
    pick(at, "curves_of", "app_job").run()
    no_errors(at)
    loss = chart_titled(at, "Training losses")
    from reidlab.engine.runs import Run

    steps = Run(lab["runs"] / "app_job").metrics("step")
    total = next(t for t in loss["data"] if t["name"] == "loss")
    np.testing.assert_allclose(total["y"], [s["loss"] for s in steps if s.get("loss") is not None])
