"""``make bench``: every benchmark that fits on this machine, one after another, refreshing
bench/results/ (each script writes its own files with the command, machine and date).

    python bench/run_all.py            # the speed and calibration benchmarks (~10 min, 2 cores)
    python bench/run_all.py --quick    # a short pass: smaller sizes, one repeat (~3 min)
    python bench/run_all.py --tables   # also the papers' ablation tables (hours on a CPU)
    python bench/run_all.py --only eval,cluster --dry-run

At the end the README's "Measured" table is regenerated from bench/results
(``bench/measured.py --write``). A benchmark that fails is reported and the others still run; the exit code is the number of
failures. The ablation tables reuse finished runs and resume unfinished ones (runs/...), so
``--tables`` can be stopped and started again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchlib import ROOT

# name -> (full arguments, --quick arguments); all run as `python bench/<script>`
SPEED: dict[str, tuple[str, list[str], list[str]]] = {
    "synth": ("bench_synth.py", ["--repeats", "2"], ["--repeats", "1"]),
    "calibrate": ("calibrate_synthcams.py", [], ["--max-frames", "4", "--tag", "quick"]),
    "calibrate_b": ("calibrate_synthcams.py", ["--style", "b"],
                    ["--style", "b", "--max-frames", "4", "--tag", "quick"]),
    "calibrate_ir": ("calibrate_infrared.py", [], []),
    "eval": ("bench_eval.py", [], ["--repeat", "1", "--scale", "2000x10000,5000x25000"]),
    "embedding": ("bench_embedding.py", ["--umap", "--variant", '{"quality": "full"}'],
                  ["--sizes", "2000,5000"]),
    "mars_loader": ("bench_mars_loader.py", [], ["--repeats", "1"]),
    "cluster": ("bench_cluster.py", [], ["--sizes", "2000", "5000", "--dims", "128"]),
    "app_startup": ("bench_app_startup.py", [], ["--quick"]),
    "quick_preset": ("bench_quick_preset.py", [], ["--steps", "4"]),
    "resolution_probe": ("resolution_probe.py", [],
                         ["--sizes", "128x64,96x48", "--eval-frames", "4", "--name",
                          "resolution_probe_quick"]),
    "gpu": ("bench_gpu.py", ["--compile"], ["--steps", "10"]),  # says so without a GPU
}
TABLES: dict[str, tuple[str, list[str], list[str]]] = {
    "table2_padal": ("table2_padal.py", [], ["--rows", "padal_id,padal_mp_K3"]),
    "table_cawcl": ("table_cawcl.py", ["--seeds", "0,1"], ["--rows", "contr_knn_clc"]),
    "table_pirid": ("table_pirid.py", ["--seeds", "0,1"], ["--rows", "pirid"]),
    "table_calr": ("table_calr.py", ["--seeds", "0,1"], ["--rows", "calr"]),
    "leaderboard": ("leaderboard.py", [], ["--seeds", "0"]),
    "table_xmodal": ("table_xmodal.py", ["--seeds", "0,1"], ["--rows", "shallow_weighted"]),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short pass (smaller sizes)")
    ap.add_argument("--tables", action="store_true", help="also the ablation tables (long)")
    ap.add_argument("--only", default="", help="comma-separated names (see --dry-run)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args(argv)
    jobs = {**SPEED, **(TABLES if args.tables or args.only else {})}
    names = [n for n in args.only.split(",") if n] or list(jobs)
    unknown = [n for n in names if n not in {**SPEED, **TABLES}]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; expected some of {list({**SPEED, **TABLES})}")
    failed = []
    for i, name in enumerate(names, 1):
        script, full, quick = {**SPEED, **TABLES}[name]
        cmd = [sys.executable, f"bench/{script}", *(quick if args.quick else full)]
        print(f"[{i}/{len(names)}] {name}: {' '.join(cmd[1:])}", flush=True)
        if args.dry_run:
            continue
        t0 = time.time()
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        print(f"[{i}/{len(names)}] {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} "
              f"in {time.time() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if not args.dry_run:
        # the README's Measured table is generated from what the benchmarks just wrote
        subprocess.run([sys.executable, "bench/measured.py", "--write"], cwd=ROOT, check=False)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
