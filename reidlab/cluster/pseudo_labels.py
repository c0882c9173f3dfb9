"""Pseudo labels by DBSCAN on the k-reciprocal Jaccard distance, as in SpCL (Ge et al.,
"Self-paced Contrastive Learning with Hybrid Memory for Domain Adaptive Object Re-ID",
NeurIPS 2020) and the methods built on it (CAWCL, OpenUnReID's SpCL runner).

Defaults are SpCL's published ones, ``examples/spcl_train_usl.py`` of github.com/yxgeee/SpCL:
``--k1 30``, ``--k2 6``, ``--eps 0.6`` and ``DBSCAN(eps, min_samples=4, metric="precomputed")``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from reidlab.cluster.jaccard import DEFAULT_K1, DEFAULT_K2, jaccard_distance
from reidlab.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_EPS = 0.6  # SpCL --eps
DEFAULT_MIN_SAMPLES = 4  # SpCL DBSCAN(min_samples=4)


@dataclass
class ClusterResult:
    """Labels (−1 = outlier) of one clustering and what it cost."""

    labels: np.ndarray
    num_clusters: int
    outlier_fraction: float
    time_s: float  # total: kNN + Jaccard + DBSCAN
    knn_s: float
    jaccard_s: float
    dbscan_s: float
    num_pairs: int  # stored entries of the pruned distance matrix given to DBSCAN

    def stats(self) -> dict:
        """Everything but the labels, as plain numbers (for a metrics log)."""
        d = asdict(self)
        d.pop("labels")
        return d


def _check_eps(eps: float, min_samples: int) -> None:
    if not isinstance(eps, (int, float, np.floating)) or not 0.0 < float(eps) <= 1.0:
        raise ConfigError(f"DBSCAN eps={eps!r}: expected 0 < eps <= 1 (a Jaccard distance)")
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) \
            or min_samples < 1:
        raise ConfigError(f"DBSCAN min_samples={min_samples!r}: expected an integer >= 1")


def renumber(labels: np.ndarray) -> np.ndarray:
    """Labels 0..C−1 in order of first appearance; −1 (outlier) stays −1."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.shape, -1, dtype=np.int64)
    inl = labels >= 0
    if inl.any():
        uniq, first, inverse = np.unique(labels[inl], return_index=True, return_inverse=True)
        rank = np.empty(uniq.size, np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
        out[inl] = rank[inverse]
    return out


def _dbscan(dist, eps: float, min_samples: int,
            sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """sklearn DBSCAN on a precomputed distance matrix: (raw labels, core-sample mask).

    A sparse ``dist`` is pruned to its stored entries <= eps first (explicit zeros kept:
    sklearn treats every stored entry as a candidate neighbour, and a missing one as absent).
    """
    from sklearn.cluster import DBSCAN

    if sp.issparse(dist):
        d = dist.tocsr()
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ConfigError(f"distance matrix: expected a square matrix, found shape {d.shape}")
        if d.nnz and not np.isfinite(d.data).all():
            raise ConfigError("distance matrix: expected finite distances, found NaN/inf")
        keep = d.data <= eps
        row = np.repeat(np.arange(d.shape[0]), np.diff(d.indptr))[keep]
        indptr = np.searchsorted(row, np.arange(d.shape[0] + 1))
        d = sp.csr_matrix((d.data[keep].astype(np.float64), d.indices[keep], indptr),
                          shape=d.shape)
        d.sort_indices()
    else:
        d = np.asarray(dist, dtype=np.float64)
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ConfigError(f"distance matrix: expected a square matrix, found shape {d.shape}")
        if not np.isfinite(d).all():
            raise ConfigError("distance matrix: expected finite distances, found NaN/inf")
    n = d.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    db = DBSCAN(eps=float(eps), min_samples=int(min_samples), metric="precomputed")
    db.fit(d, sample_weight=sample_weight)
    core = np.zeros(n, bool)
    core[db.core_sample_indices_] = True
    return np.asarray(db.labels_, np.int64), core


def dbscan_labels(dist, eps: float = DEFAULT_EPS,
                  min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """DBSCAN labels (−1 = outlier, clusters 0..C−1 in order of first appearance) of a
    precomputed distance matrix. A sparse matrix lists candidate neighbours only: a pair that
    is not stored is never a neighbour (for :func:`jaccard_distance`, its distance is 1),
    explicit zeros are neighbours. Defaults are SpCL's (eps 0.6, min_samples 4)."""
    _check_eps(eps, min_samples)
    labels, _ = _dbscan(dist, eps, min_samples)
    return renumber(labels)


def _group_pairs(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of samples with the same group id."""
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, g.size])
    rows, cols = [], []
    for size in np.unique(sizes[sizes > 1]):
        st = starts[sizes == size]
        members = order[st[:, None] + np.arange(size)]  # (groups of this size) × size
        a, b = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        off = a != b
        rows.append(members[:, a[off]].ravel())
        cols.append(members[:, b[off]].ravel())
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _with_group_zeros(dist: sp.csr_matrix, groups: np.ndarray) -> sp.csr_matrix:
    """``dist`` with an explicit 0 at every pair of samples of one group."""
    n = dist.shape[0]
    gr, gc = _group_pairs(groups)
    if gr.size == 0:
        return dist
    coo = dist.tocoo()
    rows = np.concatenate([coo.row.astype(np.int64), gr])
    cols = np.concatenate([coo.col.astype(np.int64), gc])
    data = np.concatenate([coo.data.astype(np.float64), np.zeros(gr.size)])
    key = rows * n + cols
    order = np.lexsort((data, key))  # per pair, the smallest value first
    key, data = key[order], data[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, data = key[first], data[first]
    r, c = np.divmod(key, n)
    indptr = np.searchsorted(r, np.arange(n + 1))
    return sp.csr_matrix((data, c.astype(np.int32), indptr), shape=(n, n))


def _one_label_per_group(labels: np.ndarray, core: np.ndarray,
                         groups: np.ndarray) -> np.ndarray:
    """Give every member of a group the same label. Members at distance 0 of a core member
    are its border points, so a group with a core member takes that member's cluster (DBSCAN
    leaves the choice between clusters to the visiting order). A group without one takes the
    most frequent cluster among its members (ties: the smallest label); all −1 stays −1."""
    out = labels.copy()
    _, gid = np.unique(groups, return_inverse=True)
    ng = int(gid.max()) + 1
    # a core member's label per group (core members of one group share a cluster)
    core_label = np.full(ng, -1, np.int64)
    core_label[gid[core]] = labels[core]
    # most frequent non-outlier label per group, smallest label on ties
    inl = labels >= 0
    vote = np.full(ng, -1, np.int64)
    if inl.any():
        pairs = np.stack([gid[inl], labels[inl]], axis=1)
        uniq, counts = np.unique(pairs, axis=0, return_counts=True)
        order = np.lexsort((uniq[:, 1], -counts, uniq[:, 0]))
        uniq = uniq[order]
        firsts = np.r_[True, uniq[1:, 0] != uniq[:-1, 0]]
        vote[uniq[firsts, 0]] = uniq[firsts, 1]
    target = np.where(core_label >= 0, core_label, vote)
    out[:] = target[gid]
    return out


def check_features(feat, name: str) -> np.ndarray:
    """``feat`` as an array, or a ConfigError naming ``name`` unless it is a 2-D matrix of at
    least 2 samples."""
    x = np.asarray(feat)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError(f"{name}: expected a 2-D feature matrix of at least 2 samples, "
                          f"found shape {x.shape}")
    return x


def check_groups(groups, n: int, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(groups, weight)``: the checked group ids (or None) and each sample's DBSCAN weight
    1/|group| (None without groups)."""
    if groups is None:
        return None, None
    groups = np.asarray(groups)
    if groups.shape != (n,) or not np.issubdtype(groups.dtype, np.integer):
        raise ConfigError(f"{name} groups: expected {n} integer group ids, "
                          f"found shape {groups.shape} of {groups.dtype}")
    _, gid, size = np.unique(groups, return_inverse=True, return_counts=True)
    # 1/|group|, a hair over so that |group| members add up to at least 1 in floats
    return groups, (1.0 + 1e-9) / size[gid.ravel()]


def partition(dist, eps: float, min_samples: int, groups: np.ndarray | None = None,
              weight: np.ndarray | None = None) -> np.ndarray:
    """Renumbered DBSCAN labels of a distance matrix that already holds the group zeros
    (:func:`_with_group_zeros`), one label per group — the last step of
    :func:`cluster_pseudo_labels`."""
    raw, core = _dbscan(dist, float(eps), int(min_samples), sample_weight=weight)
    if groups is not None:
        raw = _one_label_per_group(raw, core, groups)
    return renumber(raw)


def cluster_pseudo_labels(feat: np.ndarray, k1: int = DEFAULT_K1, k2: int = DEFAULT_K2,
                          eps: float = DEFAULT_EPS, min_samples: int = DEFAULT_MIN_SAMPLES,
                          groups: np.ndarray | None = None,
                          use_gpu: bool | None = None) -> ClusterResult:
    """Pseudo labels of the rows of ``feat``: DBSCAN(eps, min_samples) on the k-reciprocal
    Jaccard distance (k1, k2). Defaults are SpCL's: k1 30, k2 6, eps 0.6, min_samples 4
    (``examples/spcl_train_usl.py``).

    ``groups`` (one int per sample): samples sharing a group id — the clips cut from one
    tracklet in CAWCL — are strong positive pairs. Their mutual distance is set to 0 before
    DBSCAN, each member weighs 1/|group| in DBSCAN's density count (so ``min_samples`` counts
    tracklets: clips of one tracklet are not independent evidence), and every group ends with
    one label (see :func:`_one_label_per_group`).

    A clustering without any cluster returns all −1 (logged, not an error).
    """
    _check_eps(eps, min_samples)
    x = check_features(feat, "cluster_pseudo_labels")
    n = x.shape[0]
    groups, weight = check_groups(groups, n, "cluster_pseudo_labels")
    t0 = time.perf_counter()
    times: dict = {}
    dist = jaccard_distance(x, k1=k1, k2=k2, max_distance=float(eps), use_gpu=use_gpu,
                            times=times)
    if groups is not None:
        dist = _with_group_zeros(dist, groups)
    t1 = time.perf_counter()
    labels = partition(dist, float(eps), int(min_samples), groups, weight)
    t2 = time.perf_counter()
    num = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    res = ClusterResult(labels=labels, num_clusters=num,
                        outlier_fraction=float(np.mean(labels < 0)), time_s=t2 - t0,
                        knn_s=times["knn"], jaccard_s=(t1 - t0) - times["knn"],
                        dbscan_s=t2 - t1, num_pairs=int(dist.nnz))
    if num == 0:
        log.warning("DBSCAN found no cluster among %d samples (eps=%s, min_samples=%s): "
                    "every sample is an outlier", n, eps, min_samples)
    else:
        log.info("DBSCAN: %d clusters, %.1f%% outliers, %d samples, %.2fs", num,
                 100 * res.outlier_fraction, n, res.time_s)
    return res
