"""Reproduce PADAL's Table 2 on SynthCams: every method with the same preset and seed.

    python bench/table2_padal.py [--dataset data/synthcams] [--preset quick] [--epochs E]
                                 [--rows padal_id,padal_m,...] [--lam 0.1] [--seeds 0,1,2]
                                 [--set adv_loss=confusion ...] [--out runs/table2]
                                 [--name table2_padal]

Rows: padal_id, padal_a, padal_m, padal_mp K=1..5 (k-means parts) and padal_mp strict K=3.
A finished run is reused, an unfinished one resumed, so the script can be re-run after a stop.
Besides rank-1/5/20 and mAP it records, for the initial (ImageNet) and final model, the camera
probe accuracy (identities held out) and the per-camera-pair rank-1 matrix. ``--set`` applies
a config override to every row (e.g. ``adv_loss=confusion``, ``lam_schedule=dann``). With
several seeds the table shows mean ± std over seeds and, per row, the paired difference to
padal_id (mean ± std, and on how many seeds the row beat padal_id). Results go to
bench/results/NAME.{json,md}; runs to OUT/ROW (seed 0) or OUT/ROW_sS.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import RESULTS, describe, git_rev, stamp
from tablelib import mean_std, parse_set, run_row

from reidlab.engine.config import make_config  # noqa: E402

ROWS = {
    "padal_id": dict(method="padal_id"),
    "padal_a": dict(method="padal_a"),
    "padal_m": dict(method="padal_m"),
    **{f"padal_mp_K{k}": dict(method="padal_mp", K=k) for k in range(1, 6)},
    "padal_mp_strict_K3": dict(method="padal_mp", K=3, parts="strict"),
}


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def offdiag_mean(m) -> float:
    a = np.array(m, dtype=float)
    return float(np.nanmean(a[~np.eye(len(a), dtype=bool)]))


def write(rows: list[dict], args, started: float) -> None:
    order = list(ROWS)
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    meta = {**stamp(), "git": git_rev(),
            "preset": args.preset, "epochs": args.epochs, "lam": args.lam, "seeds": args.seeds,
            "overrides": args.overrides, "dataset": args.dataset,
            "wall_s": round(time.time() - started, 1)}
    (res / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    names = [n for n in order if any(r["row"] == n for r in rows)]
    by = {(r["row"], r["seed"]): r for r in rows}
    base = {s: by[("padal_id", s)] for s in args.seeds if ("padal_id", s) in by}
    over = ", ".join(f"{k}={v}" for k, v in args.overrides.items()) or "none"
    lines = [f"# PADAL Table 2 on SynthCams ({args.preset} preset)", "",
             f"Command: `{meta['command']}`  ", f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {rows[0]['protocol'] if rows else '?'} (MARS layout); "
             f"seeds {', '.join(map(str, args.seeds))}; λ = {args.lam}; overrides: {over}", "",
             f"Rows: {len(names)} of {len(ROWS)} ({', '.join(names)}).", ""]
    if len(args.seeds) > 1:
        lines += ["Mean ± standard deviation over the seeds; Δ is the paired difference to "
                  "padal_id of the same seed (wins = seeds on which the row's rank-1 is higher).",
                  ""]
    lines += ["| method | rank-1 | rank-5 | rank-20 | mAP | Δ rank-1 vs padal_id | camera probe "
              "init → final | cross-camera rank-1 (mean off-diagonal) init → final | run (s) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        rs = [r for r in rows if r["row"] == n]
        col = {k: mean_std([r[k] for r in rs]) for k in ("rank1", "rank5", "rank20", "mAP")}
        paired = [(r["rank1"] - base[r["seed"]]["rank1"]) for r in rs if r["seed"] in base]
        if n == "padal_id" or not paired:
            delta = "—"
        else:
            d = 100 * np.array(paired)
            delta = f"{d.mean():+.1f}" if len(d) == 1 else \
                f"{d.mean():+.1f} ± {d.std(ddof=1):.1f} ({int((d > 0).sum())}/{len(d)} wins)"
        probe_i = mean_std([r["probe_initial"] for r in rs])
        probe_f = mean_std([r["probe_final"] for r in rs])
        cross_i = mean_std([offdiag_mean(r["pair_rank1_initial"]) for r in rs])
        cross_f = mean_std([offdiag_mean(r["pair_rank1_final"]) for r in rs])
        secs = np.mean([r["seconds"] for r in rs if r["seconds"] is not None] or [np.nan])
        lines.append(f"| {n} | {col['rank1']} | {col['rank5']} | {col['rank20']} | {col['mAP']} "
                     f"| {delta} | {probe_i} → {probe_f} | {cross_i} → {cross_f} | {secs:.1f} |")
    rows = [r for r in rows if r["seed"] == args.seeds[0]]
    if rows:
        r = rows[0]
        lines += ["", f"ImageNet-initialised model (before training): rank-1 "
                  f"{pct(r['initial_rank1'])}, mAP {pct(r['initial_mAP'])}.", "",
                  f"Per-camera-pair rank-1 (%) of each row (seed {args.seeds[0]}), query camera "
                  "= row, gallery camera = column; the diagonal is same-camera retrieval (own "
                  "tracklet ignored):"]
        for r in rows:
            for which in ("initial", "final"):
                m = np.array(r[f"pair_rank1_{which}"], dtype=float)
                lines += ["", f"`{r['row']}` {which}:", "",
                          "| q\\g | " + " | ".join(f"c{j + 1}" for j in range(len(m))) + " |",
                          "|---" * (len(m) + 1) + "|"]
                lines += [f"| c{i + 1} | " + " | ".join(pct(v) if np.isfinite(v) else "—"
                                                         for v in row) + " |"
                          for i, row in enumerate(m)]
    (res / f"{args.name}.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lam", type=float, default=None)
    ap.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every row (repeatable)")
    ap.add_argument("--out", default="runs/table2")
    ap.add_argument("--name", default="table2_padal", help="results file stem")
    ap.add_argument("--results", default=str(RESULTS), help="results folder (default "
                    "bench/results)")
    args = ap.parse_args()
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    args.overrides = parse_set(args.set)
    if args.lam is None:
        args.lam = make_config(args.preset).lam
    started = time.time()
    rows = []
    names = args.rows.split(",")
    for name in names:
        if name not in ROWS:
            ap.error(f"unknown row {name!r}; expected one of {list(ROWS)}")
    for seed in args.seeds:  # every row of one seed before the next seed: partial tables pair up
        for name in names:
            print(f"== {name} seed {seed}", flush=True)
            rows.append(run_row(name, ROWS[name], args, seed))
            write(rows, args, started)
            print(json.dumps({k: rows[-1][k] for k in ("row", "seed", "rank1", "mAP",
                                                       "probe_final")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
