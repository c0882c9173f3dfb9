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
import pandas as pd
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
    from reidlab.synth import SynthConfig, generate
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
    from reidlab.engine.runs import evaluate_feature_set

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
                         **evaluate_feature_set(f, data.num_cameras)})
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
    at = page("app_pages/1_Data.py").run()
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

    at = page("app_pages/3_Domain_gap.py")
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
    init_bar = next(t for t in gap["data"] if t["name"] == "before")
    assert init_bar["y"][0] == pytest.approx(probe)
    final_bar = next(t for t in gap["data"] if t["name"] == "after")
    assert final_bar["y"][0] < init_bar["y"][0]  # final features carry no camera
    heat = chart_titled(at, "rank-1 (%) per camera pair")
    # the heat map is the run's own final evaluation record (pair matrix in %)
    from reidlab.engine.runs import Run

    rec = [m for m in Run(lab["runs"] / "fake_k2").metrics("eval") if m["which"] == "final"][-1]
    # (before and after side by side: the "after" panel; its diagonal is greyed, off scale)
    after = next(t for t in heat["data"] if (t.get("meta") or {}).get("panel") == "after")
    want = 100 * np.asarray(rec["pair_rank1"], float)
    np.fill_diagonal(want, np.nan)
    np.testing.assert_allclose(np.asarray(after["z"], float), want, equal_nan=True)
    # the camera legend sits on the left of the by-camera panel, not beside the identities;
    # identities are coloured from another family than the cameras
    legend, x1 = before["layout"]["legend"], before["layout"]["xaxis"]["domain"]
    assert legend["xanchor"] == "right" and legend["x"] <= x1[0]
    cams = {t["marker"]["color"] for t in before["data"] if t["name"].startswith("cam ")}
    ident = next(t for t in before["data"] if t["name"] == "identities")
    assert ident["xaxis"] == "x2" and not cams & set(ident["marker"]["color"])
    at.multiselect(key="gap_views").set_value(["final"]).run()
    titles = [c["layout"].get("title", {}).get("text", "") for c in charts(at)]
    assert not any("before" in t for t in titles) and any("after" in t for t in titles)
    # t-SNE: the page offers the schedules and computes the "fast" one by default (its result
    # is then in the cache under exactly that schedule's key)
    at.radio(key="gap_method").set_value("tsne").run()
    no_errors(at)
    assert at.radio(key="gap_quality").value == "fast"
    assert at.radio(key="gap_quality").options == ["fast", "standard", "full"]
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "final.npz")
    msgs = []
    embed_2d(pooled(fs)[0], method="tsne", seed=0, quality="fast",
             cache_dir=lab["runs"] / "_cache" / "embed", progress=lambda f, m: msgs.append(m))
    assert "tsne: loaded from cache" in msgs


def test_identities_across_models_is_one_click(lab):
    """PIRID's Fig. 3: the picked run before and after, the same identities in each panel,
    colour = identity, marker = camera."""
    from reidlab.analysis.domain_gap import pick_identities, pooled

    at = page("app_pages/3_Domain_gap.py")
    at.run()
    pick(at, "gap_run", "fake_k2").run()
    models = at.multiselect(key="fig3_models_fake_k2").value
    assert [m.split(" — ")[1] for m in models] == ["before", "after"]
    at.slider(key="fig3_ids").set_value(5).run()
    at.button(key="fig3_draw").click().run()
    no_errors(at)
    fig = chart_titled(at, "identities")
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "initial.npz")
    _, pids, camids = pooled(fs)
    ids = pick_identities(pids, camids, n=5, seed=0)
    assert 2 <= len(ids) <= 5
    for axis in ("x", "x2"):  # both panels: exactly the chosen identities' tracklets
        pts = [t for t in fig["data"] if t.get("xaxis", "x") == axis]
        shown = sorted(int(p) for t in pts for p, _ in t["customdata"])
        assert shown == sorted(int(p) for p in pids[np.isin(pids, ids)])
        assert {t["marker"]["symbol"] for t in pts} >= {"circle", "square"}


