"""``python -m reidlab export`` on a real tiny trained run: every figure in every format is a
valid file of the requested size, and the CSV/LaTeX tables hold the run's final metrics."""

from __future__ import annotations

import io
import re
import shutil
import struct
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from reidlab.engine.config import flat_config  # noqa: E402
from reidlab.cli import main
from reidlab.engine.runs import Run
from reidlab.viz import export as E
from tiny_mars import write_tiny_mars
from tiny_runs import train_tiny_run

W_IN, H_IN, DPI = 3.0, 2.0, 100


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli_export")
    data = write_tiny_mars(base / "mars", size=(64, 32))
    return train_tiny_run(data, base / "runs" / "tiny_mp", "padal_mp")


def expected_figures(run: Run) -> set[str]:
    """What a trained run's store holds enough data for (checked, not assumed)."""
    assert run.has_features("initial") and run.has_features("final")
    assert run.metrics("step") and len(run.metrics("eval")) >= 2
    assert (run.path / "checkpoint.pt").is_file()
    return {"embedding_before", "embedding_after", "gap", "pair_rank1", "distances",
            "pair_separation", "loss", "metrics", "part_masks"}


@pytest.mark.skipif(not E.static_export_available(), reason="PNG/SVG/PDF need Chromium")
@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
def test_export_all_formats_sizes_and_tables(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["export", "--run", str(run_dir), "--out", str(out), "--formats",
               "png,svg,pdf,html", "--width", str(W_IN), "--height", str(H_IN),
               "--dpi", str(DPI), "--font", "8"])
    assert rc == 0
    run = Run(run_dir)
    names = expected_figures(run)
    want = {f"tiny_mp_{n}.{f}" for n in names for f in ("png", "svg", "pdf", "html")}
    want |= {"tiny_mp_results.csv", "tiny_mp_results.tex"}
    assert {p.name for p in out.iterdir()} == want
    printed = set(capsys.readouterr().out.split())
    assert printed == {str(out / w) for w in want}

    for n in (f"tiny_mp_{n}" for n in names):
        # part masks are exported taller (figure_style: three rows of people)
        h_in = 1.4 * W_IN if n.endswith("part_masks") else H_IN
        png = (out / f"{n}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", n
        assert struct.unpack(">II", png[16:24]) == (round(W_IN * DPI), round(h_in * DPI)), n

        svg = ET.fromstring((out / f"{n}.svg").read_bytes())
        assert svg.tag.endswith("svg"), n
        assert float(svg.get("width")) == pytest.approx(W_IN * 96, abs=0.01), n
        assert float(svg.get("height")) == pytest.approx(h_in * 96, abs=0.01), n

        pdf = (out / f"{n}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), n
        box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
        assert box is not None, n
        x0, y0, x1, y1 = map(float, box.groups())
        assert (x1 - x0, y1 - y0) == (pytest.approx(W_IN * 72, abs=1.0),
                                      pytest.approx(h_in * 72, abs=1.0)), n

        html = (out / f"{n}.html").read_text()
        assert html.lstrip().lower().startswith(("<html", "<!doctype html")) and \
            "Plotly.newPlot" in html, n

    final = run.final_metrics()
    cfg = flat_config(run.config["config"])
    csv = pd.read_csv(out / "tiny_mp_results.csv", index_col=0)
    assert list(csv.index) == ["tiny_mp"]
    row = csv.loc["tiny_mp"]
    assert row["method"] == "padal_mp" and row["K"] == cfg["K"] and row["lambda"] == cfg["lam"]
    for k in ("rank1", "rank5", "mAP", "mINP"):
        assert row[k] == pytest.approx(100 * final[k]), k
    tex = (out / "tiny_mp_results.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\caption{Results}" in tex
    line = next(ln for ln in tex.splitlines() if ln.startswith("tiny\\_mp"))
    cells = [c.strip() for c in line.rstrip("\\ ").split("&")]
    assert cells[1] == "padal\\_mp"
    rank1, mAP = (11, 13)  # after method, preset, backbone, size, epochs, dataset, seed, K, λ, clips
    assert cells[rank1] == f"{100 * final['rank1']:.1f}" and cells[mAP] == f"{100 * final['mAP']:.1f}"


def test_export_two_runs_html_and_errors(run_dir, tmp_path, capsys):
    other = tmp_path / "runs" / "copy_mp"
    shutil.copytree(run_dir, other)
    out = tmp_path / "out2"
    rc = main(["export", "--run", str(run_dir), "--run", str(other), "--out", str(out),
               "--formats", "html", "--embedding", "pca"])
    assert rc == 0
    # one folder, every file named after its run: nothing overwritten
    assert {p.name for p in out.iterdir()} == {
        f"{name}_{n}.html" for name in ("tiny_mp", "copy_mp")
        for n in expected_figures(Run(run_dir))} | {"results.csv", "results.tex"}
    csv = pd.read_csv(io.StringIO((out / "results.csv").read_text()), index_col=0)
    assert list(csv.index) == ["tiny_mp", "copy_mp"]
    assert csv.loc["tiny_mp", "rank1"] == csv.loc["copy_mp", "rank1"]

    assert main(["export", "--run", str(run_dir), "--out", str(out), "--formats", "gif"]) == 2
    assert "unknown ['gif']" in capsys.readouterr().err
    assert main(["export", "--run", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_export_tsne_schedule_reaches_the_embedding(run_dir, tmp_path, monkeypatch):
    """``--embedding tsne --tsne-quality fast`` embeds with that schedule (standard by default)."""
    import reidlab.analysis.embedding as emb

    seen = []
    real = emb.embed_2d

    def spy(feats, method="tsne", **kw):
        seen.append((method, kw.get("quality")))
        return real(feats, "pca", use_cache=False)  # the schedule is what is tested

    monkeypatch.setattr(emb, "embed_2d", spy)
    for extra, want in (([], "standard"), (["--tsne-quality", "fast"], "fast")):
        seen.clear()
        assert main(["export", "--run", str(run_dir), "--out", str(tmp_path / want),
                     "--formats", "html", "--embedding", "tsne", *extra]) == 0
        assert seen and all(s == ("tsne", want) for s in seen)
