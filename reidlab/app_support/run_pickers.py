"""Runs in the app: their labels and details, the list of finished runs, the run picker, and
their stored features (cached until the files change)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from reidlab.app_support.frame import current_dataset, runs_root
from reidlab.engine.baseline import BASELINE_LABEL, baseline_name, is_baseline, trained_nothing
from reidlab.errors import ReidlabError


def no_training(run) -> bool:
    """True for a run that trained nothing (:func:`reidlab.engine.baseline.trained_nothing`:
    the ImageNet init baseline, or no epochs): its before and after are the same."""
    return trained_nothing(run)


def run_folder(run) -> str | None:
    """The sweep or benchmark folder a run sits in (runs/table2/padal_id → "table2"), or None
    for a run directly under the runs folder."""
    return None if run.path.parent.resolve() == runs_root().resolve() else run.path.parent.name


def run_details(run) -> dict:
    """``preset, backbone, size ("96×48"), epochs, dataset, seed, wall_s`` of a run
    (:meth:`reidlab.engine.runs.Run.details`; ``{}`` for a folder whose config cannot be
    read)."""
    try:
        return run.details()
    except (ReidlabError, OSError, ValueError, TypeError):
        return {}


def duration_text(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``1.2 h`` (empty for None)."""
    if seconds is None or seconds != seconds:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def details_text(d: dict, wall: bool = True) -> str:
    """A run's details in one line: ``quick · effnet_lite0 96×48 · 8 ep · synthcams · seed 0
    · 4.1 min`` (parts that are unknown are left out)."""
    parts = [d.get("preset") or "custom",
             " ".join(str(x) for x in (d.get("backbone"), d.get("size")) if x),
             f"{d['epochs']} ep" if d.get("epochs") is not None else "",
             str(d.get("dataset") or ""),
             f"seed {d['seed']}" if d.get("seed") is not None else "",
             duration_text(d.get("wall_s")) if wall else ""]
    return " · ".join(p for p in parts if p)


def run_label(run, details: bool = False) -> str:
    """``name (method)``, with ``details=True`` followed by the run's preset, backbone, input
    size, epochs, dataset, seed and wall time (what every run picker shows)."""
    if is_baseline(run):
        d = run.config.get("dataset", {})
        # the dataset's folder: datasets of one kind (synthcams_gap0, synthcams_gap0.33) differ
        label = f"{BASELINE_LABEL} ({Path(str(d.get('root') or d.get('name') or '?')).name})"
        if details:
            dd = run_details(run)
            label += " · " + " · ".join(str(x) for x in (
                " ".join(str(v) for v in (dd.get("backbone"), dd.get("size")) if v),
                "no training") if x)
        return label
    method = run.config.get("config", {}).get("method", "?")
    # runs inside a sweep or benchmark folder keep that folder in the name
    folder = run_folder(run)
    name = run.name if folder is None else f"{folder}/{run.name}"
    label = f"{name} ({method})"
    if details:
        label += " · " + details_text(run_details(run))
    return label


def list_runs(finished_only: bool = True, need_features: bool = True):
    """Runs under the runs folder, newest last (cached per directory state)."""
    from reidlab.engine.runs import list_runs as _list

    out = []
    problems: list = []
    for r in _list(runs_root(), problems=problems):
        if finished_only and r.status().get("state") != "finished":
            continue
        if need_features and not r.has_features("final"):
            continue
        out.append(r)
    st.session_state["unreadable_runs"] = problems
    return out


def run_picker(label: str, key: str, *, runs=None, default_baseline: bool = True,
               allow_none: bool = False):
    """A selectbox of finished runs; the current dataset's baseline is the default."""
    runs = list_runs() if runs is None else runs
    bad = st.session_state.get("unreadable_runs") or []
    if bad:
        st.warning(f"{len(bad)} run folder(s) could not be read and are not listed: "
                   + "; ".join(msg for _, msg in bad[:3]))
    if not runs:
        st.info("No finished runs yet: train one on the Train page.")
        return None
    labels = [run_label(r, details=True) for r in runs]
    index = 0
    if default_baseline:
        fmt, root = current_dataset()
        name = baseline_name(root, fmt)
        index = next((i for i, r in enumerate(runs) if r.name == name), len(runs) - 1)
    options = ([None] if allow_none else []) + list(range(len(runs)))
    if allow_none:  # optional pickers start empty unless the baseline is asked for
        index = index + 1 if default_baseline else 0
    choice = st.selectbox(label, options, index=index, key=key,
                          format_func=lambda i: "(none)" if i is None else labels[i])
    return None if choice is None else runs[choice]


@st.cache_data(show_spinner=False, max_entries=32)
def _features(path: str, which: str, mtime: float):
    from reidlab.engine.runs import Run

    return Run(path).features(which)


def features(run, which: str = "final"):
    """The run's ``which`` features (cached until the file changes)."""
    if not run.has_features(which):
        raise ReidlabError(f"{run.features_path(which)}: run {run.name} has no {which} "
                           "features (still training, or it failed)")
    return _features(str(run.path), which, run.features_mtime(which))


@st.cache_data(show_spinner=False, max_entries=16)
def _worst_first(path: str, which: str, mtime: float) -> np.ndarray:
    from reidlab.analysis.ranklists import worst_queries_features

    fs = _features(path, which, mtime)
    return worst_queries_features(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                                  fs.g_camids, n=len(fs.q_pids))


def worst_first(run, which: str = "final") -> np.ndarray:
    """Query rows of ``run``'s ``which`` features, worst AP first (valid queries only),
    computed block by block (the Nq×Ng distance matrix is never held) and cached."""
    features(run, which)  # clear error if missing
    return _worst_first(str(run.path), which, run.features_mtime(which))
