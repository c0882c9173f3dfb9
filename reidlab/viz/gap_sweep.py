"""The camera-gap sweep's figure: rank-1 (or mAP) against SynthCams' camera gap, one line per
method, mean ± std over the seeds (``bench/gap_sweep.py`` writes the numbers to
``bench/results/gap_sweep.json``; the bench script and the Ablations page draw them with
:func:`gap_sweep_figure`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS_JSON = Path(__file__).resolve().parents[2] / "bench" / "results" / "gap_sweep.json"


def load_sweep(path: str | Path | None = None) -> dict | None:
    """The sweep's results (``{"meta", "rows", "levels"}``), or None when there are none yet or
    the file is not a sweep's."""
    path = Path(path) if path is not None else RESULTS_JSON
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("rows"), list) else None


def sweep_points(rows: list[dict], metric: str = "rank1") -> dict[str, list[tuple]]:
    """``{row: [(gap, mean, std, seeds), ...]}`` sorted by gap; ``metric`` in percent; std 0
    for one seed. Rows without the metric are left out."""
    by: dict[str, dict[float, list[float]]] = {}
    for r in rows:
        v = r.get(metric)
        if v is None or r.get("gap") is None:
            continue
        by.setdefault(r["row"], {}).setdefault(float(r["gap"]), []).append(100.0 * float(v))
    out = {}
    for name, per_gap in by.items():
        out[name] = [(g, float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                      len(v)) for g, v in sorted(per_gap.items())]
    return out


def gap_sweep_figure(rows: list[dict], metric: str = "rank1", levels: list[dict] | None = None,
                     title: str | None = None):
    """Plotly figure: ``metric`` (percent) against the camera gap, one line per row (method),
    error bars = std over the seeds. With ``levels`` (``[{"gap", "same_camera_neighbour_share",
    ...}]``) the x ticks also name each level's same-camera neighbour share of ImageNet
    features, which places a real dataset measured with ``python -m reidlab gap`` on the axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, pts in sweep_points(rows, metric).items():
        fig.add_trace(go.Scatter(
            x=[p[0] for p in pts], y=[p[1] for p in pts], name=name, mode="lines+markers",
            error_y=dict(type="data", array=[p[2] for p in pts], visible=True),
            customdata=[[p[3]] for p in pts],
            hovertemplate=f"{name}<br>gap %{{x}}<br>{metric} %{{y:.1f}} ± %{{error_y.array:.1f}}"
                          "<br>%{customdata[0]} seed(s)<extra></extra>"))
    label = {"rank1": "rank-1 (%)", "mAP": "mAP (%)"}.get(metric, f"{metric} (%)")
    xaxis: dict = {"title": "SynthCams camera gap (0 = none, 1 = default)"}
    shares = {float(lv["gap"]): lv.get("same_camera_neighbour_share") for lv in levels or []}
    if shares and all(v is not None for v in shares.values()):
        ticks = sorted(shares)
        xaxis.update(tickvals=ticks, ticktext=[f"{g:g}<br>same-cam {shares[g]:.2f}"
                                               for g in ticks],
                     title="SynthCams camera gap (below: same-camera neighbour share, ImageNet)")
    fig.update_layout(title=title or f"{label.split(' ')[0]} vs camera gap",
                      xaxis=xaxis, yaxis={"title": label}, legend={"title": "method"})
    return fig
