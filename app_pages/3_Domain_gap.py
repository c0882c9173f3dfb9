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
    """The run's gap numbers (reidlab.analysis.gap_report: the export's recipe too; drawn by
    reidlab.viz.gap_report)."""
    from reidlab.analysis import gap_report
    from reidlab.engine.runs import Run

    return gap_report.gap_numbers(Run(path).features(which))


@st.cache_data(show_spinner=False, max_entries=16)
def stage_correlations(path: str, mtime: float, max_tracklets: int = 600) -> dict:
    """The infrared paper's Fig. 3 for a run: per-stage correlation of infrared/colour pairs
    of its test tracklets, for the ImageNet-initialised network and the trained one."""
    from reidlab.analysis.modality import stage_correlation, stage_features
    from reidlab.engine.restore import load_run_model
    from reidlab.engine.runs import Run
    from reidlab.models.reid_net import build_net

    run = Run(path)
    data, cfg = run.dataset(), run.train_config()
    items = data.query + data.gallery
    rows = np.random.default_rng(0).permutation(len(items))[:max_tracklets]
    items = [items[i] for i in sorted(rows)]
    pids = [t.pid for t in items]
    mods = [t.modality for t in items]
    init = build_net(cfg, freeze_stages=0)  # only its features are read: no stage frozen
    first = "before (ImageNet init)" if cfg.pretrained else "before (random init)"
    out = {first: stage_correlation(stage_features(init, items, cfg), pids, mods)}
    model = load_run_model(run)
    if model.trained:
        out["after"] = stage_correlation(stage_features(model.method, items, cfg), pids, mods)
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def pair_matrix(path: str, which: str, mtime: float) -> dict:
    """Per-camera-pair rank-1 (%) (reidlab.analysis.gap_report.pair_rank1: the run's own
    evaluation record, its diagonal same-camera retrieval, else recomputed from features)."""
    from reidlab.analysis.gap_report import pair_rank1
    from reidlab.engine.runs import Run

    return pair_rank1(Run(path), which)


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
run = run_b = None
with ui.guard("runs"):
    all_runs = ui.list_runs()
    c = st.columns([3, 3, 2, 3, 1])
    with c[0]:
        run = ui.run_picker("run", key="gap_run", runs=all_runs)
    with c[1]:
        run_b = ui.run_picker("compare with a second run", key="gap_run_b", runs=all_runs,
                              allow_none=True, default_baseline=False)
    method = c[2].radio("embedding", list(F.EMBEDDING_NAMES), horizontal=True,
                        key="gap_method", format_func=F.EMBEDDING_NAMES.get)
    quality = "fast"
    if method == "tsne":
        quality = c[2].radio(
            "t-SNE schedule", list(TSNE_QUALITY), horizontal=True, key="gap_quality",
            help="fast: 75 + 125 iterations on a coarse FFT grid (about 12 s for 20k points on "
            "2 cores); standard: 250 + 250 iterations (the library's and the exports' default, "
            "about 33 s); full: openTSNE's own 250 + 500 on a fine grid (about 2 minutes). "
            "The clusters are the same; longer schedules spread them further (a lower KL "
            "divergence). Each result is cached.")
    views = c[3].multiselect("models", ["initial", "final"], default=["initial", "final"],
                             key="gap_views", format_func=F.STAGE_NAMES.get,
                             help="before = the run's initial model, after = its final model")
    seed = c[4].number_input("seed", 0, 999, 0, key="gap_seed")
    if run_b is not None and run is not None and run_b.path == run.path:
        run_b = None  # the same run twice: one
label = F.EMBEDDING_NAMES[method]


def stages_of(r) -> list[str]:
    """The chosen models of run ``r`` that it has features of (one for a run that trained
    nothing: its before = after)."""
    have = [w for w in views if r.has_features(w)]
    if ui.no_training(r) and len(have) > 1:
        have = ["final"]
    return have


def when_of(r, which: str) -> str:
    from reidlab.viz.gap_report import stage_name

    return stage_name(ui.no_training(r), which)


