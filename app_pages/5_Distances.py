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
st.caption("Same-person pairs across cameras vs different-person pairs (same-camera same-person "
           "pairs are junk and left out). The more the two histograms overlap, the harder "
           "retrieval is.")


@st.cache_data(show_spinner=False, max_entries=16)
def modality_sets(path: str, which: str, mtime: float) -> dict:
    """Distances per modality pair (colour ↔ colour, infrared ↔ infrared, infrared ↔ colour)
    over the run's test tracklets; {} for a colour-only dataset."""
    from reidlab.analysis.domain_gap import pooled, pooled_keep, pooled_modality
    from reidlab.analysis.modality import modality_distance_sets
    from reidlab.eval.features import FeatureSet

    fs = FeatureSet.load(f"{path}/features/{which}.npz")
    keep = pooled_keep(fs)
    mods = pooled_modality(fs, keep)
    if len(np.unique(mods)) < 2:
        return {}
    feats, pids, camids = pooled(fs, keep)
    return modality_distance_sets(feats, pids, camids, mods)


@st.cache_data(show_spinner=False, max_entries=32)
def dists(path: str, which: str, mtime: float, max_pairs: int) -> dict:
    from reidlab.analysis.domain_gap import distance_distributions
    from reidlab.eval.features import FeatureSet

    fs = FeatureSet.load(f"{path}/features/{which}.npz")
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
which = c[2].radio("model", ["final", "initial"], horizontal=True, key="dist_which")
per_pair = c[3].toggle("per camera pair", key="dist_pairs",
                       help="a heat map of the separation of every camera pair, and the "
                            "histograms of the pair you pick")
normalise = st.toggle("normalise distances by each run's median (compare runs on one scale)",
                      value=run_b is not None, key="dist_norm")


def pair_name(a: int, b: int) -> str:
    return f"cam {a + 1}→{b + 1}"


if run_a is not None:
    with ui.guard("distances"):
        from reidlab.analysis.domain_gap import pair_separation, separation_auc

        sets = []
        for r in [run_a] + ([run_b] if run_b is not None else []):
            p = r.path / "features" / f"{which}.npz"
            if not p.is_file():
                raise FileNotFoundError(f"{p}: run {r.name} has no {which} features")
            d = dists(str(r.path), which, p.stat().st_mtime, 100_000)
            scale = float(np.median(np.concatenate([d["same"], d["diff"]]))) if normalise else 1.0
            prefix = "" if run_b is None else f"{ui.run_label(r)}: "
            sets.append((r, prefix, d, scale or 1.0))
        overall = {}
        for _, prefix, d, s in sets:
            overall[f"{prefix}same person"] = d["same"] / s
            overall[f"{prefix}different person"] = d["diff"] / s
        runs_title = " vs ".join(ui.run_label(r) for r in [run_a, run_b] if r)
        fname = f"distances_{run_a.name}" + (f"_vs_{run_b.name}" if run_b else "")
        if not per_pair:
            fig = F.distance_histograms({"all pairs": overall}, title=f"Distances — {runs_title}",
                                        style=ui.paper_style())
            ui.show_figure(fig, fname, key="dist_fig")
            p = run_a.path / "features" / f"{which}.npz"
            by_mod = modality_sets(str(run_a.path), which, p.stat().st_mtime)
            if by_mod:  # infrared ↔ colour data: the modality gap in distances
                st.subheader("By modality pair")
                panels = {name: {"same person": s["same"], "different person": s["diff"]}
                          for name, s in by_mod.items()}
                ui.show_figure(F.distance_histograms(
                    panels, title=f"Distances by modality pair — {ui.run_label(run_a)}",
                    style=ui.paper_style()), f"distances_modality_{run_a.name}",
                    key="dist_mod_fig")
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
            seps = []
            cols = st.columns(len(sets))
            for col, (r, prefix, d, s) in zip(cols, sets):
                sep = pair_separation(d["by_pair"])
                seps.append(sep)
                with col:
                    ui.show_figure(F.camera_pair_heatmap(
                        100 * sep["auc"], metric="AUC (%)",
                        cam_names=[f"cam {c + 1}" for c in sep["cameras"]],
                        zmin=F.auc_floor(100 * sep["auc"]), zmax=100,
                        title=f"same vs different separation — {ui.run_label(r)} ({which})",
                        style=ui.paper_style()), f"pair_separation_{r.name}_{which}",
                        key=f"dist_sep_{len(seps)}")
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
                    title=f"Distances, one camera pair vs all — {runs_title}",
                    style=ui.paper_style(), facet_cols=2)
                ui.show_figure(fig, f"{fname}_cam{pick[0] + 1}_{pick[1] + 1}", key="dist_fig")
        rows = []
        for r, prefix, d, s in sets:
            rows.append({"run": ui.run_label(r),
                         "same median": float(np.median(d["same"]) / s),
                         "different median": float(np.median(d["diff"]) / s),
                         "AUC (%)": 100 * separation_auc(d["same"], d["diff"]),
                         "same pairs": len(d["same"]), "different pairs": len(d["diff"])})
        st.dataframe(rows, key="dist_table", column_config={
            "same median": st.column_config.NumberColumn(format="%.3g"),
            "different median": st.column_config.NumberColumn(format="%.3g"),
            "AUC (%)": st.column_config.NumberColumn(
                format="%.1f", help="chance that a same-person pair is closer than a "
                                    "different-person pair (50 = chance)")})
