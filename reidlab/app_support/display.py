"""Figures and tables on a page: the paper style chosen on the Export page (its controls),
charts with their PNG/SVG/PDF/HTML downloads, tables with a CSV download; both remembered for
the Export page."""

from __future__ import annotations

import functools

import streamlit as st

from reidlab.viz.style import PALETTES, Style


# journal column widths (inches): IEEE / ACM; Elsevier and Springer are within 0.2 in
COLUMN_WIDTHS = {"single column": 3.5, "double column": 7.16}


def paper_style() -> Style:
    """The export style chosen on the Export page (defaults otherwise)."""
    return st.session_state.get("paper_style", Style())


CUSTOM_WIDTH = "custom"


def _column_of(width: float) -> str:
    """The column preset whose width is ``width`` (else "custom")."""
    return next((n for n, w in COLUMN_WIDTHS.items() if abs(w - width) < 1e-6), CUSTOM_WIDTH)


def _apply_column(key: str) -> None:
    preset = st.session_state.get(f"{key}_col")
    if preset in COLUMN_WIDTHS:
        st.session_state[f"{key}_w"] = COLUMN_WIDTHS[preset]
        aspect = 0.75 if preset == "single column" else 0.5
        st.session_state[f"{key}_h"] = round(COLUMN_WIDTHS[preset] * aspect, 2)
    elif preset is None:  # a click on the selected option: keep it selected
        st.session_state[f"{key}_col"] = _column_of(st.session_state[f"{key}_w"])


def _width_typed(key: str) -> None:
    st.session_state[f"{key}_col"] = _column_of(st.session_state[f"{key}_w"])


def style_controls(key: str = "style") -> Style:
    """Widgets for the paper style; stores the result in session state. The column-width
    control always shows which preset the width is (``custom`` for any other width)."""
    cur = paper_style()
    # the size widgets take their values from session state (the column presets set them)
    st.session_state.setdefault(f"{key}_w", float(cur.width_in))
    st.session_state.setdefault(f"{key}_h", float(cur.height_in))
    st.session_state.setdefault(f"{key}_col", _column_of(st.session_state[f"{key}_w"]))
    st.segmented_control(
        "column width", [*COLUMN_WIDTHS, CUSTOM_WIDTH], key=f"{key}_col",
        format_func=lambda n: f"{n} ({COLUMN_WIDTHS[n]} in)" if n in COLUMN_WIDTHS else
        "custom (width below)", on_change=_apply_column, args=(key,),
        help="sets the width (in) below to a journal's single- or double-column width")
    c1, c2, c3, c4, c5 = st.columns(5)
    width = c1.number_input("width (in)", 1.0, 20.0, step=0.1, key=f"{key}_w",
                            on_change=_width_typed, args=(key,))
    height = c2.number_input("height (in)", 1.0, 20.0, step=0.1, key=f"{key}_h")
    dpi = c3.number_input("dpi", 50, 1200, int(cur.dpi), 50, key=f"{key}_dpi")
    font = c4.number_input("font (pt)", 5.0, 24.0, float(cur.font_pt), 0.5, key=f"{key}_font")
    names = list(PALETTES)
    palette = c5.selectbox("palette", names, index=names.index(cur.palette), key=f"{key}_pal",
                           help="okabe_ito, tol_bright and tol_muted are colour-blind safe")
    style = Style(palette=palette, font_pt=font, width_in=width, height_in=height, dpi=int(dpi))
    st.session_state["paper_style"] = style
    return style


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("_") or "figure"


def image_button(name: str, style: Style) -> dict:
    """plotly's config for a chart's "download plot as PNG" button: the paper style's size in
    pixels (``width_in`` × ``height_in`` at ``dpi``) and the file name ``name``."""
    return {"toImageButtonOptions": {"format": "png", "filename": name,
                                     "width": style.width_px, "height": style.height_px,
                                     "scale": style.scale}}


def show_figure(fig, name: str, *, key: str | None = None, downloads: bool = True) -> None:
    """Show a plotly figure; remember it for the Export page; offer PNG/SVG/PDF/HTML downloads
    (generated only when clicked, in the paper style)."""
    from reidlab.viz.export import MIME, figure_bytes, static_export_available

    name = _safe_name(name)
    style = paper_style()
    # the chart's own camera button saves a PNG in the paper size, named like the downloads
    # below (underscores kept)
    st.plotly_chart(fig, theme=None, key=key or f"chart_{name}", config=image_button(
        name, style))
    st.session_state.setdefault("figures", {})[name] = fig
    if not downloads:
        return
    fmts = ["png", "svg", "pdf", "html"] if static_export_available() else ["html"]
    cols = st.columns([1] * len(fmts) + [12 - len(fmts)], gap="small")
    for c, fmt in zip(cols, fmts):
        c.download_button(fmt.upper(), data=functools.partial(figure_bytes, fig, fmt, style),
                          file_name=f"{name}.{fmt}", mime=MIME[fmt], on_click="ignore",
                          key=f"dl_{key or name}_{fmt}")


def show_table(df, name: str, *, key: str, column_config: dict | None = None,
               csv_columns=None, **kwargs) -> None:
    """Show a table, remember it for the Export page (CSV/LaTeX) and offer it as CSV here;
    ``csv_columns`` limits both to those columns (e.g. leave out an image column)."""
    from reidlab.viz.export import table_bytes

    st.dataframe(df, key=key, column_config=column_config, **kwargs)
    plain = df if csv_columns is None else df[list(csv_columns)]
    name = _safe_name(name)
    st.session_state.setdefault("tables", {})[name] = plain
    st.download_button("CSV", data=functools.partial(table_bytes, plain, "csv"),
                       file_name=f"{name}.csv", mime="text/csv", on_click="ignore",
                       key=f"dl_{key}_csv")
