"""Every method of reidlab on SynthCams, between the lower and the upper bound: one table.

    python bench/leaderboard.py [--rows supervised,padal_id,...] [--seeds 0,1]
                                [--preset quick] [--epochs E] [--set key=value ...]
                                [--out runs/leaderboard] [--name leaderboard]

Rows: ``imagenet`` (the lower bound: the ImageNet-initialised model, read from the initial
evaluation of the ``supervised`` runs, so it needs no training of its own), ``supervised``
(the upper bound: true cross-camera identities, label-smoothed cross-entropy), and
``supervised_bot`` (the same plus BoT's batch-hard triplet, margin 0.3 — the method's default,
which on SynthCams at this budget falls far below the cross-entropy alone: see
docs/methods.md, "The supervised bound on SynthCams"), the PADAL methods
(``padal_id``, ``padal_m``, ``padal_mp`` K = 3 — GRL, the paper's objective — and
``padal_mp_conf``, the bounded confusion loss), ``cawcl`` (fully unsupervised), ``pirid``,
``calr`` and ``cap`` (camera-aware proxies, fully unsupervised). Every row has the same preset, seeds and dataset; the methods' own defaults
(their papers') otherwise, with PIRID's intra-camera stage cut to 3 of the quick preset's 8
epochs (see bench/table_pirid.py).

Columns: rank-1/5, mAP, mINP (the official MARS protocol), the camera probe (linear camera
classifier on held-out identities; lower = less camera in the features), cross-camera rank-1
(every tracklet against the tracklets of the other cameras), the same-camera neighbour share
(of each test tracklet's 30 nearest, the share from its own camera: ``reidlab.analysis.gap``),
the cluster F-score of the last
label update for methods that cluster, and the run's wall time. A finished run is reused, an
unfinished one resumed; rows are appended to bench/results/NAME.{json,md} one by one.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from table2_padal import probe
from tablelib import add_common_args, cell, parse_common, run_dir, run_table, train_or_reuse, \
    write_results

from reidlab.analysis.domain_gap import pooled, same_vs_cross_camera_retrieval  # noqa: E402
from reidlab.analysis.gap import neighbour_shares  # noqa: E402
from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402

ROWS: dict[str, dict] = {
    "imagenet": {"from": "supervised"},
    "supervised": {"method": "supervised", "options": {"triplet_weight": 0.0}},
    "supervised_bot": {"method": "supervised"},
    "padal_id": {"method": "padal_id"},
    "padal_m": {"method": "padal_m"},
    "padal_mp": {"method": "padal_mp", "options": {"K": 3}},
    "padal_mp_conf": {"method": "padal_mp", "options": {"K": 3, "adv_loss": "confusion"}},
    "cawcl": {"method": "cawcl"},
    "pirid": {"method": "pirid", "options": {"intra_epochs": 3, "label_frames": 4},
              "config": {"warmup_epochs": 2}},
    "calr": {"method": "calr"},
    "cap": {"method": "cap"},
    # camera-debiased label updates (reidlab/cluster/debias.py; docs/methods.md): the best
    # first clustering of bench/results/debias_first_update.md (standardize + auto k, eps 0.7)
    "cawcl_debias": {"method": "cawcl", "options": {"cam_norm": "standardize",
                                                    "k_rule": "auto", "eps": 0.7}},
    "calr_debias": {"method": "calr", "options": {"cam_norm": "standardize", "k_rule": "auto",
                                                  "eps": 0.7}},
    "pirid_debias": {"method": "pirid", "options": {"intra_epochs": 3, "label_frames": 4,
                                                    "cam_norm": "standardize",
                                                    "k_rule": "auto"},
                     "config": {"warmup_epochs": 2}},
    "cap_debias": {"method": "cap", "options": {"cam_norm": "standardize", "k_rule": "auto"}},
}
KIND = {"imagenet": "lower bound", "supervised": "upper bound (true identities, CE)",
        "supervised_bot": "true identities, CE + batch-hard triplet (BoT)",
        "padal_id": "camera-local IDs", "padal_m": "camera-local IDs + GRL alignment",
        "padal_mp": "camera-local IDs + GRL alignment + parts",
        "padal_mp_conf": "camera-local IDs + confusion alignment + parts",
        "cawcl": "no labels (clusters + camera alignment)",
        "pirid": "camera-local IDs → prototypes", "calr": "no labels (camera-aware clusters)",
        "cap": "no labels (camera-aware proxies)",
        "cawcl_debias": "no labels, camera-debiased clusters",
        "calr_debias": "no labels, camera-debiased clusters",
        "pirid_debias": "camera-local IDs → camera-debiased prototypes",
        "cap_debias": "no labels, camera-debiased proxies"}


def train_row(name: str, args, seed: int) -> Run:
    spec = ROWS[name]
    return train_or_reuse(run_dir(args, name, seed), lambda: make_config(
        args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs, method=spec["method"],
        options=dict(spec.get("options", {})), **{**spec.get("config", {}), **args.overrides}))


def measure(run: Run, which: str) -> dict:
    ev = next(m for m in run.metrics("eval") if m.get("which") == which)
    feats, pids, camids = pooled(run.features(which))
    keep = pids > 0  # distractors out, as the calibration does
    cross = same_vs_cross_camera_retrieval(feats[keep], pids[keep], camids[keep])
    share = neighbour_shares(feats, pids, camids)["same_camera_neighbour_share"]
    return {"rank1": ev["rank1"], "rank5": ev["rank5"], "mAP": ev["mAP"],
            "mINP": ev.get("mINP"), "protocol": ev.get("protocol"),
            "probe": probe(run, which), "cross_rank1": cross["cross_camera_rank1"],
            "same_cam_share": share,
            "seconds": round(ev["time"], 1) if which == "final" and ev.get("time") else None}


def run_row(name: str, args, seed: int) -> dict:
    spec = ROWS[name]
    if "from" in spec:  # the initial evaluation of another row's run
        run = train_row(spec["from"], args, seed)
        return {"row": name, "seed": seed, **measure(run, "initial"), "seconds": None,
                "fscore": None, "fscore_first": None, "clustered_same_cam": None}
    run = train_row(name, args, seed)
    labels = [r for r in run.metrics("labels")
              if r.get("stage") in (None, "global", "refined", "prototype")]
    return {"row": name, "seed": seed, "method": spec["method"],
            "options": spec.get("options", {}), **measure(run, "final"),
            "fscore": labels[-1].get("fscore") if labels else None,
            "fscore_first": labels[0].get("fscore") if labels else None,
            # the first update's clustered features: their same-camera neighbour share
            "clustered_same_cam": labels[0].get("same_cam_share") if labels else None}


def line(name: str, rs: list[dict]) -> list:
    secs = [r["seconds"] for r in rs if r.get("seconds")]
    return [KIND[name], cell(rs, "rank1"), cell(rs, "rank5"), cell(rs, "mAP"), cell(rs, "mINP"),
            cell(rs, "probe"), cell(rs, "cross_rank1"), cell(rs, "same_cam_share"),
            cell(rs, "clustered_same_cam"), cell(rs, "fscore_first"), cell(rs, "fscore"),
            f"{np.mean(secs):.0f}" if secs else "—"]


def write(rows: list[dict], args, started: float) -> None:
    write_results(
        args, "Leaderboard on SynthCams", rows, list(ROWS), started, args.overrides,
        "Mean ± standard deviation over the seeds. Camera probe: linear camera classifier on "
        "held-out identities (lower = less camera in the features). Cross-camera rank-1: every "
        "test tracklet against the tracklets of the other cameras. Same-camera share: of each "
        "test tracklet's 30 nearest (cosine), the share from its own camera (python -m reidlab "
        "gap; chance about 17 %). Clustered same-camera share: the same share among the "
        "features the first label update clustered (after any camera normalisation). Cluster "
        "F: pairwise F-score of the first and of the last label update (methods that cluster).",
        ["supervision", "rank-1", "rank-5", "mAP", "mINP", "camera probe",
         "cross-camera rank-1", "same-camera share", "clustered same-camera share",
         "first cluster F", "last cluster F", "run (s)"], line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, rows=list(ROWS), out="runs/leaderboard", name="leaderboard",
                    seeds="0,1")
    args = parse_common(ap, argv, ROWS)
    from reidlab.methods import METHODS

    for name in args.names:
        method = ROWS[name].get("method")
        if method is not None and method not in METHODS:
            ap.error(f"row {name!r}: method {method!r} is not in this version of reidlab")
    run_table(args, run_row, write, ("rank1", "mAP", "probe", "cross_rank1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
