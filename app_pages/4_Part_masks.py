"""Part masks: the PAM's K-means part masks (ordered head→legs) vs strict horizontal stripes;
the same frames under a second run's model on request."""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Part masks")
st.caption("K-means over the spatial feature vectors of the map X gives K part masks, ordered "
           "by the height of their centroid (head → legs, dark → light); `strict` cuts K "
           "uniform stripes. K is at most the map's height in cells: a stripe needs a row.")
MAX_K = 8


@st.cache_resource(show_spinner="loading the model…", max_entries=4)
def load_model(path: str, mtime: float):
    """The run's trained network (its checkpoint), else the initial one of its config."""
    from reidlab.engine.restore import load_run_model

    return load_run_model(path)


def model_of(r):
    return load_model(str(r.path), r.checkpoint_mtime())


def map_size(model) -> tuple[int, int]:
    """Height × width in cells of the model's feature map X (one blank frame through it)."""
    from reidlab.engine.restore import run_part_masks

    h, w = model.size
    km, _ = run_part_masks(model, np.zeros((1, h, w, 3), np.uint8), 1)
    return int(km.shape[2]), int(km.shape[3])


run = run_b = None
with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
    runs = ui.list_runs()
    c = st.columns([3, 3, 2, 2])
    with c[0]:
        run = ui.run_picker("model of run", key="pm_run", runs=runs)
    with c[1]:
        run_b = ui.run_picker("compare with a second run (same frames)", key="pm_run_b",
                              runs=runs, allow_none=True, default_baseline=False)
    split = c[3].radio("frames from", ["query", "gallery"], horizontal=True, key="pm_split")
    if run_b is not None and run is not None and run_b.path == run.path:
        run_b = None

if run is not None:
    with ui.guard("part masks"):
        from reidlab.engine.restore import run_part_masks
        from reidlab.viz.cli_export import default_tracklets

        models = [(run, model_of(run))] + ([(run_b, model_of(run_b))] if run_b else [])
        sizes = {r.name: map_size(m) for r, m in models}
        cap = min(MAX_K, *(h for h, _ in sizes.values()))
        # the K asked for is kept; shown is the largest this map holds up to it
        wanted = st.session_state.setdefault("pm_K_wanted", 3)
        st.session_state["pm_K"] = min(wanted, cap)

        def keep_wanted():
            st.session_state["pm_K_wanted"] = st.session_state["pm_K"]

        K = c[2].slider("K (parts)", 1, max(cap, 2), key="pm_K", on_change=keep_wanted,
                        disabled=cap < 2,
                        help=f"at most {cap}: the feature map X is "
                             + ", ".join(f"{h}×{w} ({n})" for n, (h, w) in sizes.items())
                             + " cells, and every part needs at least one row")
        if wanted > cap:
            c[2].caption(f"K = {wanted} capped at {cap}: the map is "
                         f"{min(h for h, _ in sizes.values())} cells high")

        data = ui.run_dataset(run)
        items = getattr(data, split)
        default = default_tracklets(len(items))
        # keyed by split: gallery frames list gallery tracklets, never the query's
        chosen = st.multiselect(f"{split} tracklets", list(range(len(items))), default=default,
                                key=f"pm_items_{split}",
                                format_func=lambda i: f"#{i} id {items[i].pid} cam "
                                                      f"{items[i].camid + 1}")
        if not chosen:
            st.info("Choose at least one tracklet.")
            st.stop()
        labels = [f"id {items[i].pid}<br>cam {items[i].camid + 1}" for i in chosen]
        for r, model in models:
            h, w = model.size
            frames = np.stack([ui.tracklet_thumb(items[i], h, w) for i in chosen])
            km, strict = run_part_masks(model, frames, K)
            what = model.source + (f", epoch {model.epoch}" if model.trained else "")
            st.caption(f"{ui.run_label(r)}: {what}; map X is {km.shape[2]}×{km.shape[3]}")
            ui.show_figure(F.part_masks_figure(
                list(frames), km, strict, labels=labels, style=ui.paper_style(),
                title=f"Part masks (K={K}), ordered head→legs — {ui.run_label(r)}"),
                f"part_masks_{r.name}_K{K}", key="pm_fig" if r is run else "pm_fig_b")
            area = km.reshape(len(chosen), K, -1).mean(axis=2)
            cover = area.mean(axis=0)
            empty = (area == 0).sum(axis=0)
            st.caption("mean area per part (head→legs): " +
                       ", ".join(f"part {k + 1}: {a:.0%}" for k, a in enumerate(cover)) +
                       ("" if not empty.any() else " · empty in some frames (K-means found "
                        "fewer distinct regions): " + ", ".join(
                            f"part {k + 1} in {int(n)}" for k, n in enumerate(empty) if n)))

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
