"""CALR's claims on SynthCams: refined clusters beat global ones (precision, F-score), and a
model trained on them beats one trained on the global clusters.

    python bench/table_calr.py [--rows calr_global,calr] [--seeds 0,1] [--preset quick]
                               [--epochs E] [--set key=value ...] [--opt key=value ...]
                               [--out runs/table_calr] [--name table_calr]

Rows: ``calr`` (the method: trained on the refined clusters), ``calr_global`` (the same, the
refinement off: trained on the global clusters), ``calr_no_domain`` (no camera classifier).
Each row records, at the last label update, the pairwise precision / recall / F-score and the
expansion of the local, global and refined labellings, how many members the refinement
removed and how many of those were really another person (ground truth, diagnosis only),
then rank-1/5, mAP and the camera probe. A finished run is reused, an unfinished one
resumed; rows are appended to bench/results/NAME.{json,md} one by one.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tablelib import add_common_args, cell, parse_common, probe, run_dir, run_seconds, run_table, \
    train_or_reuse, write_results

from reidlab.engine.config import make_config  # noqa: E402

ROWS: dict[str, dict] = {
    "calr_global": {"refine": False},
    "calr": {},
    "calr_no_domain": {"domain_loss": "none"},
}
STAGES = ("local", "global", "refined")
QUALITY = ("precision", "recall", "fscore", "expansion")


def run_row(name: str, args, seed: int) -> dict:
    options = {**ROWS[name], **args.options}
    run = train_or_reuse(run_dir(args, name, seed), lambda: make_config(
        args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs, method="calr",
        options=options, **args.overrides))
    final = run.final_metrics()
    labels = run.metrics("labels")
    last_epoch = max((r["epoch"] for r in labels), default=None)
    last = {r.get("stage"): r for r in labels if r["epoch"] == last_epoch}
    row = {"row": name, "seed": seed, "options": options,
           "seconds": run_seconds(run),
           "rank1": final["rank1"], "rank5": final["rank5"], "mAP": final["mAP"],
           "mINP": final.get("mINP"), "protocol": final.get("protocol"),
           "probe_final": probe(run, "final")}
    for stage in STAGES:
        for q in QUALITY:
            row[f"{stage}_{q}"] = last.get(stage, {}).get(q)
    ref = last.get("refined", {})
    row.update(removed=ref.get("refine_removed_total"),
               removed_other_id=ref.get("refine_removed_other_id_fraction"))
    return row


def line(name: str, rs: list[dict]) -> list:
    secs = np.mean([r["seconds"] for r in rs if r["seconds"]] or [np.nan])
    pr = [f"{cell(rs, f'{s}_precision')} / {cell(rs, f'{s}_fscore')}" for s in STAGES]
    return [", ".join(f"{k}={v}" for k, v in ROWS[name].items()) or "full",
            cell(rs, "rank1"), cell(rs, "mAP"), *pr,
            f"{cell(rs, 'global_expansion', False)} → {cell(rs, 'refined_expansion', False)}",
            cell(rs, "removed", False), cell(rs, "removed_other_id"), cell(rs, "probe_final"),
            f"{secs:.0f}"]


def write(rows: list[dict], args, started: float) -> None:
    write_results(
        args, "CALR on SynthCams", rows, list(ROWS), started,
        {**args.overrides, **args.options},
        "Mean ± standard deviation over the seeds. Label quality at the last update: pairwise "
        "precision / F-score against the true identities of the local (per camera), global "
        "and refined labellings, and the expansion (clusters per identity) global → refined; "
        "removed: members the refinement took out of their global cluster, of which the share "
        "that was really another person than the pivot. Camera probe: linear camera "
        "classifier on held-out identities.",
        ["setting", "rank-1", "mAP", "local P / F", "global P / F", "refined P / F",
         "expansion", "removed", "of them another person", "camera probe", "run (s)"], line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, rows=["calr_global", "calr"], out="runs/table_calr", name="table_calr",
                    method="calr")
    args = parse_common(ap, argv, ROWS)
    run_table(args, run_row, write, ("rank1", "mAP", "refined_precision", "global_precision"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
