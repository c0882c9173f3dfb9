"""The lab's figure style: palettes, one meaning per colour, one vocabulary, and the paper
style (:class:`Style`, :func:`apply_style`, :func:`restyle`) every figure builder takes.

The builders themselves are in :mod:`reidlab.viz.embeddings`, :mod:`reidlab.viz.curves`,
:mod:`reidlab.viz.camera_gap` and :mod:`reidlab.viz.image_figures`; the image utilities in
:mod:`reidlab.viz.images`. Every builder is a pure function (arrays and dicts in, ``go.Figure``
out: nothing reads files, trains, or talks to Streamlit) and takes an optional :class:`Style`
that sets the palette (including colour-blind-safe Okabe-Ito and Tol palettes), font size in
points and size in inches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

# --------------------------------------------------------------------------- palettes & style

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
            raise ValueError(f"unknown palette {self.palette!r}; expected one of "
                             f"{sorted(PALETTES)}")
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
        base.sort(key=lambda c: np.dot(hex_rgb(c), (0.299, 0.587, 0.114)) > 200)
        dark = ["#%02X%02X%02X" % tuple(int(v * 0.6) for v in hex_rgb(c)) for c in base]
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


def wrap_text(text: str, width: int) -> str:
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
        wrapped = wrap_text(title, max(12, int(room / (0.55 * title_px))))
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


def hex_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


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


def part_colours(K: int) -> list[str]:
    """The colours of K parts ordered head→legs: a sequential scale (plasma, dark head to
    light legs), another family than the cameras' categorical palette."""
    from plotly.colors import sample_colorscale, unlabel_rgb

    pos = [0.0] if K <= 1 else list(np.linspace(0.0, 0.88, int(K)))
    return [rgb_hex(tuple(round(v) for v in unlabel_rgb(c)))
            for c in sample_colorscale("Plasma", pos)]


__all__ = [
    "Style", "PALETTES", "COLORBLIND_SAFE", "DEFAULT_STYLE", "CSS_PX_PER_INCH", "MATCH_RGB",
    "WRONG_RGB", "JUNK_RGB", "QUERY_RGB", "RANK_LIST_KEY", "SAME_RGB", "DIFFERENT_RGB",
    "STAGE_COLOURS", "SPLIT_COLOURS", "RESERVED_COLOURS", "NEUTRAL", "STAGE_NAMES", "NO_TRAINING",
    "EMBEDDING_NAMES", "RANK1", "rgb_hex", "hex_rgb", "stage_colour", "plural", "apply_style",
    "restyle", "wrap_text", "identity_colours", "part_colours",
]
