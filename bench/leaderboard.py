"""Every method of reidlab on SynthCams, between the lower and the upper bound: one table.

    python bench/leaderboard.py [--rows supervised,padal_id,...] [--seeds 0,1]
                                [--preset quick] [--epochs E] [--set key=value ...]
                                [--out runs/leaderboard] [--name leaderboard]

Rows: ``imagenet`` (the lower bound: the ImageNet-initialised model, read from the initial
evaluation of the ``supervised`` runs, so it needs no training of its own), ``supervised``
(the upper bound: true cross-camera identities, BoT's CE + triplet), the PADAL methods
(``padal_id``, ``padal_m``, ``padal_mp`` K = 3 — GRL, the paper's objective — and
``padal_mp_conf``, the bounded confusion loss), ``cawcl`` (fully unsupervised), ``pirid``
and ``calr``. Every row has the same preset, seeds and dataset; the methods' own defaults
(their papers') otherwise, with PIRID's intra-camera stage cut to 3 of the quick preset's 8
epochs (see bench/table_pirid.py).

Columns: rank-1/5, mAP, mINP (the official MARS protocol), the camera probe (linear camera
classifier on held-out identities; lower = less camera in the features), cross-camera rank-1
(every tracklet against the tracklets of the other cameras), the cluster F-score of the last
label update for methods that cluster, and the run's wall time. A finished run is reused, an
unfinished one resumed; rows are appended to bench/results/NAME.{json,md} one by one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import RESULTS, describe, git_rev, stamp
from table2_padal import mean_std, parse_set, probe

from reidlab.analysis.domain_gap import pooled, same_vs_cross_camera_retrieval  # noqa: E402
from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402
from reidlab.engine.trainer import train  # noqa: E402

ROWS: dict[str, dict] = {
    "imagenet": {"from": "supervised"},
    "supervised": {"method": "supervised"},
    "padal_id": {"method": "padal_id"},
    "padal_m": {"method": "padal_m"},
    "padal_mp": {"method": "padal_mp", "options": {"K": 3}},
    "padal_mp_conf": {"method": "padal_mp", "options": {"K": 3, "adv_loss": "confusion"}},
    "cawcl": {"method": "cawcl"},
    "pirid": {"method": "pirid", "options": {"intra_epochs": 3, "label_frames": 4},
              "config": {"warmup_epochs": 2}},
    "calr": {"method": "calr"},
}
KIND = {"imagenet": "lower bound", "supervised": "upper bound (true identities)",
        "padal_id": "camera-local IDs", "padal_m": "camera-local IDs + GRL alignment",
        "padal_mp": "camera-local IDs + GRL alignment + parts",
        "padal_mp_conf": "camera-local IDs + confusion alignment + parts",
        "cawcl": "no labels (clusters + camera alignment)",
        "pirid": "camera-local IDs → prototypes", "calr": "no labels (camera-aware clusters)"}


def train_row(name: str, args, seed: int) -> Path:
    spec = ROWS[name]
    out = Path(args.out) / (name if seed == 0 else f"{name}_s{seed}")
    if out.exists() and Run(out).status().get("state") == "finished":
        return out
    cfg = make_config(args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs,
                      method=spec["method"], options=dict(spec.get("options", {})),
                      **{**spec.get("config", {}), **args.overrides})
    train(cfg, out, resume=(out / "checkpoint.pt").is_file())
    return out


def measure(run: Run, which: str) -> dict:
    ev = next(m for m in run.metrics("eval") if m.get("which") == which)
    feats, pids, camids = pooled(run.features(which))
    keep = pids > 0  # distractors out, as the calibration does
    cross = same_vs_cross_camera_retrieval(feats[keep], pids[keep], camids[keep])
    return {"rank1": ev["rank1"], "rank5": ev["rank5"], "mAP": ev["mAP"],
            "mINP": ev.get("mINP"), "protocol": ev.get("protocol"),
            "probe": probe(run, which), "cross_rank1": cross["cross_camera_rank1"],
            "seconds": round(ev["time"], 1) if which == "final" and ev.get("time") else None}


def run_row(name: str, args, seed: int) -> dict:
    spec = ROWS[name]
    if "from" in spec:  # the initial evaluation of another row's run
        run = Run(train_row(spec["from"], args, seed))
        return {"row": name, "seed": seed, **measure(run, "initial"), "seconds": None,
                "fscore": None}
    run = Run(train_row(name, args, seed))
    labels = [r for r in run.metrics("labels") if r.get("stage") in (None, "global", "refined", "prototype")]
    return {"row": name, "seed": seed, "method": spec["method"],
            "options": spec.get("options", {}), **measure(run, "final"),
            "fscore": labels[-1].get("fscore") if labels else None}


def write(rows: list[dict], args, started: float) -> None:
    order = list(ROWS)
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    seeds = sorted({r["seed"] for r in rows})
    meta = {**stamp(), "git": git_rev(), "preset": args.preset, "epochs": args.epochs,
            "seeds": seeds, "overrides": args.overrides, "dataset": args.dataset,
            "wall_s": round(time.time() - started, 1)}
    (res / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))

    def ms(key, rs):
        vals = [r[key] for r in rs if r.get(key) is not None]
        return mean_std(vals) if vals else "—"

    over = ", ".join(f"{k}={v}" for k, v in args.overrides.items()) or "none"
    lines = [f"# Leaderboard on SynthCams ({args.preset} preset)", "",
             f"Command (the last; rows of earlier invocations are kept): `{meta['command']}`  ",
             f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {rows[0]['protocol'] if rows else '?'} (MARS layout); dataset "
             f"{args.dataset}; seeds {', '.join(map(str, seeds))}; overrides: {over}", "",
             "Mean ± standard deviation over the seeds. Camera probe: linear camera classifier "
             "on held-out identities (lower = less camera in the features). Cross-camera "
             "rank-1: every test tracklet against the tracklets of the other cameras. Cluster "
             "F: pairwise F-score of the last label update (methods that cluster).", "",
             "| row | supervision | seeds | rank-1 | rank-5 | mAP | mINP | camera probe | "
             "cross-camera rank-1 | cluster F | run (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in [n for n in order if any(r["row"] == n for r in rows)]:
        rs = [r for r in rows if r["row"] == n]
        secs = [r["seconds"] for r in rs if r.get("seconds")]
        lines.append(f"| {n} | {KIND[n]} | {len(rs)} | {ms('rank1', rs)} | {ms('rank5', rs)} | "
                     f"{ms('mAP', rs)} | {ms('mINP', rs)} | {ms('probe', rs)} | "
                     f"{ms('cross_rank1', rs)} | {ms('fscore', rs)} | "
                     f"{f'{np.mean(secs):.0f}' if secs else '—'} |")
    (res / f"{args.name}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every row (repeatable)")
    ap.add_argument("--out", default="runs/leaderboard")
    ap.add_argument("--name", default="leaderboard")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    args.overrides = parse_set(args.set)
    names = args.rows.split(",")
    from reidlab.methods import METHODS

    for name in names:
        if name not in ROWS:
            ap.error(f"unknown row {name!r}; expected one of {list(ROWS)}")
        method = ROWS[name].get("method")
        if method is not None and method not in METHODS:
            ap.error(f"row {name!r}: method {method!r} is not in this version of reidlab")
    if args.dataset == "data/synthcams":
        from reidlab.data.synthcams import ensure_default

        ensure_default(args.dataset)
    started = time.time()
    rows = []
    prev = Path(args.results) / f"{args.name}.json"
    if prev.is_file():  # append: keep rows of earlier invocations not re-run now
        rows = [r for r in json.loads(prev.read_text())["rows"]
                if not (r["row"] in names and r["seed"] in args.seeds)]
    for seed in args.seeds:
        for name in names:
            print(f"== {name} seed {seed}", flush=True)
            rows.append(run_row(name, args, seed))
            write(rows, args, started)
            print(json.dumps({k: rows[-1].get(k) for k in ("row", "seed", "rank1", "mAP",
                                                           "probe", "cross_rank1")}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
