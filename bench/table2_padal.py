"""Reproduce PADAL's Table 2 on SynthCams: every method with the same preset and seed.

    python bench/table2_padal.py [--dataset data/synthcams] [--preset quick] [--epochs E]
                                 [--rows padal_id,padal_m,...] [--lam 0.1] [--out runs/table2]

Rows: padal_id, padal_a, padal_m, padal_mp K=1..5 (k-means parts) and padal_mp strict K=3.
A finished run is reused, an unfinished one resumed, so the script can be re-run after a stop.
Besides rank-1/5/20 and mAP it records, for the initial (ImageNet) and final model, the camera
probe accuracy (identities held out) and the per-camera-pair rank-1 matrix. Results go to
bench/results/table2_padal.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import RESULTS, ROOT, describe, stamp

from reidlab.analysis.domain_gap import camera_probe, pooled  # noqa: E402
from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402
from reidlab.engine.trainer import train  # noqa: E402

ROWS = {
    "padal_id": dict(method="padal_id"),
    "padal_a": dict(method="padal_a"),
    "padal_m": dict(method="padal_m"),
    **{f"padal_mp_K{k}": dict(method="padal_mp", K=k) for k in range(1, 6)},
    "padal_mp_strict_K3": dict(method="padal_mp", K=3, parts="strict"),
}


def probe(run: Run, which: str) -> float:
    fs = run.features(which)
    feats, pids, camids = pooled(fs)
    return float(camera_probe(feats, camids, groups=pids, pca_dim=128)["accuracy"])


def run_row(name: str, over: dict, args) -> dict:
    out = Path(args.out) / name
    done = Run(out).status().get("state") == "finished" if out.exists() else False
    if not done:
        params = dict(dataset=args.dataset, seed=args.seed, epochs=args.epochs, lam=args.lam)
        cfg = make_config(args.preset, **{**params, **over})
        train(cfg, out, resume=(out / "checkpoint.pt").is_file())
    run = Run(out)
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    # the run's own duration (training + both evaluations), also when it was reused
    run_s = next(m for m in run.metrics("eval") if m.get("which") == "final").get("time")
    return {
        "row": name, **over, "seconds": round(run_s, 1) if run_s is not None else None,
        "rank1": final["rank1"], "rank5": final["rank5"], "rank20": final["rank20"],
        "mAP": final["mAP"], "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "pair_rank1_initial": initial["pair_rank1"], "pair_rank1_final": final["pair_rank1"],
    }


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def offdiag_mean(m) -> float:
    a = np.array(m, dtype=float)
    return float(np.nanmean(a[~np.eye(len(a), dtype=bool)]))


def write(rows: list[dict], args, started: float) -> None:
    order = list(ROWS)
    rows = sorted(rows, key=lambda r: order.index(r["row"]))
    res = RESULTS
    res.mkdir(parents=True, exist_ok=True)
    meta = {**stamp(), "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                  capture_output=True, text=True).stdout.strip(),
            "preset": args.preset, "epochs": args.epochs, "lam": args.lam, "seed": args.seed,
            "dataset": args.dataset, "wall_s": round(time.time() - started, 1)}
    (res / "table2_padal.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    base = next((r for r in rows if r["row"] == "padal_id"), None)
    lines = [f"# PADAL Table 2 on SynthCams ({args.preset} preset)", "",
             f"Command: `{meta['command']}`  ", f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {rows[0]['protocol'] if rows else '?'} (MARS layout); seed {args.seed}, "
             f"λ = {args.lam}", "",
             f"Rows: {len(rows)} of {len(ROWS)} ({', '.join(r['row'] for r in rows)}).", "",
             "| method | rank-1 | rank-5 | rank-20 | mAP | Δ rank-1 vs padal_id | camera probe "
             "init → final | cross-camera rank-1 (mean off-diagonal) init → final | run (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        delta = "—" if base is None or r is base else f"{100 * (r['rank1'] - base['rank1']):+.1f}"
        lines.append(
            f"| {r['row']} | {pct(r['rank1'])} | {pct(r['rank5'])} | {pct(r['rank20'])} | "
            f"{pct(r['mAP'])} | {delta} | {pct(r['probe_initial'])} → {pct(r['probe_final'])} | "
            f"{pct(offdiag_mean(r['pair_rank1_initial']))} → "
            f"{pct(offdiag_mean(r['pair_rank1_final']))} | {r['seconds']} |")
    if rows:
        r = rows[0]
        lines += ["", f"ImageNet-initialised model (before training): rank-1 "
                  f"{pct(r['initial_rank1'])}, mAP {pct(r['initial_mAP'])}.", "",
                  "Per-camera-pair rank-1 (%) of each row, query camera = row, gallery camera ="
                  " column; the diagonal is same-camera retrieval (own tracklet ignored):"]
        for r in rows:
            for which in ("initial", "final"):
                m = np.array(r[f"pair_rank1_{which}"], dtype=float)
                lines += ["", f"`{r['row']}` {which}:", "",
                          "| q\\g | " + " | ".join(f"c{j + 1}" for j in range(len(m))) + " |",
                          "|---" * (len(m) + 1) + "|"]
                lines += [f"| c{i + 1} | " + " | ".join(pct(v) if np.isfinite(v) else "—"
                                                         for v in row) + " |"
                          for i, row in enumerate(m)]
    (res / "table2_padal.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lam", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--out", default="runs/table2")
    args = ap.parse_args()
    if args.lam is None:
        args.lam = make_config(args.preset).lam
    started = time.time()
    rows = []
    for name in args.rows.split(","):
        if name not in ROWS:
            ap.error(f"unknown row {name!r}; expected one of {list(ROWS)}")
        print(f"== {name}", flush=True)
        rows.append(run_row(name, ROWS[name], args))
        write(rows, args, started)
        print(json.dumps({k: rows[-1][k] for k in ("row", "rank1", "mAP", "probe_final")}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