def short_name(r) -> str:
    """A run's name in a legend or panel title: the folder name, "ImageNet init" for the
    baseline (its folder is a hash), the full label when two runs share a folder name."""
    from reidlab.engine.baseline import is_baseline

    if is_baseline(r):
        return "ImageNet init"
    if run_b is not None and run is not None and run.name == run_b.name:
        return ui.run_label(r)
    return r.name


def feature_mtime(r, which: str) -> float:
    return r.features_mtime(which)


def show_embeddings(r, which: str, key: str) -> None:
    from reidlab.analysis.domain_gap import pooled, pooled_keep, pooled_modality
    from reidlab.data.tracklets import MODALITY_NAMES

    fs = ui.features(r, which)
    keep = pooled_keep(fs)
    _, pids, camids = pooled(fs, keep)
    xy = embedding(fs, method, int(seed), quality)
    title = f"{ui.run_label(r)} — {when_of(r, which)}"
    # side by side (two runs) the columns are too narrow for labelled download buttons:
    # those figures are downloaded from the Export page
    ui.show_figure(F.embedding_scatter_pair(xy, camids, pids, method=label, title=title,
                                            style=ui.paper_style()),
                   f"embedding_{r.name}_{F.STAGE_NAMES[which]}_{method}", key=f"emb_{key}_{which}",
                   downloads=run_b is None)
    mods = pooled_modality(fs, keep)
    if len(np.unique(mods)) > 1:  # infrared ↔ colour: the same map by modality
        ui.show_figure(F.embedding_scatter_pair(
            xy, mods, pids, method=label, title=f"{title} (by modality)",
            group_title="by modality", group_names=list(MODALITY_NAMES),
            style=ui.paper_style()),
            f"embedding_modality_{r.name}_{F.STAGE_NAMES[which]}_{method}",
            key=f"emb_mod_{key}_{which}", downloads=run_b is None)


