"""Pure plotly figure builders: arrays and dicts in, ``go.Figure`` out.

Nothing here reads files, trains, or talks to Streamlit, so tests (and papers) can call every
builder directly. Every builder takes an optional :class:`Style` that sets the palette (including
colour-blind-safe Okabe-Ito and Tol palettes), font size in points and size in inches.

Images (thumbnails, frames, masks) are embedded as PNG data URIs in ``go.Image(source=...)``
traces: compact in the browser and rendered faithfully by kaleido.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# --------------------------------------------------------------------------- palettes & style

PALETTES: dict[str, tuple[str, ...]] = {
    # Okabe & Ito (2008), colour-blind safe; black moved last so it is used least
    "okabe_ito": ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                  "#CC79A7", "#000000"),
    # Paul Tol's "bright" and "muted" qualitative schemes, colour-blind safe
    "tol_bright": ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377",
                   "#BBBBBB"),
    "tol_muted": ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255",
                  "#44AA99", "#999933", "#AA4499", "#DDDDDD"),
    # plotly's default (not colour-blind safe)
    "plotly": ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
               "#B6E880", "#FF97FF", "#FECB52"),
}
COLORBLIND_SAFE = ("okabe_ito", "tol_bright", "tol_muted")

CSS_PX_PER_INCH = 96.0  # plotly/kaleido lay out in CSS pixels
MATCH_RGB = (0, 158, 115)  # bluish green (Okabe-Ito): a correct match in a rank list
WRONG_RGB = (213, 94, 0)  # vermillion (Okabe-Ito): a wrong match
JUNK_RGB = (150, 150, 150)  # grey: same-camera same-person (ignored by the protocol)
QUERY_RGB = (0, 114, 178)  # blue: the query
# what each rank-list border means, in the words a caption uses: status -> (colour name, RGB,
# meaning); the app's captions and the docs are written from this, so they name the colours drawn
RANK_LIST_KEY = {
    "query": ("blue", QUERY_RGB, "the query"),
    "match": ("green", MATCH_RGB, "same person (a correct match)"),
    "wrong": ("vermillion", WRONG_RGB, "a different person"),
    "junk": ("grey", JUNK_RGB, "same person seen by the same camera: junk, ignored by the "
                               "evaluation protocol"),
}


def rgb_hex(rgb: Sequence[int]) -> str:
    return "#%02X%02X%02X" % tuple(int(v) for v in rgb)


# --------------------------------------------------------------------------- one meaning per colour
# Every page and export takes its colours from here, so one colour means one thing in the
# whole lab: cameras get the style's categorical palette (without the colours kept for the
# meanings below), identities and pseudo labels another colour family (identity_colours),
# the same / a different person the rank lists' green / vermillion, the model before / after
# training light / dark grey, the data splits shades of blue (query = the rank lists' query
# blue), and the parts of a person a sequential scale from head (dark) to legs (light).
SAME_RGB, DIFFERENT_RGB = MATCH_RGB, WRONG_RGB  # a pair of one person / of two people
STAGE_COLOURS = {"initial": "#B8B8B8", "final": "#3A3A3A"}  # before / after training
SPLIT_COLOURS = {"train": "#332288", "query": rgb_hex(QUERY_RGB), "gallery": "#88CCEE"}
RESERVED_COLOURS = frozenset(rgb_hex(c) for c in (MATCH_RGB, WRONG_RGB, JUNK_RGB, QUERY_RGB))
NEUTRAL = "#555555"  # a marker that means no colour-coded thing (e.g. a camera's symbol)

# one vocabulary: what the pages and exports call things
STAGE_NAMES = {"initial": "before", "final": "after"}  # the run's initial / final model
NO_TRAINING = "no training"
EMBEDDING_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
RANK1 = "rank-1"


def stage_colour(name: str, default: str | None = None) -> str | None:
    """The colour of a model stage named ``initial``/``final``, ``before``/``after`` or
    ``no training`` (the final model), else ``default``."""
    key = {"before": "initial", "after": "final", NO_TRAINING: "final"}.get(name, name)
    return STAGE_COLOURS.get(key, default)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {word if int(n) == 1 else (words or word + 's')}"


@dataclass(frozen=True)
class Style:
    """How a figure looks on screen and in a paper.

    ``width_in`` × ``height_in`` at ``dpi`` gives the PNG size in pixels; fonts are in points
    at the printed size, so a 3.5 in wide figure with ``font_pt=8`` reads like the paper text.
    """

    palette: str = "okabe_ito"
    font_pt: float = 10.0
    width_in: float = 7.0
    height_in: float = 4.0
    dpi: int = 200
    template: str = "plotly_white"
    font_family: str = "Arial, Helvetica, sans-serif"

    def colors(self) -> tuple[str, ...]:
        if self.palette not in PALETTES:
            raise ValueError(f"unknown palette {self.palette!r}; expected one of {sorted(PALETTES)}")
        return PALETTES[self.palette]

    def color(self, i: int) -> str:
        c = self.colors()
        return c[int(i) % len(c)]

    def camera_colors(self) -> tuple[str, ...]:
        """The cameras' colours: the palette without the colours that mean something else
        (same/different person, query, junk), then darker shades of those."""
        base = [c.upper() for c in self.colors() if c.upper() not in RESERVED_COLOURS] or \
            [c.upper() for c in self.colors()]
        # very light colours (yellow) last: weak on white for the first cameras
        base.sort(key=lambda c: np.dot(_hex_rgb(c), (0.299, 0.587, 0.114)) > 200)
        dark = ["#%02X%02X%02X" % tuple(int(v * 0.6) for v in _hex_rgb(c)) for c in base]
        return tuple(dict.fromkeys(base + dark))

    def camera_color(self, c: int) -> str:
        cc = self.camera_colors()
        return cc[int(c) % len(cc)]

    @property
    def width_px(self) -> float:
        """Layout width in CSS pixels (kaleido scale = dpi / 96 turns it into ``width_in*dpi``)."""
        return round(self.width_in * CSS_PX_PER_INCH, 6)

    @property
    def height_px(self) -> float:
        return round(self.height_in * CSS_PX_PER_INCH, 6)

    @property
    def font_px(self) -> float:
        return self.font_pt * CSS_PX_PER_INCH / 72.0

    @property
    def scale(self) -> float:
        # Chromium floors width*scale; the tiny excess keeps 316.8 px * 3.125 at 990, not 989
        return self.dpi / CSS_PX_PER_INCH * (1 + 1e-7)


DEFAULT_STYLE = Style()


def apply_style(fig: go.Figure, style: Style | None = None, *, sized: bool = True) -> go.Figure:
    """Set template, fonts and (when ``sized``) the figure size of ``fig`` in place; return it.

    Every text scales with ``style.font_pt``: the title at 1.15×, subplot titles and other
    annotations (``make_subplots`` writes them at a fixed 16 px) at 1×, so a figure exported
    at 8 pt has no 12 pt panel titles."""
    style = style or DEFAULT_STYLE
    fig.update_layout(
        template=style.template,
        font=dict(size=style.font_px, family=style.font_family),
        colorway=list(style.colors()),
        title_font_size=round(style.font_px * 1.15, 2),
        legend_font_size=round(style.font_px * 0.9, 2),
        legend_title_font_size=round(style.font_px * 0.9, 2),
    )
    fig.update_annotations(font_size=style.font_px)
    m = fig.layout.margin
    if all(getattr(m, k) is None for k in ("l", "r", "t", "b")):  # a builder's own margins stay
        fig.update_layout(margin=dict(l=50, r=20, t=50, b=45))
    if sized:
        fig.update_layout(width=style.width_px, height=style.height_px)
    return fig


def _wrap(text: str, width: int) -> str:
    """Break ``text`` at spaces into lines of at most ``width`` characters (``<br>`` kept)."""
    out = []
    for para in str(text).split("<br>"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
    return "<br>".join(out)


def _legend_entries(fig: go.Figure) -> list[str]:
    seen, names = set(), []
    for t in fig.data:
        if getattr(t, "showlegend", None) is False or not getattr(t, "name", None) \
                or "showlegend" not in t:
            continue  # hidden, unnamed, or a trace without a legend entry (images)
        # one entry per name within a legend group (a group of several named traces, such as
        # the embeddings' cameras, has an entry for each)
        key = (getattr(t, "legendgroup", None), t.name) if getattr(t, "legendgroup", None) \
            else t.name
        if key in seen and getattr(t, "legendgroup", None):
            continue
        seen.add(key)
        names.append(t.name)
    return names


def _legend_rows(fig: go.Figure, style: Style) -> int:
    """How many rows a horizontal legend of ``fig`` takes at ``style``'s width (estimated
    from the lengths of its entries)."""
    lg = fig.layout.legend
    fpx = style.font_px * 0.9
    widths = [len(n) * 0.6 * fpx + 50 for n in _legend_entries(fig)]  # text, symbol, gap
    if not widths:
        return 0
    if lg.title.text:
        widths[0] += len(lg.title.text) * 0.6 * fpx + 10
    m = fig.layout.margin
    room = style.width_px - (m.l or 50) - (m.r or 20)
    rows, x = 1, 0.0
    for w in widths:
        if x and x + w > room:
            rows, x = rows + 1, 0.0
        x += w
    return rows


def _legend_below(fig: go.Figure, style: Style) -> None:
    """Fit the legend to a narrow figure. A vertical legend on the right (plotly's default
    place) takes a third of it: lay it out horizontally under the plot, with the bottom margin
    its rows need (unless that leaves the plot too short). A legend a builder put at the
    bottom (``yref="container"``, ``y=0``) gets the margin for the rows it now wraps into.
    Other legends a builder placed (``legend.x`` set) stay as they are."""
    lg = fig.layout.legend
    if fig.layout.showlegend is False or len(_legend_entries(fig)) < 2:
        return
    rows = _legend_rows(fig, style)
    row_h = style.font_px * 0.9 * 1.9
    m = fig.layout.margin
    if lg.orientation == "h" and lg.yref == "container" and lg.y == 0:
        if rows > 1:
            fig.update_layout(margin_b=(m.b or 45) + (rows - 1) * row_h)
        return
    # a legend its builder put in the left margin (the embeddings' cameras) moves too: there it
    # takes the margin's quarter of a narrow figure
    left = lg.x is not None and lg.x <= 0 and lg.xanchor == "right"
    if (lg.x is not None and not left) or lg.orientation == "h" or rows > 3:
        return  # placed by its builder, or many long names: below they would take the plot
    need = rows * row_h + 8
    if style.height_px - (m.t or 50) - (m.b or 45) - need < 0.3 * style.height_px:
        return  # too short a figure for a legend below: keep it where it is
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", yref="container",
                                  y=0, yanchor="bottom"),
                      margin_b=(m.b or 45) + need)
    if left:
        fig.update_layout(margin_l=round(style.font_px, 1))


def _space_rows(fig: go.Figure, style: Style) -> None:
    """Subplot rows (``make_subplots``) with a gap that holds a panel title and tick labels at
    the export's size (the builders' gaps are fractions of the on-screen height): recompute
    the y domains of the rows, and move the panel titles with their panels."""
    axes = {k: v for k, v in fig.layout.to_plotly_json().items() if k.startswith("yaxis")}
    doms = sorted({tuple(v["domain"]) for v in axes.values() if "domain" in v},
                  key=lambda d: -d[1])
    if len(doms) < 2 or any(a[0] < b[1] - 1e-9 for a, b in zip(doms, doms[1:])):
        return  # one row, or overlapping domains: not a grid of rows
    plot_h = style.height_px - (fig.layout.margin.t or 0) - (fig.layout.margin.b or 0)
    if plot_h <= 0:
        return
    has_titles = bool(fig.layout.annotations)
    gap = (2.9 if has_titles else 1.8) * style.font_px / plot_h
    n = len(doms)
    h = (1.0 - (n - 1) * gap) / n
    if h <= 0.15 / n:
        return  # too short a figure to re-space: leave it as built
    new = {d: (max(0.0, round(1.0 - i * (h + gap) - h, 9)), min(1.0, round(1.0 - i * (h + gap), 9)))
           for i, d in enumerate(doms)}
    for k, v in axes.items():
        if "domain" in v:
            fig.layout[k].domain = list(new[tuple(v["domain"])])
    tops = {round(d[1], 6): nd[1] for d, nd in new.items()}
    for a in fig.layout.annotations:
        if a.yref == "paper" and a.y is not None and round(a.y, 6) in tops:
            a.y = tops[round(a.y, 6)]


def restyle(fig: go.Figure, style: Style) -> go.Figure:
    """A copy of ``fig`` in the paper ``style``, for export: size, fonts (see
    :func:`apply_style`), margins scaled with the font, tick labels given the room they need
    (axis automargin), a title wrapped to the figure's width, and scatter markers scaled down
    on figures narrower than a double column."""
    out = go.Figure(fig)
    old_font = out.layout.font.size or DEFAULT_STYLE.font_px
    apply_style(out, style, sized=True)
    ratio = style.font_px / old_font
    m = out.layout.margin
    out.update_layout(margin={k: round(getattr(m, k) * ratio, 1) for k in ("l", "r", "t", "b")
                              if getattr(m, k) is not None})
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    title = out.layout.title.text
    if title:
        title_px = style.font_px * 1.15
        room = style.width_px - (out.layout.margin.l or 0) * 0.5
        wrapped = _wrap(title, max(12, int(room / (0.55 * title_px))))
        extra = wrapped.count("<br>") - title.count("<br>")
        out.update_layout(title_text=wrapped)
        if extra > 0:
            out.update_layout(margin_t=(out.layout.margin.t or 50) + extra * title_px * 1.25)
    if style.width_in < 5.0:
        _legend_below(out, style)
    _space_rows(out, style)
    shrink = min(1.0, max(0.6, style.width_in / 7.0))
    if shrink < 1.0:
        for t in out.data:
            if t.type in ("scatter", "scattergl") and t.marker is not None and \
                    isinstance(t.marker.size, (int, float)):
                t.marker.size = t.marker.size * shrink
    return out


def _hex_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


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


# --------------------------------------------------------------------------- image helpers

def to_uint8(img: np.ndarray) -> np.ndarray:
    """H×W×3 (or H×W) image as uint8; floats are taken in [0, 1]."""
    a = np.asarray(img)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an H×W×3 image, got shape {a.shape}")
    a = a[:, :, :3]
    if a.dtype != np.uint8:
        a = np.clip(np.asarray(a, dtype=np.float64) * (255.0 if a.max() <= 1.0 else 1.0), 0, 255)
        a = np.round(a).astype(np.uint8)
    return a


def png_data_uri(img: np.ndarray) -> str:
    """Encode an image as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_uri(uri: str) -> np.ndarray:
    """Inverse of :func:`png_data_uri` (used by tests and the app)."""
    from PIL import Image

    head, _, data = uri.partition(",")
    if not head.startswith("data:image/png;base64"):
        raise ValueError("expected a PNG data URI")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(to_uint8(img)).resize((width, height), Image.BILINEAR))


