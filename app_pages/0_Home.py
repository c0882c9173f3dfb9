"""Home: what reidlab is, the current dataset and its "ImageNet init" numbers, page links."""

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

st.subheader("Pages")
ui.page_links()
