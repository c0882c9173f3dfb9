"""Distances: same-person vs different-person distance histograms, overall and per camera pair.

Per camera pair, one histogram per pair would be C² panels (36 at 6 cameras, 225 for MSMT17's
15), too small to read: the page shows instead a heat map of how well each pair separates
matches from non-matches (ROC AUC) and the histograms of one chosen pair next to all pairs.
"""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Distances")
st.caption("Euclidean distances between query and gallery features (centred on the gallery "
           "mean, the distance the evaluation ranks by): same-person pairs across cameras "
           "(green) vs different-person pairs (vermillion); same-camera same-person pairs are "
           "junk and left out. The more the two histograms overlap, the harder retrieval is.")
MAX_PAIRS = 100_000  # a random sample of at most this many pairs of each kind


@st.cache_data(show_spinner=False, max_entries=16)
def modality_sets(path: str, which: str, mtime: float) -> dict:
    """Distances per modality pair (colour ↔ colour, infrared ↔ infrared, infrared ↔ colour)
    over the run's test tracklets; {} for a colour-only dataset."""
    from reidlab.analysis.domain_gap import pooled, pooled_keep, pooled_modality
    from reidlab.analysis.modality import modality_distance_sets
    from reidlab.engine.runs import Run

    fs = Run(path).features(which)
    keep = pooled_keep(fs)
    mods = pooled_modality(fs, keep)
    if len(np.unique(mods)) < 2:
        return {}
    feats, pids, camids = pooled(fs, keep)
    return modality_distance_sets(feats, pids, camids, mods)


@st.cache_data(show_spinner=False, max_entries=32)
def dists(path: str, which: str, mtime: float, max_pairs: int) -> dict:
    from reidlab.analysis.domain_gap import distance_distributions
    from reidlab.engine.runs import Run

    fs = Run(path).features(which)
    d = distance_distributions((fs.q_feat, fs.g_feat), fs.q_pids, fs.g_pids, fs.q_camids,
                               fs.g_camids, max_pairs=max_pairs)
    return {"same": d["same"], "diff": d["diff"], "by_pair": d["by_pair"]}


with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
runs = ui.list_runs()
c = st.columns([3, 3, 2, 2])
with c[0]:
    run_a = ui.run_picker("run", key="dist_a", runs=runs)
with c[1]:
    run_b = ui.run_picker("overlay a second run", key="dist_b", runs=runs, allow_none=True,
                          default_baseline=False)
which = c[2].radio("model", ["final", "initial"], horizontal=True, key="dist_which",
                   format_func=F.STAGE_NAMES.get,
                   help="before = the run's initial model, after = its final model")
per_pair = c[3].toggle("per camera pair", key="dist_pairs",
                       help="a heat map of the separation of every camera pair, and the "
                            "histograms of the pair you pick")
# on by default with a second run: turned on when one is overlaid, off when it is removed
overlaid = run_b is not None
if st.session_state.get("dist_norm_overlaid", False) != overlaid:
    st.session_state["dist_norm"] = overlaid
st.session_state["dist_norm_overlaid"] = overlaid
normalise = st.toggle("normalise distances by each run's median (compare runs on one scale)",
                      key="dist_norm")


def pair_name(a: int, b: int) -> str:
    return f"cam {a + 1}→{b + 1}"


