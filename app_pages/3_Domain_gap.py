"""Domain gap: 2-D embeddings by camera vs by identity (before/after), gap numbers, pair heat map."""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.analysis.embedding import TSNE_QUALITY
from reidlab.viz import figures as F

ui.page_header("Domain gap")
st.caption("Features that cluster by camera (left panel, one colour per camera) instead of by "
           "identity (right panel, one colour per person) carry the camera-domain gap. "
           "Before = the run's initial model, after = its final model.")


@st.cache_data(show_spinner=False, max_entries=64)
def gap_numbers(path: str, which: str, mtime: float) -> dict:
    from reidlab.analysis.domain_gap import camera_probe, pooled, pooled_keep, \
        pooled_modality, silhouette
    from reidlab.eval.features import FeatureSet

    fs = FeatureSet.load(f"{path}/features/{which}.npz")
    keep = pooled_keep(fs)
    feats, pids, camids = pooled(fs, keep)
    probe = camera_probe(feats, camids, groups=pids, cv=3)
    out = {"camera probe acc.": probe["accuracy"], "chance": probe["chance"],
           "silhouette by camera": silhouette(feats, camids),
           "silhouette by identity": silhouette(feats, pids)}
    mods = pooled_modality(fs, keep)
    if len(np.unique(mods)) > 1:  # infrared ↔ colour data: the modality gap too
        from reidlab.analysis.modality import modality_retrieval

        out["modality probe acc."] = camera_probe(feats, mods, groups=pids, cv=3)["accuracy"]
        # inside each modality and across: is it the gap, or a modality without identities?
        for name, r in modality_retrieval(feats, pids, camids, mods).items():
            out[f"{name} rank-1"] = r["rank1"]
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def stage_correlations(path: str, mtime: float, max_tracklets: int = 600) -> dict:
    """The infrared paper's Fig. 3 for a run: per-stage correlation of infrared/colour pairs
    of its test tracklets, for the ImageNet-initialised network and the trained one."""
    from reidlab.analysis.modality import stage_correlation, stage_features
    from reidlab.engine.restore import load_run_model
    from reidlab.engine.runs import Run
    from reidlab.models.backbones import build_backbone
    from reidlab.models.reid_net import ReIDNet

    run = Run(path)
    data, cfg = run.dataset(), run.train_config()
    items = data.query + data.gallery
    rows = np.random.default_rng(0).permutation(len(items))[:max_tracklets]
    items = [items[i] for i in sorted(rows)]
    pids = [t.pid for t in items]
    mods = [t.modality for t in items]
    init = ReIDNet(build_backbone(cfg.backbone, pretrained=cfg.pretrained,
                                  last_stride=cfg.last_stride))
    first = "initial (ImageNet)" if cfg.pretrained else "initial (random)"
    out = {first: stage_correlation(stage_features(init, items, cfg), pids, mods)}
    model = load_run_model(run)
    if model.trained:
        out["trained"] = stage_correlation(stage_features(model.method, items, cfg), pids, mods)
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def pair_matrix(path: str, which: str, mtime: float) -> dict:
    """Per-camera-pair rank-1 (%): the run's own evaluation record (its diagonal is same-camera
    retrieval, own tracklet ignored), else recomputed from the features (no diagonal)."""
    from reidlab.engine.runs import Run
    from reidlab.eval.features import FeatureSet
    from reidlab.eval.ranking import evaluate_features

    rec = [m for m in Run(path).metrics("eval") if m.get("which") == which]
    if rec and rec[-1].get("pair_rank1") is not None:
        r = {"rank1": rec[-1]["pair_rank1"], "cameras": rec[-1]["cameras"]}
    else:
        fs = FeatureSet.load(f"{path}/features/{which}.npz")
        r = evaluate_features(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                              fs.g_camids)["pairs"]  # in blocks, never the whole matrix
    return {"rank1": 100.0 * np.asarray(r["rank1"], float), "cameras": list(r["cameras"])}


def embedding(fs, method: str, seed: int, quality: str) -> np.ndarray:
    from reidlab.analysis.domain_gap import pooled
    from reidlab.analysis.embedding import embed_2d

    feats, _, _ = pooled(fs)
    bar = st.progress(0.0, text=f"{method}…")
    xy = embed_2d(feats, method=method, seed=seed, cache_dir=ui.runs_root() / "_cache" / "embed",
                  quality=quality, progress=lambda f, m: bar.progress(min(1.0, f), text=m))
    bar.empty()
    return xy


