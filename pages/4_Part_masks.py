"""Part masks: the PAM's K-means part masks (ordered head→legs) vs strict horizontal stripes."""

import numpy as np
import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.setup_page("Part masks")
st.title("Part masks")
st.caption("K-means over the spatial feature vectors of the map X gives K part masks, ordered "
           "by the height of their centroid (head → legs); `strict` cuts K uniform stripes.")


@st.cache_resource(show_spinner="loading the model…", max_entries=4)
def load_net(path: str, mtime: float):
    """The run's trained network (from checkpoint.pt), else an ImageNet-initialised one."""
    import torch

    from reidlab.engine.runs import Run
    from reidlab.models.backbones import build_backbone
    from reidlab.models.reid_net import ReIDNet

    run = Run(path)
    cfg = run.train_config()
    ck = run.path / "checkpoint.pt"
    if ck.is_file():
        from reidlab.methods import build_method

        data = run.dataset()
        method = build_method(cfg, data.train, data.num_cameras)
        state = torch.load(ck, map_location="cpu", weights_only=True)
        method.load_state_dict(state["model"])
        return method.net.eval(), (cfg.height, cfg.width), "trained (checkpoint.pt)"
    net = ReIDNet(build_backbone(cfg.backbone, pretrained=cfg.pretrained,
                                 last_stride=cfg.last_stride)).eval()
    return net, (cfg.height, cfg.width), "ImageNet initialisation"


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
        import torch

        from reidlab.data.loader import norm_params, to_tensor
        from reidlab.models.pam import part_masks

        data = ui.run_dataset(run)
        items = getattr(data, split)
        default = list(range(0, len(items), max(1, len(items) // 6)))[:6]
        chosen = st.multiselect(f"{split} tracklets", list(range(len(items))), default=default,
                                key="pm_items",
                                format_func=lambda i: f"#{i} pid {items[i].pid} cam "
                                                      f"{items[i].camid + 1}")
        if not chosen:
            st.info("Choose at least one tracklet.")
            st.stop()
        ck = run.path / "checkpoint.pt"
        net, (h, w), what = load_net(str(run.path), ck.stat().st_mtime if ck.is_file() else 0.0)
        frames = np.stack([ui.tracklet_thumb(items[i], h, w) for i in chosen])
        mean, std = norm_params(net.input_norm)
        x = to_tensor(frames, mean, std)
        with torch.no_grad():
            km = part_masks(net, x, K, parts="kmeans").float().numpy()
            strict = part_masks(net, x, K, parts="strict").float().numpy()
        labels = [f"pid {items[i].pid} cam {items[i].camid + 1}" for i in chosen]
        st.caption(f"{ui.run_label(run)}: {what}; map X is {km.shape[2]}×{km.shape[3]}")
        ui.show_figure(F.part_masks_figure(list(frames), km, strict, labels=labels,
                                           style=ui.paper_style()),
                       f"part_masks_{run.name}_K{K}", key="pm_fig")
        cover = km.reshape(len(chosen), K, -1).mean(axis=2).mean(axis=0)
        st.caption("mean area per part (head→legs): " +
                   ", ".join(f"part {k + 1}: {a:.0%}" for k, a in enumerate(cover)))
