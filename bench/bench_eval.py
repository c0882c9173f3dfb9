"""Benchmark: distances (torch, faiss) and vectorised evaluation vs a plain per-query loop.

    python bench/bench_eval.py [--nq 2000 --ng 10000 --dim 128 --ids 500 --cams 6 --repeat 3]

Random features; the same distance matrix goes to ``reidlab.eval.evaluate`` and to a
torchreid-style per-query loop (stable argsort), and the results must agree. Writes
bench/results/eval_speed.json and .md with the command, machine (nproc, CPU model, load
average) and date. Times are the best of ``--repeat`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from benchlib import RESULTS, md_header, stamp, write_plot

from reidlab.eval import compute_distmat, evaluate, evaluate_arrays, evaluate_by_camera_pair


def loop_evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """torchreid's eval_market1501 loop (argsort of the whole matrix, then one query at a time)."""
    indices = np.argsort(distmat, axis=1, kind="stable")
    matches = (g_pids[indices] == q_pids[:, None]).astype(np.int32)
    all_cmc, all_ap, all_inp = [], [], []
    for qi in range(distmat.shape[0]):
        order = indices[qi]
        remove = (g_pids[order] == q_pids[qi]) & (g_camids[order] == q_camids[qi])
        raw = matches[qi][~remove]
        if not np.any(raw):
            continue
        cmc = raw.cumsum()
        last = np.flatnonzero(raw).max()
        all_inp.append(cmc[last] / (last + 1.0))
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        tmp = raw.cumsum() / (np.arange(raw.size) + 1.0) * raw
        all_ap.append(tmp.sum() / raw.sum())
    return {"cmc": np.mean(all_cmc, 0), "mAP": float(np.mean(all_ap)),
            "mINP": float(np.mean(all_inp)), "num_valid_queries": len(all_ap)}


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def scale_row(spec: str, args, rng, centres) -> dict:
    """Features → metrics for ``NQxNG`` random queries and gallery, time and peak memory."""
    import tracemalloc

    nq, ng = (int(v) for v in spec.lower().split("x"))
    qp, gp = rng.integers(0, args.ids, nq), rng.integers(0, args.ids, ng)
    qc, gc = rng.integers(0, args.cams, nq), rng.integers(0, args.cams, ng)
    q = centres[qp] + 2.0 * rng.normal(size=(nq, args.dim)).astype(np.float32)
    g = centres[gp] + 2.0 * rng.normal(size=(ng, args.dim)).astype(np.float32)
    tracemalloc.start()
    t = time.perf_counter()
    m = evaluate_arrays(q, g, qp, gp, qc, gc, pairs=False)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{nq} x {ng}: {seconds:.2f} s, peak {peak / 2**20:.0f} MB", flush=True)
    return {"queries": nq, "gallery": ng, "seconds": seconds, "peak_mb": peak / 2**20,
            "full_matrix_mb": nq * ng * 4 / 2**20, "mAP": m["mAP"], "rank1": m["rank1"]}


