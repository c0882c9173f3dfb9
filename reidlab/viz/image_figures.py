"""Figures made of images: a query's rank list, frames with their part masks, a row of
frames, and the camera × identity thumbnail grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reidlab.viz.images import add_border, grey_out, hide_axes, image_trace, resize, to_uint8
from reidlab.viz.style import (DEFAULT_STYLE, JUNK_RGB, MATCH_RGB, QUERY_RGB, WRONG_RGB, Style,
                               apply_style, hex_rgb, part_colours)

# --------------------------------------------------------------------------- images

def rank_list_figure(query: np.ndarray, gallery: Sequence[np.ndarray], status: Sequence[str], *,
                     distances: Sequence[float] | None = None, labels: Sequence[str] | None = None,
                     query_label: str = "query", thumb: tuple[int, int] = (128, 64),
                     border: int = 4, title: str = "", style: Style | None = None,
                     ranks: Sequence[int | None] | None = None) -> go.Figure:
    """A query thumbnail and its top-k gallery: bluish-green border = same person (correct),
    vermillion (orange-red) = different person, greyed with a grey border = junk (same person
    seen by the same camera, ignored by the protocol). ``status[i]`` is one of "match", "wrong",
    "junk".

    Each label names its numbers, one per line (a column is ~0.3 in wide in one column):
    ``rank 3`` — the gallery rank under the protocol, junk not counted (``ranks``, default
    counted here), ``junk`` instead for a junk item; ``d 11.9`` — the distance to the query;
    then ``labels[i]`` (the page gives ``id 172`` and ``cam 1``)."""
    style = style or DEFAULT_STYLE
    if len(status) != len(gallery):
        raise ValueError(f"{len(gallery)} gallery images but {len(status)} status values")
    colours = {"match": MATCH_RGB, "wrong": WRONG_RGB, "junk": JUNK_RGB}
    k = len(gallery)
    titles = [query_label]
    counted = 0
    for i, s in enumerate(status):
        if s not in colours:
            raise ValueError(f"rank-list status must be match|wrong|junk, got {s!r}")
        if s != "junk":
            counted += 1
        rank = ranks[i] if ranks is not None else (None if s == "junk" else counted)
        t = "junk" if s == "junk" or rank is None else f"rank {rank}"
        if distances is not None:
            t += f"<br>d {distances[i]:.3g}"
        if labels is not None:
            t += f"<br>{labels[i]}"
        titles.append(t)
    fig = make_subplots(rows=1, cols=k + 1, subplot_titles=titles, horizontal_spacing=0.01)
    h, w = thumb
    fig.add_trace(image_trace(add_border(resize(query, h, w), QUERY_RGB, border), "query"),
                  row=1, col=1)
    for i, (img, s) in enumerate(zip(gallery, status)):
        im = resize(img, h, w)
        if s == "junk":
            im = grey_out(im)
        fig.add_trace(image_trace(add_border(im, colours[s], border), s), row=1, col=i + 2)
    hide_axes(fig)
    apply_style(fig, style, sized=False)
    fig.update_annotations(font_size=style.font_px)  # labels as large as the figure's text
    # room above the thumbnails for the longest label (rank, distance, id, camera, junk)
    lines = max(t.count("<br>") + 1 for t in titles)
    top = int(16 + lines * style.font_px * 1.3 + (style.font_px * 2 if title else 0))
    # the title at the very top, above the labels (not over them)
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", yref="container", y=1,
                                 yanchor="top", pad=dict(t=6, l=10)) if title else None,
                      height=int(h * 1.6 + top), margin=dict(l=10, r=10, t=top, b=10))
    return fig


def _overlay(frame: np.ndarray, masks: np.ndarray, colors: Sequence[str],
             alpha: float = 0.55) -> np.ndarray:
    """Blend K soft masks (K×h×w, any h×w) over a frame, each in its part's colour."""
    from PIL import Image

    f = to_uint8(frame).astype(np.float64)
    H, W = f.shape[:2]
    K = masks.shape[0]
    up = np.stack([np.asarray(Image.fromarray(np.asarray(m, np.float32), mode="F")
                              .resize((W, H), Image.NEAREST)) for m in masks])
    up = np.clip(up, 0, None)
    tot = up.sum(axis=0, keepdims=True)
    weight = np.where(tot > 0, up / np.maximum(tot, 1e-12), 0.0)  # K×H×W, sums to 1 where any
    rgb = np.array([hex_rgb(colors[k % len(colors)]) for k in range(K)], np.float64)
    colour = np.einsum("khw,kc->hwc", weight, rgb)
    a = alpha * np.clip(tot[0], 0, 1)[:, :, None]
    return np.round((1 - a) * f + a * colour).astype(np.uint8)


