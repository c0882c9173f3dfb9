"""The Train page's form: the settings widgets generated from ``TrainConfig``, the config a
job would train, run names, and a run's expected wall time."""

from __future__ import annotations

import contextlib

import numpy as np
import streamlit as st

from reidlab.app_support.datasets import ensure_default_dataset, load_dataset
from reidlab.app_support.frame import error_message, runs_root
from reidlab.app_support.run_pickers import list_runs, run_details
from reidlab.engine.baseline import is_baseline
from reidlab.errors import ReidlabError


PRESET_HELP = ("test: seconds (tiny CNN); quick: 96×48, ~4 min on a 2-core CPU; quick128: the "
               "quick preset before 2026-12-03 (128×64, ~7.5 min); paper: ResNet-50 224×112, "
               "for GPUs")
# TrainConfig fields the Train form does not show as settings: chosen elsewhere on the page
# (the method above the form, the dataset on the Data page, the source in its own field)
NOT_SETTINGS = ("method", "dataset_format", "source_format")
# shown first, the rest under "more settings"
FIRST_SETTINGS = ("backbone", "epochs", "batch_size", "height", "width", "clips_per_tracklet",
                  "frames_per_clip", "seed")
LABELS = {"clips_per_tracklet": "clips per tracklet", "lr": "learning rate",
          "height": "height (px)", "width": "width (px)"}
# a preset's wall time on SynthCams when no run of it is on disk yet (quick: 244 s measured on
# a 2-core Intel Xeon, docs/training.md; quick128: 443 s; test: a few seconds plus start-up)
PRESET_SECONDS = {"test": 15.0, "quick": 245.0, "quick128": 445.0}


def _choices(f):
    try:
        from reidlab.schema import choices_of
    except ImportError:  # pragma: no cover - a field's choices as a plain tuple
        return f.metadata.get("choices")
    return choices_of(f)


def field_widgets(fields, defaults: dict, *, key: str, columns: int = 4,
                  labels: dict | None = None) -> dict:
    """One widget per scalar dataclass field (a select box for a field with choices, a check
    box, a number or a text field; its help as the tooltip), starting at ``defaults``; returns
    the values that differ from ``defaults``."""
    values = {}
    cols = st.columns(columns)
    for i, f in enumerate(fields):
        col, helptext, k = cols[i % columns], f.metadata.get("help"), f"{key}_{f.name}"
        label = (labels or {}).get(f.name, f.name)
        default = defaults[f.name]
        choices = _choices(f)
        if choices:
            choices = list(choices)
            if default not in choices:
                choices.append(default)
            v = col.selectbox(label, choices, index=choices.index(default), help=helptext,
                              key=k)
        elif isinstance(default, bool):
            v = col.checkbox(label, default, help=helptext, key=k)
        elif isinstance(default, int):
            v = int(col.number_input(label, value=default, step=1, help=helptext, key=k))
        elif isinstance(default, float):
            v = float(col.number_input(label, value=default, format="%g", help=helptext,
                                       key=k))
        else:
            v = col.text_input(label, str(default), help=helptext, key=k)
        if v != default:
            values[f.name] = v
    return values


def settings_widgets(base, *, key: str) -> dict:
    """The Train form's general settings, generated from ``TrainConfig``'s fields (help,
    choices, ``form``), starting at ``base`` (the preset's and the method's values); returns
    the fields whose value differs from ``base``."""
    import dataclasses

    from reidlab.engine.config import TrainConfig, setting_applies

    fields = [f for f in dataclasses.fields(TrainConfig)
              if f.metadata.get("form", True) and f.name not in NOT_SETTINGS
              and setting_applies(f.name, base.method)
              and isinstance(getattr(base, f.name), (bool, int, float, str))]
    first = [f for name in FIRST_SETTINGS for f in fields if f.name == name]
    rest = [f for f in fields if f not in first]
    values = dict(base.to_dict())
    labels = {f.name: LABELS.get(f.name, f.name.replace("_", " ")) for f in fields}
    out = field_widgets(first, values, key=key, labels=labels)
    with st.expander("more settings (the preset's values unless changed)"):
        out.update(field_widgets(rest, values, key=key, labels=labels))
    return out


