"""Figures of the camera-domain gap in numbers: query camera × gallery camera heat maps
(one, or several on one scale with their difference), the gap measures as small multiples of
bars, and same-person vs different-person distance histograms."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reidlab.viz.style import (DEFAULT_STYLE, DIFFERENT_RGB, RANK1, SAME_RGB, Style,
                               apply_style, hex_rgb, rgb_hex, stage_colour, wrap_text)

# --------------------------------------------------------------------------- domain gap

DIAGONAL_GREY = "#D9D9D9"  # same-camera cells: written, not coloured by the scale


def _pair_traces(m: np.ndarray, names: Sequence[str], *, metric: str, zmin, zmax,
                 colorscale="Viridis", diagonal: str = "grey", colorbar: dict | None = None,
                 showscale: bool = True, textsize: float | None = None,
                 hover: str = "%{z:.2f}") -> list:
    """The heat-map traces of one query camera × gallery camera matrix: the cells coloured by
    the scale and, with ``diagonal="grey"``, the diagonal (same-camera) cells as a second,
    grey trace outside the colour scale, their values written in them."""
    rows = list(names)[:m.shape[0]]
    decimals = 1 if max(m.shape) <= 8 else 0  # whole numbers from 9 cameras on (MSMT17: 15)
    coloured = m.copy()
    diag = np.full_like(m, np.nan)
    if diagonal == "grey":
        n = min(m.shape)
        idx = np.arange(n)
        diag[idx, idx] = m[idx, idx]
        coloured[idx, idx] = np.nan
    elif diagonal != "scale":
        raise ValueError(f"diagonal must be 'grey' or 'scale', got {diagonal!r}")

    def text(z):
        return [["" if not np.isfinite(v) else f"{v:.{decimals}f}" for v in row] for row in z]

    out = [go.Heatmap(
        z=coloured, x=list(names), y=rows, text=text(coloured), texttemplate="%{text}",
        colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=showscale,
        colorbar=colorbar or dict(title=dict(text=metric, side="right"), thickness=12),
        xgap=1, ygap=1, name=metric, textfont=dict(size=textsize) if textsize else None,
        hovertemplate="query %{y}<br>gallery %{x}<br>" + hover + "<extra></extra>")]
    if diagonal == "grey" and np.isfinite(diag).any():
        out.append(go.Heatmap(
            z=np.where(np.isfinite(diag), 0.0, np.nan), x=list(names), y=rows, text=text(diag),
            texttemplate="%{text}", colorscale=[[0, DIAGONAL_GREY], [1, DIAGONAL_GREY]],
            showscale=False, xgap=1, ygap=1, name="same camera",
            textfont=dict(size=textsize, color="#444") if textsize else dict(color="#444"),
            customdata=diag, hovertemplate="query %{y}<br>gallery %{x}<br>same camera: "
            "%{customdata:.2f} (not on the colour scale)<extra></extra>"))
    return out


def _off_diagonal_range(mats: Sequence[np.ndarray], zmin, zmax, diagonal: str):
    vals = []
    for m in mats:
        m = np.asarray(m, np.float64).copy()
        if diagonal == "grey":
            n = min(m.shape)
            m[np.arange(n), np.arange(n)] = np.nan
        vals.append(m[np.isfinite(m)])
    v = np.concatenate(vals) if vals else np.array([])
    if zmin is None:
        zmin = float(v.min()) if v.size else None
    if zmax is None:
        zmax = float(v.max()) if v.size else None
        if zmax is not None and zmin is not None and zmax <= zmin:
            zmax = zmin + 1.0
    return zmin, zmax


def camera_pair_heatmap(matrix: np.ndarray, *, metric: str = f"{RANK1} (%)",
                        cam_names: Sequence[str] | None = None, title: str = "",
                        style: Style | None = None, zmin: float | None = 0.0,
                        zmax: float | None = None, diagonal: str = "grey") -> go.Figure:
    """Query camera (rows) × gallery camera (columns) heat map; NaN cells stay empty.

    ``diagonal="grey"`` (default): the same-camera cells are drawn grey with their values
    written in them, outside the colour scale, so the scale spans the cross-camera cells (the
    camera gap) and the diagonal never sets it; ``"scale"`` colours them like the others."""
    style = style or DEFAULT_STYLE
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a C×C matrix, got shape {m.shape}")
    names = list(cam_names) if cam_names is not None else \
        [f"cam {i + 1}" for i in range(m.shape[1])]
    rows = names[:m.shape[0]]
    zmin, zmax = _off_diagonal_range([m], zmin, zmax, diagonal)
    big = max(m.shape) > 8
    fig = go.Figure(_pair_traces(m, names, metric=metric, zmin=zmin, zmax=zmax,
                                 diagonal=diagonal,
                                 textsize=style.font_px * 0.8 if big else None))
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title or f"{metric} per camera pair", xaxis_title="gallery camera",
                      yaxis_title="query camera")
    fig.update_yaxes(autorange="reversed")
    if big:  # 15 cameras (MSMT17): "1".."15", every one, cell text a bit smaller
        short = [str(n).removeprefix("cam ") for n in names]
        fig.update_xaxes(tickmode="array", tickvals=names, ticktext=short, tickangle=0)
        fig.update_yaxes(tickmode="array", tickvals=rows, ticktext=short[:len(rows)])
    return fig


def camera_pair_panels(panels: Mapping[str, np.ndarray], *, metric: str = f"{RANK1} (%)",
                       cam_names: Sequence[str] | None = None, title: str = "",
                       difference: tuple[str, str] | None = None,
                       zmin: float | None = 0.0, zmax: float | None = None,
                       diagonal: str = "grey", style: Style | None = None) -> go.Figure:
    """Several camera-pair heat maps side by side on one colour scale (e.g. two runs, or one
    run before and after training), and with ``difference=(a, b)`` a last panel of
    ``panels[b] − panels[a]`` on its own diverging scale centred on 0 (blue = b higher).
    The diagonal is grey and off the scales as in :func:`camera_pair_heatmap`."""
    style = style or DEFAULT_STYLE
    if not panels:
        raise ValueError("camera_pair_panels: expected at least one matrix")
    mats = {k: np.asarray(v, np.float64) for k, v in panels.items()}
    shapes = {m.shape for m in mats.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"camera_pair_panels: expected C×C matrices of one shape, got "
                         f"{sorted(shapes)}")
    m0 = next(iter(mats.values()))
    names = list(cam_names) if cam_names is not None else \
        [f"cam {i + 1}" for i in range(m0.shape[1])]
    titles = list(mats)
    if difference is not None:
        a, b = difference
        if a not in mats or b not in mats:
            raise ValueError(f"difference {difference}: both must be among {titles}")
        titles.append(f"{b} − {a}")
    n = len(titles)
    fig = make_subplots(rows=1, cols=n, subplot_titles=[wrap_text(t, 34) for t in titles],
                        horizontal_spacing=0.12 if difference is not None else 0.03,
                        shared_yaxes=True)
    zmin, zmax = _off_diagonal_range(list(mats.values()), zmin, zmax, diagonal)
    last = len(mats)  # the shared scale's bar: right of the last panel on that scale
    right = fig.layout["xaxis" if last == 1 else f"xaxis{last}"].domain[1]
    for i, (name, m) in enumerate(mats.items()):
        bar = dict(title=dict(text=metric, side="right"), thickness=10, x=right + 0.005,
                   xanchor="left", len=0.9)
        for t in _pair_traces(m, names, metric=metric, zmin=zmin, zmax=zmax,
                              diagonal=diagonal, colorbar=bar, showscale=i == 0):
            t.meta = {"panel": name}
            fig.add_trace(t, row=1, col=i + 1)
    if difference is not None:
        d = mats[difference[1]] - mats[difference[0]]
        off = d.copy()
        k = min(off.shape)
        off[np.arange(k), np.arange(k)] = np.nan
        lim = float(np.nanmax(np.abs(off))) if np.isfinite(off).any() else 1.0
        lim = lim or 1.0
        for t in _pair_traces(d, names, metric=f"Δ {metric}", zmin=-lim, zmax=lim,
                              colorscale="RdBu", diagonal=diagonal, hover="%{z:+.2f}",
                              colorbar=dict(title=dict(text=f"Δ {metric}", side="right"),
                                            thickness=10, x=1.0, xanchor="left", len=0.9)):
            t.meta = {"panel": titles[-1]}
            fig.add_trace(t, row=1, col=n)
    apply_style(fig, style, sized=False)
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(title_text="query camera", col=1)
    for i in range(n):
        fig.update_xaxes(title_text="gallery camera", row=1, col=i + 1)
    fig.update_layout(title=title or f"{metric} per camera pair", height=420,
                      margin=dict(l=60, r=80, t=90, b=50))
    return fig


def auc_floor(auc_percent) -> float:
    """The bottom of an AUC (%) colour scale: 50 (chance), or lower, in steps of 10, when some
    camera pair separates worse than chance (so it does not look like chance)."""
    a = np.asarray(auc_percent, dtype=np.float64)
    low = np.nanmin(a) if np.isfinite(a).any() else 50.0
    return float(min(50.0, np.floor(low / 10.0) * 10.0))


def gap_measure_axis(measure: str) -> tuple[str, list[float] | None]:
    """The y-axis title and range of one gap measure: accuracies and rank-1 in [0, 1],
    silhouettes in [−1, 1] units (auto range, 0 kept in view)."""
    m = measure.lower()
    if "probe" in m:
        return "accuracy (0–1)", [0.0, 1.05]
    if RANK1 in m:
        return f"{RANK1} (0–1)", [0.0, 1.05]
    if "silhouette" in m:
        return "silhouette (−1…1)", None
    return measure, None


def gap_bars(values: Mapping[str, Mapping[str, float]], *, title: str = "Camera-domain gap",
             style: Style | None = None, chance: float | None = None,
             colours: Mapping[str, str] | None = None,
             patterns: Mapping[str, str] | None = None, cols: int = 4) -> go.Figure:
    """Small multiples: one panel per measure (camera-probe accuracy, silhouette by camera,
    …), each with its own labelled y axis (:func:`gap_measure_axis`), one bar per model
    (``values``: model name → {measure: value}), e.g. "before" vs "after". Bars take
    ``colours[name]``, else the model stage's colour (:data:`STAGE_COLOURS`) for before / after
    / no training, else the palette; ``patterns[name]`` hatches a bar (a second run).
    ``chance``: a dashed line in the probe panels."""
    style = style or DEFAULT_STYLE
    measures: list[str] = []
    for d in values.values():
        measures += [k for k in d if k not in measures]
    if not measures:
        raise ValueError("gap_bars: no measures to plot")
    cols = max(1, min(cols, len(measures)))
    nrows = math.ceil(len(measures) / cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[wrap_text(m, 24) for m in measures],
                        horizontal_spacing=0.35 / cols + 0.04,
                        vertical_spacing=0.35 / nrows if nrows > 1 else 0.1)
    names = list(values)
    for j, m in enumerate(measures):
        r, c = j // cols + 1, j % cols + 1
        for i, (run, d) in enumerate(values.items()):
            v = d.get(m, np.nan)
            colour = (colours or {}).get(run) or stage_colour(run.split(": ")[-1]) or \
                style.color(i)
            marker = dict(color=colour, line=dict(color="#222", width=0.5))
            if (patterns or {}).get(run):
                marker["pattern"] = dict(shape=patterns[run], fgcolor="#FFFFFF", solidity=0.35)
            fig.add_trace(go.Bar(
                x=[wrap_text(run, 14)], y=[v], name=run, legendgroup=run, showlegend=j == 0,
                marker=marker, meta={"measure": m},
                text=["" if not np.isfinite(v) else f"{v:.2f}"], textposition="outside",
                cliponaxis=False,
                hovertemplate=f"{run}<br>{m}: %{{y:.3f}}<extra></extra>"), row=r, col=c)
        axis_title, rng = gap_measure_axis(m)
        if rng is None:
            vals = [d.get(m) for d in values.values() if d.get(m) is not None]
            lo, hi = min([0.0, *vals]), max([0.0, *vals])
            pad = 0.15 * (hi - lo or 1.0)
            rng = [lo - (pad if lo < 0 else 0), hi + pad]
        fig.update_yaxes(title_text=axis_title, range=rng, row=r, col=c)
        if chance is not None and "probe" in m.lower():
            fig.add_hline(y=chance, line=dict(dash="dash", color="#777", width=1),
                          annotation_text="chance", annotation_position="top left",
                          annotation_font_size=style.font_px * 0.8, row=r, col=c)
    # a bar per model under each panel while they fit; more: the legend names them
    fig.update_xaxes(showticklabels=1 < len(names) <= 2, tickangle=0)
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title, barmode="group", showlegend=True, height=300 * nrows + 130,
                      legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                                  yanchor="bottom"),
                      margin=dict(l=50, r=20, t=80, b=60))
    return fig


def _histogram_look(key: str, prefixes: Sequence[str], i: int, style: Style) -> dict:
    """Marker of one overlaid histogram series: the same person in the rank lists' green, a
    different person in their vermillion (else the palette); the first run filled, a second
    run's series outlined and hatched, so two runs never blend into one colour."""
    low = key.lower()
    colour = rgb_hex(SAME_RGB) if low.endswith("same person") or low.endswith("same") else \
        rgb_hex(DIFFERENT_RGB) if low.endswith("different person") or \
        low.endswith("different") else style.color(i)
    prefix = key.split(": ")[0] if ": " in key else ""
    if prefixes.index(prefix) == 0:
        return dict(marker=dict(color=colour, line=dict(color=colour, width=0.5)), opacity=0.5)
    r, g, b = hex_rgb(colour)
    return dict(marker=dict(color=f"rgba({r},{g},{b},0.06)", line=dict(color=colour, width=1.2),
                            pattern=dict(shape="/", fgcolor=colour, solidity=0.25)),
                opacity=1.0)