def embedding_of(feats: np.ndarray, method: str, seed: int, quality: str) -> np.ndarray:
    from reidlab.analysis.embedding import embed_2d

    return embed_2d(feats, method=method, seed=seed, quality=quality,
                    cache_dir=ui.runs_root() / "_cache" / "embed")


with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
run = None
with ui.guard("runs"):
    c = st.columns([3, 2, 3, 1])
    with c[0]:
        run = ui.run_picker("run", key="gap_run")
    method = c[1].radio("embedding", ["pca", "tsne", "umap"], horizontal=True, key="gap_method",
                        format_func={"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}.get)
    quality = "fast"
    if method == "tsne":
        quality = c[1].radio(
            "t-SNE schedule", list(TSNE_QUALITY), horizontal=True, key="gap_quality",
            help="fast: 75 + 125 iterations on a coarse FFT grid (about 12 s for 20k points on "
            "2 cores); standard: 250 + 250 iterations (the library's and the exports' default, "
            "about 33 s); full: openTSNE's own 250 + 500 on a fine grid (about 2 minutes). "
            "The clusters are the same; longer schedules spread them further (a lower KL "
            "divergence). Each result is cached.")
    views = c[2].multiselect("models", ["initial", "final"], default=["initial", "final"],
                             key="gap_views", format_func={"initial": "before",
                                                           "final": "after"}.get,
                             help="before = the run's initial model, after = its final model")
    seed = c[3].number_input("seed", 0, 999, 0, key="gap_seed")

if run is not None:
    from reidlab.analysis.domain_gap import pooled, pooled_keep, pooled_modality

    label = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method]
    have = [w for w in views if run.has_features(w)]
    if not have:
        st.warning(f"{ui.run_label(run)} has no features for {views}")
    untrained = ui.no_training(run)

    def when_of(which: str) -> str:
        return "no training" if untrained else "before" if which == "initial" else "after"
    if untrained and len(have) > 1:  # before = after: one figure, said once
        have = ["final"]
        st.info(f"{ui.run_label(run)} did not train: its features before and after are the "
                "same, so they are shown once. Pick a trained run to compare before and after.")
    numbers = {}
    for which in have:
        with ui.guard(f"{which} features"):
            fs = ui.features(run, which)
            keep = pooled_keep(fs)
            _, pids, camids = pooled(fs, keep)
            xy = embedding(fs, method, int(seed), quality)
            when = when_of(which)
            title = f"{ui.run_label(run)} — {when}"
            ui.show_figure(F.embedding_scatter_pair(xy, camids, pids, method=label, title=title,
                                                    style=ui.paper_style()),
                           f"embedding_{run.name}_{which}_{method}", key=f"emb_{which}")
            from reidlab.data.tracklets import MODALITY_NAMES

            mods = pooled_modality(fs, keep)
            if len(np.unique(mods)) > 1:  # infrared ↔ colour: the same map by modality
                ui.show_figure(F.embedding_scatter_pair(
                    xy, mods, pids, method=label, title=f"{title} (by modality)",
                    group_title="by modality", group_names=list(MODALITY_NAMES),
                    style=ui.paper_style()), f"embedding_modality_{run.name}_{which}_{method}",
                    key=f"emb_mod_{which}")
            mtime = (run.path / "features" / f"{which}.npz").stat().st_mtime
            numbers[when] = gap_numbers(str(run.path), which, mtime)
    if numbers:
        st.subheader("Gap numbers")
        with ui.guard("gap numbers"):
            bars = {w: {k: v for k, v in d.items() if k != "chance"} for w, d in numbers.items()}
            ui.show_figure(F.gap_bars(bars, title=f"Camera-domain gap — {ui.run_label(run)}",
                                      style=ui.paper_style()),
                           f"gap_{run.name}", key="gap_bars")
            chance = next(iter(numbers.values()))["chance"]
            st.caption(f"camera-probe accuracy: a linear classifier predicting the camera from "
                       f"held-out identities' features (chance {chance:.2f}); high = the "
                       f"features carry the camera.")
            if any("modality probe acc." in d for d in numbers.values()):
                st.caption("modality probe: the same for colour vs infrared. colour → colour and "
                           "infrared → infrared rank-1: retrieval inside one modality, across "
                           "cameras; infrared → colour: across modalities (one gallery of every "
                           "colour tracklet, not the protocol's sampled trials). Low inside a "
                           "modality = its features have not learnt the identities, and no "
                           "alignment can match what is not there.")
        which = have[-1]
        with ui.guard("camera-pair matrix"):
            mtime = (run.path / "features" / f"{which}.npz").stat().st_mtime
            pm = pair_matrix(str(run.path), which, mtime)
            ui.show_figure(F.camera_pair_heatmap(
                pm["rank1"], cam_names=[f"cam {c + 1}" for c in pm["cameras"]],
                title=f"rank-1 (%) per camera pair — {ui.run_label(run)} ({when_of(which)})",
                style=ui.paper_style()), f"pair_rank1_{run.name}_{which}", key="pair_heat")
            st.caption("Query camera = row, gallery camera = column (standard protocol); the "
                       "diagonal is same-camera retrieval, ignoring only the query's own "
                       "tracklet. Off-diagonal ≪ diagonal is the camera gap.")

# ------------------------------------------------------- the infrared paper's Fig. 3

    if run is not None and have:
        fs_last = ui.features(run, have[-1])
        if len(np.unique(pooled_modality(fs_last))) > 1:
            st.subheader("The modality gap by stage")
            st.caption("How correlated the same person's features are across modalities at "
                       "each backbone stage (the infrared paper's Fig. 3): solid = infrared "
                       "and colour images of one person, dotted = of different people. Up to "
                       "600 test tracklets; the network is rebuilt from the run.")
            if st.button("Compute", key="gap_stage_corr"):
                with ui.guard("stage correlation"), st.spinner("stage features…"):
                    ck = run.path / "checkpoint.pt"
                    curves = stage_correlations(str(run.path),
                                                ck.stat().st_mtime if ck.is_file() else 0.0)
                    ui.show_figure(F.stage_correlation_plot(
                        curves, title=f"Cross-modality correlation by stage — "
                        f"{ui.run_label(run)}", style=ui.paper_style()),
                        f"stage_correlation_{run.name}", key="gap_stage_fig")

# --------------------------------------------------------------------------- PIRID's Fig. 3

st.subheader("A few identities across models")
st.caption("PIRID's Fig. 3: the same identities (seen by at least two cameras) embedded by "
           "each model — colour = identity, marker = camera. ImageNet features scatter one "
           "person by camera; intra-camera learning separates people within each camera; "
           "cross-camera learning brings a person's cameras together.")
with ui.guard("identities across models"):
    all_runs = ui.list_runs()
    sources = {}
    for r in all_runs:
        if ui.no_training(r):  # before = after: one model
            if r.has_features("final"):
                sources[f"{ui.run_label(r)} — no training"] = (r, "final")
            continue
        for which in ("initial", "final"):
            if r.has_features(which):
                sources[f"{ui.run_label(r)} — {'before' if which == 'initial' else 'after'}"] = \
                    (r, which)
    default = []
    if run is not None:
        default = [k for k, (r, w) in sources.items() if r.path == run.path]

    def pirid_after(r, intra_only: bool) -> bool:
        cfg = r.config.get("config", {})
        opts = cfg.get("options") or {}
        return cfg.get("method") == "pirid" and (opts.get("inter") in (False, "false")) \
            == intra_only

    for intra_only in (True, False):  # PIRID-1 then full PIRID, when there are such runs
        found = [k for k, (r, w) in sources.items() if w == "final" and pirid_after(r, intra_only)]
        if found and found[-1] not in default:
            default.append(found[-1])
    c = st.columns([5, 2, 1])
    # keyed by the picked run: choosing another run above proposes its models afresh
    chosen = c[0].multiselect("models", list(sources), default=default[:4], max_selections=4,
                              key="fig3_models" + (f"_{run.name}" if run is not None else ""))
    n_ids = c[1].slider("identities", 5, 40, 20, key="fig3_ids")
    draw = c[2].button("Draw", key="fig3_draw", type="primary")
    if draw and chosen:
        from reidlab.analysis.domain_gap import pick_identities, pooled

        panels = []
        first = None
        for name in chosen:
            r, which = sources[name]
            feats, pids, camids = pooled(ui.features(r, which))
            if first is None:
                first = pick_identities(pids, camids, n=n_ids, seed=int(seed))
            m = np.isin(pids, first)
            if m.sum() < 3:
                raise ValueError(f"{name}: fewer than 3 tracklets of the chosen identities "
                                 "(models of another dataset?)")
            xy = embedding_of(feats[m], method, int(seed), quality)
            panels.append((name, xy, pids[m], camids[m]))
        names = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
        ui.show_figure(F.identity_panels(panels, method=names.get(method, method),
                                         style=ui.paper_style()),
                       "identities_across_models", key="fig3")
    elif draw:
        st.caption("choose at least one model")
