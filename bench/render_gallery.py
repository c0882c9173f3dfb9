"""Render every figure builder as a paper figure, to look at: single and double column.

    python bench/render_gallery.py [--runs runs] [--data data/synthcams] [--out /tmp/reidlab_gallery]

Each builder of ``reidlab/viz/figures.py`` (and each standard figure of the export,
``reidlab/viz/cli_export.py``) is fed real run stores where the runs folder has them (the
ImageNet init baseline, a trained run, a clustering run with label updates) and synthetic
data otherwise (a 15-camera heat map, as MSMT17 has), then exported by
``reidlab.viz.export.write_figure`` at a journal's single-column (3.5 in) and double-column
(7.16 in) widths, in the paper style (8 pt font, Okabe-Ito palette, 300 dpi): the files a
paper would include. ``index.md`` lists them with their pixel sizes. Nothing here asserts
legibility: open the PNGs and look at them at 100 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

# (name, width in, height in): a journal's single and double column (IEEE / ACM)
SIZES = {"single": 3.5, "double": 7.16}


def find_runs(root: Path):
    from reidlab.engine.baseline import is_baseline
    from reidlab.engine.runs import list_runs

    runs = [r for r in list_runs(root) if r.status().get("state") == "finished"
            and r.has_features("final")]
    base = next((r for r in runs if is_baseline(r)), None)
    trained = [r for r in runs if not is_baseline(r)]
    labelled = next((r for r in trained if r.metrics("labels")), None)
    return base, trained, labelled


def build(args) -> dict:
    """``{name: (figure, height factor)}``; the height of a figure at width w is its factor × w
    (capped), so a heat map stays square and a strip of thumbnails stays low."""
    from reidlab.analysis.domain_gap import (distance_distributions, pair_separation, pooled,
                                             separation_auc)
    from reidlab.analysis.embedding import embed_2d
    from reidlab.analysis.ranklists import rank_list, worst_queries
    from reidlab.data import load_dataset
    from reidlab.data.images import read_frame
    from reidlab.eval.ranking import compute_distmat, evaluate_by_camera_pair
    from reidlab.viz import figures as F
    from reidlab.viz.cli_export import standard_figures

    style = F.Style(font_pt=8)
    base, trained, labelled = find_runs(Path(args.runs))
    if base is None and not trained:
        raise SystemExit(f"{args.runs}: no finished run with features; run `make data` first")
    main = trained[0] if trained else base
    cache = Path(args.runs) / "_cache" / "embed"
    figs: dict = {}

    # the export's standard figures of the baseline and of a trained run
    for r in [x for x in (base, main) if x is not None]:
        tag = "imagenet" if r is base else r.name
        for k, f in standard_figures(r, style, "pca", cache_dir=cache, part_masks=False).items():
            ratio = {"pair_rank1": 0.8, "pair_separation": 0.8, "embedding_before": 0.6,
                     "embedding_after": 0.6}.get(k, 0.68)
            figs[f"std_{tag}_{k}"] = (f, ratio)

    data = load_dataset("mars", args.data)
    # Data page: counts, camera × identity grid, one tracklet
    figs["counts_bar"] = (F.counts_bar(data.summary(), style=style), 0.6)
    pids = sorted({t.pid for t in data.train})[:12]
    cams = sorted({t.camid for t in data.train})
    images = {}
    for t in data.train:
        if t.pid in pids and (t.camid, t.pid) not in images:
            images[(t.camid, t.pid)] = read_frame(str(t.frames[len(t.frames) // 2]), (64, 32))
    figs["thumbnail_grid"] = (F.thumbnail_grid(images, cams, pids, title="train: camera × identity",
                                               style=style), 0.75)
    t0 = data.train[0]
    figs["frames_strip"] = (F.frames_strip([read_frame(str(f), (128, 64)) for f in t0.frames[:8]],
                                           labels=[f"frame {i + 1}" for i in range(min(8, len(t0.frames)))],
                                           title=f"tracklet pid {t0.pid} cam {t0.camid + 1}",
                                           style=style), 0.45)

    fs = main.features("final")
    d = compute_distmat(fs.q_feat, fs.g_feat)
    # Distances page: overall, one pair vs all (two runs overlaid), separation heat map
    dd = distance_distributions(d, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids,
                                max_pairs=50_000)
    sep = pair_separation(dd["by_pair"])
    idx = {c: i for i, c in enumerate(sep["cameras"])}
    pairs = sorted((ab for ab in dd["by_pair"] if np.isfinite(sep["auc"][idx[ab[0]], idx[ab[1]]])),
                   key=lambda ab: sep["auc"][idx[ab[0]], idx[ab[1]]])
    a, b = pairs[0]
    groups = {f"cam {a + 1}→{b + 1}": {}, "all pairs": {}}
    for r in [x for x in (main, base) if x is not None]:
        f2 = r.features("final")
        d2 = distance_distributions((f2.q_feat, f2.g_feat), f2.q_pids, f2.g_pids, f2.q_camids,
                                    f2.g_camids, max_pairs=50_000)
        s = float(np.median(np.concatenate([d2["same"], d2["diff"]])))
        lab = "ImageNet" if r is base else r.name
        bp = d2["by_pair"].get((a, b), {"same": [], "diff": []})
        groups[f"cam {a + 1}→{b + 1}"].update({f"{lab}: same": np.asarray(bp["same"]) / s,
                                               f"{lab}: different": np.asarray(bp["diff"]) / s})
        groups["all pairs"].update({f"{lab}: same": d2["same"] / s, f"{lab}: different": d2["diff"] / s})
    figs["distances_pair_vs_all"] = (F.distance_histograms(
        groups, title="Distances, one camera pair vs all", style=style, facet_cols=2), 0.7)
    figs["pair_separation_6"] = (F.camera_pair_heatmap(
        100 * sep["auc"], metric="AUC (%)", zmin=F.auc_floor(100 * sep["auc"]), zmax=100,
        title=f"Separation per camera pair (AUC {100 * separation_auc(dd['same'], dd['diff']):.0f} % overall)",
        style=style), 0.8)
    # MSMT17 has 15 cameras: a synthetic matrix of that size
    rng = np.random.default_rng(0)
    m15 = np.clip(rng.normal(40, 15, (15, 15)), 0, 100)
    np.fill_diagonal(m15, np.clip(rng.normal(85, 5, 15), 0, 100))
    figs["pair_rank1_15cams"] = (F.camera_pair_heatmap(m15, title="rank-1 (%) per camera pair "
                                                       "(15 cameras, synthetic)", style=style), 0.85)
    pr = evaluate_by_camera_pair(d, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids)
    figs["pair_rank1"] = (F.camera_pair_heatmap(100 * np.asarray(pr["rank1"], float),
                                                title=f"rank-1 (%) per camera pair — {main.name}",
                                                style=style), 0.8)

    # Rank lists page
    q = int(worst_queries(d, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids, n=1)[0])
    ranked = rank_list(d, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids, q, k=8)
    qt = data.query[int(fs.q_index[q])]
    gal = [data.gallery[int(fs.g_index[e["gallery_row"]])] for e in ranked]
    thumb = lambda t: read_frame(str(t.frames[len(t.frames) // 2]), (128, 64))  # noqa: E731
    figs["rank_list"] = (F.rank_list_figure(
        thumb(qt), [thumb(t) for t in gal],
        ["junk" if e["junk"] else "match" if e["match"] else "wrong" for e in ranked],
        distances=[e["distance"] for e in ranked],
        labels=[f"{t.pid}<br>c{t.camid + 1}" for t in gal],
        query_label=f"query<br>id {qt.pid}<br>c{qt.camid + 1}", style=style), 0.5)

    # Domain gap page: PIRID's Fig. 3 (a few identities, the baseline and the trained run)
    from reidlab.analysis.domain_gap import pick_identities

    panels, first = [], None
    for r in [x for x in (base, main) if x is not None]:
        feats, p, c = pooled(r.features("final"))
        first = pick_identities(p, c, n=12, seed=0) if first is None else first
        m = np.isin(p, first)
        panels.append(("ImageNet init" if r is base else r.name,
                       embed_2d(feats[m], method="pca", cache_dir=cache), p[m], c[m]))
    figs["identity_panels"] = (F.identity_panels(panels, method="PCA", style=style), 0.68)

    # Part masks: the initial network of the trained run's config (no checkpoint needed)
    from reidlab.engine.restore import load_run_model, run_part_masks

    model = load_run_model(main)
    chosen = [data.query[i] for i in range(0, len(data.query), max(1, len(data.query) // 6))][:6]
    frames = np.stack([read_frame(str(t.frames[len(t.frames) // 2]), model.size) for t in chosen])
    km, strict = run_part_masks(model, frames, 3)
    figs["part_masks"] = (F.part_masks_figure(list(frames), km, strict, style=style,
                                              labels=[f"id {t.pid}<br>cam {t.camid + 1}" for t in chosen]),
                          1.2)  # three rows of 2:1 frames: a tall figure

    # Ablations: a K sweep of two variants, two seeds each
    rows = []
    for v, off in (("padal_mp", 0.0), ("padal_mp strict", 3.0)):
        for K in (1, 2, 3, 4, 5):
            for seed in (0, 1):
                rows.append({"variant": v, "K": K, "rank1": 30 + K + off + seed,
                             "mAP": 22 + 0.8 * K + off / 2 + seed})
    figs["ablation_K"] = (F.ablation_plot(rows, x="K", group="variant", style=style,
                                          title="rank1, mAP vs K (synthetic)"), 0.75)

    # Pseudo labels page
    if labelled is not None:
        from reidlab.analysis import pseudo_labels as PL

        keys = ["num_clusters", "outlier_fraction", "precision", "recall", "fscore", "nmi", "ari"]
        figs["label_quality"] = (F.label_quality_curves(
            {labelled.name: PL.label_records(labelled)}, keys=keys, unit_keys=keys[1:],
            x_title="epochs completed", style=style), 0.75)
        ups = PL.label_updates(labelled)
        if ups:
            u = PL.load_update(labelled, ups[-1])
            pick = PL.sample_points(len(u), 2000, seed=0)
            xy = embed_2d(u.feat[pick], method="pca", cache_dir=cache)
            figs["pseudo_label_embedding"] = (F.pseudo_label_embedding(
                xy, u.label[pick], u.pid[pick], u.camid[pick], method="PCA", style=style), 0.6)
    return figs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default=os.environ.get("REIDLAB_RUNS", "runs"))
    p.add_argument("--data", default=os.environ.get("REIDLAB_DATA", "data/synthcams"))
    p.add_argument("--out", default="/tmp/reidlab_gallery")
    p.add_argument("--dpi", type=int, default=300)
    p.add_argument("--only", default="", help="comma-separated figure names (default all)")
    args = p.parse_args(argv)
    from reidlab.viz.export import write_figure
    from reidlab.viz.style import Style

    t0 = time.time()
    figs = build(args)
    only = {s for s in args.only.split(",") if s}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["| figure | column | size (in) | file |", "|---|---|---|---|"]
    failed: list[str] = []
    for name, (fig, ratio) in figs.items():
        if only and name not in only:
            continue
        for col, w in SIZES.items():
            # single column: the figure's own aspect; double column: as tall as a single
            # column figure or a little taller (a page is not 7 in of one figure)
            h = round(w * ratio if col == "single" else min(max(2.4, 3.5 * ratio * 1.25), 4.5), 2)
            style = Style(font_pt=8, width_in=w, height_in=h, dpi=args.dpi)
            try:
                path = write_figure(fig, out / f"{name}_{col}.png", "png", style)
            except Exception as e:  # noqa: BLE001 - name the figure, go on with the others
                print(f"{name} ({col}): {e}", file=sys.stderr)
                failed.append(f"{name}_{col}")
                continue
            lines.append(f"| {name} | {col} | {w}×{h} | {path.name} |")
            print(path, flush=True)
    (out / "index.md").write_text("\n".join(lines) + "\n")
    print(f"{len(lines) - 2} PNGs in {out} ({time.time() - t0:.0f} s)"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