def test_part_masks_k_slider(lab):
    at = page("app_pages/4_Part_masks.py").run()
    pick(at, "pm_run", "fake_k2").run()
    no_errors(at)

    def parts(at):
        fig = charts(at)[0]
        return [t["name"] for t in fig["data"] if t["type"] == "scatter"]

    assert parts(at) == ["part 1", "part 2", "part 3"]
    at.slider(key="pm_K").set_value(4).run()  # the tiny model's map is 4 cells high
    no_errors(at)
    assert parts(at) == [f"part {k}" for k in range(1, 5)]
    n_frames = len(at.multiselect(key="pm_items_query").value)
    images = [t for t in charts(at)[0]["data"] if t["type"] == "image"]
    assert len(images) == 3 * n_frames  # frames, K-means parts, strict stripes


def test_distances_page_overlay_and_pairs(lab):
    from reidlab.analysis.domain_gap import distance_distributions

    at = page("app_pages/5_Distances.py").run()
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
    # per camera pair: one separation heat map per run (not C² squashed panels) ...
    from reidlab.analysis.domain_gap import pair_separation

    heat = chart_titled(at, "separation per camera pair")  # both runs in one figure
    sep = pair_separation(d["by_pair"])
    k2 = next(t for t in heat["data"] if t["meta"]["panel"] == "fake_k2")
    np.testing.assert_allclose(np.asarray(k2["z"], float), 100 * sep["auc"], equal_nan=True)
    assert any(t["meta"]["panel"] == "fake_k4" for t in heat["data"])
    # ... and the histograms of one picked pair (hardest first) beside all pairs
    box = at.selectbox(key="dist_pair")
    a, b = box.value
    idx = {c: i for i, c in enumerate(sep["cameras"])}
    finite = [v for v in sep["auc"].ravel() if np.isfinite(v)]
    assert sep["auc"][idx[a], idx[b]] == pytest.approx(min(finite))
    hist = chart_titled(at, "one camera pair vs all")
    panels = [ann["text"] for ann in hist["layout"]["annotations"]]
    assert panels[0] == f"cam {a + 1}→{b + 1}" and panels[1].startswith("all pairs")
    assert "yaxis3" not in hist["layout"]  # two panels side by side, full height each
    # every series has a legend entry, the same-person ones included
    legend = {t["name"] for t in hist["data"] if t.get("showlegend", True)}
    assert legend == {f"{r} (padal_mp): {w} person" for r in ("fake_k2", "fake_k4")
                      for w in ("same", "different")}
    pair_same = next(t for t in hist["data"] if t["name"] == "fake_k2 (padal_mp): same person"
                     and t.get("xaxis", "x") == "x")
    at.toggle(key="dist_norm").set_value(False).run()
    pair_same = next(t for t in charts(at)[-1]["data"]
                     if t["name"] == "fake_k2 (padal_mp): same person"
                     and t.get("xaxis", "x") == "x")
    np.testing.assert_allclose(np.sort(pair_same["x"]), np.sort(d["by_pair"][(a, b)]["same"]),
                               rtol=1e-5)


