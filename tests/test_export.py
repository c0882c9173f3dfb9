"""Exported files are valid files of the requested size (PNG/SVG/PDF need Chromium)."""

import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pandas as pd
import pytest

from reidlab.viz import export as E
from reidlab.viz.curves import loss_curves
from reidlab.viz.image_figures import rank_list_figure
from reidlab.viz.style import Style

needs_chromium = pytest.mark.skipif(
    not E.static_export_available(),
    reason="PNG/SVG/PDF export needs Chromium at /usr/bin/chromium (or $REIDLAB_CHROMIUM)")

STYLE = Style(width_in=3.3, height_in=2.1, dpi=300, font_pt=8, palette="tol_bright")


@pytest.fixture(scope="module")
def fig():
    recs = [{"step": i, "loss": 1.0 / (i + 1)} for i in range(20)]
    return loss_curves(recs)


@needs_chromium
def test_png_size_is_inches_times_dpi(fig):
    data = E.figure_bytes(fig, "png", STYLE)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (round(3.3 * 300), round(2.1 * 300))
    other = E.figure_bytes(fig, "png", Style(width_in=2, height_in=1, dpi=100))
    assert struct.unpack(">II", other[16:24]) == (200, 100)


@needs_chromium
def test_svg_parses_with_size(fig):
    data = E.figure_bytes(fig, "svg", STYLE)
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert float(root.get("width")) == pytest.approx(3.3 * 96, abs=0.01)
    assert float(root.get("height")) == pytest.approx(2.1 * 96, abs=0.01)


@needs_chromium
def test_pdf_page_size_in_points(fig, tmp_path):
    path = E.write_figure(fig, tmp_path / "f.pdf", style=STYLE)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    x0, y0, x1, y1 = map(float, box.groups())
    assert x1 - x0 == pytest.approx(3.3 * 72, abs=1.0)
    assert y1 - y0 == pytest.approx(2.1 * 72, abs=1.0)


@needs_chromium
def test_png_of_image_figure(tmp_path):
    img = np.zeros((32, 16, 3), np.uint8)
    fig = rank_list_figure(img, [img, img], ["match", "wrong"], thumb=(32, 16))
    data = E.figure_bytes(fig, "png", Style(width_in=4, height_in=2, dpi=72))
    assert struct.unpack(">II", data[16:24]) == (288, 144)


def test_html_needs_no_browser(fig):
    html = E.figure_bytes(fig, "html", STYLE).decode()
    assert html.lstrip().lower().startswith(("<html", "<!doctype html"))
    assert "plotly" in html.lower() and "Plotly.newPlot" in html
    assert '"width":316.8' in html.replace(" ", "")


def test_tables_csv_and_latex():
    df = pd.DataFrame({"rank1": [50.25, 61.0], "mAP": [30.0, 41.5]},
                      index=pd.Index(["padal_id", "padal_mp"], name="method"))
    csv = E.table_bytes(df, "csv").decode()
    back = pd.read_csv(io.StringIO(csv), index_col=0)
    pd.testing.assert_frame_equal(back, df)
    tex = E.table_bytes(df, "tex", caption="Results").decode()
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert rule in tex
    assert "padal\\_mp" in tex and "50.2" in tex and "\\caption{Results}" in tex
    with pytest.raises(E.ExportError):
        E.table_bytes(df, "xls")


def test_zip_and_bundle(fig):
    df = pd.DataFrame({"a": [1.0]})
    files = E.export_bundle({"loss": fig}, {"table_1": df}, formats=("html",))
    assert sorted(files) == ["loss.html", "table_1.csv", "table_1.tex"]
    z = zipfile.ZipFile(io.BytesIO(E.zip_bytes(files)))
    assert sorted(z.namelist()) == sorted(files)
    assert z.read("table_1.csv") == files["table_1.csv"]
    with pytest.raises(E.ExportError, match="unknown figure format"):
        E.figure_bytes(fig, "gif")


def test_latex_table_has_one_header_row_for_a_named_index():
    import pandas as pd

    from reidlab.viz.export import table_bytes

    df = pd.DataFrame({"rank1": [29.5, 29.0], "mAP": [21.8, 21.5]},
                      index=pd.Index(["padal_id", "padal_m"], name="run"))
    tex = table_bytes(df, "tex").decode()
    head = tex.split("\\toprule")[1].split("\\midrule")[0].strip().splitlines()
    assert head == ["run & rank1 & mAP \\\\"]
    assert "padal\\_id & 29.5 & 21.8 \\\\" in tex