have = []
if run is not None:
    have = stages_of(run)
    if not have:
        st.warning(f"{ui.run_label(run)} has no features for "
                   f"{[F.STAGE_NAMES[v] for v in views]}")
    if ui.no_training(run) and len(views) > 1 and have:
        st.info(f"{ui.run_label(run)} did not train: its features before and after are the "
                "same, so they are shown once. Pick a trained run to compare before and after.")
    runs_shown = [run] + ([run_b] if run_b is not None else [])
    for which in ("initial", "final"):
        row = [r for r in runs_shown if which in stages_of(r)]
        if not row:
            continue
        cols = st.columns(len(runs_shown)) if run_b is not None else [st.container()]
        for col, r in zip(cols, runs_shown):
            if r not in row:
                continue
            with col, ui.guard(f"{ui.run_label(r)}: {F.STAGE_NAMES[which]} features"):
                show_embeddings(r, which, "b" if r is run_b else "a")
    if run_b is not None:
        st.caption("Two runs side by side: download these embeddings (PNG, SVG, PDF, HTML) "
                   "from the **Export** page, which lists every figure shown.")

    # ----------------------------------------------------------------- gap numbers
    numbers, colours, patterns = {}, {}, {}
    for r in runs_shown:
        for which in stages_of(r):
            with ui.guard(f"{ui.run_label(r)}: gap numbers"):
                when = when_of(r, which)
                name = when if run_b is None else f"{short_name(r)}: {when}"
                numbers[name] = gap_numbers(str(r.path), which, feature_mtime(r, which))
                colours[name] = F.stage_colour(when)
                if r is run_b:
                    patterns[name] = "/"  # the second run hatched, in its stages' colours
    if numbers:
        from reidlab.viz.gap_report import gap_figure, pair_rank1_figure, pair_rank1_panels

        st.subheader("Gap numbers")
        with ui.guard("gap numbers"):
            runs_title = " vs ".join(ui.run_label(r) for r in runs_shown)
            ui.show_figure(gap_figure(numbers, title=f"Camera-domain gap — {runs_title}",
                                      colours=colours, patterns=patterns,
                                      style=ui.paper_style()),
                           f"gap_{run.name}" + (f"_vs_{run_b.name}" if run_b else ""),
                           key="gap_bars")
            chance = next(iter(numbers.values()))["chance"]
            st.caption(f"One panel per measure, each on its own axis. camera-probe accuracy: "
                       f"a linear classifier predicting the camera from held-out identities' "
                       f"features (chance {chance:.2f}, dashed); high = the features carry the "
                       f"camera. Silhouette (−1…1): how well the features group by camera "
                       f"(want low) and by identity (want high)." +
                       (f" Light grey = before, dark grey = after training; "
                        f"{short_name(run_b)} hatched." if run_b is not None else
                        " Light grey = before, dark grey = after training."))
            if any("modality probe acc." in d for d in numbers.values()):
                st.caption("modality probe: the same for colour vs infrared. colour → colour and "
                           "infrared → infrared rank-1: retrieval inside one modality, across "
                           "cameras; infrared → colour: across modalities (one gallery of every "
                           "colour tracklet, not the protocol's sampled trials). Low inside a "
                           "modality = its features have not learnt the identities, and no "
                           "alignment can match what is not there.")

        st.subheader("rank-1 per camera pair")
        with ui.guard("camera-pair matrix"):
            which = have[-1] if have else "final"
            pm = {}
            if run_b is not None:  # two runs side by side, and run B − run A
                for r in runs_shown:
                    w = which if which in stages_of(r) else stages_of(r)[-1]
                    pm[f"{short_name(r)} ({when_of(r, w)})"] = pair_matrix(str(r.path), w,
                                                                     feature_mtime(r, w))
                a, b = list(pm)
                fig = pair_rank1_panels(pm, difference=(a, b), style=ui.paper_style(),
                                        title=f"rank-1 (%) per camera pair — {a} vs {b}")
                name = f"pair_rank1_{run.name}_vs_{run_b.name}"
            elif len(have) == 2:  # one run before and after, and the change
                for w in have:
                    pm[F.STAGE_NAMES[w]] = pair_matrix(str(run.path), w, feature_mtime(run, w))
                fig = pair_rank1_panels(pm, difference=("before", "after"),
                                        style=ui.paper_style(),
                                        title=f"rank-1 (%) per camera pair — {ui.run_label(run)}")
                name = f"pair_rank1_{run.name}_before_after"
            else:  # the figure `reidlab export` writes
                fig = pair_rank1_figure(
                    pair_matrix(str(run.path), which, feature_mtime(run, which)),
                    style=ui.paper_style(),
                    title=f"rank-1 (%) per camera pair — {ui.run_label(run)} "
                          f"({when_of(run, which)})")
                name = f"pair_rank1_{run.name}_{which}"
            ui.show_figure(fig, name, key="pair_heat")
            st.caption("Query camera = row, gallery camera = column (standard protocol). The "
                       "grey diagonal is same-camera retrieval (ignoring only the query's own "
                       "tracklet), written but left off the colour scale, which spans the "
                       "cross-camera cells: off-diagonal ≪ diagonal is the camera gap." +
                       (" The last panel is the difference (blue = higher in the second)."
                        if len(pm) == 2 else ""))

# ------------------------------------------------------- the infrared paper's Fig. 3

    if run is not None and have:
        from reidlab.analysis.domain_gap import pooled_modality

        fs_last = ui.features(run, have[-1])
        if len(np.unique(pooled_modality(fs_last))) > 1:
            st.subheader("The modality gap by stage")
            st.caption("How correlated the same person's features are across modalities at "
                       "each backbone stage (the infrared paper's Fig. 3): solid = infrared "
                       "and colour images of one person, dotted = of different people. Up to "
                       "600 test tracklets; the network is rebuilt from the run.")
            if st.button("Compute", key="gap_stage_corr"):
                with ui.guard("stage correlation"), st.spinner("stage features…"):
                    curves = stage_correlations(str(run.path), run.checkpoint_mtime())
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
