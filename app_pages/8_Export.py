"""Export: paper settings; any figure as PNG/SVG/PDF/HTML; tables as CSV/LaTeX; download all."""

import functools

import streamlit as st

from reidlab import app_support as ui
from reidlab.analysis.embedding import TSNE_QUALITY
from reidlab.viz import export as E

ui.page_header("Export")
st.caption("Paper settings apply to every download in the app (size in inches, dpi, font "
            "size in points, palette; `okabe_ito`, `tol_bright` and `tol_muted` are "
            "colour-blind safe).")
style = ui.style_controls("export")
st.caption(f"PNG: {round(style.width_in * style.dpi)}×{round(style.height_in * style.dpi)} px; "
           f"PDF/SVG: {style.width_in}×{style.height_in} in")
if not E.static_export_available():
    st.warning("Chromium not found: only HTML export is available (install `chromium` or set "
               "REIDLAB_CHROMIUM).")

with ui.guard():
    ui.ensure_default_dataset()
    ui.ensure_baseline_run()
c = st.columns([3, 2])
with c[0]:
    run = ui.run_picker("standard figures of run", key="ex_run")
embed = c[1].radio("embedding", ["pca", "tsne", "umap"], horizontal=True, key="ex_embed")
quality = "standard"
if embed == "tsne":
    quality = c[1].radio("t-SNE schedule", list(TSNE_QUALITY),
                         index=list(TSNE_QUALITY).index(quality),
                         horizontal=True, key="ex_quality",
                         help="as on the Domain gap page; standard (250 + 250 iterations) is "
                         "the default of exported figures")

figures = {}
with ui.guard("figures"):
    if run is not None:
        from reidlab.viz.cli_export import standard_figures

        @st.cache_resource(show_spinner="building figures…", max_entries=8)
        def _std(path: str, mtime: float, method: str, quality: str, style):
            from reidlab.engine.runs import Run

            return standard_figures(Run(path), style, method,
                                    cache_dir=ui.runs_root() / "_cache" / "embed",
                                    embed_quality=quality)

        prefix = "imagenet_init" if run.name.startswith("_imagenet") else run.name
        figures.update({f"{prefix}_{k}": v for k, v in
                        _std(str(run.path), run.mtime(), embed, quality, style).items()})
figures.update({f"page_{k}": v for k, v in st.session_state.get("figures", {}).items()})

if figures:
    names = list(figures)
    # the selection follows the run: a new run starts with its own first figures
    run_key = None if run is None else str(run.path)
    if st.session_state.get("ex_figs_of") != run_key or "ex_figs" not in st.session_state:
        st.session_state["ex_figs_of"] = run_key
        st.session_state["ex_figs"] = names[: min(6, len(names))]
    else:  # figures that are no longer offered leave the selection
        st.session_state["ex_figs"] = [n for n in st.session_state["ex_figs"] if n in names]
    chosen = st.multiselect("figures", names, key="ex_figs")
    fmts = st.multiselect("formats", list(E.FIGURE_FORMATS),
                          list(E.FIGURE_FORMATS if E.static_export_available() else ["html"]),
                          key="ex_formats")
    preview = st.selectbox("preview", chosen or names, key="ex_preview")
    if preview:
        from reidlab.viz.style import restyle

        from reidlab.viz.cli_export import figure_style

        fig = restyle(figures[preview], figure_style(preview, style))
        st.plotly_chart(fig, theme=None, key="ex_preview_chart", width="content")
        cols = st.columns(len(fmts) or 1)
        for col, fmt in zip(cols, fmts):
            col.download_button(fmt.upper(), help=f"{preview}.{fmt}",
                                data=functools.partial(E.figure_bytes, figures[preview], fmt,
                                                       figure_style(preview, style)),
                                file_name=f"{preview}.{fmt}", mime=E.MIME[fmt],
                                on_click="ignore", key=f"ex_dl_{fmt}")
else:
    chosen, fmts = [], []
    st.info("No figures yet.")

tables = dict(st.session_state.get("tables", {}))
st.subheader("Tables")
with ui.guard("tables"):
    from reidlab.viz.cli_export import standard_tables

    runs = ui.list_runs()
    if runs:
        labels = {ui.run_label(r, details=True): r for r in runs}
        picked = st.multiselect(
            "runs in the results table", list(labels), list(labels), key="ex_table_runs",
            help="one row per run: its method, preset, backbone, input size, epochs, dataset "
                 "and seed, and its final rank-1, rank-5, mAP and mINP (%)")
        if picked:
            tables["results"] = standard_tables([labels[p] for p in picked])["results"]
if not tables:
    st.caption("No table yet: finished runs give the results table.")
else:
    tname = st.selectbox("table", list(tables), key="ex_table")
    shown = tables[tname]
    st.dataframe(shown, key="ex_table_view", column_config={  # metrics in %, one decimal
        c: st.column_config.NumberColumn(format="%.1f") for c in shown.columns
        if shown[c].dtype.kind == "f" and c != "lambda"})
    c = st.columns(2)
    c[0].download_button("CSV", E.table_bytes(tables[tname], "csv"), f"{tname}.csv",
                         mime=E.MIME["csv"], on_click="ignore", key="ex_csv")
    c[1].download_button("LaTeX", E.table_bytes(tables[tname], "tex", caption=tname),
                         f"{tname}.tex", mime=E.MIME["tex"], on_click="ignore", key="ex_tex")
    st.code(E.table_bytes(tables[tname], "tex", caption=tname).decode(), language="latex")


def bundle(figs: dict, tables: dict, fmts: list, style) -> bytes:
    """The zip of every figure in every format (each in its export style: part masks taller)
    and every table as CSV and LaTeX."""
    from reidlab.viz.cli_export import figure_style

    files = {f"{n}.{fmt}": E.figure_bytes(fig, fmt, figure_style(n, style))
             for n, fig in figs.items() for fmt in fmts}
    files.update(E.export_bundle({}, tables))
    return E.zip_bytes(files)


st.subheader("Download all")
sel = {k: figures[k] for k in chosen}
st.download_button(f"Download all ({len(sel)} figures × {len(fmts)} formats, {len(tables)} "
                   "tables) as zip", data=functools.partial(bundle, sel, tables, fmts, style),
                   file_name="reidlab_export.zip", mime=E.MIME["zip"], on_click="ignore",
                   type="primary", key="ex_zip")
