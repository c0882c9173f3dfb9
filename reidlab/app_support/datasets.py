"""Datasets and frames in the app: the cached dataset loader, SynthCams generated on first use,
the "ImageNet init" baseline run, and thumbnails (an unreadable frame shown as a grey cross)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from reidlab.app_support.frame import (DEFAULT_DATA, UNREADABLE, current_dataset, data_root,
                                       runs_root)
from reidlab.engine.baseline import BASELINE_LABEL, baseline_name, baseline_ready


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_dataset(fmt: str, root: str, options_json: str, _stamp: float):
    from reidlab.data import load_dataset

    return load_dataset(fmt, root, **json.loads(options_json))


def _stamp(root: str | Path) -> float:
    p = Path(root)
    try:
        return max(p.stat().st_mtime, *(c.stat().st_mtime for c in p.iterdir()))
    except (OSError, ValueError):
        return 0.0


def load_dataset(fmt: str, root: str | Path, options: dict | None = None):
    """The dataset (cached per folder until it changes on disk)."""
    return _load_dataset(fmt, str(root), json.dumps(options or {}, sort_keys=True), _stamp(root))


def ensure_default_dataset() -> bool:
    """Generate SynthCams on first use when the default dataset folder is used and missing.
    Returns True when the dataset is ready."""
    from reidlab import synth as synthcams

    fmt, root = current_dataset()
    if fmt != "mars" or Path(root).resolve() != data_root().resolve():
        return Path(root).is_dir()
    if synthcams.is_complete(root):
        return True
    if Path(root).resolve() != Path(DEFAULT_DATA).resolve() and Path(root).is_dir():
        return True  # a user's MARS copy: not ours to regenerate
    with st.status("Generating the SynthCams dataset (first use only)…", expanded=True) as s:
        bar = st.progress(0.0)

        def progress(done: int, total: int) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"{done}/{total} tracklets")

        synthcams.ensure_default(root, progress=progress)
        s.update(label="SynthCams ready", state="complete")
    _load_dataset.clear()
    return True


def ensure_baseline_run():
    """The "ImageNet init" run of the current dataset (computed once with a progress bar)."""
    from reidlab.engine.baseline import ensure_baseline
    from reidlab.engine.runs import Run

    fmt, root = current_dataset()
    if baseline_ready(root, runs_root(), fmt):
        return Run(runs_root() / baseline_name(root, fmt))
    with st.status("Computing ImageNet-initialised features (once; cached on disk)…",
                   expanded=True) as s:
        bar = st.progress(0.0)
        run = ensure_baseline(root, runs_root(), fmt=fmt,
                              progress=lambda f, m: bar.progress(min(1.0, f), text=m))
        s.update(label=f"{BASELINE_LABEL} features ready", state="complete")
    return run


def run_dataset(run):
    from reidlab.engine.runs import read_run_config

    d = read_run_config(run.path, dataset=True)["dataset"]  # a clear error for an old folder
    return load_dataset(d["format"], d["root"], d.get("options") or {})


@st.cache_data(show_spinner=False, max_entries=4096)
def _thumbnail(path: str, height: int, width: int) -> np.ndarray:
    from reidlab.data.images import read_frame

    return read_frame(path, (height, width))


def unreadable_frame(height: int, width: int) -> np.ndarray:
    """The stand-in of a frame that cannot be read: mid grey with a red cross."""
    img = np.full((height, width, 3), 128, np.uint8)
    for i in range(max(height, width)):
        y, x = i * height // max(height, width), i * width // max(height, width)
        img[y, x] = img[y, width - 1 - x] = (220, 40, 40)
    return img


def thumbnail(path: str, height: int = 128, width: int = 64) -> np.ndarray:
    """The frame at ``path`` resized; a corrupt, truncated or missing frame is shown as
    :func:`unreadable_frame` and remembered for :func:`note_unreadable_frames`."""
    from reidlab.errors import CorruptFrameError

    try:
        return _thumbnail(path, height, width)
    except CorruptFrameError as e:
        st.session_state.setdefault(UNREADABLE, {})[str(path)] = e.found or str(e)
        return unreadable_frame(height, width)


def note_unreadable_frames() -> int:
    """One warning on the page naming the frames this session could not read (they are shown
    as grey crosses); returns how many."""
    bad = st.session_state.get(UNREADABLE) or {}
    if bad:
        first, why = next(iter(bad.items()))
        st.warning(f"{len(bad)} frame(s) could not be read and are shown as grey crosses, "
                   f"e.g. {first}: {why}")
    return len(bad)


def tracklet_thumb(tracklet, height: int = 128, width: int = 64) -> np.ndarray:
    """The middle frame of a tracklet (pseudo-infrared tracklets as the model sees them)."""
    img = thumbnail(str(tracklet.frames[len(tracklet.frames) // 2]), height, width)
    if getattr(tracklet, "pseudo_infrared", False):
        from reidlab.data.tracklets import red_channel

        img = red_channel(img)
    return img
