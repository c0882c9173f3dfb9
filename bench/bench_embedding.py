"""Benchmark: t-SNE (and optionally UMAP) of re-ID-sized feature sets, time and peak memory.

    python bench/bench_embedding.py [--sizes 5000,10000,20000] [--qualities fast,standard]
        [--dim 1280] [--umap] [--variant '{"quality": "full"}' ...]

Features: identity centres + camera offsets + noise (like CNN features of a camera network).
Each size runs in a fresh process (so its peak resident memory is its own), without the
cache, with the app's defaults (PCA to 50 dimensions first, openTSNE with FFT gradients).
Quality: 5-NN identity and camera accuracy of the 2-D map, with and without the PCA step, on
the features of real runs (``--quality run/features/final.npz ...``; synthetic isotropic
features are not a fair test of PCA: their identity signal is spread over every direction).
Every size is timed at each t-SNE ``quality`` schedule (``TSNE_QUALITY`` in
reidlab/analysis/embedding.py; the app's pages use "fast", the library and exports "standard").
Each t-SNE row also gives the 10-NN identity accuracy of its 2-D map (3-fold) and the final KL
divergence openTSNE reports, so a faster setting shows what it costs. ``--variant JSON`` (repeatable) adds a row at the largest size with
those ``embed_2d`` parameters (e.g. the previous defaults, or ``{"neighbors": "annoy"}`` for
openTSNE's own approximate search): a change of defaults is measured against the new ones in
one run of one script.
Goal: t-SNE of 20k points ≤ 15 s on 2 cores, with the app's schedule ("fast"). Writes
bench/results/embedding_speed.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import RESULTS, md_header, stamp, write_plot


def features(n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = max(2, n // 20)
    centres = rng.normal(size=(ids, dim)).astype(np.float32)
    cams = rng.normal(size=(6, dim)).astype(np.float32) * 0.8
    pid = rng.integers(0, ids, n)
    cam = rng.integers(0, 6, n)
    x = centres[pid] + cams[cam] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
    return np.maximum(x, 0).astype(np.float32), pid  # non-negative, as after a ReLU


def knn_accuracy(y: np.ndarray, pid: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.model_selection import cross_val_score

    return float(cross_val_score(KNeighborsClassifier(k), y, pid, cv=3).mean())


def child(n: int, dim: int, method: str, pca_dims: int, params: dict | None = None) -> dict:
    from reidlab.analysis.embedding import embed_2d

    x, pid = features(n, dim)
    msgs = []
    t = time.perf_counter()
    y = embed_2d(x, method, seed=0, use_cache=False, pca_dims=pca_dims,
                 progress=lambda f, m: msgs.append(m), **(params or {}))
    seconds = time.perf_counter() - t
    kl = [float(m.rsplit("KL ", 1)[1]) for m in msgs if "KL " in m]
    return {"n": n, "dim": dim, "method": method, "pca_dims": pca_dims, "params": params or {},
            "seconds": seconds, "knn10_identity": knn_accuracy(y, pid),
            "kl": kl[-1] if kl else None,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def quality(path: str, pca_dims: int) -> dict:
    from reidlab.analysis.embedding import embed_2d

    d = np.load(path)
    x = np.concatenate([d["q_feat"], d["g_feat"]])
    pid = np.concatenate([d["q_pids"], d["g_pids"]])
    cam = np.concatenate([d["q_camids"], d["g_camids"]])
    t = time.perf_counter()
    y = embed_2d(x, "tsne", seed=0, use_cache=False, pca_dims=pca_dims)
    row = {"features": path, "n": len(x), "dim": x.shape[1], "pca_dims": pca_dims,
           "seconds": time.perf_counter() - t, "knn5_identity": knn_accuracy(y, pid, 5),
           "knn5_camera": knn_accuracy(y, cam, 5)}
    print(json.dumps(row), flush=True)
    return row


def run_child(n, dim, method, pca_dims, params: dict | None = None) -> dict:
    spec = json.dumps({"n": n, "dim": dim, "method": method, "pca_dims": pca_dims,
                       "params": params or {}})
    out = subprocess.run([sys.executable, __file__, "--child", spec],
                         capture_output=True, text=True, check=True).stdout
    row = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def plot_growth(rows: list[dict], png: Path) -> None:
    """Seconds and peak memory against the number of points, one line per schedule/method."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("time (s)", "peak resident memory (MB)"))
    lines: dict[str, list[dict]] = {}
    for r in rows:
        if r["pca_dims"] and (r["method"] != "tsne" or set(r["params"]) == {"quality"}):
            name = r["method"] if r["method"] != "tsne" else f"t-SNE {r['params']['quality']}"
            lines.setdefault(name, []).append(r)
    for i, (name, rs) in enumerate(lines.items()):
        rs = sorted(rs, key=lambda r: r["n"])
        n = [r["n"] for r in rs]
        style = dict(mode="lines+markers", name=name, legendgroup=name,
                     line=dict(color=["#0072B2", "#E69F00", "#009E73", "#CC79A7"][i % 4]))
        fig.add_trace(go.Scatter(x=n, y=[r["seconds"] for r in rs], **style), 1, 1)
        fig.add_trace(go.Scatter(x=n, y=[r["peak_rss_mb"] for r in rs], showlegend=False,
                                 **style), 1, 2)
    n_all = sorted({r["n"] for r in rows})
    fig.add_trace(go.Scatter(x=[n_all[0], n_all[-1]], y=[15, 15], mode="lines", name="goal 15 s",
                             line=dict(dash="dot", color="grey")), 1, 1)
    fig.update_xaxes(title_text="points")
    fig.update_yaxes(type="log", row=1, col=1, dtick=1)
    write_plot(fig, png, "2-D embeddings: cost against size (PCA to 50-d first)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,10000,20000")
    ap.add_argument("--qualities", default="fast,standard",
                    help="t-SNE quality schedules timed at every size")
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--umap", action="store_true", help="also UMAP (numba compiles first)")
    ap.add_argument("--quality", nargs="*", default=[],
                    help="features.npz files of runs for the with/without-PCA quality check")
    ap.add_argument("--variant", action="append", default=[], metavar="JSON",
                    help="embed_2d parameters of an extra t-SNE row at the largest size")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(RESULTS / "embedding_speed"))
    args = ap.parse_args(argv)
    if args.child:
        c = json.loads(args.child)
        print(json.dumps(child(c["n"], c["dim"], c["method"], c["pca_dims"], c["params"])))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    quals = args.qualities.split(",")
    rows = [run_child(n, args.dim, "tsne", 50, {"quality": q}) for n in sizes for q in quals]
    rows.append(run_child(sizes[0], args.dim, "tsne", 0, {"quality": quals[0]}))  # no PCA
    rows += [run_child(sizes[-1], args.dim, "tsne", 50, json.loads(v)) for v in args.variant]
    qual = [quality(f, k) for f in args.quality for k in (0, 50)]
    if args.umap:
        rows += [run_child(n, args.dim, "umap", 50) for n in sizes]
    st = stamp(argv, __file__)
    big = max((r for r in rows if r["method"] == "tsne" and r["pca_dims"] == 50
               and r["params"] == {"quality": quals[0]}),
              key=lambda r: r["n"])
    out = {**st, "rows": rows, "quality": qual, "target": {"tsne_points": 20000, "seconds": 15.0,
                                          "quality": quals[0],
                                          "met": bool(big["n"] >= 20000
                                                      and big["seconds"] <= 15.0)}}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    md = ["# 2-D embeddings: time and memory", "", *md_header(st),
          f"Features: {args.dim}-d, identity centres + camera offsets + noise, ReLU'd; no cache.",
          "", "| method | points | PCA first | parameters | seconds | peak RSS MB | "
          "10-NN identity | final KL |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        par = ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "defaults"
        kl = "—" if r.get("kl") is None else f"{r['kl']:.3f}"
        md.append(f"| {r['method']} | {r['n']} | {r['pca_dims'] or 'no'} | {par} | "
                  f"{r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r['knn10_identity']:.3f} | "
                  f"{kl} |")
    if qual:
        md += ["", "Quality on run features (5-NN accuracy in the 2-D map, 3-fold):", "",
               "| features | points | PCA first | seconds | identity | camera |",
               "|---|---|---|---|---|---|"]
        md += [f"| {q['features']} | {q['n']} | {q['pca_dims'] or 'no'} | {q['seconds']:.1f} | "
               f"{q['knn5_identity']:.3f} | {q['knn5_camera']:.3f} |" for q in qual]
    md += ["", f"Goal: t-SNE of 20k points ≤ 15 s with the app's schedule ({quals[0]}): "
           f"{'met' if out['target']['met'] else 'missed'} ({big['seconds']:.1f} s for "
           f"{big['n']}).", "", f"![cost against size]({path.with_suffix('.png').name})", ""]
    plot_growth(rows, path.with_suffix(".png"))
    path.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
