"""``python -m reidlab export --run runs/NAME --out DIR``: a run's standard figures and tables.

:func:`standard_figures` and :func:`standard_tables` are also what the app's Export page offers.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from reidlab.analysis.embedding import TSNE_QUALITY
from reidlab.viz import figures as F
from reidlab.viz.export import FIGURE_FORMATS, ExportError, table_bytes, write_figure


def default_tracklets(n_items: int, n: int = 6) -> list[int]:
    """``n`` evenly spaced indices of ``n_items`` tracklets (what the Part masks page starts
    with)."""
    return list(range(0, n_items, max(1, n_items // n)))[:n]


def part_masks_of_run(run, K: int | None = None, items: list[int] | None = None,
                      split: str = "query", style: F.Style | None = None):
    """The part-masks figure of a run's network (trained weights from checkpoint.pt, see
    :func:`reidlab.engine.restore.load_run_model`): the middle frame of each chosen
    ``split`` tracklet, its K-means parts (head→legs) and the strict stripes."""
    from reidlab.data.images import read_frame
    from reidlab.engine.restore import load_run_model, run_part_masks

    model = load_run_model(run)
    K = int(K or run.train_config().K)
    tracklets = getattr(run.dataset(), split)
    items = default_tracklets(len(tracklets)) if items is None else list(items)
    chosen = [tracklets[i] for i in items]
    frames = np.stack([read_frame(str(t.frames[len(t.frames) // 2]), model.size)
                       for t in chosen])
    km, strict = run_part_masks(model, frames, K)
    labels = [f"id {t.pid}<br>cam {t.camid + 1}" for t in chosen]
    label = run.config.get("label") or run.name
    return F.part_masks_figure(list(frames), km, strict, labels=labels, style=style,
                               title=f"Part masks (K={K}), ordered head→legs — {label}")


def figure_style(name: str, style: F.Style) -> F.Style:
    """The style a figure is exported in: ``style``, except that the part masks (three rows of
    standing people; the rows' height sets their size) are at least as tall as wide, and 1.4×
    as tall under 5 in (its titles and legend take a fixed height). A person is then 158 px
    wide at 7 in and 200 dpi, not 58 px at 7 × 4 in; 81 px at 3.5 in, not 5 px at 3.5 × 2.62."""
    import dataclasses

    if name.endswith("part_masks"):
        tall = style.width_in * (1.4 if style.width_in < 5.0 else 1.0)
        return dataclasses.replace(style, height_in=round(max(style.height_in, tall), 2))
    return style


def standard_figures(run, style: F.Style | None = None, embed_method: str = "pca",
                     cache_dir: str | Path | None = None, part_masks: bool = True,
                     embed_quality: str = "standard") -> dict:
    """``{name: go.Figure}``: embeddings before/after (once for a run that trained nothing),
    gap bars, camera-pair rank-1, distance histograms, their separation per camera pair, loss
    and metric curves, and the trained network's part masks (each only when the run has the
    data: part masks need ``checkpoint.pt``)."""
    from reidlab.analysis.domain_gap import distance_distributions, pair_separation, pooled
    from reidlab.analysis.embedding import embed_2d
    from reidlab.analysis.gap_report import gap_numbers, pair_rank1
    from reidlab.engine.baseline import trained_nothing
    from reidlab.viz.gap_report import gap_figure, pair_rank1_figure, stage_name

    style = style or F.DEFAULT_STYLE
    label = run.config.get("label") or run.name
    trained = not trained_nothing(run)
    figs: dict = {}
    gap: dict = {}
    for which in ("initial", "final"):
        if not run.has_features(which) or (which == "initial" and not trained):
            continue  # a run that trained nothing: before = after, one figure
        fs = run.features(which)
        feats, pids, camids = pooled(fs)
        xy = embed_2d(feats, method=embed_method, cache_dir=cache_dir, quality=embed_quality)
        # named as titled: before / after (the run store's initial / final features)
        figs[f"embedding_{F.STAGE_NAMES[which]}"] = F.embedding_scatter_pair(
            xy, camids, pids, method=embed_method.upper() if embed_method == "pca" else
            {"tsne": "t-SNE", "umap": "UMAP"}[embed_method],
            title=f"{label} ({'before' if which == 'initial' else 'after'})" if trained else
            f"{label} (no training)",
            style=style)
        # the Domain gap page's recipe (reidlab.analysis.gap_report): the same numbers, drawn
        # by the same figure (reidlab.viz.gap_report)
        gap[stage_name(not trained, which)] = gap_numbers(fs)
    if gap:
        figs["gap"] = gap_figure(gap, title=f"Camera-domain gap — {label}", style=style)
    if run.has_features("final"):
        fs = run.features("final")
        figs["pair_rank1"] = pair_rank1_figure(
            pair_rank1(run, "final"), style=style,
            title=f"rank-1 (%) per camera pair — {label} ({stage_name(not trained, 'final')})")
        # sampled pairs, in blocks of query rows (never the whole Nq×Ng matrix)
        dd = distance_distributions((fs.q_feat, fs.g_feat), fs.q_pids, fs.g_pids, fs.q_camids,
                                    fs.g_camids, max_pairs=50_000)
        figs["distances"] = F.distance_histograms(
            {"all pairs": {"same person": dd["same"], "different person": dd["diff"]}},
            title=f"Distances — {label}", style=style)
        sep = pair_separation(dd["by_pair"])
        figs["pair_separation"] = F.camera_pair_heatmap(
            100.0 * sep["auc"], metric="AUC (%)", zmin=F.auc_floor(100 * sep["auc"]), zmax=100,
            cam_names=[f"cam {c + 1}" for c in sep["cameras"]],
            title=f"Same vs different separation per camera pair — {label}", style=style)
    steps = run.metrics("step") or run.metrics("epoch")
    if steps:
        figs["loss"] = F.loss_curves([{**r, **{f"loss/{k}": v for k, v in
                                               (r.get("terms") or {}).items()}} for r in steps],
                                     style=style)
    evals = run.metrics("eval")
    if len(evals) > 1 and trained:  # a run that trained nothing has no curve to show
        figs["metrics"] = F.metric_curves(F.to_percent(evals), style=style)
    if part_masks and run.has_checkpoint():
        figs["part_masks"] = part_masks_of_run(run, style=style)
    return figs


NO_SETTING = "—"


def setting_text(v) -> str:
    """A run setting as table text: ``—`` for none, numbers as written (λ 0.05, not 0.1)."""
    if v is None or (isinstance(v, float) and v != v):
        return NO_SETTING
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


RESULT_COLUMNS = ("method", "preset", "backbone", "size", "epochs", "dataset", "seed", "K",
                  "lambda", "clips", "rank1", "rank5", "mAP", "mINP")


def standard_tables(runs) -> dict:
    """``{"results": DataFrame}`` with the final metrics of ``runs``, one row per run, and what
    tells runs apart: preset, backbone, input size, epochs, dataset and seed. Numeric columns
    hold numbers; a setting a run does not have is empty (NaN; ``—`` in LaTeX): the ImageNet
    init trained nothing, so it has no K, λ, clips, epochs or seed, and a method has no K
    without part masks and no λ without camera alignment."""
    import pandas as pd

    from reidlab.engine.baseline import is_baseline, trained_nothing
    from reidlab.engine.config import flat_config
    from reidlab.methods import METHODS

    rows = []
    for r in runs:
        cfg = flat_config(r.config.get("config", {}))
        m = F.to_percent([r.final_metrics() or {}])[0]
        trained = not trained_nothing(r)
        cls = METHODS.get(cfg.get("method"))
        t = cls.traits() if cls is not None else {}
        used = {"K": t.get("uses_parts", True), "lam": t.get("uses_lam", True)}
        d = r.details()
        label = r.config.get("label") or r.name
        if is_baseline(r):  # one per dataset: named by it
            label = f"{label} ({d.get('dataset')})"
        rows.append({"run": label, "method": cfg.get("method"),
                     "preset": d.get("preset"), "backbone": d.get("backbone"),
                     "size": d.get("size"),
                     "epochs": d.get("epochs") if trained else None,
                     "dataset": d.get("dataset"),
                     "seed": d.get("seed") if trained else None,
                     **{name: (cfg.get(key) if trained and used.get(key, True) else None)
                        for name, key in (("K", "K"), ("lambda", "lam"),
                                          ("clips", "clips_per_tracklet"))},
                     "rank1": m.get("rank1"),
                     "rank5": m.get("rank5"), "mAP": m.get("mAP"), "mINP": m.get("mINP")})
    df = pd.DataFrame(rows, columns=["run", *RESULT_COLUMNS]).set_index("run")
    for c in ("epochs", "seed", "K", "clips"):  # whole numbers, empty where there is none
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("lambda", "rank1", "rank5", "mAP", "mINP"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return {"results": df}


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, action="append",
                   help="run folder (repeat for a results table over several runs)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--formats", default="png,svg,pdf,html",
                   help=f"comma-separated subset of {','.join(FIGURE_FORMATS)}")
    p.add_argument("--embedding", default="pca", choices=["pca", "tsne", "umap"])
    p.add_argument("--tsne-quality", default="standard", choices=list(TSNE_QUALITY),
                   help="t-SNE schedule (reidlab.analysis.embedding.TSNE_QUALITY)")
    p.add_argument("--width", type=float, default=7.0, help="inches")
    p.add_argument("--height", type=float, default=4.0, help="inches")
    p.add_argument("--dpi", type=int, default=300)
    p.add_argument("--font", type=float, default=9.0, help="font size in points")
    p.add_argument("--palette", default="okabe_ito", choices=sorted(F.PALETTES))


def run(args: argparse.Namespace) -> int:
    from reidlab.engine.runs import Run, confine

    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    bad = sorted(set(formats) - set(FIGURE_FORMATS))
    if bad:
        raise ExportError(f"--formats: unknown {bad}; expected a subset of {FIGURE_FORMATS}")
    style = F.Style(palette=args.palette, font_pt=args.font, width_in=args.width,
                    height_in=args.height, dpi=args.dpi)
    runs = [Run(confine(p, args.runs)) for p in args.run]
    out = Path(args.out)
    written = []
    names = [export_name(r, args.runs) for r in runs]
    if len(set(names)) < len(names):
        raise ExportError(f"--run: the same run given twice ({', '.join(names)})")
    for r, prefix in zip(runs, names):
        for name, fig in standard_figures(r, style, args.embedding,
                                          embed_quality=args.tsne_quality).items():
            for fmt in formats:
                written.append(write_figure(fig, out / f"{prefix}_{name}.{fmt}", fmt,
                                            figure_style(name, style)))
    # one run: its own results file; several: one table of all of them
    table_prefix = f"{names[0]}_" if len(runs) == 1 else ""
    for name, df in standard_tables(runs).items():
        for fmt in ("csv", "tex"):
            p = out / f"{table_prefix}{name}.{fmt}"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(table_bytes(df, fmt, caption="Results"))
            written.append(p)
    for p in written:
        print(p)
    return 0


def export_name(run, runs_root=None) -> str:
    """The prefix of a run's exported files: its name, with its sweep folder for a run one
    level down (``sweepK_padal_mp_K3``), so that runs exported into one folder keep all their
    files."""
    from reidlab.engine.runs import runs_root as _root

    root = Path(os.path.abspath(_root(runs_root)))
    parent = Path(os.path.abspath(run.path)).parent
    return f"{parent.name}_{run.name}" if parent.parent == root else run.name