def test_rank_lists_topk_and_worst_first(lab):
    from reidlab.analysis.ranklists import worst_queries
    from reidlab.eval.ranking import compute_distmat

    at = page("app_pages/6_Rank_lists.py").run()
    pick(at, "rl_run", "fake_k2").run()
    no_errors(at)
    at.slider(key="rl_k").set_value(3).run()
    fig = charts(at)[0]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    counted = [t for t in titles[1:] if not t.startswith("junk")]
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

    at = page("app_pages/7_Ablations.py").run()
    no_errors(at)
    fig = chart_titled(at, "vs K")
    r1 = next(t for t in fig["data"] if t["name"] == "padal_mp rank-1")
    assert list(r1["x"]) == [2, 4]
    expect = [100 * Run(lab["runs"] / n).final_metrics()["rank1"] for n in ("fake_k2", "fake_k4")]
    np.testing.assert_allclose(r1["y"], expect)
    at.multiselect(key="abl_metrics").set_value(["mAP"]).run()
    assert [t["name"] for t in chart_titled(at, "vs K")["data"]] == ["padal_mp mAP"]
    table = at.dataframe[0].value
    assert {"fake_k2 (padal_mp)", "fake_k4 (padal_mp)"} <= set(table.index)
    # the leaderboard: one line per setting (K=2 and K=4 are never averaged together)
    board = at.dataframe[1].value
    for n, k in (("fake_k2 (padal_mp)", 2), ("fake_k4 (padal_mp)", 4)):
        assert board.loc[f"padal_mp · K={k}", "runs"] == 1
        assert board.loc[f"padal_mp · K={k}", "mAP"] == f"{table.loc[n, 'mAP']:.1f}"
    # a global-alignment run has a K in its config, but K is no point of its curve; λ is
    import shutil

    fake_m = lab["runs"] / "fake_m"
    shutil.copytree(lab["runs"] / "fake_k2", fake_m)
    try:
        cfg = json.loads((fake_m / "config.json").read_text())
        cfg["config"].update(method="padal_m")
        cfg["config"]["options"].update(adv_loss="confusion")
        (fake_m / "config.json").write_text(json.dumps(cfg))
        at = page("app_pages/7_Ablations.py").run()
        no_errors(at)
        assert not any(t["name"].startswith("padal_m ") for t in chart_titled(at, "vs K")["data"])
        pick(at, "abl_x", "λ").run()
        lines = at.multiselect(key="abl_lines_lam").options
        m_line = next(n for n in lines if n.startswith("padal_m "))
        assert "adv_loss=confusion" in m_line
        names = [t["name"] for t in chart_titled(at, "vs λ")["data"]]
        assert f"{m_line} rank-1" in names and any(n.startswith("padal_mp ") for n in names)
        assert at.dataframe[0].value.loc["fake_m (padal_m)", "group"].startswith("padal_m ")
    finally:
        shutil.rmtree(fake_m)


def test_export_page_settings_and_tables(lab):
    at = page("app_pages/8_Export.py").run()
    no_errors(at)
    at.number_input(key="export_dpi").set_value(100).run()
    at.number_input(key="export_w").set_value(3.0).run()
    assert any("PNG: 300×400 px" in c.value for c in at.caption)
    # a journal's column widths in one click
    at.button_group(key="export_col").set_value("single column").run()
    assert at.number_input(key="export_w").value == 3.5
    assert any(f"PNG: 350×{round(at.number_input(key='export_h').value * 100)} px" in c.value
               for c in at.caption)
    at.button_group(key="export_col").set_value("double column").run()
    assert at.number_input(key="export_w").value == 7.16
    no_errors(at)
    assert at.selectbox(key="ex_table").value == "results"
    tex = at.code[0].value
    assert "\\toprule" in tex and "fake\\_k2" in tex
    assert len(at.multiselect(key="ex_figs").options) >= 4


def test_train_page_submits_once_and_shows_curves(lab):
    from reidlab.engine import jobs

    at = page("app_pages/2_Train.py").run()
    no_errors(at)
    def sel(label):
        return next(s for s in at.selectbox if s.label == label)

    sel("preset").set_value("test")
    sel("method").set_value("padal_m")
    sel("adversarial loss").set_value("confusion")
    [n for n in at.number_input if n.label.startswith("epochs")][0].set_value(1)
    at.text_input(key="run_name").set_value("app_job")
    at.button[0].click().run()
    no_errors(at)
    job = jobs.job_state("app_job", lab["runs"])
    assert job is not None and job.argv[-2:] == ["--out", str(lab["runs"] / "app_job")]
    assert "--preset" in job.argv and job.argv[job.argv.index("--preset") + 1] == "test"
    assert job.argv[job.argv.index("--adv-loss") + 1] == "confusion"
    at.button[0].click().run()  # a second submit (e.g. another tab) returns the same job
    assert jobs.job_state("app_job", lab["runs"]).pid == job.pid
    end = time.time() + 150
    while time.time() < end and jobs.job_state("app_job", lab["runs"]).active:
        time.sleep(0.5)
    assert jobs.job_state("app_job", lab["runs"]).state == "finished", job.log_tail()
    at = page("app_pages/2_Train.py").run()
    pick(at, "curves_of", "app_job").run()
    no_errors(at)
    loss = chart_titled(at, "Training losses")
    from reidlab.engine.runs import Run

    assert Run(lab["runs"] / "app_job").config["config"]["options"]["adv_loss"] == "confusion"
    steps = Run(lab["runs"] / "app_job").metrics("step")
    total = next(t for t in loss["data"] if t["name"] == "loss")
    np.testing.assert_allclose(total["y"], [s["loss"] for s in steps if s.get("loss") is not None])