def distance_histograms(groups: Mapping[str, Mapping[str, np.ndarray]], *,
                        nbins: int = 40, title: str = "Distances",
                        style: Style | None = None, facet_cols: int = 3,
                        x_title: str = "distance") -> go.Figure:
    """Same-person vs different-person distance histograms.

    ``groups`` maps a panel name to ``{"same person": d, "different person": d}`` (one panel
    overall) or, for two runs overlaid, ``{"runA: same person": d, "runA: different person": d,
    "runB: same person": ...}``: every key of a panel becomes one overlaid,
    probability-normalised histogram — same person green, different person vermillion, a
    second run (the text before ": ") outlined and hatched. Several panels (e.g. one per
    camera pair) become facets. Bins are shared across the whole figure; ``x_title`` names
    the distance (e.g. "Euclidean distance / median").
    """
    style = style or DEFAULT_STYLE
    panels = list(groups)
    if not panels:
        raise ValueError("no distances to plot")
    allv = [np.asarray(v, np.float64).ravel() for g in groups.values() for v in g.values()]
    allv = [v[np.isfinite(v)] for v in allv]
    nonempty = [v for v in allv if v.size]
    lo = min((v.min() for v in nonempty), default=0.0)
    hi = max((v.max() for v in nonempty), default=1.0)
    size = (hi - lo) / nbins if hi > lo else 1.0
    cols = min(facet_cols, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=panels if len(panels) > 1 else None,
                        shared_xaxes=True, vertical_spacing=0.12 if rows > 1 else 0.1)
    series_names: list[str] = []
    for g in groups.values():
        series_names += [k for k in g if k not in series_names]
    prefixes = list(dict.fromkeys(k.split(": ")[0] if ": " in k else "" for k in series_names))
    shown: set[str] = set()
    for p, name in enumerate(panels):
        r, c = p // cols + 1, p % cols + 1
        for key, v in groups[name].items():
            v = np.asarray(v, np.float64).ravel()
            v = v[np.isfinite(v)]
            i = series_names.index(key)
            # one legend entry per series, on its first panel with data (the first camera
            # pair may have no same-person pair at all)
            legend = key not in shown and (v.size > 0 or p == len(panels) - 1)
            shown |= {key} if legend else set()
            fig.add_trace(go.Histogram(
                x=v, name=key, legendgroup=key, showlegend=legend,
                histnorm="probability", **_histogram_look(key, prefixes, i, style),
                xbins=dict(start=lo, end=hi + size, size=size),
            ), row=r, col=c)
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title, barmode="overlay")
    fig.update_xaxes(title_text=x_title, row=rows)
    fig.update_xaxes(matches="x", range=[lo, hi + size])  # one distance scale in every panel
    fig.update_yaxes(title_text="fraction of pairs", col=1)
    return fig


__all__ = [
    "DIAGONAL_GREY", "camera_pair_heatmap", "camera_pair_panels", "auc_floor", "gap_measure_axis",
    "gap_bars", "distance_histograms",
]
