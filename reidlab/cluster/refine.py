"""Pivot-based label refinement of CALR (camera-aware label refinement; Li, Wu, Huang, Zhou,
Wang, arXiv 2403.16450; code github.com/leeBooMla/CALR, ``inter_camera_training.py``).

Within one camera, features mostly differ by appearance, so clusters found inside a camera
(*local* clusters) are finer and purer than clusters found over all cameras (*global*
clusters), which tend to merge different people that one camera renders alike ("IDs merge",
the paper's Fig. 1). The refinement uses the local clusters to split such merges:

    for every global cluster G with a pivot p (camera c_p, local cluster L_p):
        every member j of G with camera c_j = c_p and j ∉ L_p leaves G (label −1)

Members from the other cameras stay: a local cluster says nothing about who is who across
cameras. A member leaves with probability ``removal_prob`` (1 in the published code, which
also carries a commented-out cosine decay of it — the self-paced variant). Optionally, a
cluster left with fewer than ``min_size`` members is dissolved (not in the code).

The pivot of a cluster is its densest member (:func:`pivot_scores`, the code's node score:
Σ over kNN links within a similarity threshold of 1 / (d + mean d)), and a cluster whose best
member is not denser than the average sample has no pivot and is not refined — the code's
rule, except that the code takes the *last* member above the mean in sample order and we take
the densest (order-independent; see docs/methods.md).

Everything here is NumPy on label arrays (faiss for the kNN of :func:`pivot_scores`); the
statistics say how many samples each step removed, so a refinement can be inspected.
"""

from __future__ import annotations

import numpy as np

from reidlab.errors import ConfigError


