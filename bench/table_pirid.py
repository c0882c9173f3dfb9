"""PIRID's ablation (its Table 2) on SynthCams: intra-camera labels only, no cross-camera link.

    python bench/table_pirid.py [--rows pirid1,pirid2,pirid] [--seeds 0,1] [--preset quick]
                                [--epochs E] [--set key=value ...] [--opt key=value ...]
                                [--out runs/table_pirid] [--name table_pirid]

Rows (the paper's names): ``pirid1`` = PIRID-1, the intra-camera loss throughout;
``pirid2`` = PIRID-2, without the inter-camera triplet; ``pirid`` = the full method. Not in
the paper: ``pirid_as_printed`` (eq. 1 applied as printed, μ = 0.05 keeping 5 % of the old
slot), ``pirid_xcam`` (two IDs of one camera never neighbours in the prototype clustering).

The quick preset has 8 epochs, not the paper's 50; the paper's proportions are kept: the
intra-camera stage is the first 3 epochs (5 of 50 would leave prototypes no time; the paper
spends 10 % of training there, we spend 3 of 8 so the linking has features worth linking),
the warm-up 2 epochs (10 of 50), no decay (÷10 at epoch 20 of 50 is past the end at this
length); each label update embeds 4 frames per tracklet. A finished run is reused, an
unfinished one resumed; rows are appended to bench/results/NAME.{json,md} one by one. Besides
rank-1/5 and mAP each row records the camera probe of the initial and final features and the
prototype links of the last update (link precision / recall against ground truth,
prototypes, IDs linked).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tablelib import add_common_args, cell, parse_common, probe, run_dir, run_seconds, run_table, \
    train_or_reuse, write_results

from reidlab.engine.config import make_config  # noqa: E402

ROWS: dict[str, dict] = {
    "pirid1": {"inter": False},
    "pirid2": {"triplet_weight": 0.0},
    "pirid": {},
    "pirid_as_printed": {"memory_rule": "as_printed"},
    "pirid_xcam": {"cross_camera_only": True},
}
DEFAULT_ROWS = ["pirid1", "pirid2", "pirid"]
BENCH_OPTIONS = {"intra_epochs": 3, "label_frames": 4}
BENCH_CONFIG = {"warmup_epochs": 2}


def run_row(name: str, args, seed: int) -> dict:
    options = {**BENCH_OPTIONS, **ROWS[name], **args.options}
    run = train_or_reuse(run_dir(args, name, seed), lambda: make_config(
        args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs, method="pirid",
        options=options, **{**BENCH_CONFIG, **args.overrides}))
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    links = [r for r in run.metrics("labels") if r.get("stage") == "prototype"]
    last = links[-1] if links else {}
    return {
        "row": name, "seed": seed, "options": options,
        "seconds": run_seconds(run),
        "rank1": final["rank1"], "rank5": final["rank5"], "mAP": final["mAP"],
        "mINP": final.get("mINP"), "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "link_precision": last.get("link_precision"), "link_recall": last.get("link_recall"),
        "prototypes": last.get("prototypes"), "linked_ids": last.get("linked_ids"),
        "ids": (last.get("linked_ids") or 0) + (last.get("dropped_ids") or 0) or None,
        "link_precision_first": links[0].get("link_precision") if links else None,
    }


def line(name: str, rs: list[dict]) -> list:
    ids = rs[0].get("ids")
    secs = np.mean([r["seconds"] for r in rs if r["seconds"]] or [np.nan])
    return [", ".join(f"{k}={v}" for k, v in ROWS[name].items()) or "full",
            cell(rs, "rank1"), cell(rs, "rank5"), cell(rs, "mAP"), cell(rs, "mINP"),
            f"{cell(rs, 'link_precision_first')} → {cell(rs, 'link_precision')}",
            cell(rs, "link_recall"), cell(rs, "prototypes", False),
            cell(rs, "linked_ids", False) + (f" of {ids}" if ids else ""),
            f"{cell(rs, 'probe_initial')} → {cell(rs, 'probe_final')}", f"{secs:.0f}"]


def write(rows: list[dict], args, started: float) -> None:
    r0 = rows[0] if rows else None
    write_results(
        args, "PIRID ablation on SynthCams", rows, list(ROWS), started,
        {**BENCH_CONFIG, **args.overrides, **BENCH_OPTIONS, **args.options},
        "Mean ± standard deviation over the seeds. Links: pairs of camera-local IDs put in one "
        "prototype at the last update, precision = share that are one person (first update → "
        "last), recall = share of one-person ID pairs linked. Camera probe: linear camera "
        "classifier on held-out identities.",
        ["setting", "rank-1", "rank-5", "mAP", "mINP", "link precision first → last",
         "link recall", "prototypes", "IDs linked", "camera probe init → final", "run (s)"],
        line, ["", f"Initial model (before training): rank-1 {100 * r0['initial_rank1']:.1f}, "
               f"mAP {100 * r0['initial_mAP']:.1f}."] if r0 else [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, rows=DEFAULT_ROWS, out="runs/table_pirid", name="table_pirid",
                    method="pirid")
    args = parse_common(ap, argv, ROWS)
    run_table(args, run_row, write, ("rank1", "mAP", "link_precision", "probe_final"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
