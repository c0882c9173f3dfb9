"""Data: pick a dataset, counts per camera and split, camera × identity thumbnails, a tracklet."""

from pathlib import Path

import streamlit as st

from reidlab import app_support as ui
from reidlab.viz import figures as F

ui.page_header("Data")

from reidlab.data import dataset_names  # noqa: E402

fmt0, root0 = ui.current_dataset()
names = dataset_names()
c1, c2 = st.columns([1, 3])
fmt = c1.selectbox("layout", names, index=names.index(fmt0) if fmt0 in names else 0, key="fmt")
root = c2.text_input("dataset folder", value=root0, key="root",
                     help="SynthCams (default) or your own copy of MARS, PRID-2011, iLIDS-VID, "
                          "Market-1501, DukeMTMC-reID, MSMT17 or a folder layout")
data = None
with ui.guard("could not read the dataset"):
    if not Path(root).expanduser().is_dir():
        if Path(root).resolve() == ui.data_root().resolve():
            ui.ensure_default_dataset()
        else:
            raise FileNotFoundError(f"{root}: no such folder (expected a {fmt} dataset)")
    data = ui.load_dataset(fmt, root)
# only a dataset that loads becomes the lab's dataset (sidebar, Train, every page)
if data is not None and (fmt, root) != (fmt0, root0):
    st.session_state["dataset"] = (fmt, root)
    st.rerun()  # the sidebar, drawn before this line, names the new dataset
if data is None and (fmt, root) != (fmt0, root0):
    st.info(f"The lab keeps using `{root0}` ({fmt0}) until a dataset loads here.")

if data is not None:
    s = data.summary()
    st.caption(f"**{data.name}** · {data.num_cameras} cameras · protocol "
               f"{data.meta.get('protocol', 'n/a')}")
    st.dataframe({split: {k: v for k, v in s[split].items() if k != "per_camera"}
                  for split in s}, key="counts_table")
    ui.show_figure(F.counts_bar(s), "counts_per_camera", downloads=False)

    split = st.radio("split", ["train", "query", "gallery"], horizontal=True, key="split")
    items = getattr(data, split)
    pids = sorted({t.pid for t in items})
    n_ids = st.slider("identities shown", 1, max(1, min(40, len(pids))), min(12, len(pids)),
                      key="n_ids")
    first = st.number_input("first identity (index)", 0, max(0, len(pids) - 1), 0, key="first")
    shown = pids[first:first + n_ids]
    cams = list(range(data.num_cameras))
    cells = {}
    for t in items:
        if t.pid in shown and (t.camid, t.pid) not in cells:
            cells[(t.camid, t.pid)] = ui.tracklet_thumb(t, 64, 32)
    # infrared ↔ colour datasets: say which cameras are which, side by side in one grid
    from reidlab.data.tracklets import MODALITY_NAMES

    mod_of = {t.camid: t.modality for t in data.train + data.query + data.gallery}
    names = ({c: f"cam {c + 1} · {MODALITY_NAMES[mod_of[c]]}" for c in cams if c in mod_of}
             if len(set(mod_of.values())) > 1 else None)
    if names:
        st.caption("Colour and infrared cameras: " + ", ".join(names[c] for c in sorted(names)))
    ui.show_figure(F.thumbnail_grid(cells, cams, shown, title=f"{split}: camera × identity",
                                    cam_names=names), f"grid_{split}", downloads=False)

    st.subheader("A tracklet's frames")
    idx = st.number_input(f"{split} tracklet", 0, max(0, len(items) - 1), 0, key="tracklet")
    if items:
        t = items[int(idx)]
        frames = [ui.thumbnail(str(p), 128, 64) for p in t.frames[:16]]
        ui.show_figure(F.frames_strip(frames, title=f"id {t.pid} · cam {t.camid + 1} · "
                                                    f"{MODALITY_NAMES[t.modality]} · "
                                                    f"{len(t.frames)} frames"),
                       "tracklet_frames", downloads=False)

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