def test_train_page_shows_the_methods_own_options(lab):
    """The form's fields come from the method: cawcl's Options dataclass, no K/λ for it."""
    from reidlab.engine import jobs

    at = page("app_pages/2_Train.py").run()
    next(s for s in at.selectbox if s.label == "method").set_value("cawcl").run()
    no_errors(at)
    labels = {w.label for w in [*at.selectbox, *at.number_input, *at.checkbox]}
    assert {"cam_loss", "weighting", "eps", "k1", "contrastive", "pretrain_epochs"} <= labels
    assert "λ (adversarial weight)" not in {s.label for s in at.select_slider}
    assert "K (parts)" not in {s.label for s in at.slider}
    assert next(s for s in at.number_input if s.label == "clips per tracklet").value == 2
    next(s for s in at.selectbox if s.label == "cam_loss").set_value("ce")
    next(n for n in at.number_input if n.label == "eps").set_value(0.5)
    next(s for s in at.selectbox if s.label == "preset").set_value("test")
    at.text_input(key="run_name").set_value("cawcl_form")
    at.button[0].click().run()
    no_errors(at)
    job = jobs.job_state("cawcl_form", lab["runs"])
    argv = job.argv
    assert argv[argv.index("--cam-loss") + 1] == "ce" and argv[argv.index("--eps") + 1] == "0.5"
    assert "--K" not in argv and "--lam" not in argv and "--weighting" not in argv
    jobs.cancel("cawcl_form", root=lab["runs"], grace_s=1.0)


# --------------------------------------------------------------------------- a real trained run

def png_images(fig: dict) -> list[np.ndarray]:
    """The image traces of a figure, decoded from their PNG data URIs (row-major order)."""
    import io

    from PIL import Image

    out = []
    for t in fig["data"]:
        if t["type"] == "image":
            head, b64 = t["source"].split(",", 1)
            assert head == "data:image/png;base64"
            out.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")))
    return out


@pytest.fixture(scope="module")
def trained(lab, tmp_path_factory):
    """A runs folder with the lab's baseline and one really trained padal_mp run (own folder,
    so the fake runs' ablation table is unchanged)."""
    from reidlab.engine.baseline import baseline_name
    from tiny_runs import train_tiny_run

    runs = tmp_path_factory.mktemp("trained_runs")
    name = baseline_name(lab["data"])
    (runs / name).symlink_to(lab["runs"] / name, target_is_directory=True)
    train_tiny_run(lab["data"], runs / "tiny_mp", "padal_mp")
    return runs