if run_a is not None:
    with ui.guard("distances"):
        from reidlab.analysis.domain_gap import pair_separation, separation_auc

        sets = []
        for r in [run_a] + ([run_b] if run_b is not None else []):
            if not r.has_features(which):
                raise FileNotFoundError(f"{r.features_path(which)}: run {r.name} has no "
                                        f"{which} features")
            d = dists(str(r.path), which, r.features_mtime(which), MAX_PAIRS)
            scale = float(np.median(np.concatenate([d["same"], d["diff"]]))) if normalise else 1.0
            prefix = "" if run_b is None else f"{ui.run_label(r)}: "
            sets.append((r, prefix, d, scale or 1.0))
        overall = {}
        for _, prefix, d, s in sets:
            overall[f"{prefix}same person"] = d["same"] / s
            overall[f"{prefix}different person"] = d["diff"] / s
        runs_title = " vs ".join(ui.run_label(r) for r in [run_a, run_b] if r)
        when = F.STAGE_NAMES[which]
        x_title = "Euclidean distance" + (" / the run's median" if normalise else "")
        fname = f"distances_{run_a.name}" + (f"_vs_{run_b.name}" if run_b else "")
        if run_b is not None:
            st.caption(f"{ui.run_label(run_a)}: filled bars; {ui.run_label(run_b)}: outlined, "
                       "hatched bars (same colours: green = same person, vermillion = "
                       "different person).")
        if not per_pair:
            fig = F.distance_histograms({"all pairs": overall}, x_title=x_title,
                                        title=f"Distances ({when}) — {runs_title}",
                                        style=ui.paper_style())
            ui.show_figure(fig, fname, key="dist_fig")
            by_mod = modality_sets(str(run_a.path), which, run_a.features_mtime(which))
            if by_mod:  # infrared ↔ colour data: the modality gap in distances
                st.subheader("By modality pair")
                panels = {name: {"same person": s["same"], "different person": s["diff"]}
                          for name, s in by_mod.items()}
                ui.show_figure(F.distance_histograms(
                    panels, title=f"Distances by modality pair — {ui.run_label(run_a)}",
                    x_title="Euclidean distance", style=ui.paper_style()),
                    f"distances_modality_{run_a.name}", key="dist_mod_fig")
                st.caption("All test tracklets against each other, pairs of one camera left "
                           "out: same- vs different-person distances within colour, within "
                           "infrared and across the modalities. A same-person infrared ↔ "
                           "colour histogram that sits with the different-person one is the "
                           "modality gap.")
        else:
            st.subheader("Separation per camera pair")
            st.caption("AUC (%) = the chance that a same-person pair is closer than a "
                       "different-person pair of the same query and gallery cameras: 100 = "
                       "perfectly separated, 50 = no better than chance. Empty cells have no "
                       "same-person pair (the diagonal: same-camera matches are junk).")
            seps = [pair_separation(d["by_pair"]) for _, _, d, _ in sets]
            from reidlab.engine.baseline import is_baseline

            def short(r):  # a panel title: the folder name ("ImageNet init": a hash folder)
                return "ImageNet init" if is_baseline(r) else r.name \
                    if len(sets) == 1 or run_a.name != run_b.name else ui.run_label(r)

            aucs = {short(r): 100 * sep["auc"] for (r, _, _, _), sep in zip(sets, seps)}
            floor = min(F.auc_floor(v) for v in aucs.values())
            cams = [f"cam {c + 1}" for c in seps[0]["cameras"]]
            if len(sets) == 1:
                fig = F.camera_pair_heatmap(
                    100 * seps[0]["auc"], metric="AUC (%)", cam_names=cams, zmin=floor,
                    zmax=100, style=ui.paper_style(),
                    title=f"Same vs different separation ({when}) — {ui.run_label(run_a)}")
            else:  # both runs on one colour scale, one figure (labelled downloads below)
                if [list(s_["cameras"]) for s_ in seps[1:]] != [list(seps[0]["cameras"])]:
                    raise ValueError(f"{run_a.name} and {run_b.name} have different cameras "
                                     f"({seps[0]['cameras']} vs {seps[1]['cameras']}): "
                                     "their camera pairs cannot be compared")
                a_, b_ = list(aucs)
                fig = F.camera_pair_panels(
                    aucs, metric="AUC (%)", cam_names=cams, zmin=floor, zmax=100,
                    difference=(a_, b_), style=ui.paper_style(),
                    title=f"Same vs different separation per camera pair ({when})")
            ui.show_figure(fig, f"pair_separation_{fname.removeprefix('distances_')}_{which}",
                           key="dist_sep")
            # pairs with same-person distances, hardest (lowest AUC of the first run) first
            sep = seps[0]
            idx = {c: i for i, c in enumerate(sep["cameras"])}
            pairs = [(a, b) for (a, b) in sorted(sets[0][2]["by_pair"])
                     if np.isfinite(sep["auc"][idx[a], idx[b]])]
            pairs.sort(key=lambda ab: sep["auc"][idx[ab[0]], idx[ab[1]]])
            if not pairs:
                st.info("No camera pair has a same-person pair to compare.")
            else:
                pick = st.selectbox(
                    "camera pair (hardest first)", pairs, key="dist_pair",
                    format_func=lambda ab: f"{pair_name(*ab)} · AUC "
                                           f"{100 * sep['auc'][idx[ab[0]], idx[ab[1]]]:.0f} %")
                group = {}
                for _, prefix, d, s in sets:
                    bp = d["by_pair"].get(tuple(pick), {"same": [], "diff": []})
                    group[f"{prefix}same person"] = np.asarray(bp["same"]) / s
                    group[f"{prefix}different person"] = np.asarray(bp["diff"]) / s
                auc_all = separation_auc(sets[0][2]["same"], sets[0][2]["diff"])
                fig = F.distance_histograms(
                    {f"{pair_name(*pick)}": group,
                     f"all pairs (AUC {100 * auc_all:.0f} %)": overall},
                    title=f"Distances ({when}), one camera pair vs all — {runs_title}",
                    x_title=x_title, style=ui.paper_style(), facet_cols=2)
                ui.show_figure(fig, f"{fname}_cam{pick[0] + 1}_{pick[1] + 1}", key="dist_fig")
        rows = []
        for r, prefix, d, s in sets:
            rows.append({"run": ui.run_label(r),
                         "same median": float(np.median(d["same"]) / s),
                         "different median": float(np.median(d["diff"]) / s),
                         "AUC (%)": 100 * separation_auc(d["same"], d["diff"]),
                         "same pairs": len(d["same"]), "different pairs": len(d["diff"])})
        cap = f"{MAX_PAIRS:,}".replace(",", " ")
        st.caption(f"Each histogram is drawn from a random sample (fixed seed) of at most {cap} "
                   f"same-person and {cap} different-person pairs, not from every pair: the "
                   "table says how many each holds.")
        st.dataframe(rows, key="dist_table", column_config={
            "same pairs": st.column_config.NumberColumn(
                help=f"same-person pairs drawn (a random sample when over {MAX_PAIRS})"),
            "different pairs": st.column_config.NumberColumn(
                help=f"different-person pairs drawn: a random sample of at most {MAX_PAIRS}"),
            "same median": st.column_config.NumberColumn(format="%.3g"),
            "different median": st.column_config.NumberColumn(format="%.3g"),
            "AUC (%)": st.column_config.NumberColumn(
                format="%.1f", help="chance that a same-person pair is closer than a "
                                    "different-person pair (50 = chance)")})
