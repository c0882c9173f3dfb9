"""Rank lists: a query tracklet and its top-k gallery; worst queries first on request, queries
of one identity, and the same query under a second run's model."""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Rank lists")
st.markdown(ui.rank_list_key_html(), unsafe_allow_html=True)
st.caption("Above each gallery image: **rank** = its place in the gallery ranking (junk not "
           "counted, so rank 1…k are the real ranks), **d** = its Euclidean distance to the "
           "query, **id** = the person, **cam** = the camera. Junk items are shown where they "
           "fall, without a rank.")

with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
runs = ui.list_runs()
c = st.columns([3, 3, 2, 2, 2])
with c[0]:
    run = ui.run_picker("run", key="rl_run", runs=runs)
with c[1]:
    run_b = ui.run_picker("compare with a second run (same queries)", key="rl_run_b", runs=runs,
                          allow_none=True, default_baseline=False)
which = c[2].radio("model", ["final", "initial"], horizontal=True, key="rl_which",
                   format_func=F.STAGE_NAMES.get,
                   help="before = the run's initial model, after = its final model")
k = c[3].slider("top-k", 1, 20, 8, key="rl_k", help="gallery items shown, junk not counted")
order = c[4].radio("queries", ["in order", "worst first"], horizontal=True, key="rl_order",
                   help="worst first: lowest average precision (AP) first")
if run_b is not None and run is not None and run_b.path == run.path:
    run_b = None


def rank_figure(r, fs, data, qi: int, tag: dict, title: str = ""):
    """The rank-list figure of query row ``qi`` of run ``r``'s features, and its summary."""
    from reidlab.analysis.ranklists import query_summary, rank_list_features

    ranked = rank_list_features(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                                fs.g_camids, qi, k=k)  # one row of distances
    summary = query_summary(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                            fs.g_camids, qi)
    qt = data.query[int(fs.q_index[qi])]
    gal = [data.gallery[int(fs.g_index[e["gallery_row"]])] for e in ranked]
    status = ["junk" if e["junk"] else "match" if e["match"] else "wrong" for e in ranked]
    labels = [f"id {t.pid}<br>cam {t.camid + 1}{tag[t.modality]}" for t in gal]
    fig = F.rank_list_figure(ui.tracklet_thumb(qt), [ui.tracklet_thumb(t) for t in gal],
                             status, distances=[e["distance"] for e in ranked], labels=labels,
                             ranks=[e["rank"] for e in ranked], title=title,
                             query_label=f"query<br>id {qt.pid}<br>cam {qt.camid + 1}"
                                         f"{tag[qt.modality]}",
                             style=ui.paper_style())
    summary["hits"] = sum(s == "match" for s in status)
    return fig, summary, qt


def summary_text(s: dict) -> str:
    first = "no true match in the gallery" if s["first_match_rank"] is None else \
        f"first true match at rank {s['first_match_rank']}"
    ap = "–" if not np.isfinite(s["ap"]) else f"{s['ap']:.2f}"
    return f"{first} · AP {ap} · {s['hits']} correct in the top {k}"


if run is not None:
    with ui.guard("rank list"):
        fs = ui.features(run, which)
        data = ui.run_dataset(run)
        fs_b = None
        if run_b is not None:
            fs_b = ui.features(run_b, which)
            d_a, d_b = (r.config.get("dataset", {}) for r in (run, run_b))
            if (d_a.get("root"), d_a.get("format")) != (d_b.get("root"), d_b.get("format")):
                raise ValueError(f"{run_b.name} was evaluated on {d_b.get('root')}, "
                                 f"{run.name} on {d_a.get('root')}: pick runs of one dataset "
                                 "to compare their rank lists")
            row_b = {int(q): i for i, q in enumerate(fs_b.q_index)}  # dataset query → row
        if order == "worst first":
            rows = list(ui.worst_first(run, which))
        else:
            rows = list(range(len(fs.q_pids)))
        ids = sorted({int(p) for p in fs.q_pids})
        pid = st.selectbox("identity", [None] + ids, key="rl_pid",
                           format_func=lambda p: "every identity" if p is None else f"id {p}",
                           help="only the queries of this person (type to search)")
        if pid is not None:
            rows = [r for r in rows if int(fs.q_pids[int(r)]) == pid]
        if not rows:
            st.warning("no valid query" if pid is None else
                       f"id {pid} has no {'valid ' if order == 'worst first' else ''}query")
            st.stop()
        n_show = st.slider("queries shown", 1, max(2, min(10, len(rows))),
                           min(3, len(rows)), key="rl_n", disabled=len(rows) == 1)
        start = st.number_input("from position", 0, max(0, len(rows) - 1), 0, key="rl_start")
        two_modalities = len({t.modality for t in data.query + data.gallery}) > 1
        if two_modalities:
            st.caption("Infrared ↔ colour data: each label ends with the image's modality (IR "
                       "or RGB); the queries of SYSU-MM01 are infrared, its gallery colour.")
        # narrow columns; with two modalities, IR / RGB after the camera
        tag = {0: " RGB", 1: " IR"} if two_modalities else {0: "", 1: ""}
        when = F.STAGE_NAMES[which]
        for qi in rows[int(start):int(start) + n_show]:
            qi = int(qi)
            fig, s, qt = rank_figure(run, fs, data, qi, tag,
                                     title=f"{ui.run_label(run)} ({when})" if fs_b is not None
                                     else "")
            st.markdown(f"**query row {qi}** · id {qt.pid} · cam {qt.camid + 1} · "
                        f"{ui.run_label(run)}: {summary_text(s)}")
            ui.show_figure(fig, f"ranklist_{run.name}_{which}_q{qi}", key=f"rl_{qi}")
            if fs_b is not None:
                qb = row_b.get(int(fs.q_index[qi]))
                if qb is None:
                    st.caption(f"{ui.run_label(run_b)} has no features of this query.")
                    continue
                fig, s, _ = rank_figure(run_b, fs_b, data, qb, tag,
                                        title=f"{ui.run_label(run_b)} ({when})")
                st.markdown(f"same query · {ui.run_label(run_b)}: {summary_text(s)}")
                ui.show_figure(fig, f"ranklist_{run_b.name}_{which}_q{qb}", key=f"rl_b_{qi}")

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