def preset_config(preset: str | None, method: str, root: str, fmt: str, **overrides):
    """The ``TrainConfig`` a job of the Train page would train: the preset, the method's own
    defaults, the dataset, then ``overrides`` (settings and method options)."""
    from reidlab.engine.config import make_config

    return make_config(preset, method=method, dataset=str(root), dataset_format=fmt,
                       **overrides)


def dataset_problem(fmt: str, root: str) -> str | None:
    """Why the dataset cannot be trained on, in one line (None when it loads)."""
    try:
        if not ensure_default_dataset():
            return "no such folder"
        load_dataset(fmt, root)
    except Exception as e:  # noqa: BLE001 - any reader error is the message
        if type(e).__name__ in ("StopException", "RerunException"):
            raise
        return error_message(e)
    return None


def auto_run_name(cfg, preset: str | None) -> str:
    """A run name from the settings: ``padal_mp_K3_quick`` (``_s1`` for seed 1); when that
    name holds a run of other settings, the settings' fingerprint is added
    (``padal_mp_K3_quick_3f2a9c``)."""
    from reidlab.engine.settings import fingerprint

    from reidlab.methods import METHODS

    cls = METHODS.get(cfg.method)
    parts = [cfg.method]
    if cls is not None and cls.traits().get("uses_parts"):
        parts.append(f"K{cfg.K}")
    parts.append(preset or "custom")
    if cfg.seed:
        parts.append(f"s{cfg.seed}")
    name = "_".join(str(p) for p in parts)
    try:
        check_run_name(name, cfg)
        return name
    except ReidlabError:
        return f"{name}_{fingerprint(cfg)[:6]}"


def check_run_name(name: str, cfg):
    """The job already under ``name`` when it trains exactly ``cfg`` (same settings and seed),
    None when the name is free; a ConfigError naming the differing settings when the name
    holds a run (or a queued job) of other settings."""
    from reidlab.engine import jobs
    from reidlab.engine.runs import Run, run_path
    from reidlab.engine.settings import diff_line, settings_diff
    from reidlab.errors import ConfigError

    jobs.check_name(name)
    folder = run_path(name, runs_root())
    job = jobs.job_state(name, runs_root())
    if (folder / "config.json").is_file():
        stored = Run(folder).config
        diff = settings_diff(stored, cfg)
        old_seed = stored.get("config", {}).get("seed")
        if old_seed != cfg.seed:
            diff["seed"] = (old_seed, cfg.seed)
        if diff:
            raise ConfigError(f"run name {name!r} holds a run with other settings: "
                              f"{diff_line(diff, 'stored', 'asked')}; leave the name empty "
                              "for a new one, or choose another")
        return job if job is not None else jobs.Job(name, Run(folder).status().get(
            "state", "unknown"), run_dir=folder)
    if job is not None:
        raise ConfigError(f"run name {name!r}: a job of that name is {job.state} and has not "
                          "written its settings yet; choose another name")
    return None


def estimate_seconds(preset: str | None, method: str | None = None) -> float | None:
    """A run's wall time: the median of the finished runs of this preset (and method, when
    there are such) on disk, else the preset's measured figure (:data:`PRESET_SECONDS`)."""
    walls = _walls(preset, method) or _walls(preset, None)
    if walls:
        return float(np.median(walls))
    return PRESET_SECONDS.get(preset or "")


def estimate_basis(preset: str | None, method: str | None = None) -> str:
    n = len(_walls(preset, method))
    if n:
        return f"median of {n} finished {method} run(s)"
    n = len(_walls(preset, None))
    if n:
        return f"median of {n} finished {preset} run(s)"
    return "measured on a 2-core CPU; no finished run of it here yet"


def _walls(preset, method) -> list[float]:
    out = []
    for r in list_runs(need_features=False):
        with contextlib.suppress(Exception):
            if is_baseline(r):
                continue
            d = run_details(r)
            c = r.config.get("config", {})
            if d.get("preset") == preset and (method is None or c.get("method") == method) \
                    and d.get("wall_s"):
                out.append(float(d["wall_s"]))
    return out