def add_border(img: np.ndarray, rgb: Sequence[int], width: int = 3) -> np.ndarray:
    """Pad an image with a solid border of colour ``rgb``."""
    a = to_uint8(img)
    out = np.empty((a.shape[0] + 2 * width, a.shape[1] + 2 * width, 3), np.uint8)
    out[:] = np.asarray(rgb, np.uint8)
    out[width:width + a.shape[0], width:width + a.shape[1]] = a
    return out


def grey_out(img: np.ndarray, amount: float = 0.65) -> np.ndarray:
    """Wash an image out towards light grey (for same-camera junk)."""
    a = to_uint8(img).astype(np.float64)
    g = a.mean(axis=2, keepdims=True)
    out = (1 - amount) * g + amount * 220.0
    return np.repeat(out, 3, axis=2).round().astype(np.uint8)


def _image_trace(img: np.ndarray, name: str = "") -> go.Image:
    return go.Image(source=png_data_uri(img), name=name, hoverinfo="skip")


def _hide_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False)


# --------------------------------------------------------------------------- embeddings

def identity_colours(n: int) -> list[str]:
    """``n`` distinct colours for identities, deliberately *not* the categorical palette used
    for cameras (so a by-identity panel never reads as coloured by camera): hues spaced by the
    golden angle, alternating three lightness levels."""
    import colorsys

    out = []
    for i in range(int(n)):
        h = (i * 0.381966) % 1.0
        light = (0.42, 0.62, 0.30)[i % 3]
        r, g, b = colorsys.hls_to_rgb(h, light, 0.75)
        out.append("#%02x%02x%02x" % (round(255 * r), round(255 * g), round(255 * b)))
    return out


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
    names = list(cam_names) if cam_names is not None else [f"cam {i + 1}" for i in range(m.shape[1])]
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
    names = list(cam_names) if cam_names is not None else [f"cam {i + 1}" for i in range(m0.shape[1])]
    titles = list(mats)
    if difference is not None:
        a, b = difference
        if a not in mats or b not in mats:
            raise ValueError(f"difference {difference}: both must be among {titles}")
        titles.append(f"{b} − {a}")
    n = len(titles)
    fig = make_subplots(rows=1, cols=n, subplot_titles=[_wrap(t, 34) for t in titles],
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
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[_wrap(m, 24) for m in measures],
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
                x=[_wrap(run, 14)], y=[v], name=run, legendgroup=run, showlegend=j == 0,
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
    r, g, b = _hex_rgb(colour)
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


# --------------------------------------------------------------------------- images

def rank_list_figure(query: np.ndarray, gallery: Sequence[np.ndarray], status: Sequence[str], *,
                     distances: Sequence[float] | None = None, labels: Sequence[str] | None = None,
                     query_label: str = "query", thumb: tuple[int, int] = (128, 64),
                     border: int = 4, title: str = "", style: Style | None = None,
                     ranks: Sequence[int | None] | None = None) -> go.Figure:
    """A query thumbnail and its top-k gallery: bluish-green border = same person (correct),
    vermillion (orange-red) = different person, greyed with a grey border = junk (same person
    seen by the same camera, ignored by the protocol). ``status[i]`` is one of "match", "wrong", "junk".

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
    fig.add_trace(_image_trace(add_border(resize(query, h, w), QUERY_RGB, border), "query"),
                  row=1, col=1)
    for i, (img, s) in enumerate(zip(gallery, status)):
        im = resize(img, h, w)
        if s == "junk":
            im = grey_out(im)
        fig.add_trace(_image_trace(add_border(im, colours[s], border), s), row=1, col=i + 2)
    _hide_axes(fig)
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


def part_colours(K: int) -> list[str]:
    """The colours of K parts ordered head→legs: a sequential scale (plasma, dark head to
    light legs), another family than the cameras' categorical palette."""
    from plotly.colors import sample_colorscale, unlabel_rgb

    pos = [0.0] if K <= 1 else list(np.linspace(0.0, 0.88, int(K)))
    return [rgb_hex(tuple(round(v) for v in unlabel_rgb(c)))
            for c in sample_colorscale("Plasma", pos)]


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
    rgb = np.array([_hex_rgb(colors[k % len(colors)]) for k in range(K)], np.float64)
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
            fig.add_trace(_image_trace(img, name), row=r + 1, col=b + 1)
    K = masks.shape[1]
    for k in range(K):  # legend entries for parts (invisible points)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"part {k + 1}",
                                 marker=dict(size=10, color=colors[k % len(colors)], symbol="square")))
    _hide_axes(fig)
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
        fig.add_trace(_image_trace(to_uint8(f)), row=1, col=i + 1)
    _hide_axes(fig)
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
    fig = go.Figure(_image_trace(mosaic, "grid"))
    apply_style(fig, style, sized=False)
    fig.update_xaxes(tickvals=[pad + j * (w + pad) + w / 2 for j in range(len(pids))],
                     ticktext=[str(p) for p in pids], title="identity", showgrid=False)
    fig.update_yaxes(tickvals=[pad + r * (h + pad) + h / 2 for r in range(len(cams))],
                     ticktext=[(cam_names or {}).get(c, f"cam {c + 1}") for c in cams],
                     showgrid=False)
    fig.update_layout(title=title, height=int(min(900, H * 1.2 + 120)))
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


