"""Benchmark: pseudo labels (faiss kNN + sparse k-reciprocal Jaccard + DBSCAN) vs N and dim.

    python bench/bench_cluster.py [--sizes 2000 5000 10000 20000 --dims 2048 128 --sigma 1.0]

Synthetic features: N/4 identity centres (random unit vectors), 4 samples each = centre +
Gaussian noise of norm ≈ ``--sigma``, then L2-normalised, so clusters exist (cluster quality
against the identities is reported too). SpCL's defaults (k1 30, k2 6, eps 0.6,
min_samples 4) through ``reidlab.cluster.cluster_pseudo_labels``.

Each (dim, N) runs in a fresh subprocess: peak memory is ``ru_maxrss`` of that child minus its
own baseline taken after the imports (the float32 feature matrix, created after the baseline,
is counted and also listed on its own). Times are split into kNN / Jaccard / DBSCAN. Writes
bench/results/cluster_speed.json and .md with the command, machine and date, and the fitted
exponent b of time ≈ a·N^b per dimension. Targets: N = 20k within 60 s and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchlib import RESULTS, md_header, stamp

TARGET_S = 60.0
TARGET_MB = 4096.0


def _proc_kb(field: str) -> int | None:
    """A kB field of /proc/self/status (Linux), e.g. VmHWM, the peak RSS of this process's
    own address space (``ru_maxrss`` also counts the parent's before ``exec``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def child(n: int, dim: int, sigma: float, seed: int, opts: dict) -> dict:
    """One measurement, inside a fresh process; returns the numbers as a dict."""
    import resource

    import faiss
    import numpy as np
    import sklearn.cluster  # noqa: F401  (imported before the baseline, as the run needs it)

    from reidlab.cluster import cluster_pseudo_labels, cluster_quality

    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base_hwm = _proc_kb("VmHWM")
    rng = np.random.default_rng(seed)
    ids = max(1, n // 4)
    centres = rng.standard_normal((ids, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    pids = np.arange(n) % ids
    feat = np.empty((n, dim), np.float32)
    for a in range(0, n, 1024):  # float32 chunks: no float64 copy of the whole matrix
        b = min(n, a + 1024)
        feat[a:b] = centres[pids[a:b]] + (sigma / np.sqrt(dim)) * rng.standard_normal(
            (b - a, dim), dtype=np.float32)
    feat /= np.linalg.norm(feat, axis=1, keepdims=True)
    del centres
    res = cluster_pseudo_labels(feat, **opts)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_hwm = _proc_kb("VmHWM")
    q = cluster_quality(res.labels, pids)
    return {"n": n, "dim": dim, "knn_s": res.knn_s, "jaccard_s": res.jaccard_s,
            "dbscan_s": res.dbscan_s, "total_s": res.time_s,
            "peak_mb": (peak_kb - base_kb) / 1024.0, "baseline_mb": base_kb / 1024.0,
            "peak_hwm_mb": None if peak_hwm is None else (peak_hwm - base_hwm) / 1024.0,
            "features_mb": feat.nbytes / 2**20, "stored_pairs": res.num_pairs,
            "num_clusters": res.num_clusters, "outlier_fraction": res.outlier_fraction,
            "precision": q["precision"], "recall": q["recall"], "fscore": q["fscore"],
            "ari": q["ari"], "faiss_threads": faiss.omp_get_max_threads()}


def fit_exponent(ns: list[int], ts: list[float]) -> float | None:
    import numpy as np

    if len(ns) < 2 or min(ts) <= 0:
        return None
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    ap.add_argument("--dims", type=int, nargs="+", default=[2048, 128])
    ap.add_argument("--sigma", type=float, default=1.0, help="noise norm per sample")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k1", type=int, default=30)
    ap.add_argument("--k2", type=int, default=6)
    ap.add_argument("--eps", type=float, default=0.6)
    ap.add_argument("--min-samples", type=int, default=4)
    ap.add_argument("--out", default=str(RESULTS / "cluster_speed"))
    ap.add_argument("--child", nargs=2, type=int, metavar=("N", "DIM"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    opts = {"k1": args.k1, "k2": args.k2, "eps": args.eps, "min_samples": args.min_samples}
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.sigma, args.seed, opts)))
        return 0

    # The stamp (which imports torch) comes after the children: a child's ru_maxrss starts
    # from its parent's peak at exec, so the parent stays small while they run.
    load_before = round(os.getloadavg()[0], 2)
    rows = []
    for dim in args.dims:
        for n in args.sizes:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n), str(dim),
                   "--sigma", str(args.sigma), "--seed", str(args.seed), "--k1", str(args.k1),
                   "--k2", str(args.k2), "--eps", str(args.eps),
                   "--min-samples", str(args.min_samples)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                raise SystemExit(f"child N={n} dim={dim} failed ({out.returncode})")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"dim {dim:5d}  N {n:6d}  kNN {row['knn_s']:6.2f}s  Jaccard "
                  f"{row['jaccard_s']:6.2f}s  DBSCAN {row['dbscan_s']:6.2f}s  total "
                  f"{row['total_s']:6.2f}s  peak {row['peak_mb']:7.1f} MB  "
                  f"{row['num_clusters']} clusters", flush=True)

    st = stamp(argv, __file__)
    st["machine"]["loadavg_1min"] = load_before  # before the run, not after it
    exponents = {}
    for dim in args.dims:
        rs = [r for r in rows if r["dim"] == dim]
        ns = [r["n"] for r in rs]
        exponents[str(dim)] = {k: fit_exponent(ns, [r[k] for r in rs])
                               for k in ("total_s", "knn_s", "jaccard_s", "dbscan_s",
                                         "peak_mb")}
    big = [r for r in rows if r["n"] == max(args.sizes)]
    ok = all(r["total_s"] <= TARGET_S and r["peak_mb"] < TARGET_MB for r in big)
    out = {**st, "params": {**opts, "sigma": args.sigma, "seed": args.seed,
                            "samples_per_identity": 4},
           "targets": {"largest_n": max(args.sizes), "seconds": TARGET_S, "peak_mb": TARGET_MB,
                       "met": bool(ok)},
           "rows": rows, "exponents": exponents}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")

    threads = rows[0]["faiss_threads"] if rows else "-"
    md = ["# Pseudo-label clustering speed", "", *md_header(st),
          f"faiss threads {threads}; numpy/scipy/sklearn single-threaded. The 1-min load is "
          "taken before the run; above the core count, other jobs shared the cores and the "
          "times are pessimistic.", "",
          f"`cluster_pseudo_labels` with SpCL's defaults (k1 {args.k1}, k2 {args.k2}, eps "
          f"{args.eps}, min_samples {args.min_samples}) on synthetic L2-normalised features: N/4 "
          f"identities × 4 samples, noise norm {args.sigma}. One fresh process per row; peak = "
          "max RSS minus the process's RSS after its imports (includes the float32 features, "
          "listed apart). Pairs = stored entries of the distance matrix DBSCAN gets (J <= eps).",
          "",
          "| dim | N | kNN s | Jaccard s | DBSCAN s | total s | peak MB | features MB | pairs "
          "| clusters | outliers | pairwise F | ARI |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['dim']} | {r['n']} | {r['knn_s']:.2f} | {r['jaccard_s']:.2f} | "
                  f"{r['dbscan_s']:.2f} | {r['total_s']:.2f} | {r['peak_mb']:.0f} | "
                  f"{r['features_mb']:.0f} | {r['stored_pairs']} | {r['num_clusters']} | "
                  f"{100 * r['outlier_fraction']:.1f}% | {r['fscore']:.3f} | {r['ari']:.3f} |")
    md += ["", "Growth with N (least-squares fit of log time on log N, time ≈ a·N^b):", "",
           "| dim | total | kNN | Jaccard | DBSCAN | peak memory |", "|---|---|---|---|---|---|"]

    def fmt(v):
        return "-" if v is None else f"{v:.2f}"

    for dim, e in exponents.items():
        md.append(f"| {dim} | {fmt(e['total_s'])} | {fmt(e['knn_s'])} | {fmt(e['jaccard_s'])} "
                  f"| {fmt(e['dbscan_s'])} | {fmt(e['peak_mb'])} |")
    md += ["", "kNN is exact (faiss IndexFlatIP, O(N²·dim)). The Jaccard step costs one "
           "(row, column, value) triple per pair of entries that share a column of V and "
           "scans a dense block-rows × N accumulator, so it grows faster than N when the "
           "encodings' 2-hop neighbourhoods keep widening; its memory stays bounded by the "
           "block size (250k triples/cells) plus V (~N·k1·k2 entries)."]
    md += ["", f"Target at N = {max(args.sizes)}: ≤ {TARGET_S:.0f} s and < "
           f"{TARGET_MB / 1024:.0f} GB: **{'met' if ok else 'missed'}**.", ""]
    path.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
