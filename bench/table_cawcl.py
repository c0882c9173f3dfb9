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
  ``uda_ce`` / ``uda_clc`` (``_1clip``) + camera loss on the target, and ``uda_<row>`` for
  every unsupervised row above, e.g. ``uda_contr_knn_clc`` (the full method).

A finished run is reused, an unfinished one resumed, so the script can be re-run after a stop;
rows are appended to bench/results/NAME.{json,md} one by one. Besides rank-1/5 and mAP each row
records the cluster quality of the last label update (pairwise F-score, clusters, outliers) and
the camera probe of the initial and final features.
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
    out = Path(args.out) / (name if seed == 0 else f"{name}_s{seed}")
    done = Run(out).status().get("state") == "finished" if out.exists() else False
    if not done:
        params = dict(dataset=args.dataset, seed=seed, epochs=args.epochs, method="cawcl",
                      options=options, source=args.source if uda else None,
                      **args.overrides, **spec)
        cfg = make_config(args.preset, **params)
        train(cfg, out, resume=(out / "checkpoint.pt").is_file())
    run = Run(out)
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    run_s = next(m for m in run.metrics("eval") if m.get("which") == "final").get("time")
    labels = run.metrics("labels")
    last = labels[-1] if labels else {}
    cfg = run.train_config()
    return {
        "row": name, "seed": seed, "uda": uda, "options": options,
        "clips": cfg.clips_per_tracklet, "seconds": round(run_s, 1) if run_s else None,
        "rank1": final["rank1"], "rank5": final["rank5"], "mAP": final["mAP"],
        "mINP": final.get("mINP"), "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "fscore": last.get("fscore"), "precision": last.get("precision"),
        "recall": last.get("recall"), "num_clusters": last.get("num_clusters"),
        "outlier_fraction": last.get("outlier_fraction"),
        "fscore_first": labels[0].get("fscore") if labels else None,
    }


def write(rows: list[dict], args, started: float) -> None:
    order = list(ROWS)
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    seeds = sorted({r["seed"] for r in rows})
    meta = {**stamp(), "git": git_rev(),
            "preset": args.preset, "epochs": args.epochs, "seeds": seeds,
            "overrides": args.overrides, "options": args.options, "dataset": args.dataset,
            "source": args.source, "wall_s": round(time.time() - started, 1)}
    (res / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    names = [n for n in order if any(r["row"] == n for r in rows)]
    over = ", ".join(f"{k}={v}" for k, v in {**args.overrides, **args.options}.items()) or "none"
    lines = [f"# CAWCL ablation on SynthCams ({args.preset} preset)", "",
             f"Command (the last; rows of earlier invocations are kept): `{meta['command']}`  ", f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {rows[0]['protocol'] if rows else '?'} (MARS layout); target "
             f"{args.dataset}; UDA source {args.source}; seeds "
             f"{', '.join(map(str, seeds))}; overrides: {over}", "",
             "Mean ± standard deviation over the seeds. Cluster F-score / precision / recall: "
             "pairwise, of the last label update against the true identities (first update → "
             "last for F). Camera probe: linear camera classifier on held-out identities.", "",
             "| row | setting | clips | seeds | rank-1 | rank-5 | mAP | mINP | cluster F first → last | "
             "precision | recall | clusters | outliers | camera probe init → final | run (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def ms(key, rs, scale=True):
        vals = [r[key] for r in rs if r.get(key) is not None]
        if not vals:
            return "—"
        if not scale:
            a = np.array(vals, float)
            return f"{a.mean():.0f}" if len(a) == 1 else f"{a.mean():.0f} ± {a.std(ddof=1):.0f}"
        return mean_std(vals)

    for n in names:
        rs = [r for r in rows if r["row"] == n]
        o = rs[0]["options"]
        setting = ("UDA " if rs[0]["uda"] else "unsup. ") + ", ".join(
            f"{k}={v}" for k, v in o.items())
        secs = np.mean([r["seconds"] for r in rs if r["seconds"]] or [np.nan])
        lines.append(
            f"| {n} | {setting} | {rs[0]['clips']} | {len(rs)} | {ms('rank1', rs)} | {ms('rank5', rs)} | "
            f"{ms('mAP', rs)} | {ms('mINP', rs)} | {ms('fscore_first', rs)} → "
            f"{ms('fscore', rs)} | {ms('precision', rs)} | {ms('recall', rs)} | "
            f"{ms('num_clusters', rs, False)} | {ms('outlier_fraction', rs)} | "
            f"{ms('probe_initial', rs)} → {ms('probe_final', rs)} | {secs:.0f} |")
    if rows:
        r = rows[0]
        lines += ["", f"Initial model (ImageNet, before training): rank-1 "
                  f"{100 * r['initial_rank1']:.1f}, mAP {100 * r['initial_mAP']:.1f}."]
    (res / f"{args.name}.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--source", default="data/synthcams_b",
                    help="labelled source of the UDA rows (generated if it is the default "
                    "and missing)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every row (repeatable)")
    ap.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                    help="cawcl option for every row (repeatable)")
    ap.add_argument("--out", default="runs/table_cawcl")
    ap.add_argument("--name", default="table_cawcl")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    args.overrides = parse_set(args.set)
    args.options = parse_set(args.opt)
    names = args.rows.split(",")
    for name in names:
        if name not in ROWS:
            ap.error(f"unknown row {name!r}; expected one of {list(ROWS)}")
    if any(ROWS[n].get("uda") for n in names) and args.source == "data/synthcams_b":
        from reidlab.data.synthcams import ensure_domain_b

        ensure_domain_b(args.source)
    started = time.time()
    rows = []
    prev = Path(args.results) / f"{args.name}.json"
    if prev.is_file():  # append: keep rows of earlier invocations not re-run now
        keep = json.loads(prev.read_text())["rows"]
        rows = [r for r in keep if not (r["row"] in names and r["seed"] in args.seeds)]
    for seed in args.seeds:
        for name in names:
            print(f"== {name} seed {seed}", flush=True)
            rows.append(run_row(name, args, seed))
            write(rows, args, started)
            print(json.dumps({k: rows[-1][k] for k in ("row", "seed", "rank1", "mAP", "fscore",
                                                       "probe_final")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