def image_strip(images: Sequence[np.ndarray], *, height: int = 64, width: int = 32,
                pad: int = 2, borders: Sequence[Sequence[int] | None] | None = None,
                background: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """A row of thumbnails (each resized to ``height`` × ``width``, optionally framed in the
    RGB colour of ``borders[i]``) as one H×W×3 uint8 image, e.g. for an image table cell."""
    if len(images) == 0:
        raise ValueError("no images for the strip")
    b = 2 if borders is not None else 0
    cell_h, cell_w = height + 2 * b, width + 2 * b
    out = np.empty((cell_h + 2 * pad, len(images) * (cell_w + pad) + pad, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    for i, img in enumerate(images):
        t = resize(img, height, width)
        if b and borders[i] is not None:
            t = add_border(t, borders[i], b)
        x = pad + i * (cell_w + pad)
        out[pad + (cell_h - t.shape[0]) // 2:pad + (cell_h - t.shape[0]) // 2 + t.shape[0],
            x + (cell_w - t.shape[1]) // 2:x + (cell_w - t.shape[1]) // 2 + t.shape[1]] = t
    return out

__all__ = [
    "Style", "PALETTES", "COLORBLIND_SAFE", "DEFAULT_STYLE", "apply_style", "restyle",
    "embedding_scatter_pair", "loss_curves", "loss_keys", "metric_curves", "camera_pair_heatmap",
    "gap_bars", "gap_measure_axis", "camera_pair_panels", "part_colours", "STAGE_COLOURS",
    "SPLIT_COLOURS", "STAGE_NAMES", "EMBEDDING_NAMES", "stage_colour", "plural",
    "distance_histograms", "rank_list_figure", "part_masks_figure", "frames_strip",
    "thumbnail_grid", "counts_bar", "ablation_plot", "to_percent", "METRIC_KEYS", "png_data_uri", "decode_data_uri",
    "add_border", "grey_out", "label_quality_curves", "pseudo_label_embedding", "image_strip",
    "auc_floor", "identity_colours", "RANK_LIST_KEY", "rgb_hex",
]