def reference_masks(run_dir: Path, chosen: list[int], K: int):
    """Masks recomputed independently of the page: rebuild the method from config.json, load
    checkpoint.pt, embed the middle frame of each chosen query tracklet."""
    import torch

    from reidlab.data import load_dataset
    from reidlab.data.images import read_frame
    from reidlab.data.loader import norm_params, to_tensor
    from reidlab.engine.config import TrainConfig
    from reidlab.methods import build_method
    from reidlab.models.pam import part_masks

    info = json.loads((run_dir / "config.json").read_text())
    cfg = TrainConfig.from_dict(info["config"])
    data = load_dataset(info["dataset"]["format"], info["dataset"]["root"])
    method = build_method(cfg, data.train, data.num_cameras)
    method.load_state_dict(torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"])
    method.eval()
    items = [data.query[i] for i in chosen]
    frames = np.stack([read_frame(str(t.frames[len(t.frames) // 2]), (cfg.height, cfg.width))
                       for t in items])
    x = to_tensor(frames, *norm_params(method.net.input_norm))
    km = part_masks(method, x, K, parts="kmeans").float().numpy()
    strict = part_masks(method, x, K, parts="strict").float().numpy()
    return frames, km, strict


def test_part_masks_of_trained_run(lab, trained, monkeypatch):
    from reidlab.viz.image_figures import _overlay
    from reidlab.viz.style import part_colours

    monkeypatch.setenv("REIDLAB_RUNS", str(trained))
    at = page("app_pages/4_Part_masks.py").run()
    pick(at, "pm_run", "tiny_mp").run()
    no_errors(at)
    assert any("trained (checkpoint.pt), epoch 2" in c.value for c in at.caption), \
        [c.value for c in at.caption]
    for K in (3, 2):
        colors = part_colours(K)
        if K != 3:
            at.slider(key="pm_K").set_value(K).run()
            no_errors(at)
        chosen = list(at.multiselect(key="pm_items_query").value)
        fig = charts(at)[0]
        assert [t["name"] for t in fig["data"] if t["type"] == "scatter"] == \
            [f"part {k + 1}" for k in range(K)]
        frames, km, strict = reference_masks(trained / "tiny_mp", chosen, K)
        assert km.shape[1] == K
        imgs = png_images(fig)
        B = len(chosen)
        assert len(imgs) == 3 * B  # frames, trained K-means parts, strict stripes beside
        for b in range(B):
            np.testing.assert_array_equal(imgs[b], frames[b])
            np.testing.assert_array_equal(imgs[B + b], _overlay(frames[b], km[b], colors))
            np.testing.assert_array_equal(imgs[2 * B + b],
                                          _overlay(frames[b], strict[b], colors))
            # head→legs: centroid rows of the non-empty parts never go up
            ys = np.arange(km.shape[2])[:, None]
            cy = [(m * ys).sum() / m.sum() for m in km[b] if m.sum() > 0]
            assert cy == sorted(cy)
        # strict stripes really are K horizontal bands, top to bottom
        rows = strict[0].argmax(0)[:, 0]
        assert list(rows) == sorted(rows) and set(rows) == set(range(min(K, strict.shape[2])))


def test_load_run_model_and_bad_checkpoint(lab, trained, tmp_path):
    import shutil

    import torch

    from reidlab.engine.restore import INITIAL, TRAINED, RestoreError, load_run_model
    from reidlab.engine.runs import Run

    m = load_run_model(trained / "tiny_mp")
    assert m.source == TRAINED and m.epoch == 2 and not m.net.training
    state = torch.load(trained / "tiny_mp" / "checkpoint.pt", weights_only=True)["model"]
    for k, v in m.net.state_dict().items():
        torch.testing.assert_close(v, state[f"net.{k}"])
    base = load_run_model(Run(lab["runs"] / "fake_k2"))  # no checkpoint: initial network
    assert base.source == INITIAL
    bad = tmp_path / "bad"
    shutil.copytree(trained / "tiny_mp", bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["config"]["options"]["K"] = cfg["config"]["options"].get("K", 3) + 2  # shapes differ
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RestoreError, match="checkpoint.pt"):
        load_run_model(bad)


@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
def test_export_page_download_all_zip(lab, monkeypatch):
    """The zip behind the page's "Download all" button: every chosen figure in every chosen
    format (valid files of the paper size) plus every table as CSV and LaTeX."""
    import io
    import struct
    import xml.etree.ElementTree as ET
    import zipfile

    import streamlit

    from reidlab.engine.runs import Run, list_runs
    from reidlab.viz import export as E
    from reidlab.viz.cli_export import standard_tables

    offered = {}
    real = streamlit.download_button

    def spy(label, data=None, file_name=None, *a, **kw):  # the page's own button callable
        offered[file_name] = data
        return real(label, data, file_name, *a, **kw)

    monkeypatch.setattr(streamlit, "download_button", spy)
    at = page("app_pages/8_Export.py").run()
    no_errors(at)
    at.number_input(key="export_dpi").set_value(50).run()
    at.number_input(key="export_w").set_value(2.0).run()
    at.number_input(key="export_h").set_value(1.5).run()
    figs = at.multiselect(key="ex_figs")
    figs.set_value(list(figs.options)).run()
    static = E.static_export_available()
    fmts = list(E.FIGURE_FORMATS) if static else ["html"]
    at.multiselect(key="ex_formats").set_value(fmts).run()
    no_errors(at)
    chosen = list(at.multiselect(key="ex_figs").value)
    assert len(chosen) >= 5 and any(n.endswith("embedding_after") for n in chosen)
    data = offered["reidlab_export.zip"]()
    z = zipfile.ZipFile(io.BytesIO(data))
    tables = ["results"]
    want = {f"{n}.{f}" for n in chosen for f in fmts} | {f"{t}.{f}" for t in tables
                                                          for f in ("csv", "tex")}
    assert set(z.namelist()) == want
    for n in chosen:
        html = z.read(f"{n}.html").decode()
        assert "Plotly.newPlot" in html
        if static:
            png = z.read(f"{n}.png")
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", png[16:24]) == (100, 75), n
            svg = ET.fromstring(z.read(f"{n}.svg"))
            assert float(svg.get("width")) == pytest.approx(2.0 * 96, abs=0.01)
            assert z.read(f"{n}.pdf").startswith(b"%PDF-")
    runs = [r for r in list_runs(lab["runs"]) if r.status().get("state") == "finished"
            and r.has_features("final")]
    expect = standard_tables(runs)["results"]
    back = pd.read_csv(io.BytesIO(z.read("results.csv")), index_col=0)
    assert list(back.index) == list(expect.index)
    np.testing.assert_allclose(back["rank1"].to_numpy(float), expect["rank1"].to_numpy(float))
    assert abs(back.loc["fake_k2", "rank1"] -
               100 * Run(lab["runs"] / "fake_k2").final_metrics()["rank1"]) < 1e-9
    assert "\\toprule" in z.read("results.tex").decode()


def test_navigation_home_first_titles_and_switch(lab):
    def listing():  # st.Page needs a script run context
        import streamlit as st

        from reidlab import app_support as ui

        for p in ui.navigation_pages():
            st.text(f"{p.title}|{p.url_path}|{p._default}|{p._page.name}")

    rows = [t.value.split("|") for t in AppTest.from_function(listing).run().text]
    assert [r[0] for r in rows] == ["Home", "Data", "Train", "Domain gap", "Part masks",
                                    "Distances", "Rank lists", "Ablations", "Export",
                                    "Pseudo labels"]
    assert rows[0][2] == "True" and [r[1] for r in rows[1:]] == [
        "Data", "Train", "Domain_gap", "Part_masks", "Distances", "Rank_lists", "Ablations",
        "Export", "Pseudo_labels"]
    assert [r[3] for r in rows] == sorted(p.name for p in (ROOT / "app_pages").glob("*.py"))
    at = page("app.py").run()  # the router runs Home by default
    no_errors(at)
    assert at.title[0].value.startswith("reidlab")
    at.switch_page("app_pages/6_Rank_lists.py").run()
    no_errors(at)
    assert at.title[0].value == "Rank lists"
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["toolbarMode"] in ("viewer", "minimal")  # no "Deploy" button


def test_no_streamlit_pages_folder():
    """``st.navigation`` routes the lab; a ``pages/`` folder beside app.py would also be read
    as Streamlit's older multipage app (a fresh server's first visit to /Data showed its
    navigation, with an "app" entry)."""
    assert not (ROOT / "pages").exists()
    from reidlab import app_support as ui

    assert all((ROOT / p).is_file() for p, *_ in ui.PAGES)


# --------------------------------------------------------------------------- issue 12

def page_files() -> dict:
    from reidlab import app_support as ui

    # Home through the router (its page links need st.navigation's pages)
    return {"Home": "app.py", **{t: p for p, t, *_ in ui.PAGES}}


PAGE_FILES = page_files()


@pytest.mark.parametrize("title", list(PAGE_FILES))
def test_every_page_opens_with_one_line_saying_what_and_what_first(lab, title):
    from reidlab import app_support as ui

    at = page(PAGE_FILES[title]).run()
    no_errors(at)
    intro = ui.INTROS[title]
    assert at.markdown[0].value == intro  # the first text under the title
    assert "**First:**" in intro and intro.count("\n") == 0 and len(intro) < 260


def test_domain_gap_of_a_run_without_training_shows_it_once(lab):
    at = page("app_pages/3_Domain_gap.py").run()  # the ImageNet init baseline by default
    no_errors(at)
    titles = [c["layout"].get("title", {}).get("text", "") or "" for c in charts(at)]
    emb = [t for t in titles if t.startswith("ImageNet init")]
    assert len(emb) == 1 and "— no training" in emb[0], titles
    assert any("did not train" in i.value for i in at.info)
    gap = chart_titled(at, "Camera-domain gap")
    assert list(dict.fromkeys(t["name"] for t in gap["data"])) == ["no training"]
    models = at.multiselect(key="gap_views")
    assert list(models.options) == ["before", "after"]  # short tags: never cut off


def test_rank_list_key_names_the_colours_drawn(lab):
    from reidlab.viz.images import decode_data_uri
    from reidlab.viz.style import JUNK_RGB, MATCH_RGB, RANK_LIST_KEY, WRONG_RGB, rgb_hex

    at = page("app_pages/6_Rank_lists.py").run()
    pick(at, "rl_run", "fake_k2").run()
    no_errors(at)
    key = next(m.value for m in at.markdown if "rank-list-key" in m.value)
    for status, rgb in (("match", MATCH_RGB), ("wrong", WRONG_RGB), ("junk", JUNK_RGB)):
        name = RANK_LIST_KEY[status][0]
        assert f'data-status="{status}"' in key and rgb_hex(rgb) in key and f"<b>{name}</b>" in key
    assert "red =" not in key and "<b>red</b>" not in key
    fig = charts(at)[0]
    imgs = [decode_data_uri(t["source"]) for t in fig["data"] if t["type"] == "image"]
    borders = {tuple(int(v) for v in im[0, 0]) for im in imgs[1:]}
    assert borders <= {MATCH_RGB, WRONG_RGB, JUNK_RGB} and borders
    # labels above the thumbnails at the figure's own text size
    font = fig["layout"]["font"]["size"]
    assert all(a["font"]["size"] >= font for a in fig["layout"]["annotations"])


@pytest.fixture()
def baseline_only(lab, tmp_path, monkeypatch):
    """A runs folder holding only the ImageNet init run."""
    import shutil

    from reidlab.engine.baseline import baseline_name

    runs = tmp_path / "runs"
    runs.mkdir()
    name = baseline_name(lab["data"])
    shutil.copytree(lab["runs"] / name, runs / name)
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    return runs


def test_ablations_with_only_the_baseline_says_what_to_do(baseline_only):
    at = page("app_pages/7_Ablations.py").run()
    no_errors(at)
    msg = " ".join(i.value for i in at.info)
    assert "Only the ImageNet init run" in msg and "Queue sweep" in msg and "Train" in msg
    assert at.expander[0].proto.expanded  # the sweep form is open, right there
    assert at.button(key="sw_go") is not None
    keys = [m.key for m in at.multiselect]
    assert not any(k.startswith("abl_lines") for k in keys)  # no empty "No options" picker
    table = at.dataframe[0].value
    row = table.loc[[i for i in table.index if i.startswith("ImageNet init")][0]]
    assert [row[c] for c in ("K", "λ", "clips", "epochs", "seed")] == ["—"] * 5


def test_export_results_table_has_no_settings_for_the_baseline(lab):
    from reidlab.engine.runs import list_runs
    from reidlab.viz.cli_export import standard_tables

    runs = [r for r in list_runs(lab["runs"]) if r.has_features("final")]
    t = standard_tables(runs)["results"]
    base = next(i for i in t.index if i.startswith("ImageNet init ("))  # by its dataset
    assert t.loc[base, ["K", "lambda", "clips"]].isna().all()  # empty cells
    assert t.loc["fake_k2", "K"] == 2
    at = page("app_pages/8_Export.py").run()
    no_errors(at)
    assert "—" in at.code[0].value  # the LaTeX table too


def test_standard_figures_of_a_run_without_training_show_it_once(lab):
    from reidlab.engine.baseline import baseline_name
    from reidlab.engine.runs import Run
    from reidlab.viz.cli_export import standard_figures

    base = Run(lab["runs"] / baseline_name(lab["data"]))
    figs = standard_figures(base, part_masks=False)
    assert "embedding_after" in figs and "embedding_before" not in figs and "metrics" not in figs
    assert "no training" in figs["embedding_after"].layout.title.text
    assert list(dict.fromkeys(t.name for t in figs["gap"].data)) == ["no training"]
    assert "pair_separation" in figs
    trained = standard_figures(Run(lab["runs"] / "fake_k2"), part_masks=False)
    assert {"embedding_before", "embedding_after"} <= set(trained)
    assert list(dict.fromkeys(t.name for t in trained["gap"].data)) == ["before", "after"]
