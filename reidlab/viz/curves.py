"""Line and bar charts of a run's numbers: training losses and evaluation metrics over
training, ablations (a metric against a hyper-parameter), pseudo-label quality over label
updates, and the tracklets per camera and split. Metric records in fractions become percent
with :func:`to_percent`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reidlab.viz.style import DEFAULT_STYLE, SPLIT_COLOURS, Style, apply_style

METRIC_KEYS = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")


def to_percent(records, keys: Sequence[str] = METRIC_KEYS):
    """Copies of metric records (fractions in [0, 1], as reidlab.eval returns) in percent."""
    out = []
    for r in records:
        r = dict(r)
        for k in keys:
            v = r.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                r[k] = 100.0 * v
        out.append(r)
    return out


# --------------------------------------------------------------------------- training curves

def _series(records: Sequence[Mapping], key: str, x: str) -> tuple[list, list]:
    xs, ys = [], []
    for i, r in enumerate(records):
        v = r.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            xs.append(r.get(x, i))
            ys.append(float(v))
    return xs, ys


def loss_keys(records: Sequence[Mapping]) -> list[str]:
    """Numeric keys that look like loss terms (``loss``, ``loss/id``, ``loss_adv``, ...)."""
    keys: dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if k.startswith("loss") and isinstance(v, (int, float)) and not isinstance(v, bool):
                keys[k] = None
    return list(keys)


def loss_curves(records: Sequence[Mapping], *, x: str = "step", keys: Sequence[str] | None = None,
                title: str = "Training losses", style: Style | None = None) -> go.Figure:
    """One line per loss term logged in ``metrics.jsonl`` records, against ``x``."""
    keys = list(keys) if keys is not None else loss_keys(records)
    return _series_figure(records, keys, x, "lines", title, "loss", style)


def metric_curves(records: Sequence[Mapping], *, x: str = "epoch",
                  keys: Sequence[str] = ("rank1", "mAP"), title: str = "Evaluation",
                  style: Style | None = None) -> go.Figure:
    """Evaluation metrics (in %) over training: one line with markers per metric."""
    return _series_figure(records, keys, x, "lines+markers", title, "%", style)


def _series_figure(records: Sequence[Mapping], keys: Sequence[str], x: str, mode: str,
                   title: str, y_title: str, style: Style | None) -> go.Figure:
    """One line per key of ``records`` against ``x`` (keys without data are left out)."""
    style = style or DEFAULT_STYLE
    fig = go.Figure()
    for i, k in enumerate(keys):
        xs, ys = _series(records, k, x)
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode=mode, name=k,
                                     line=dict(color=style.color(i))))
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y_title)
    return fig


# --------------------------------------------------------------------------- data & ablations

def counts_bar(summary: Mapping[str, Mapping], *, title: str = "Tracklets per camera and split",
               style: Style | None = None) -> go.Figure:
    """Grouped bars from ``TrackletSet.summary()``: x = camera, one bar per split."""
    style = style or DEFAULT_STYLE
    cams = sorted({int(c) for s in summary.values() for c in s.get("per_camera", {})})
    fig = go.Figure()
    for i, (split, s) in enumerate(summary.items()):
        per = {int(k): v for k, v in s.get("per_camera", {}).items()}
        fig.add_trace(go.Bar(x=[f"cam {c + 1}" for c in cams], y=[per.get(c, 0) for c in cams],
                             name=split, marker_color=SPLIT_COLOURS.get(split, style.color(i))))
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title, barmode="group", yaxis_title="tracklets")
    return fig


def ablation_plot(rows: Sequence[Mapping], *, x: str, metrics: Sequence[str] = ("rank1", "mAP"),
                  group: str | Sequence[str] | None = "method", title: str = "",
                  style: Style | None = None) -> go.Figure:
    """Metric vs a hyper-parameter (K, λ, clips per tracklet), like the papers' K plot: one
    line per (group, metric), points sorted by ``x``. ``rows``: one dict per run; ``group``: a
    key or several keys whose (non-None) values name a line. Runs of one line at the same x
    (e.g. several seeds) become one point at their mean with a ± standard-deviation error bar;
    the hover text gives how many runs it holds."""
    style = style or DEFAULT_STYLE
    keys = [group] if isinstance(group, str) else list(group or [])
    groups: dict[str, list[Mapping]] = {}
    for r in rows:
        if r.get(x) is None:
            continue
        label = " ".join(str(r[k]) for k in keys if r.get(k) is not None)
        groups.setdefault(label, []).append(r)
    dashes = ("solid", "dash", "dot", "dashdot")
    symbols = ("circle", "square", "diamond", "triangle-up")
    fig = go.Figure()
    for gi, (g, rs) in enumerate(groups.items()):
        for mi, m in enumerate(metrics):
            at: dict[float, list[float]] = {}
            for r in rs:
                if isinstance(r.get(m), (int, float)):
                    at.setdefault(float(r[x]), []).append(float(r[m]))
            if not at:
                continue
            xs = sorted(at)
            ys = [float(np.mean(at[v])) for v in xs]
            sd = [float(np.std(at[v], ddof=1)) if len(at[v]) > 1 else 0.0 for v in xs]
            name = f"{g} {m}".strip()
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines+markers", name=name,
                error_y=dict(type="data", array=sd, visible=any(sd)),
                customdata=[len(at[v]) for v in xs],
                hovertemplate=f"{name}<br>{x}=%{{x}}<br>%{{y:.1f}} (%{{customdata}} runs)"
                              "<extra></extra>",
                line=dict(color=style.color(mi if len(groups) == 1 else gi),
                          dash=dashes[mi % len(dashes)]),
                marker=dict(symbol=symbols[mi % len(symbols)], size=8)))
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title or f"{', '.join(metrics)} vs {x}", xaxis_title=x,
                      yaxis_title="%")
    values = sorted({float(v) for t in fig.data for v in t.x})
    if values and len(values) <= 12:  # ticks at the values tried (K = 1..5, not 1.5)
        fig.update_xaxes(tickmode="array", tickvals=values,
                         ticktext=[f"{v:g}" for v in values])
    return fig


# --------------------------------------------------------------------------- pseudo labels

def label_quality_curves(series: Mapping[str, Sequence[Mapping]], *, keys: Sequence[str],
                         names: Mapping[str, str] | None = None,
                         unit_keys: Sequence[str] = (), x: str = "epoch",
                         x_title: str | None = None,
                         title: str = "Pseudo-label quality over label updates",
                         cols: int = 4, style: Style | None = None) -> go.Figure:
    """Cluster quality over label updates: one panel per key of ``keys`` (number of clusters,
    outlier fraction, precision, …), one line per run (colour) and stage (dash) of ``series``
    (run name → ``labels`` records with ``x`` and ``stage``). Keys without any value are
    left out; ``unit_keys`` get a fixed 0..1 axis. Each trace's ``meta`` is
    ``{"metric", "run", "stage"}``."""
    style = style or DEFAULT_STYLE
    names = dict(names or {})
    present = [k for k in keys if any(_series(rs, k, x)[0] for rs in series.values())]
    if not present:
        raise ValueError(f"no label-update values of {list(keys)} to plot")
    cols = max(1, min(cols, len(present)))
    rows = math.ceil(len(present) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[names.get(k, k) for k in present],
                        horizontal_spacing=0.22 / cols + 0.03, vertical_spacing=0.3 / rows)
    stages = list(dict.fromkeys(str(r.get("stage") or "global") for rs in series.values()
                                for r in rs))
    dashes = ("solid", "dash", "dot", "dashdot")
    symbols = ("circle", "square", "diamond", "triangle-up")
    shown: set[str] = set()
    for i, k in enumerate(present):
        row, col = i // cols + 1, i % cols + 1
        for ri, (run, recs) in enumerate(series.items()):
            for si, stage in enumerate(stages):
                xs, ys = _series([r for r in recs if str(r.get("stage") or "global") == stage],
                                 k, x)
                if not xs:
                    continue
                name = run if len(stages) == 1 else f"{run} · {stage}"
                fig.add_trace(go.Scatter(
                    x=xs, y=ys, mode="lines+markers", name=name, legendgroup=name,
                    showlegend=name not in shown, meta={"metric": k, "run": run, "stage": stage},
                    line=dict(color=style.color(ri), dash=dashes[si % len(dashes)]),
                    marker=dict(symbol=symbols[si % len(symbols)], size=7),
                    hovertemplate=f"{name}<br>{x} %{{x}}<br>{names.get(k, k)} %{{y:.4g}}"
                                  "<extra></extra>"), row=row, col=col)
                shown.add(name)
        if k in unit_keys:
            fig.update_yaxes(range=[-0.02, 1.02], row=row, col=col)
    fig.update_xaxes(title_text=x_title or x, row=rows, col=1)
    values = sorted({v for t in fig.data for v in t.x})
    if len(values) <= 12:  # ticks at the updates (epochs 0, 1, 2; not 0.5)
        fig.update_xaxes(tickmode="array", tickvals=values, ticktext=[f"{v:g}" for v in values])
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title, height=260 * rows + 110,
                      legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                                  yanchor="bottom"),
                      margin=dict(l=50, r=20, t=70, b=75))
    return fig


__all__ = [
    "METRIC_KEYS", "to_percent", "loss_keys", "loss_curves", "metric_curves", "counts_bar",
    "ablation_plot", "label_quality_curves",
]
