"""Home: what reidlab is, the current dataset and its "ImageNet init" numbers, the trained runs
and their best results, deleting or archiving runs, page links."""

import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Home", "reidlab: camera-aware person re-identification lab")
st.markdown(
    "Train re-ID models that learn **identity-discriminative, camera-invariant** features from "
    "multi-camera tracklets without cross-camera identity labels, **see the camera-domain gap** "
    "(embeddings by camera vs by identity, part masks, distance histograms, rank lists), run "
    "**ablations** and **export** paper-ready figures and tables. Everything the app shows is "
    "computed by the `reidlab` package (`python -m reidlab --help`).")

fmt, root = ui.current_dataset()
st.subheader("Dataset")
with ui.guard("dataset"):
    if ui.ensure_default_dataset():
        data = ui.load_dataset(fmt, root)
        s = data.summary()
        c = st.columns(4)
        c[0].metric("dataset", data.name)
        c[1].metric("cameras", data.num_cameras)
        c[2].metric("train tracklets", s["train"]["tracklets"])
        c[3].metric("query / gallery", f"{s['query']['tracklets']} / {s['gallery']['tracklets']}")
        st.subheader("Before any training: ImageNet features")
        run = ui.ensure_baseline_run()
        m = (F.to_percent([run.final_metrics() or {}]))[0]
        c = st.columns(3)
        c[0].metric("rank-1 (%)", f"{m.get('rank1', float('nan')):.1f}")
        c[1].metric("mAP (%)", f"{m.get('mAP', float('nan')):.1f}")
        c[2].metric("valid queries", m.get("num_valid_queries", "?"))
        st.caption(f"The run “{ui.run_label(run)}” is available on every page: open "
                   "**Domain gap** to see its features cluster by camera.")
    else:
        st.error(f"{root}: dataset folder not found; pick another one on the Data page.")

st.subheader("Trained runs")
with ui.guard("runs"):
    import pandas as pd

    trained = [r for r in ui.list_runs() if not ui.no_training(r) and r.final_metrics()]
    if not trained:
        st.caption("None yet: **Train** a model (the *quick* preset takes about four minutes), "
                   "or queue a sweep on **Ablations**.")
    else:
        rows = []
        for r in trained:
            d = ui.run_details(r)
            m = F.to_percent([r.final_metrics() or {}])[0]
            rows.append({"run": ui.run_label(r), "preset": d.get("preset"),
                         "backbone": d.get("backbone"), "size": d.get("size"),
                         "epochs": d.get("epochs"), "dataset": d.get("dataset"),
                         "seed": d.get("seed"), "wall time": ui.duration_text(d.get("wall_s")),
                         "rank-1": m.get("rank1"), "mAP": m.get("mAP")})
        table = pd.DataFrame(rows).set_index("run").sort_values("mAP", ascending=False)
        best1 = table["rank-1"].idxmax()
        bestm = table["mAP"].idxmax()
        c = st.columns(3)
        c[0].metric("trained runs", len(table))
        c[1].metric("best rank-1 (%)", f"{table.loc[best1, 'rank-1']:.1f}", help=best1)
        c[2].metric("best mAP (%)", f"{table.loc[bestm, 'mAP']:.1f}", help=bestm)
        st.caption(f"best rank-1: **{best1}**; best mAP: **{bestm}** — compare runs of equal "
                   "settings on **Ablations**")
        st.dataframe(table, key="home_runs", column_config={
            k: st.column_config.NumberColumn(format="%.1f") for k in ("rank-1", "mAP")})

with st.expander("Delete or archive runs"):
    with ui.guard("runs"):
        from reidlab.engine import jobs

        every = ui.list_runs(finished_only=False, need_features=False)
        if not every:
            st.caption("No runs.")
        else:
            labels = {ui.run_label(r, details=True): r for r in every}
            c = st.columns([4, 2])
            pick = c[0].selectbox("run", list(labels), index=None, key="home_rm_run",
                                  placeholder="choose a run")
            how = c[1].radio("how", ["archive", "delete"], horizontal=True, key="home_rm_how",
                             help=f"archive: moved to {ui.runs_root()}/_archive/ (no page "
                                  "lists it; move it back to restore it); delete: removed "
                                  "from disk")
            if pick is not None:
                run = labels[pick]
                sure = st.checkbox(f"yes, {how} `{run.path}`", key="home_rm_sure")
                if st.button(f"{how.capitalize()} run", key="home_rm_go", disabled=not sure):
                    dest = jobs.remove_run(run.path, root=ui.runs_root(),
                                           archive=how == "archive")
                    for k in ("home_rm_run", "home_rm_sure"):
                        st.session_state.pop(k, None)
                    st.session_state["home_rm_done"] = (
                        f"archived {run.name} to {dest}" if dest else f"deleted {run.name}")
                    st.rerun()
        if st.session_state.get("home_rm_done"):
            st.success(st.session_state.pop("home_rm_done"))

st.subheader("Pages")
ui.page_links()