def plot_scale(rows: list[dict], png: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = [r["queries"] * r["gallery"] for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time (s)", "peak memory (MB)"))
    fig.add_trace(go.Scatter(x=n, y=[r["seconds"] for r in rows], mode="lines+markers",
                             name="time"), 1, 1)
    fig.add_trace(go.Scatter(x=n, y=[r["peak_mb"] for r in rows], mode="lines+markers",
                             name="peak"), 1, 2)
    fig.add_trace(go.Scatter(x=n, y=[r["full_matrix_mb"] for r in rows], mode="lines",
                             line=dict(dash="dot"), name="full matrix"), 1, 2)
    fig.update_xaxes(type="log", title_text="queries × gallery")
    fig.update_yaxes(type="log")
    write_plot(fig, png, "Evaluation from features in memory-bounded blocks")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nq", type=int, default=2000)
    ap.add_argument("--ng", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--ids", type=int, default=500)
    ap.add_argument("--cams", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--scale", default="2000x10000,5000x25000,10000x50000,20000x100000",
                    help="query×gallery sizes for features → metrics in memory-bounded blocks "
                         "('' to skip)")
    ap.add_argument("--out", default=str(RESULTS / "eval_speed"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    # Identity centres + noise so the metrics are not trivial.
    centres = rng.normal(size=(args.ids, args.dim)).astype(np.float32)
    q_pids, g_pids = rng.integers(0, args.ids, args.nq), rng.integers(0, args.ids, args.ng)
    q_camids, g_camids = rng.integers(0, args.cams, args.nq), rng.integers(0, args.cams, args.ng)
    q = centres[q_pids] + 2.0 * rng.normal(size=(args.nq, args.dim)).astype(np.float32)
    g = centres[g_pids] + 2.0 * rng.normal(size=(args.ng, args.dim)).astype(np.float32)

    t_torch, d_torch = best_of(lambda: compute_distmat(q, g, backend="torch"), args.repeat)
    t_faiss, d_faiss = best_of(lambda: compute_distmat(q, g, backend="faiss"), args.repeat)
    t_eval, res = best_of(lambda: evaluate(d_torch, q_pids, g_pids, q_camids, g_camids), args.repeat)
    t_pair, _ = best_of(lambda: evaluate_by_camera_pair(d_torch, q_pids, g_pids, q_camids, g_camids),
                        args.repeat)
    t_loop, ref = best_of(lambda: loop_evaluate(d_torch, q_pids, g_pids, q_camids, g_camids), 1)

    agree = {
        "distmat_max_abs_diff_torch_vs_faiss": float(np.abs(d_torch - d_faiss).max()),
        "cmc_max_abs_diff": float(np.abs(res["cmc"] - ref["cmc"]).max()),
        "mAP_abs_diff": abs(res["mAP"] - ref["mAP"]),
        "mINP_abs_diff": abs(res["mINP"] - ref["mINP"]),
        "num_valid_equal": res["num_valid_queries"] == ref["num_valid_queries"],
    }
    blocks = evaluate_arrays(q, g, q_pids, g_pids, q_camids, g_camids, pairs=False,
                             block_bytes=1)  # 1024-query blocks vs the whole matrix
    agree["blocks_equal_full"] = bool(
        blocks["mAP"] == res["mAP"] and blocks["mINP"] == res["mINP"]
        and np.array_equal(blocks["cmc"], res["cmc"]))
    ok = (agree["cmc_max_abs_diff"] < 1e-12 and agree["mAP_abs_diff"] < 1e-12
          and agree["mINP_abs_diff"] < 1e-12 and agree["num_valid_equal"]
          and agree["blocks_equal_full"])
    scale = [scale_row(s, args, rng, centres) for s in args.scale.split(",") if s]
    st = stamp(argv, __file__)
    st["machine"]["numpy"] = np.__version__
    out = {
        **st,
        "sizes": {"queries": args.nq, "gallery": args.ng, "dim": args.dim, "ids": args.ids,
                  "cameras": args.cams},
        "seconds": {"distmat_torch": t_torch, "distmat_faiss": t_faiss,
                    "evaluate_vectorised": t_eval, "evaluate_per_query_loop": t_loop,
                    "evaluate_by_camera_pair": t_pair},
        "speedup_vs_loop": t_loop / t_eval,
        "metrics": {"rank1": res["rank1"], "rank5": res["rank5"], "mAP": res["mAP"],
                    "mINP": res["mINP"], "num_valid_queries": res["num_valid_queries"]},
        "agreement": agree,
        "results_equal": bool(ok),
        "scale": scale,
        "target": {"evaluate_2000x10000_s": 0.15,
                   "met": bool(t_eval <= 0.15)},
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    m, s = out["machine"], out["seconds"]
    md = [
        "# Evaluation speed", "", *md_header(st),
        f"Torch threads {m['torch_threads']}, numpy {m['numpy']} (the machine is shared).", "",
        f"{args.nq} queries × {args.ng} gallery, {args.dim}-d, {args.ids} ids, {args.cams} cameras "
        f"(best of {args.repeat}; the loop once).", "",
        "| step | seconds |", "|---|---|",
        f"| distances, torch (chunked) | {s['distmat_torch']:.3f} |",
        f"| distances, faiss (exact) | {s['distmat_faiss']:.3f} |",
        f"| evaluate, vectorised | {s['evaluate_vectorised']:.3f} |",
        f"| evaluate, per-query loop (torchreid style) | {s['evaluate_per_query_loop']:.3f} |",
        f"| evaluate_by_camera_pair ({args.cams}×{args.cams} rank-1/mAP) | {s['evaluate_by_camera_pair']:.3f} |",
        "",
        f"Speed-up of the vectorised evaluation: {out['speedup_vs_loop']:.1f}×. "
        f"Results equal: **{ok}** (max |ΔCMC| {agree['cmc_max_abs_diff']:.1e}, "
        f"|ΔmAP| {agree['mAP_abs_diff']:.1e}, |ΔmINP| {agree['mINP_abs_diff']:.1e}; "
        f"max |Δd| torch vs faiss {agree['distmat_max_abs_diff_torch_vs_faiss']:.1e}).", "",
        f"rank-1 {res['rank1']:.4f}, mAP {res['mAP']:.4f}, mINP {res['mINP']:.4f}, "
        f"{res['num_valid_queries']} valid queries. Target ≤ 0.15 s for the vectorised "
        f"evaluation: {'met' if out['target']['met'] else 'missed'}.", "",
    ]
    if scale:
        md += ["## From features, in memory-bounded blocks (`reidlab.eval.evaluate_arrays`)", "",
               "Distances and metrics in blocks of whole 1024-query chunks (≤ 256 MB of distances, or one chunk "
               "at a time; the numbers of the full matrix, checked above). Peak: the largest "
               "numpy allocation in use at once (tracemalloc).", "",
               "| queries × gallery | seconds | peak MB | full matrix would be MB |",
               "|---|---|---|---|"]
        md += [f"| {r['queries']} × {r['gallery']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | "
               f"{r['full_matrix_mb']:.0f} |" for r in scale]
        if len(scale) > 1:
            x = np.log([r["queries"] * r["gallery"] for r in scale])
            y = np.log([r["seconds"] for r in scale])
            out["scale_exponent"] = float(np.polyfit(x, y, 1)[0])
            md += ["", f"Time grows as (queries × gallery)^{out['scale_exponent']:.2f}.",
                   f"![time and memory against size]({path.with_suffix('.png').name})"]
            plot_scale(scale, path.with_suffix(".png"))
        md.append("")
        path.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    path.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
