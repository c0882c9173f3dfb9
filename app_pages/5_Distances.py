"""Distances: same-person vs different-person distance histograms, overall and per camera pair."""

import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.setup_page("Distances")
st.title("Distances")
st.caption("Same-person pairs across cameras vs different-person pairs (same-camera same-person "
           "pairs are junk and left out). The more the two histograms overlap, the harder "
           "retrieval is.")


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
per_pair = c[3].toggle("per camera pair", key="dist_pairs")
normalise = st.toggle("normalise distances by each run's median (compare runs on one scale)",
                      value=run_b is not None, key="dist_norm")

if run_a is not None:
    with ui.guard("distances"):
        import numpy as np

        sets = []
        for r in [run_a] + ([run_b] if run_b is not None else []):
            p = r.path / "features" / f"{which}.npz"
            if not p.is_file():
                raise FileNotFoundError(f"{p}: run {r.name} has no {which} features")
            d = dists(str(r.path), which, p.stat().st_mtime, 100_000)
            scale = float(np.median(np.concatenate([d["same"], d["diff"]]))) if normalise else 1.0
            prefix = "" if run_b is None else f"{ui.run_label(r)}: "
            sets.append((prefix, d, scale or 1.0))
        groups = {"all pairs": {}}
        for prefix, d, s in sets:
            groups["all pairs"][f"{prefix}same person"] = d["same"] / s
            groups["all pairs"][f"{prefix}different person"] = d["diff"] / s
        if per_pair:
            pairs = sorted(set().union(*[d["by_pair"].keys() for _, d, _ in sets]))
            groups = {}
            for a, b in pairs:
                g = {}
                for prefix, d, s in sets:
                    bp = d["by_pair"].get((a, b), {"same": [], "diff": []})
                    g[f"{prefix}same person"] = np.asarray(bp["same"]) / s
                    g[f"{prefix}different person"] = np.asarray(bp["diff"]) / s
                groups[f"cam {a + 1}→{b + 1}"] = g
        title = "Distances — " + " vs ".join(ui.run_label(r) for r in [run_a, run_b] if r)
        fig = F.distance_histograms(groups, title=title, style=ui.paper_style(), facet_cols=4)
        if per_pair:
            fig.update_layout(height=max(400, 220 * ((len(groups) + 3) // 4)))
        ui.show_figure(fig, f"distances_{run_a.name}" + (f"_vs_{run_b.name}" if run_b else ""),
                       key="dist_fig")
        rows = []
        for prefix, d, s in sets:
            rows.append({"run": prefix.rstrip(": ") or ui.run_label(run_a),
                         "same median": float(np.median(d["same"]) / s),
                         "different median": float(np.median(d["diff"]) / s),
                         "same pairs": len(d["same"]), "different pairs": len(d["diff"])})
        st.dataframe(rows, key="dist_table")
