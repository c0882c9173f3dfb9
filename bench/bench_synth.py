"""Time the generation of the default SynthCams dataset (target: ≤ 60 s on 2 cores).

    python bench/bench_synth.py [--out /tmp/synthcams_bench] [--workers 2] [--repeats 1]

Writes bench/results/synth_speed.json and .md with the command, machine, date, the dataset
counts, the wall time of each repeat and the machine load when it started (the workspace is
shared, so a loaded machine makes the number pessimistic).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from benchlib import RESULTS, md_header, stamp

from reidlab.synth import MARKER, SynthConfig, generate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/synthcams_bench")
    ap.add_argument("--workers", type=int, default=SynthConfig().workers)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    cfg = replace(SynthConfig(), workers=args.workers)
    runs = []
    for _ in range(args.repeats):
        shutil.rmtree(args.out, ignore_errors=True)
        load = os.getloadavg()
        t0 = time.perf_counter()
        generate(args.out, cfg)
        wall = time.perf_counter() - t0
        runs.append({"wall_s": round(wall, 2), "loadavg_1min_before": round(load[0], 2),
                     "loadavg_1min_after": round(os.getloadavg()[0], 2)})
        print(f"generated in {wall:.1f} s (load before: {load[0]:.2f})")
    counts = json.loads((Path(args.out) / MARKER).read_text())["counts"]
    best = min(r["wall_s"] for r in runs)
    st = stamp(argv, __file__)
    res = {
        **st,
        "config": cfg.identity() | {"workers": cfg.workers},
        "counts": counts,
        "runs": runs,
        "best_wall_s": best,
        "target_s": 60,
        "frames_per_s": round(counts["frames"] / best, 1),
        "meets_target": best <= 60,
    }
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth_speed.json").write_text(json.dumps(res, indent=1) + "\n")
    md = [
        "# SynthCams generation speed",
        "",
        *md_header(st),
        "(shared with other work; the 1-min load average before each run is listed)  ",
        f"Config: {json.dumps(res['config'])}  ",
        f"Counts: {json.dumps(counts)}",
        "",
        "| run | wall (s) | 1-min load before | after |",
        "|---|---|---|---|",
    ]
    for i, r in enumerate(runs):
        md.append(f"| {i + 1} | {r['wall_s']} | {r['loadavg_1min_before']} | {r['loadavg_1min_after']} |")
    md += ["", f"Best: **{best} s** for {counts['frames']} frames ({res['frames_per_s']} frames/s); "
           f"target ≤ 60 s: {'met' if res['meets_target'] else 'NOT met'}.", ""]
    (out / "synth_speed.md").write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
