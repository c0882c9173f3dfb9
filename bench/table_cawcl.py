"""CAWCL's ablation (its Tables 2 and 4) on SynthCams, fully unsupervised and as UDA.

    python bench/table_cawcl.py [--rows contr,contr_knn,...] [--seeds 0,1] [--preset quick]
                                [--epochs E] [--set height=64 ...] [--out runs/table_cawcl]
                                [--name table_cawcl] [--source data/synthcams_b]

Rows (the paper's Table 2 in its own words; ``clips`` = 2 segments per tracklet unless "1clip"):

* unsupervised (target = the default SynthCams, no labels at all):
  ``contr`` L_contr (SpCL's plain target), ``contr_knn`` + kNN weights, ``contr_knn_ce``
  + camera CE, ``contr_knn_clc`` + CLC (the full method), ``contr_clc`` CLC without kNN,
  ``contr_knn_clc_1clip`` the full method with 1 clip per tracklet, ``clipsN`` the full
  method with N clips (Table 4: N = 1, 2, 3, 4, 8).
* not in the paper: ``contr_knn_cc`` / ``contr_knn_clc_cc`` cluster camera-centred features,
  ``contr_knn_uniform`` uses the bounded camera confusion loss instead of CLC, and
  ``contr_knn_clc_oracle`` replaces the clustering by the true identities (a diagnosis of
  what the pseudo labels cost, not an unsupervised method).
* UDA (labelled source = SynthCams style b, ``--source``; the first 2 epochs train on the
  source only): ``uda_source`` source only throughout (the lower bound, "sup. S only"),
  ``uda_ce`` / ``uda_clc`` (``_1clip``) + camera loss on the target, ``uda_clc_clipsN`` the
  clips sweep (N = 3, 4, 8) on that row, and ``uda_<row>`` for every unsupervised row above,
  e.g. ``uda_contr_knn_clc`` (the full method).

A finished run is reused, an unfinished one resumed, so the script can be re-run after a stop;
rows are appended to bench/results/NAME.{json,md} one by one. Besides rank-1/5 and mAP each row
records the cluster quality of the last label update (pairwise F-score, clusters, outliers) and
the camera probe of the initial and final features.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tablelib import add_common_args, cell, parse_common, probe, run_dir, run_seconds, run_table, \
    train_or_reuse, write_results

from reidlab.engine.config import make_config  # noqa: E402

FULL = {"cam_loss": "clc", "weighting": "knn", "contrastive": True}
ABLATION: dict[str, dict] = {  # the paper's Table 2 rows (clips = 2 unless "1clip")
    "contr": dict(options={"cam_loss": "none", "weighting": "none"}),
    "contr_knn": dict(options={"cam_loss": "none", "weighting": "knn"}),
    "contr_knn_ce": dict(options={"cam_loss": "ce", "weighting": "knn"}),
    "contr_clc": dict(options={"cam_loss": "clc", "weighting": "none"}),
    "contr_knn_clc": dict(options=FULL),
    "contr_knn_clc_1clip": dict(options=FULL, clips_per_tracklet=1),
    **{f"clips{n}": dict(options=FULL, clips_per_tracklet=n) for n in (1, 2, 3, 4, 8)},
    # not in the paper: features centred per camera before clustering (the diagnosis)
    "contr_knn_cc": dict(options={"cam_loss": "none", "weighting": "knn",
                                  "camera_centering": True}),
    "contr_knn_clc_cc": dict(options={**FULL, "camera_centering": True}),
    # not in the paper: the bounded camera confusion objective (PADAL's fix) instead of CLC
    "contr_knn_uniform": dict(options={**FULL, "cam_loss": "uniform"}),
    # not in the paper: camera-debiased label updates (issue 22; the leaderboard's cawcl_debias)
    "contr_knn_clc_debias": dict(options={**FULL, "cam_norm": "standardize", "k_rule": "auto",
                                          "eps": 0.7}),
    # not a method: the true identities replace the clustering (what pseudo labels cost)
    "contr_knn_clc_oracle": dict(options={**FULL, "oracle_labels": True}),
}
PRETRAIN = 2  # UDA rows: epochs of source-only training before adaptation
ROWS: dict[str, dict] = {
    **ABLATION,
    "uda_source": dict(uda=True, options={"cam_loss": "none", "contrastive": False}),
    "uda_ce": dict(uda=True, options={"cam_loss": "ce", "contrastive": False}),
    "uda_clc": dict(uda=True, options={"cam_loss": "clc", "contrastive": False}),
    "uda_clc_1clip": dict(uda=True, options={"cam_loss": "clc", "contrastive": False},
                          clips_per_tracklet=1),
    "uda_uniform": dict(uda=True, options={"cam_loss": "uniform", "contrastive": False}),
    # Table 4's sweep on the row that learns here (2 clips = uda_clc, 1 clip = uda_clc_1clip)
    **{f"uda_clc_clips{n}": dict(uda=True, options={"cam_loss": "clc", "contrastive": False},
                                 clips_per_tracklet=n) for n in (3, 4, 8)},
    **{f"uda_{k}": dict(uda=True, **v) for k, v in ABLATION.items()},
}
for _row in ROWS.values():
    if _row.get("uda"):
        _row["options"] = {"pretrain_epochs": PRETRAIN, **_row["options"]}
DEFAULT_ROWS = ["contr", "contr_knn", "contr_knn_ce", "contr_knn_clc", "contr_knn_clc_1clip"]


def run_row(name: str, args, seed: int) -> dict:
    spec = dict(ROWS[name])
    uda = spec.pop("uda", False)
    options = {**spec.pop("options"), **args.options}
    run = train_or_reuse(run_dir(args, name, seed), lambda: make_config(
        args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs, method="cawcl",
        options=options, source=args.source if uda else None, **args.overrides, **spec))
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    labels = run.metrics("labels")
    last = labels[-1] if labels else {}
    cfg = run.train_config()
    return {
        "row": name, "seed": seed, "uda": uda, "options": options,
        "clips": cfg.clips_per_tracklet,
        "seconds": run_seconds(run),
        "rank1": final["rank1"], "rank5": final["rank5"], "mAP": final["mAP"],
        "mINP": final.get("mINP"), "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "fscore": last.get("fscore"), "precision": last.get("precision"),
        "recall": last.get("recall"), "num_clusters": last.get("num_clusters"),
        "outlier_fraction": last.get("outlier_fraction"),
        "fscore_first": labels[0].get("fscore") if labels else None,
    }


def line(name: str, rs: list[dict]) -> list:
    setting = ("UDA " if rs[0]["uda"] else "unsup. ") + ", ".join(
        f"{k}={v}" for k, v in rs[0]["options"].items())
    secs = np.mean([r["seconds"] for r in rs if r["seconds"]] or [np.nan])
    return [setting, rs[0]["clips"], cell(rs, "rank1"), cell(rs, "rank5"), cell(rs, "mAP"),
            cell(rs, "mINP"), f"{cell(rs, 'fscore_first')} → {cell(rs, 'fscore')}",
            cell(rs, "precision"), cell(rs, "recall"), cell(rs, "num_clusters", False),
            cell(rs, "outlier_fraction"),
            f"{cell(rs, 'probe_initial')} → {cell(rs, 'probe_final')}", f"{secs:.0f}"]


def write(rows: list[dict], args, started: float) -> None:
    r0 = rows[0] if rows else None
    write_results(
        args, "CAWCL ablation on SynthCams", rows, list(ROWS), started,
        {**args.overrides, **args.options, "UDA source": args.source},
        "Mean ± standard deviation over the seeds. Cluster F-score / precision / recall: "
        "pairwise, of the last label update against the true identities (first update → last "
        "for F). Camera probe: linear camera classifier on held-out identities.",
        ["setting", "clips", "rank-1", "rank-5", "mAP", "mINP", "cluster F first → last",
         "precision", "recall", "clusters", "outliers", "camera probe init → final",
         "run (s)"],
        line, ["", f"Initial model (ImageNet, before training): rank-1 "
               f"{100 * r0['initial_rank1']:.1f}, mAP {100 * r0['initial_mAP']:.1f}."]
        if r0 else [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, rows=DEFAULT_ROWS, out="runs/table_cawcl", name="table_cawcl",
                    method="cawcl")
    ap.add_argument("--source", default="data/synthcams_b",
                    help="labelled source of the UDA rows (generated if it is the default "
                    "and missing)")
    args = parse_common(ap, argv, ROWS)
    if any(ROWS[n].get("uda") for n in args.names) and args.source == "data/synthcams_b":
        from reidlab.synth import ensure_domain_b

        ensure_domain_b(args.source)
    run_table(args, run_row, write, ("rank1", "mAP", "fscore", "probe_final"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