def part_masks_figure(frames: Sequence[np.ndarray], masks: np.ndarray,
                      strict: np.ndarray | None = None, *, labels: Sequence[str] | None = None,
                      title: str = "", style: Style | None = None) -> go.Figure:
    """Frames (top row) with their K part masks overlaid (part k in colour k; parts ordered
    head→legs), and optionally the strict uniform stripes for comparison (bottom row).

    ``masks`` and ``strict``: B×K×h×w arrays (soft or hard), one per frame.
    """
    style = style or DEFAULT_STYLE
    masks = np.asarray(masks)
    B = len(frames)
    if masks.ndim != 4 or masks.shape[0] != B:
        raise ValueError(f"expected B×K×h×w masks for {B} frames, got shape {masks.shape}")
    rows = [("frame", None), ("PAM parts (K-means)", masks)]
    if strict is not None:
        strict = np.asarray(strict)
        if strict.ndim != 4 or strict.shape[0] != B:
            raise ValueError(f"expected B×K×h×w strict masks for {B} frames, got {strict.shape}")
        rows.append(("strict stripes", strict))
    titles = []
    for r, (name, _) in enumerate(rows):
        for b in range(B):
            lab = labels[b] if labels is not None else f"frame {b + 1}"
            titles.append(f"{lab}" if r == 0 else (name if b == 0 else ""))
    fig = make_subplots(rows=len(rows), cols=B, subplot_titles=titles,
                        horizontal_spacing=0.01, vertical_spacing=0.06)
    colors = part_colours(masks.shape[1])
    for r, (name, m) in enumerate(rows):
        for b, frame in enumerate(frames):
            img = to_uint8(frame) if m is None else _overlay(frame, m[b], colors)
            fig.add_trace(image_trace(img, name), row=r + 1, col=b + 1)
    K = masks.shape[1]
    for k in range(K):  # legend entries for parts (invisible points)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"part {k + 1}",
                                 marker=dict(size=10, color=colors[k % len(colors)],
                                             symbol="square")))
    hide_axes(fig)
    apply_style(fig, style, sized=False)
    for a in fig.layout.annotations:  # row titles start at the left edge, not centred
        if a.text in [name for name, _ in rows[1:]]:  # over the first frame (cut off there)
            a.update(x=0, xanchor="left")
    lines = 1 + max((str(lab).count("<br>") for lab in (labels or [])), default=0)
    fig.update_layout(title=title or f"Part masks (K={K}), ordered head→legs",
                      legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                                  yanchor="bottom"),
                      margin=dict(l=10, r=10, t=60 + 18 * lines, b=45),
                      height=230 * len(rows) + 120)
    return fig


def frames_strip(frames: Sequence[np.ndarray], *, labels: Sequence[str] | None = None,
                 title: str = "", style: Style | None = None) -> go.Figure:
    """A row of frames (e.g. one tracklet)."""
    style = style or DEFAULT_STYLE
    n = len(frames)
    if n == 0:
        raise ValueError("no frames to show")
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(labels) if labels else None,
                        horizontal_spacing=0.005)
    for i, f in enumerate(frames):
        fig.add_trace(image_trace(to_uint8(f)), row=1, col=i + 1)
    hide_axes(fig)
    apply_style(fig, style, sized=False)
    fig.update_layout(title=title or None, margin=dict(l=5, r=5, t=40 if title else 20, b=5))
    return fig


def thumbnail_grid(images: Mapping[tuple[int, int], np.ndarray], cams: Sequence[int],
                   pids: Sequence[int], *, thumb: tuple[int, int] = (64, 32), pad: int = 2,
                   title: str = "Camera × identity", style: Style | None = None,
                   cam_names: Mapping[int, str] | None = None) -> go.Figure:
    """One mosaic: a row per camera, a column per identity; ``images[(cam, pid)]`` is the
    thumbnail (missing cells, i.e. a person never seen by that camera, stay white).
    ``cam_names``: row labels (default "cam N"), e.g. "cam 3 · infrared"."""
    style = style or DEFAULT_STYLE
    h, w = thumb
    cams, pids = list(cams), list(pids)
    H, W = len(cams) * (h + pad) + pad, len(pids) * (w + pad) + pad
    mosaic = np.full((H, W, 3), 255, np.uint8)
    for r, c in enumerate(cams):
        for j, p in enumerate(pids):
            img = images.get((c, p))
            if img is not None:
                y, x = pad + r * (h + pad), pad + j * (w + pad)
                mosaic[y:y + h, x:x + w] = resize(img, h, w)
    fig = go.Figure(image_trace(mosaic, "grid"))
    apply_style(fig, style, sized=False)
    fig.update_xaxes(tickvals=[pad + j * (w + pad) + w / 2 for j in range(len(pids))],
                     ticktext=[str(p) for p in pids], title="identity", showgrid=False)
    fig.update_yaxes(tickvals=[pad + r * (h + pad) + h / 2 for r in range(len(cams))],
                     ticktext=[(cam_names or {}).get(c, f"cam {c + 1}") for c in cams],
                     showgrid=False)
    fig.update_layout(title=title, height=int(min(900, H * 1.2 + 120)))
    return fig


__all__ = [
    "rank_list_figure", "part_masks_figure", "frames_strip", "thumbnail_grid",
]
