"""2-D embeddings of features (PCA, t-SNE, UMAP) with an on-disk cache and progress reports.

``embed_2d`` is what the domain-gap page calls: PCA is instant, t-SNE (openTSNE, FFT-accelerated)
takes seconds for a few thousand tracklets and reports progress, UMAP (umap-learn) is imported
only when asked for because numba compiles it on first use. Results are cached under
``cache_dir`` keyed by a hash of the feature bytes, the method and every parameter, so a page
reload is instant.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
from reidlab.atomic import write_npy_atomic

METHODS = ("pca", "tsne", "umap")
DEFAULT_CACHE = Path.home() / ".cache" / "reidlab" / "embeddings"
_CACHE_VERSION = 6  # bump when an embedding's computation changes

# t-SNE schedules (openTSNE parameters), by how converged the map is against how long it takes.
# Each iteration's repulsive forces are interpolated on a grid of at least
# ``min_num_intervals`` boxes per axis × ``n_interpolation_points``; at openTSNE's 50 × 3 its
# FFTs cost the same at 5k points as at 20k (below 10k openTSNE would pick the slower
# Barnes-Hut). The "fast" grid (25 × 2) leaves the attractive forces (3 × perplexity = 90
# neighbours a point) as the main cost of an iteration (cProfile). Measured on 20k points,
# 2 cores (bench/results/embedding_speed.md, Intel Xeon, after the exact PCA below): "full"
# (openTSNE's own 250 + 500 iterations on a 1-unit grid) 118 s, "standard" 33 s, "fast"
# (75 + 125) 11.5 s, for a 10-NN identity accuracy of the map of 0.283 / 0.268 / 0.263; the
# previous "fast" (100 + 150, randomized PCA) took 16.3 s for 0.266 in the same run. "fast"
# ends at a higher KL divergence (2.95 against 2.64: a less expanded map, the same clusters).
# The app's Domain gap page defaults to "fast"; the library and exports to "standard".
TSNE_QUALITY = {
    "fast": dict(early_exaggeration_iter=75, n_iter=125, ints_in_interval=2,
                 min_num_intervals=25, n_interpolation_points=2,
                 negative_gradient_method="fft"),
    "standard": dict(early_exaggeration_iter=250, n_iter=250, ints_in_interval=2,
                     negative_gradient_method="fft"),
    "full": dict(early_exaggeration_iter=250, n_iter=500, ints_in_interval=1),
}

Progress = Callable[[float, str], None]


def cache_key(feats: np.ndarray, method: str, seed: int, params: dict) -> str:
    """Hex digest of (feature bytes + shape, method, seed, params)."""
    h = hashlib.sha256()
    x = np.ascontiguousarray(feats, dtype=np.float32)
    h.update(json.dumps({"v": _CACHE_VERSION, "shape": x.shape, "method": method, "seed": seed,
                         "params": params}, sort_keys=True, default=str).encode())
    h.update(x.tobytes())
    return h.hexdigest()[:32]


def embed_2d(feats, method: str = "tsne", seed: int = 0, cache_dir: str | Path | None = None,
             progress: Progress | None = None, use_cache: bool = True,
             quality: str = "standard", **params) -> np.ndarray:
    """N×2 float32 embedding of ``feats`` (N×D) by ``method`` in {"pca", "tsne", "umap"}.

    t-SNE and UMAP first project features of more than 50 dimensions on their first 50
    principal components (``pca_dims``; 0 = off). Other ``params`` go to the library: t-SNE defaults ``perplexity=30`` (lowered to (N−1)/3 for tiny
    inputs), ``initialization="pca"``, ``n_jobs=2`` and the iteration schedule and FFT grid of
    ``quality`` (``TSNE_QUALITY``: "fast", "standard" = 250 + 250 iterations, "full" =
    openTSNE's own; explicit ``params`` override it; other methods ignore it); UMAP defaults
    ``n_neighbors=15`` (lowered to N−1), ``min_dist=0.1``, ``n_jobs=1`` (seeded UMAP is serial). ``progress(fraction, message)`` is
    called as the work advances (t-SNE every 25 iterations; PCA/UMAP at start and end).
    ``cache_dir`` defaults to ``~/.cache/reidlab/embeddings``; ``use_cache=False`` skips it.
    """
    if method not in METHODS:
        raise ValueError(f"embed_2d: method must be one of {METHODS}, got {method!r}")
    if quality not in TSNE_QUALITY:
        raise ValueError(f"embed_2d: quality must be one of {tuple(TSNE_QUALITY)}, "
                         f"got {quality!r}")
    x = np.ascontiguousarray(feats, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"embed_2d: expected an N×D array with N ≥ 2, got shape {x.shape}")
    if method == "tsne":
        schedule = dict(TSNE_QUALITY[quality])
        if x.shape[0] <= 1000:  # small maps: openTSNE's Barnes-Hut, exact enough and fast
            schedule.pop("negative_gradient_method", None)
        params = {**schedule, **params}
    report = progress or (lambda f, m: None)
    path = None
    if use_cache:
        folder = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
        path = folder / f"{method}-{cache_key(x, method, seed, params)}.npy"
        if path.is_file():
            try:
                out = np.load(path)
                if out.shape == (x.shape[0], 2):
                    report(1.0, f"{method}: loaded from cache")
                    return out.astype(np.float32)
            except (OSError, ValueError, EOFError):
                pass  # unreadable (e.g. truncated) cache entry: recompute and overwrite
    report(0.0, f"{method}: computing {x.shape[0]} points")
    out = {"pca": _pca, "tsne": _tsne, "umap": _umap}[method](x, seed, report, dict(params))
    out = np.ascontiguousarray(out, dtype=np.float32)
    if path is not None:
        _save_atomic(path, out)
    report(1.0, f"{method}: done")
    return out


def _save_atomic(path: Path, arr: np.ndarray) -> None:
    write_npy_atomic(path, arr)


def _pca(x, seed, report, params):
    from sklearn.decomposition import PCA

    k = min(2, x.shape[0], x.shape[1])
    y = PCA(n_components=k, random_state=seed, **params).fit_transform(x)
    if k < 2:
        y = np.concatenate([y, np.zeros((len(y), 2 - k), y.dtype)], axis=1)
    return y


PCA_SOLVERS = ("auto", "exact", "randomized")
EXACT_PCA_MAX_DIM = 2048  # above it the D×D eigendecomposition costs more than sklearn's


def _reduce(x, seed, report, params, name):
    """``x`` projected on its first ``pca_dims`` principal components (default 50) when it
    has more dimensions: the neighbour search of t-SNE/UMAP then costs a fraction (2048-d CNN
    features → 50-d keeps the neighbourhoods; the usual practice). ``pca_dims=0`` disables it.

    ``pca_solver``: "exact" eigendecomposes the D×D covariance matrix (one N×D×D product in
    torch, then ``eigh`` in float64): the true leading components, and faster than sklearn's
    randomized solver up to D ≈ 2048 (20k × 1280: 1.0 s against 2.2 s on 2 cores);
    "randomized" is sklearn's (approximate: ~96 % of the leading components' variance on
    isotropic features); "auto" (default) takes "exact" up to ``EXACT_PCA_MAX_DIM`` dimensions."""
    k = int(params.pop("pca_dims", 50))
    solver = params.pop("pca_solver", "auto")
    if solver not in PCA_SOLVERS:
        raise ValueError(f"embed_2d: pca_solver must be one of {PCA_SOLVERS}, got {solver!r}")
    if not k or x.shape[1] <= k or x.shape[0] <= k:
        return x
    report(0.01, f"{name}: PCA {x.shape[1]} → {k} dimensions")
    if solver == "exact" or (solver == "auto" and x.shape[1] <= EXACT_PCA_MAX_DIM):
        return _pca_exact(x, k)
    from sklearn.decomposition import PCA

    return PCA(n_components=k, random_state=seed, svd_solver="randomized").fit_transform(
        x).astype(np.float32)


def _pca_exact(x: np.ndarray, k: int) -> np.ndarray:
    """Projection of ``x`` (N×D) on its ``k`` leading principal components, from the
    eigendecomposition of the covariance matrix; each component's sign is fixed so that its
    largest-magnitude projection is positive (sklearn's convention), so the result does not
    depend on the LAPACK build's choice of sign."""
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    xc = xt - xt.mean(dim=0, keepdim=True)
    cov = (xc.T @ xc).double()
    _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    y = xc @ vecs[:, -k:].flip(1).to(torch.float32)
    rows = y.abs().argmax(dim=0)
    signs = torch.sign(y[rows, torch.arange(k)])
    signs[signs == 0] = 1
    return (y * signs).numpy()  # float32


def _tsne(x, seed, report, params):
    from openTSNE import TSNE

    x = _reduce(x, seed, report, params, "t-SNE")
    n = x.shape[0]
    params.setdefault("perplexity", 30.0)
    params["perplexity"] = float(min(params["perplexity"], max(1.0, (n - 1) / 3.0)))
    params.setdefault("initialization", "pca")
    params.setdefault("n_jobs", 2)
    # n_iter / early_exaggeration_iter: the TSNE_QUALITY schedule that embed_2d merged in
    every = int(params.pop("callbacks_every_iters", 25))
    total = max(1, params["n_iter"] + params["early_exaggeration_iter"])
    done = [0]

    def callback(iteration, error, embedding):
        done[0] += every
        report(min(0.99, 0.05 + 0.95 * done[0] / total),
               f"t-SNE: iteration {min(done[0], total)}/{total}, KL {error:.3f}")
        return False

    tsne = TSNE(n_components=2, random_state=seed, callbacks=callback,
                callbacks_every_iters=every, **params)
    if "neighbors" in params or n <= 1000:
        report(0.02, "t-SNE: nearest neighbours and affinities")
        return np.asarray(tsne.fit(x))
    report(0.02, "t-SNE: exact nearest neighbours (faiss)")
    return np.asarray(tsne.fit(x, affinities=_exact_affinities(x, params)))


def _exact_affinities(x: np.ndarray, params: dict):
    """openTSNE's perplexity affinities from *exact* Euclidean neighbours found by faiss.

    openTSNE's default search above 1000 points is Annoy (approximate): on 20k × 50-d features
    it took ~6.5× longer (30 s against 4.6 s, under load, 2 cores) than faiss's exact
    brute-force search, and is less exact. The k = 3·perplexity neighbours (openTSNE's own
    rule) come from the evaluation's faiss top-k search and are handed over as precomputed."""
    from openTSNE import affinity
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    from reidlab.eval.ranking import compute_distmat

    n = x.shape[0]
    k = int(min(n - 1, 3 * params["perplexity"]))
    dist, nn = compute_distmat(x, x, "euclidean", backend="faiss", topk=k + 1)
    # drop each point itself; with duplicate points faiss may list a twin first, so remove the
    # query's own index where it appears and otherwise the last (farthest) column
    own = nn == np.arange(n)[:, None]
    own[~own.any(axis=1), -1] = True
    keep = ~own
    nn = nn[keep].reshape(n, k)
    dist = dist[keep].reshape(n, k).astype(np.float64)
    return affinity.PerplexityBasedNN(
        perplexity=params["perplexity"], n_jobs=params.get("n_jobs", 1),
        knn_index=PrecomputedNeighbors(nn, dist))


def _umap(x, seed, report, params):
    x = _reduce(x, seed, report, params, "UMAP")
    report(0.02, "UMAP: importing umap-learn (numba compiles on first use)")
    import umap  # lazy: slow import

    params.setdefault("n_neighbors", 15)
    params["n_neighbors"] = int(min(params["n_neighbors"], x.shape[0] - 1))
    params.setdefault("min_dist", 0.1)
    params.setdefault("n_jobs", 1)  # a seeded UMAP runs single-threaded anyway
    report(0.1, "UMAP: fitting")
    return umap.UMAP(n_components=2, random_state=seed, **params).fit_transform(x)
