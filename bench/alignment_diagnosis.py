"""Why does (or doesn't) adversarial camera alignment help on SynthCams? A short diagnosis.

    python bench/alignment_diagnosis.py [--epochs 4] [--eval-frames 4] [--out runs/diag]

Same data, seed and schedule for every row (quick preset, shortened to ``--epochs`` with
``--eval-frames`` per tracklet so that a row takes minutes): ``padal_id`` vs ``padal_m`` with
λ ∈ {0.1, 1} (constant, or ramped up as in DANN), discriminators learning at 1× or 10× the
feature extractor's rate, discriminator capacity (hidden width 64 / 256 / 1024), and the
features' loss either the reversed camera cross-entropy (GRL, the paper) or the bounded
confusion loss (``adv_loss=confusion``: cross-entropy to the uniform camera distribution). For each
row: rank-1/mAP, the camera probe (identities held out) before → after, and the discriminator's
accuracy per epoch (chance = 1/N_c; below chance means the features push the discriminator to a
*wrong* camera — they still carry the camera). Writes bench/results/alignment_diagnosis.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchlib import RESULTS, md_header, stamp
from tablelib import run_row

from reidlab.engine.runs import Run

ROWS = {
    "padal_id": dict(method="padal_id"),
    "padal_m λ0.1": dict(method="padal_m", lam=0.1),
    "padal_m λ0.1 disc×10": dict(method="padal_m", lam=0.1, disc_lr_mult=10.0),
    "padal_m λ1": dict(method="padal_m", lam=1.0),
    "padal_m λ1 disc×10": dict(method="padal_m", lam=1.0, disc_lr_mult=10.0),
    "padal_m λ0.1 confusion": dict(method="padal_m", lam=0.1, adv_loss="confusion"),
    "padal_m λ1 confusion": dict(method="padal_m", lam=1.0, adv_loss="confusion"),
    "padal_m λ1 dann": dict(method="padal_m", lam=1.0, lam_schedule="dann"),
    "padal_m λ1 disc 64": dict(method="padal_m", lam=1.0, disc_hidden=64),
    "padal_m λ1 disc 1024": dict(method="padal_m", lam=1.0, disc_hidden=1024),
}


def folder(name: str) -> str:
    return name.replace(" ", "_").replace("λ", "lam").replace("×", "x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--eval-frames", type=int, default=4, dest="eval_frames")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--out", default="runs/diag")
    ap.add_argument("--preset", default="quick",
                    help="training preset (results before 2026-12-03: quick128)")
    args = ap.parse_args()
    args.lam, args.overrides = 0.1, {}
    started, rows = time.time(), []
    for name in args.rows.split(","):
        print(f"== {name}", flush=True)
        over = {**ROWS[name], "eval_frames": args.eval_frames}
        r = run_row(folder(name), over, args, args.seed)
        epochs = Run(f"{args.out}/{folder(name)}").metrics("epoch")
        r["disc_acc_by_epoch"] = [round(e["metrics"].get("disc_acc", float("nan")), 3)
                                  for e in epochs]
        r["adv_by_epoch"] = [round(e["terms"].get("adv", float("nan")), 3) for e in epochs]
        r["conf_by_epoch"] = [round(e["terms"]["conf"], 3) for e in epochs if "conf" in e["terms"]]
        r["row"] = name
        rows.append(r)
        write(rows, args, started)
    return 0


def write(rows, args, started) -> None:
    meta = {**stamp(), "epochs": args.epochs, "eval_frames": args.eval_frames,
            "seed": args.seed, "wall_s": round(time.time() - started, 1)}
    (RESULTS / "alignment_diagnosis.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                                 indent=1))
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = ["# Does adversarial alignment remove the camera? (SynthCams, short runs)", "",
             *md_header(meta), f"Quick preset shortened to {args.epochs} epochs, "
             f"{args.eval_frames} frames per tracklet at evaluation; seed {args.seed}.", "",
             "| row | rank-1 | mAP | camera probe init → final | discriminator accuracy by epoch"
             " (chance 16.7) | L_adv by epoch | L_conf by epoch (minimum log 6 = 1.79) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        acc = ", ".join(pct(a) for a in r["disc_acc_by_epoch"]) if r["row"] != "padal_id" else "—"
        adv = ", ".join(f"{a:.2f}" for a in r["adv_by_epoch"]) if r["row"] != "padal_id" else "—"
        conf = ", ".join(f"{a:.2f}" for a in r.get("conf_by_epoch", [])) or "—"
        lines.append(f"| {r['row']} | {pct(r['rank1'])} | {pct(r['mAP'])} | "
                     f"{pct(r['probe_initial'])} → {pct(r['probe_final'])} | {acc} | {adv} | "
                     f"{conf} |")
    (RESULTS / "alignment_diagnosis.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
