"""Rank lists: a query tracklet and its top-k gallery; worst queries first on request."""

import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Rank lists")
st.markdown(ui.rank_list_key_html(), unsafe_allow_html=True)

with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
c = st.columns([3, 2, 2, 2])
with c[0]:
    run = ui.run_picker("run", key="rl_run")
which = c[1].radio("model", ["final", "initial"], horizontal=True, key="rl_which")
k = c[2].slider("top-k", 1, 20, 8, key="rl_k")
order = c[3].radio("queries", ["in order", "worst first"], horizontal=True, key="rl_order")

if run is not None:
    with ui.guard("rank list"):
        from reidlab.analysis.ranklists import rank_list_features

        fs = ui.features(run, which)
        data = ui.run_dataset(run)
        if order == "worst first":
            rows = list(ui.worst_first(run, which))
        else:
            rows = list(range(len(fs.q_pids)))
        if not rows:
            st.warning("no valid query")
            st.stop()
        n_show = st.slider("queries shown", 1, min(10, len(rows)), min(3, len(rows)),
                           key="rl_n")
        start = st.number_input("from position", 0, max(0, len(rows) - 1), 0, key="rl_start")
        two_modalities = len({t.modality for t in data.query + data.gallery}) > 1
        if two_modalities:
            st.caption("Infrared ↔ colour data: each label ends with the image's modality (IR "
                       "or RGB); the queries of SYSU-MM01 are infrared, its gallery colour.")
        for qi in rows[int(start):int(start) + n_show]:
            qi = int(qi)
            ranked = rank_list_features(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids,
                                        fs.q_camids, fs.g_camids, qi, k=k)  # one row
            qt = data.query[int(fs.q_index[qi])]
            gal = [data.gallery[int(fs.g_index[e["gallery_row"]])] for e in ranked]
            status = ["junk" if e["junk"] else "match" if e["match"] else "wrong"
                      for e in ranked]
            # narrow columns; with two modalities, IR / RGB after the camera
            tag = {0: " RGB", 1: " IR"} if two_modalities else {0: "", 1: ""}
            labels = [f"{t.pid}<br>c{t.camid + 1}{tag[t.modality]}" for t in gal]
            fig = F.rank_list_figure(ui.tracklet_thumb(qt), [ui.tracklet_thumb(t) for t in gal],
                                     status, distances=[e["distance"] for e in ranked],
                                     labels=labels,
                                     query_label=f"query<br>id {qt.pid}<br>c{qt.camid + 1}"
                                                 f"{tag[qt.modality]}",
                                     style=ui.paper_style())
            hits = sum(s == "match" for s in status)
            st.markdown(f"**query row {qi}** · {hits} correct in the top {k}")
            ui.show_figure(fig, f"ranklist_{run.name}_{which}_q{qi}", key=f"rl_{qi}")

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
