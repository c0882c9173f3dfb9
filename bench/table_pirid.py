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
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import RESULTS, describe, git_rev, stamp
from table2_padal import mean_std, parse_set, probe

from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402
from reidlab.engine.trainer import train  # noqa: E402

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
    out = Path(args.out) / (name if seed == 0 else f"{name}_s{seed}")
    done = out.exists() and Run(out).status().get("state") == "finished"
    if not done:
        cfg = make_config(args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs,
                          method="pirid", options=options, **{**BENCH_CONFIG, **args.overrides})
        train(cfg, out, resume=(out / "checkpoint.pt").is_file())
    run = Run(out)
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    run_s = final.get("time")
    links = [r for r in run.metrics("labels") if r.get("stage") == "prototype"]
    last = links[-1] if links else {}
    return {
        "row": name, "seed": seed, "options": options,
        "seconds": round(run_s, 1) if run_s else None,
        "rank1": final["rank1"], "rank5": final["rank5"], "mAP": final["mAP"],
        "mINP": final.get("mINP"), "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "link_precision": last.get("link_precision"), "link_recall": last.get("link_recall"),
        "prototypes": last.get("prototypes"), "linked_ids": last.get("linked_ids"),
        "ids": (last.get("linked_ids") or 0) + (last.get("dropped_ids") or 0) or None,
        "link_precision_first": links[0].get("link_precision") if links else None,
    }


def write(rows: list[dict], args, started: float) -> None:
    order = list(ROWS)
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    seeds = sorted({r["seed"] for r in rows})
    meta = {**stamp(), "git": git_rev(), "preset": args.preset, "epochs": args.epochs,
            "seeds": seeds, "overrides": {**BENCH_CONFIG, **args.overrides},
            "options": {**BENCH_OPTIONS, **args.options}, "dataset": args.dataset,
            "wall_s": round(time.time() - started, 1)}
    (res / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))

    def ms(key, rs, scale=True):
        vals = [r[key] for r in rs if r.get(key) is not None]
        if not vals:
            return "—"
        if not scale:
            a = np.array(vals, float)
            return f"{a.mean():.0f}" if len(a) == 1 else f"{a.mean():.0f} ± {a.std(ddof=1):.0f}"
        return mean_std(vals)

    over = ", ".join(f"{k}={v}" for k, v in {**meta["overrides"], **meta["options"]}.items())
    lines = [f"# PIRID ablation on SynthCams ({args.preset} preset)", "",
             f"Command (the last; rows of earlier invocations are kept): `{meta['command']}`  ",
             f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {rows[0]['protocol'] if rows else '?'} (MARS layout); dataset "
             f"{args.dataset}; seeds {', '.join(map(str, seeds))}; settings: {over}", "",
             "Mean ± standard deviation over the seeds. Links: pairs of camera-local IDs put in "
             "one prototype at the last update, precision = share that are one person (first "
             "update → last), recall = share of one-person ID pairs linked. Camera probe: "
             "linear camera classifier on held-out identities.", "",
             "| row | setting | seeds | rank-1 | rank-5 | mAP | mINP | link precision first → "
             "last | link recall | prototypes | IDs linked | camera probe init → final | "
             "run (s) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in [n for n in order if any(r["row"] == n for r in rows)]:
        rs = [r for r in rows if r["row"] == n]
        setting = ", ".join(f"{k}={v}" for k, v in ROWS[n].items()) or "full"
        secs = np.mean([r["seconds"] for r in rs if r["seconds"]] or [np.nan])
        ids = rs[0].get("ids")
        lines.append(
            f"| {n} | {setting} | {len(rs)} | {ms('rank1', rs)} | {ms('rank5', rs)} | "
            f"{ms('mAP', rs)} | {ms('mINP', rs)} | {ms('link_precision_first', rs)} → "
            f"{ms('link_precision', rs)} | {ms('link_recall', rs)} | "
            f"{ms('prototypes', rs, False)} | {ms('linked_ids', rs, False)}"
            f"{f' of {ids}' if ids else ''} | {ms('probe_initial', rs)} → "
            f"{ms('probe_final', rs)} | {secs:.0f} |")
    if rows:
        r = rows[0]
        lines += ["", f"Initial model (ImageNet, before training): rank-1 "
                  f"{100 * r['initial_rank1']:.1f}, mAP {100 * r['initial_mAP']:.1f}."]
    (res / f"{args.name}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every row (repeatable)")
    ap.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                    help="pirid option for every row (repeatable)")
    ap.add_argument("--out", default="runs/table_pirid")
    ap.add_argument("--name", default="table_pirid")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    args.overrides = parse_set(args.set)
    args.options = parse_set(args.opt)
    names = args.rows.split(",")
    for name in names:
        if name not in ROWS:
            ap.error(f"unknown row {name!r}; expected one of {list(ROWS)}")
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
            print(json.dumps({k: rows[-1][k] for k in ("row", "seed", "rank1", "mAP",
                                                       "link_precision", "probe_final")}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
