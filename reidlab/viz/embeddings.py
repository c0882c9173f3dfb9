"""Figures of 2-D embeddings of features: by camera and by identity side by side, a few
identities across models (PIRID's Fig. 3), pseudo labels against true identities and cameras,
and the per-stage correlation of infrared and colour features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reidlab.viz.style import (DEFAULT_STYLE, JUNK_RGB, NEUTRAL, Style, apply_style,
                               identity_colours, stage_colour)

def embedding_scatter_pair(
    xy: np.ndarray,
    camids: np.ndarray,
    pids: np.ndarray,
    *,
    title: str = "",
    method: str = "t-SNE",
    style: Style | None = None,
    max_id_colors: int | None = None,
    group_title: str = "by camera",
    group_names: Sequence[str] | None = None,
) -> go.Figure:
    """Two side-by-side scatters of the same 2-D embedding: coloured by camera | by identity.
    ``group_title`` / ``group_names`` (one name per group id, default "cam N") colour the left
    panel by another grouping given in ``camids`` — e.g. by modality ("colour", "infrared").

    Features that cluster by camera (left) rather than by identity (right) show the camera
    domain gap. One trace per camera on the left, whose legend (the cameras, in the style's
    palette) sits to the *left* of that panel; the right panel colours identities with
    :func:`identity_colours` (another colour family than the cameras', cycling after
    ``max_id_colors`` or 24; identities are too many for a legend, hover names them).
    """
    style = style or DEFAULT_STYLE
    xy = np.asarray(xy, dtype=np.float64)
    camids = np.asarray(camids).astype(int)
    pids = np.asarray(pids).astype(int)
    if xy.ndim != 2 or xy.shape[1] != 2 or not (len(xy) == len(camids) == len(pids)):
        raise ValueError(f"expected N×2 points with N camids and pids, got {xy.shape}, "
                         f"{camids.shape}, {pids.shape}")
    uniq = np.unique(pids)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        group_title, f"by identity ({len(uniq)})"), horizontal_spacing=0.04)
    for c in np.unique(camids):
        m = camids == c
        fig.add_trace(go.Scattergl(
            x=xy[m, 0], y=xy[m, 1], mode="markers",
            name=group_names[c] if group_names is not None else f"cam {c + 1}",
            marker=dict(size=5, color=style.camera_color(c), opacity=0.8), legendgroup="cam",
            customdata=np.stack([pids[m], camids[m] + 1], axis=1),
            hovertemplate="id %{customdata[0]}<br>cam %{customdata[1]}<extra></extra>",
        ), row=1, col=1)
    rank = {p: i for i, p in enumerate(uniq)}
    n_col = min(len(uniq), max_id_colors or 24) or 1
    palette = identity_colours(n_col)
    colors = [palette[rank[p] % n_col] for p in pids]
    fig.add_trace(go.Scattergl(
        x=xy[:, 0], y=xy[:, 1], mode="markers", name="identities", showlegend=False,
        marker=dict(size=5, color=colors, opacity=0.8,
                    symbol=[("circle", "square", "diamond", "cross", "x")[rank[p] // n_col % 5]
                            for p in pids]),
        customdata=np.stack([pids, camids + 1], axis=1),
        hovertemplate="id %{customdata[0]}<br>cam %{customdata[1]}<extra></extra>",
    ), row=1, col=2)
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    apply_style(fig, style, sized=False)
    # the camera legend belongs to the left panel: put it on that panel's left edge
    fig.update_layout(title=f"{title} · {method}" if title else method,
                      # no legend title: the panel says "by camera", and a title row would
                      # push a sixth camera out of a single-column figure
                      legend=dict(x=-0.01, xanchor="right", y=1.0, yanchor="top",
                                  itemsizing="constant", tracegroupgap=0),
                      margin=dict(l=80, r=10, t=70, b=10))
    return fig


def stage_correlation_plot(curves: Mapping[str, dict], *, title: str = "",
                           style: Style | None = None) -> go.Figure:
    """The infrared paper's Fig. 3: mean correlation of infrared/colour feature pairs per
    backbone stage, one colour per model; solid = the same person, dotted = different people
    (what a stage gives anyway). ``curves``: model name → :func:`reidlab.analysis.modality.
    stage_correlation` result."""
    style = style or DEFAULT_STYLE
    fig = go.Figure()
    for i, (name, c) in enumerate(curves.items()):
        stages = [f"stage {s}" for s in c["stage"]]
        for key, dash, who in (("same_person", "solid", "same person"),
                               ("different_person", "dot", "different people")):
            fig.add_trace(go.Scatter(
                x=stages, y=c[key], mode="lines+markers", name=f"{name}: {who}",
                line=dict(color=stage_colour(name.split(" (")[0], style.color(i)), dash=dash),
                marker=dict(size=7),
                hovertemplate="%{x}: r = %{y:.3f}<extra>" + f"{name}, {who}</extra>"))
    apply_style(fig, style)
    fig.update_layout(title=title or "Cross-modality feature correlation by stage",
                      yaxis_title="mean Pearson r (infrared, colour)", xaxis_title="backbone stage")
    return fig


CAMERA_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star",
                  "triangle-down", "pentagon")


def identity_panels(panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], *,
                    title: str = "", method: str = "t-SNE",
                    style: Style | None = None) -> go.Figure:
    """PIRID's Fig. 3: one scatter per model of a few identities — colour = identity, marker =
    camera. ``panels``: (panel title, N×2 points, pids, camids) each. Identities share their
    colour (:func:`identity_colours`) across panels; the legend names each camera by its
    marker alone, drawn in a neutral grey (colour means identity here, never camera)."""
    style = style or DEFAULT_STYLE
    if not panels:
        raise ValueError("identity_panels: expected at least one panel")
    all_pids = np.unique(np.concatenate([np.asarray(p[2]) for p in panels]).astype(int))
    rank = {int(p): i for i, p in enumerate(all_pids)}
    colours = identity_colours(max(1, len(all_pids)))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels],
                        horizontal_spacing=0.04)
    cams: set[int] = set()
    for k, (_, xy, pids, camids) in enumerate(panels):
        xy = np.asarray(xy, dtype=np.float64)
        pids, camids = np.asarray(pids).astype(int), np.asarray(camids).astype(int)
        if xy.ndim != 2 or xy.shape[1] != 2 or not (len(xy) == len(pids) == len(camids)):
            raise ValueError(f"panel {k}: expected N×2 points with N pids and camids, got "
                             f"{xy.shape}, {pids.shape}, {camids.shape}")
        for c in np.unique(camids):
            m = camids == c
            fig.add_trace(go.Scatter(
                x=xy[m, 0], y=xy[m, 1], mode="markers", name=f"cam {c + 1}",
                legendgroup=f"cam{c}", showlegend=False,
                marker=dict(size=8, symbol=CAMERA_SYMBOLS[int(c) % len(CAMERA_SYMBOLS)],
                            color=[colours[rank[p] % len(colours)] for p in pids[m]],
                            line=dict(width=0.5, color="#333")),
                customdata=np.stack([pids[m], camids[m] + 1], axis=1),
                hovertemplate="id %{customdata[0]}<br>cam %{customdata[1]}<extra></extra>",
            ), row=1, col=k + 1)
            cams.add(int(c))
    for c in sorted(cams):  # the legend: each camera's marker in one neutral colour
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=f"cam {c + 1}", legendgroup=f"cam{c}",
            showlegend=True, hoverinfo="skip", customdata=np.zeros((0, 2), int),
            marker=dict(size=9, symbol=CAMERA_SYMBOLS[c % len(CAMERA_SYMBOLS)], color=NEUTRAL,
                        line=dict(width=0.5, color="#333"))), row=1, col=1)
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title or f"{len(all_pids)} identities ({method}): colour = identity,"
                      " marker = camera",
                      legend=dict(title="camera (marker)", orientation="h", x=0, xanchor="left",
                                  yref="container", y=0, yanchor="bottom"),
                      margin=dict(l=20, r=20, t=80, b=45))
    return fig


def pseudo_label_embedding(xy: np.ndarray, labels: np.ndarray, pids: np.ndarray,
                           camids: np.ndarray, *, method: str = "PCA", title: str = "",
                           style: Style | None = None) -> go.Figure:
    """One 2-D embedding of clustered samples, three ways side by side: coloured by pseudo
    label (outliers, label −1, in grey), by true identity (unknown, −1, in grey) and by
    camera (one trace and legend entry per camera, in the style's palette). Labels and
    identities cycle through :func:`identity_colours` (another colour family than the
    cameras') and marker symbols: they are too many for a legend; hover names them."""
    style = style or DEFAULT_STYLE
    xy = np.asarray(xy, dtype=np.float64)
    labels, pids, camids = (np.asarray(a).astype(int) for a in (labels, pids, camids))
    if xy.ndim != 2 or xy.shape[1] != 2 or not (len(xy) == len(labels) == len(pids)
                                                == len(camids)):
        raise ValueError(f"expected N×2 points with N labels, pids and camids, got {xy.shape}, "
                         f"{labels.shape}, {pids.shape}, {camids.shape}")
    grey = "#%02X%02X%02X" % JUNK_RGB
    n_col = 24  # colours for labels and identities before the marker shape changes
    ids = identity_colours(n_col)
    shapes = ("circle", "square", "diamond", "cross", "x")
    custom = np.stack([labels, pids, camids + 1], axis=1)
    hover = "label %{customdata[0]}<br>id %{customdata[1]}<br>cam %{customdata[2]}<extra></extra>"
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.04,
                        subplot_titles=("pseudo label", "true identity", "camera"))

    def cyclic(values, m, name, col, legend):
        uniq = np.unique(values[m])
        rank = {v: i for i, v in enumerate(uniq)}
        # labels and identities in another colour family than the cameras (third panel)
        fig.add_trace(go.Scattergl(
            x=xy[m, 0], y=xy[m, 1], mode="markers", name=name, showlegend=legend,
            marker=dict(size=5, opacity=0.85, color=[ids[rank[v] % n_col] for v in values[m]],
                        symbol=[shapes[rank[v] // n_col % len(shapes)] for v in values[m]]),
            customdata=custom[m], hovertemplate=hover), row=1, col=col)

    for col, values, what in ((1, labels, "outliers (−1)"), (2, pids, "unknown identity")):
        neg = values < 0
        if neg.any():
            fig.add_trace(go.Scattergl(
                x=xy[neg, 0], y=xy[neg, 1], mode="markers", name=what, showlegend=True,
                marker=dict(size=4, color=grey, opacity=0.45), customdata=custom[neg],
                hovertemplate=hover), row=1, col=col)
        cyclic(values, ~neg, "clusters" if col == 1 else "identities", col, False)
    for c in np.unique(camids):
        m = camids == c
        fig.add_trace(go.Scattergl(
            x=xy[m, 0], y=xy[m, 1], mode="markers", name=f"cam {c + 1}", legend="legend2",
            marker=dict(size=5, color=style.camera_color(c), opacity=0.8), customdata=custom[m],
            hovertemplate=hover), row=1, col=3)
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    apply_style(fig, style, sized=False)
    # two legends, each under its panels: the grey "no cluster / unknown" points of the first
    # two panels, and the cameras of the third — never camera colours in one row with them
    below = dict(orientation="h", yref="container", y=0, yanchor="bottom",
                 itemsizing="constant", font_size=round(style.font_px * 0.9, 2))
    x3 = fig.layout.xaxis3.domain[0]
    fig.update_layout(title=(f"{title} · " if title else "") + f"{method}, coloured by", height=460,
                      legend=dict(**below, x=0, xanchor="left"),
                      legend2=dict(**below, x=x3, xanchor="left"),
                      margin=dict(l=20, r=20, t=80, b=45))
    return fig


__all__ = [
    "embedding_scatter_pair", "stage_correlation_plot", "CAMERA_SYMBOLS", "identity_panels",
    "pseudo_label_embedding",
]
