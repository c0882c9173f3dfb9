"""Export figures (PNG/SVG/PDF via kaleido 1.x + Chromium, HTML without a browser) and tables
(CSV, LaTeX booktabs), and bundle many files into one "download all" zip.

Static export needs a Chromium binary: ``$REIDLAB_CHROMIUM``, ``/usr/bin/chromium`` or one on
``PATH``. One kaleido server is started per process on first use (about 3 s) and reused.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import plotly.graph_objects as go

from reidlab.atomic import write_bytes_atomic
from reidlab.errors import ReidlabError
from reidlab.viz.style import DEFAULT_STYLE, Style, restyle

FIGURE_FORMATS = ("png", "svg", "pdf", "html")
STATIC_FORMATS = ("png", "svg", "pdf")
TABLE_FORMATS = ("csv", "tex")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf",
        "html": "text/html", "csv": "text/csv", "tex": "text/x-tex", "zip": "application/zip"}


class ExportError(ReidlabError):
    """A figure or table could not be exported (names the format and the reason)."""


_lock = threading.Lock()
_server_started = False


def chromium_path() -> str | None:
    """The Chromium used for static export, or None when there is none."""
    for cand in (os.environ.get("REIDLAB_CHROMIUM"), "/usr/bin/chromium",
                 shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def static_export_available() -> bool:
    return chromium_path() is not None


def _ensure_server() -> None:
    global _server_started
    import kaleido

    if _server_started:
        return
    path = chromium_path()
    if path is None:
        raise ExportError("PNG/SVG/PDF export needs Chromium: install it (Debian: apt-get install "
                          "chromium) or set REIDLAB_CHROMIUM to its path; HTML export works "
                          "without it")
    kaleido.start_sync_server(path=path, mathjax=False, silence_warnings=True)
    _server_started = True


def figure_bytes(fig: go.Figure, fmt: str, style: Style | None = None) -> bytes:
    """The bytes of ``fig`` in ``fmt`` (png, svg, pdf, html) with the paper ``style`` applied:
    PNG is ``width_in*dpi`` × ``height_in*dpi`` pixels, PDF/SVG are ``width_in`` × ``height_in``
    inches."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ExportError(f"unknown figure format {fmt!r}; expected one of {FIGURE_FORMATS}")
    style = style or DEFAULT_STYLE
    fig = restyle(fig, style)
    if fmt == "html":
        return fig.to_html(include_plotlyjs=True, full_html=True,
                           config={"toImageButtonOptions": {"format": "svg"}}).encode("utf-8")
    import kaleido

    opts = dict(format=fmt, width=style.width_px, height=style.height_px,
                scale=style.scale if fmt == "png" else 1)
    with _lock:
        _ensure_server()
        try:
            return kaleido.calc_fig_sync(fig, opts=opts)
        except Exception as e:  # kaleido/choreographer raise many kinds
            raise ExportError(f"{fmt} export failed: {type(e).__name__}: {e}") from e


def write_figure(fig: go.Figure, path: str | Path, fmt: str | None = None,
                 style: Style | None = None) -> Path:
    """Write ``fig`` to ``path`` (format from ``fmt`` or the suffix), atomically."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    data = figure_bytes(fig, fmt, style)
    return _write_atomic(path, data)


def table_bytes(df, fmt: str, *, caption: str | None = None, label: str | None = None,
                float_format: str = "%.1f") -> bytes:
    """A pandas DataFrame as CSV (numbers as numbers, an empty cell where there is no value)
    or as a LaTeX ``table`` with booktabs rules (``—`` for an empty cell)."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "csv":
        return df.to_csv(index=True).encode("utf-8")
    if fmt in ("tex", "latex"):
        # a named index becomes an ordinary first column (one header row, not two)
        named = any(n is not None for n in df.index.names)
        # an empty cell (a setting the run does not have) prints as a dash
        tex = (df.reset_index() if named else df).to_latex(
            index=not named, float_format=lambda v: float_format % v, caption=caption,
            label=label, escape=True, na_rep="—")
        # pandas already emits \toprule/\midrule/\bottomrule (booktabs)
        return tex.encode("utf-8")
    raise ExportError(f"unknown table format {fmt!r}; expected one of {TABLE_FORMATS}")


def zip_bytes(files: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """A zip archive (deflated) of ``{name: bytes}``; names may contain folders."""
    items = files.items() if isinstance(files, Mapping) else files
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            z.writestr(name, data)
    return buf.getvalue()


def export_bundle(figures: Mapping[str, go.Figure], tables: Mapping[str, object] | None = None,
                  *, formats: Iterable[str] = FIGURE_FORMATS, style: Style | None = None,
                  table_formats: Iterable[str] = TABLE_FORMATS) -> dict[str, bytes]:
    """Every figure in every format and every table as CSV/LaTeX: ``{filename: bytes}``."""
    out: dict[str, bytes] = {}
    for name, fig in figures.items():
        for fmt in formats:
            out[f"{name}.{fmt}"] = figure_bytes(fig, fmt, style)
    for name, df in (tables or {}).items():
        for fmt in table_formats:
            out[f"{name}.{fmt}"] = table_bytes(df, fmt, caption=name.replace("_", " "))
    return out


def bundle_zip(figures: Mapping[str, go.Figure], tables: Mapping[str, object] | None = None,
               formats: Iterable[str] = FIGURE_FORMATS, style: Style | None = None) -> bytes:
    """The "download all" zip: :func:`export_bundle` packed by :func:`zip_bytes`."""
    return zip_bytes(export_bundle(figures, tables, formats=formats, style=style))


_write_atomic = write_bytes_atomic


__all__ = ["ExportError", "FIGURE_FORMATS", "STATIC_FORMATS", "TABLE_FORMATS", "MIME",
           "chromium_path", "static_export_available", "figure_bytes", "write_figure",
           "table_bytes", "zip_bytes", "export_bundle", "bundle_zip"]