def _labels(name: str, a, n: int | None = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D array, found shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ConfigError(f"{name}: expected {n} values (one per sample), found {arr.size}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ConfigError(f"{name}: expected integer labels, found dtype {arr.dtype}")
    return arr.astype(np.int64)


def local_with_singletons(local_labels, groups=None) -> np.ndarray:
    """Local labels with every −1 (a local outlier) made a local cluster of its own — one
    per ``groups`` id when given (the clips of one tracklet stay together)."""
    lab = _labels("local_labels", local_labels)
    out = lab.copy()
    neg = np.flatnonzero(lab < 0)
    if neg.size == 0:
        return out
    start = int(lab.max()) + 1 if (lab >= 0).any() else 0
    if groups is None:
        out[neg] = start + np.arange(neg.size)
    else:
        g = _labels("groups", groups, lab.size)
        _, code = np.unique(g[neg], return_inverse=True)
        out[neg] = start + code.ravel()
    return out


def pivot_scores(feat: np.ndarray, k: int = 15, min_sim: float = 0.5,
                 use_gpu: bool | None = None) -> np.ndarray:
    """Density score of every sample: Σ_j 1 / (d_ij + d̄) over its k nearest neighbours j ≠ i
    with cosine similarity ≥ ``min_sim`` (d = 1 − cosine similarity, d̄ = the mean of all
    kNN distances). CALR's code scores nodes this way (``get_links`` in
    ``calr/utils/infomap_cluster.py``, k = 15, min_sim = 0.5)."""
    from reidlab.cluster.jaccard import knn

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"pivot_scores k={k!r}: expected an integer >= 1")
    if not -1.0 <= float(min_sim) <= 1.0:
        raise ConfigError(f"pivot_scores min_sim={min_sim}: expected a cosine similarity")
    sim, idx = knn(feat, int(k) + 1)  # the sample itself comes first
    d = 1.0 - sim.astype(np.float64)
    mean = float(d.mean())
    keep = (idx != np.arange(len(idx))[:, None]) & (sim >= float(min_sim))
    return np.where(keep, 1.0 / (d + mean + 1e-12), 0.0).sum(1)


def choose_pivots(global_labels, scores, above_mean: bool = True) -> np.ndarray:
    """The pivot (sample index) of every global cluster 0..C−1: its member with the highest
    ``scores`` (the first on ties); −1 for a cluster without one — when ``above_mean``, a
    cluster whose best score does not exceed the mean score of all samples (CALR's rule)."""
    lab = _labels("global_labels", global_labels)
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != lab.shape:
        raise ConfigError(f"scores: expected {lab.size} values, found shape {s.shape}")
    num = int(lab.max()) + 1 if (lab >= 0).any() else 0
    piv = np.full(num, -1, np.int64)
    members = np.flatnonzero(lab >= 0)
    if not members.size:
        return piv
    # by cluster, then decreasing score, then index: the first row of a cluster is its pivot
    order = np.lexsort((members, -s[members], lab[members]))
    m = members[order]
    first = np.r_[True, lab[m][1:] != lab[m][:-1]]
    piv[lab[m[first]]] = m[first]
    if above_mean:
        ok = piv >= 0
        ok[ok] = s[piv[ok]] > s.mean()
        piv[~ok] = -1
    return piv


def refine_by_pivots(global_labels, local_labels, camids, pivots=None, scores=None,
                     above_mean: bool = True, removal_prob: float = 1.0,
                     rng: np.random.Generator | None = None, groups=None, min_size: int = 1,
                     pids=None) -> tuple[np.ndarray, dict]:
    """CALR's refinement of ``global_labels`` (−1 = outlier) by ``local_labels`` (per-camera
    clusters, numbered uniquely over cameras; −1 = a local cluster of its own, see
    :func:`local_with_singletons`).

    Pivots: ``pivots[c]`` is the sample index of global cluster c's pivot (−1: none), or
    they are chosen from ``scores`` by :func:`choose_pivots`; with neither, every cluster's
    first member is its pivot. ``removal_prob`` < 1 removes each conflicting member only
    with that probability (a draw from ``rng``; one draw per ``groups`` id when given, so the
    clips of one tracklet leave together). ``min_size`` > 1 then dissolves clusters left
    smaller than it. ``pids`` (ground truth, diagnostics only) adds how many removals were of
    another identity than the pivot's.

    Returns ``(labels, stats)``: refined labels (outliers −1, clusters renumbered 0..C'−1 in
    order of first appearance) and per-step counts — ``refine_pivots`` (clusters with a
    pivot), ``refine_conflicts`` (members of a pivot's camera outside its local cluster),
    ``refine_removed`` (of those, removed), ``refine_spared`` (kept by the self-paced draw),
    ``refine_clusters_split`` (clusters that lost a member), ``refine_dissolved`` (samples of
    clusters dissolved by ``min_size``), ``refine_removed_total``; with ``pids``,
    ``refine_removed_other_id`` and ``refine_removed_other_id_fraction``.
    """
    from reidlab.cluster.pseudo_labels import renumber

    glab = _labels("global_labels", global_labels)
    n = glab.size
    loc = local_with_singletons(_labels("local_labels", local_labels, n), groups)
    cams = _labels("camids", camids, n)
    if not 0.0 <= float(removal_prob) <= 1.0:
        raise ConfigError(f"refine removal_prob={removal_prob}: expected 0..1")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ConfigError(f"refine min_size={min_size!r}: expected an integer >= 1")
    num = int(glab.max()) + 1 if (glab >= 0).any() else 0
    if pivots is not None:
        piv = _labels("pivots", pivots)
        if piv.size != num:
            raise ConfigError(f"pivots: expected one per global cluster ({num}), found "
                              f"{piv.size}")
        has_p = piv >= 0
        if (piv[has_p] >= n).any() or (glab[piv[has_p]] != np.flatnonzero(has_p)).any():
            raise ConfigError("pivots: every pivot must be a member of its own cluster")
    elif scores is not None:
        piv = choose_pivots(glab, scores, above_mean)
    else:
        piv = choose_pivots(glab, np.zeros(n), above_mean=False)

    # conflicts: members of a cluster with a pivot, in the pivot's camera, outside its local
    # cluster (the pivot itself never conflicts)
    inl = glab >= 0
    has = np.zeros(n, bool)
    has[inl] = piv[glab[inl]] >= 0
    p = np.full(n, -1, np.int64)
    p[has] = piv[glab[has]]
    conflict = has & (cams == cams[np.maximum(p, 0)]) & (loc != loc[np.maximum(p, 0)])
    remove = conflict.copy()
    if removal_prob < 1.0 and conflict.any():
        rng = rng if rng is not None else np.random.default_rng(0)
        draw = rng.random(n)
        if groups is not None:
            g = _labels("groups", groups, n)
            _, first, code = np.unique(g, return_index=True, return_inverse=True)
            draw = draw[first][code.ravel()]
        remove &= draw < float(removal_prob)
    out = glab.copy()
    out[remove] = -1
    dissolved = 0
    if min_size > 1 and (out >= 0).any():
        sizes = np.bincount(out[out >= 0])
        small = (out >= 0) & (sizes[np.maximum(out, 0)] < min_size)
        dissolved = int(small.sum())
        out[small] = -1
    out = renumber(out)
    split = np.unique(glab[remove]).size if remove.any() else 0
    stats = {
        "refine_pivots": int((piv >= 0).sum()),
        "refine_conflicts": int(conflict.sum()),
        "refine_removed": int(remove.sum()),
        "refine_spared": int(conflict.sum() - remove.sum()),
        "refine_clusters_split": int(split),
        "refine_dissolved": dissolved,
        "refine_removed_total": int(remove.sum()) + dissolved,
    }
    if pids is not None:
        pid = _labels("pids", pids, n)
        wrong = int((remove & (pid != pid[np.maximum(p, 0)])).sum())
        stats["refine_removed_other_id"] = wrong
        stats["refine_removed_other_id_fraction"] = (wrong / int(remove.sum())
                                                     if remove.any() else None)
    return out, stats


LOCAL_CLUSTERINGS = ("agglomerative", "dbscan")


def _dense(dist, n: int) -> np.ndarray:
    """A sparse Jaccard distance as a dense array (pairs not stored are at distance 1)."""
    coo = dist.tocoo()
    d = np.ones((n, n), np.float64)
    d[coo.row, coo.col] = coo.data
    np.fill_diagonal(d, 0.0)
    return np.minimum(d, d.T)  # symmetric to the last bit (sklearn checks)


def cluster_per_camera(feat: np.ndarray, camids, method: str = "agglomerative",
                       ratio: float = 5.0, k1: int = 15, k2: int = 4, eps: float = 0.6,
                       min_samples: int = 4, groups=None, silhouette: bool = True
                       ) -> tuple[np.ndarray, np.ndarray, dict]:
    """CALR's local (intra-camera) clustering: the samples of every camera clustered on their
    own, on the k-reciprocal Jaccard distance (k1, k2) of that camera's features.

    ``method="agglomerative"`` (CALR's ``intra_camera_training.py``: average linkage on the
    Jaccard distance, ``n_clusters = len(features) // 5``) makes ``max(1, n // ratio)``
    clusters of a camera's n units; ``"dbscan"`` runs DBSCAN(eps, min_samples) and makes each
    outlier a cluster of its own. ``groups`` (e.g. the tracklet of each clip): the members of
    a group are one unit (their mean feature) and share a label.

    Returns ``(within, silhouettes, info)``: ``within`` — each sample's cluster *within its
    camera* (0..k_c−1); ``silhouettes`` — one per camera in ``np.unique(camids)`` order (the
    silhouette score of the camera's clustering on its Jaccard distance, the code's criterion
    for keeping a clustering; NaN where undefined — fewer than 2 or more than n−1 clusters —
    or when ``silhouette`` is False); ``info`` — ``cameras``, ``clusters`` per camera.
    """
    from reidlab.cluster.jaccard import jaccard_distance
    from reidlab.cluster.pseudo_labels import dbscan_labels

    if method not in LOCAL_CLUSTERINGS:
        raise ConfigError(f"local clustering {method!r}: expected one of "
                          f"{list(LOCAL_CLUSTERINGS)}")
    if not float(ratio) >= 1.0:
        raise ConfigError(f"local clustering ratio={ratio}: expected >= 1 (samples per cluster)")
    x = np.asarray(feat, dtype=np.float32)
    cams = _labels("camids", camids)
    if x.ndim != 2 or x.shape[0] != cams.size:
        raise ConfigError(f"cluster_per_camera: expected {cams.size} feature rows, found shape "
                          f"{x.shape}")
    g = np.arange(cams.size) if groups is None else _labels("groups", groups, cams.size)
    within = np.zeros(cams.size, np.int64)
    cam_list = np.unique(cams)
    sils = np.full(cam_list.size, np.nan)
    counts = []
    for ci, c in enumerate(cam_list):
        rows = np.flatnonzero(cams == c)
        ug, unit = np.unique(g[rows], return_inverse=True)
        unit = unit.ravel()
        n = ug.size
        if n < 2:
            counts.append(1)
            continue
        u = np.zeros((n, x.shape[1]), np.float64)
        np.add.at(u, unit, x[rows])
        u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
        dist = jaccard_distance(u.astype(np.float32), k1=k1, k2=k2)
        dense = _dense(dist, n) if (silhouette or method == "agglomerative") else None
        if method == "agglomerative":
            from sklearn.cluster import AgglomerativeClustering

            k = int(min(n, max(1, n // float(ratio))))
            if k == 1:
                lab = np.zeros(n, np.int64)
            else:
                lab = AgglomerativeClustering(n_clusters=k, metric="precomputed",
                                              linkage="average").fit_predict(dense)
        else:
            lab = local_with_singletons(dbscan_labels(dist, eps=eps, min_samples=min_samples))
        lab = np.asarray(lab, np.int64)
        within[rows] = lab[unit]
        k_found = int(np.unique(lab).size)
        counts.append(k_found)
        if silhouette and 2 <= k_found <= n - 1:
            from sklearn.metrics import silhouette_score

            sils[ci] = float(silhouette_score(dense, lab, metric="precomputed"))
    return within, sils, {"cameras": cam_list.tolist(), "clusters": counts}
