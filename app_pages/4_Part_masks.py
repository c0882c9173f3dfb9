"""Part masks: the PAM's K-means part masks (ordered head→legs) vs strict horizontal stripes."""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Part masks")
st.caption("K-means over the spatial feature vectors of the map X gives K part masks, ordered "
           "by the height of their centroid (head → legs); `strict` cuts K uniform stripes.")


@st.cache_resource(show_spinner="loading the model…", max_entries=4)
def load_model(path: str, mtime: float):
    """The run's trained network (checkpoint.pt), else the initial one of its config."""
    from reidlab.engine.restore import load_run_model

    return load_run_model(path)


run = None
with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
    c = st.columns([3, 2, 2])
    with c[0]:
        run = ui.run_picker("model of run", key="pm_run")
    K = c[1].slider("K (parts)", 1, 8, 3, key="pm_K")
    split = c[2].radio("frames from", ["query", "gallery"], horizontal=True, key="pm_split")

if run is not None:
    with ui.guard("part masks"):
        from reidlab.engine.restore import run_part_masks
        from reidlab.viz.cli_export import default_tracklets

        data = ui.run_dataset(run)
        items = getattr(data, split)
        default = default_tracklets(len(items))
        chosen = st.multiselect(f"{split} tracklets", list(range(len(items))), default=default,
                                key="pm_items",
                                format_func=lambda i: f"#{i} pid {items[i].pid} cam "
                                                      f"{items[i].camid + 1}")
        if not chosen:
            st.info("Choose at least one tracklet.")
            st.stop()
        ck = run.path / "checkpoint.pt"
        model = load_model(str(run.path), ck.stat().st_mtime if ck.is_file() else 0.0)
        h, w = model.size
        frames = np.stack([ui.tracklet_thumb(items[i], h, w) for i in chosen])
        km, strict = run_part_masks(model, frames, K)
        what = model.source + (f", epoch {model.epoch}" if model.trained else "")
        labels = [f"id {items[i].pid}<br>cam {items[i].camid + 1}" for i in chosen]
        st.caption(f"{ui.run_label(run)}: {what}; map X is {km.shape[2]}×{km.shape[3]}")
        ui.show_figure(F.part_masks_figure(list(frames), km, strict, labels=labels,
                                           style=ui.paper_style()),
                       f"part_masks_{run.name}_K{K}", key="pm_fig")
        cover = km.reshape(len(chosen), K, -1).mean(axis=2).mean(axis=0)
        st.caption("mean area per part (head→legs): " +
                   ", ".join(f"part {k + 1}: {a:.0%}" for k, a in enumerate(cover)))

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
