"""Time the MARS reader on the real MARS protocol (../shared/fixtures/mars_info).

Builds the name lists and the first/last frame of every track (all the reader touches) in a
scratch folder, loads both protocols a few times, and writes bench/results/mars_loader.{json,md}.

    python bench/bench_mars_loader.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time

from benchlib import RESULTS, ROOT, describe, stamp

sys.path.insert(0, str(ROOT / "tests"))

from fakedata import load_real_mars_tables, scratch_dir, write_mars  # noqa: E402
from reidlab.data import load_dataset  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tables = load_real_mars_tables()
    root = scratch_dir("reidlab_bench_mars_", min_inodes=50_000)
    try:
        t0 = time.perf_counter()
        write_mars(root, *tables, frames="ends")
        build_s = time.perf_counter() - t0
        results = {}
        for protocol in ("official", "torchreid"):
            runs = []
            for _ in range(args.repeats):
                w0, c0 = time.perf_counter(), time.process_time()
                ds = load_dataset("mars", root, protocol=protocol)
                runs.append({"wall_s": round(time.perf_counter() - w0, 3),
                             "cpu_s": round(time.process_time() - c0, 3)})
            results[protocol] = {
                "runs": runs,
                "train": len(ds.train), "query": len(ds.query), "gallery": len(ds.gallery),
                "frames": sum(len(t) for t in ds.train + ds.gallery),
            }
            del ds
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out = {
        **stamp(),
        "scratch_build_s": round(build_s, 2),
        "results": results,
    }
    res = RESULTS
    res.mkdir(parents=True, exist_ok=True)
    (res / "mars_loader.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = ["# MARS reader on the real protocol\n", f"`{out['command']}` on {out['date']}, "
             f"{describe(out['machine'])}, Python {out['machine']['python']}\n",
             "| protocol | train | query | gallery | best wall s | best CPU s |",
             "|---|---|---|---|---|---|"]
    for p, r in results.items():
        lines.append(f"| {p} | {r['train']} | {r['query']} | {r['gallery']} | "
                     f"{min(x['wall_s'] for x in r['runs'])} | {min(x['cpu_s'] for x in r['runs'])} |")
    (res / "mars_loader.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
