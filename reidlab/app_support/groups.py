"""Runs grouped by their settings: short labels that tell groups (and the lines of a plot
against one setting) apart."""

from __future__ import annotations

import json
from pathlib import Path

from reidlab.engine.baseline import BASELINE_LABEL, is_baseline


SETTING_NAMES = {"lam": "λ", "clips_per_tracklet": "clips", "frames_per_clip": "frames",
                 "dataset_fingerprint": "dataset content"}


def distinct_text(settings: dict, keys) -> str:
    """The settings ``keys`` of ``settings`` as short text: ``K=3, 96×48, epochs=8``
    (height and width as one size, a dataset by its folder name)."""
    from reidlab.engine.settings import _short

    keys = [k for k in keys if k != "method" and settings.get(k) is not None]
    parts = []
    if "height" in keys or "width" in keys:
        parts.append(f"{settings.get('height')}×{settings.get('width')}")
    for k in keys:
        if k in ("height", "width"):
            continue
        v = settings.get(k)
        if k in ("dataset", "source"):
            v = Path(str(v)).name
        parts.append(f"{SETTING_NAMES.get(k, k)}={_short(v)}")
    return ", ".join(parts)


def _labels(settings_list: list[dict]) -> list[str]:
    """One label per settings dict: the method and the settings whose values differ between
    the dicts given (equal dicts get equal labels, different dicts different ones)."""
    uniq = {json.dumps(s, sort_keys=True, default=str): s for s in settings_list}
    keys = sorted({k for s in uniq.values() for k in s})
    varying = [k for k in keys if len({json.dumps(s.get(k), sort_keys=True, default=str)
                                       for s in uniq.values()}) > 1]
    out = {}
    for key, s in uniq.items():
        text = distinct_text(s, varying)
        out[key] = " · ".join(x for x in (str(s.get("method", "?")), text) if x)
    # labels that still collide (settings differing only in values set to None): numbered
    seen: dict[str, int] = {}
    for key in out:
        n = seen[out[key]] = seen.get(out[key], 0) + 1
        if n > 1:
            out[key] += f" ({n})"
    return [out[json.dumps(s, sort_keys=True, default=str)] for s in settings_list]


def group_labels(groups) -> dict[str, str]:
    """``{fingerprint: label}`` of :func:`reidlab.engine.settings.group_runs` groups: the
    method and the settings that tell the group apart (the ImageNet init by its name)."""
    base = [g for g in groups if all(is_baseline(r) for r in g.runs)]
    trained = [g for g in groups if g not in base]  # labelled among themselves
    out = {g.fingerprint: f"{BASELINE_LABEL} ({dataset_of(g.settings)})" for g in base}
    out.update(zip([g.fingerprint for g in trained], _labels([g.settings for g in trained])))
    return out


def line_labels(settings_list: list[dict], x: str) -> list[str]:
    """The line of each run of a plot against setting ``x``: runs whose settings are equal
    except ``x`` share a line, labelled by the settings that tell the lines apart."""
    return _labels([{k: v for k, v in s.items() if k != x} for s in settings_list])


def dataset_of(settings: dict) -> str:
    return Path(str(settings.get("dataset") or "?")).name
