"""Camera-debiased label updates, shared by every clustering method (cawcl, calr, pirid, cap).

When the camera gap dominates identity in the features that are clustered (SynthCams: 88 % of
a clip's 30 nearest neighbours share its camera; docs/methods.md), SpCL's k-reciprocal Jaccard
+ DBSCAN clusters follow the cameras. :func:`debiased_labels` is
:func:`reidlab.cluster.pseudo_labels.cluster_pseudo_labels` with four levers, each off by
default (so the default is exactly today's, paper-faithful clustering):

``cam_norm`` — camera-wise normalisation of the clustered features, then L2 normalisation:
    ``none``; ``center``: each camera's mean feature subtracted; ``standardize``: each
    camera's features centred and divided by that camera's per-dimension standard deviation
    (the statistics of camera-based batch normalisation, Zhuang et al., ECCV 2020, applied to
    the clustered features).
``neighbours`` — who may be in a sample's k1 candidate list N(i, k1) of the Jaccard step:
    ``plain``: the k1 nearest (SpCL); ``balanced``: at most ⌈k1/C⌉ from each of the C cameras
    (the sample itself not counted), topped up with the nearest of the rest only where a camera
    has fewer samples than its quota; ``cross``: from its own camera only the sample and
    ``cross_same − 1`` nearest (default: the size of its group, i.e. its tracklet's clips; 1
    without groups), the rest from the other cameras. The lists are built by one exact faiss
    search per (query camera, candidate camera) pair and merged, so memory grows with N·k1.
    The half set and the query expansion take the first ``round(k1/2)+1`` and k2 entries of
    the same (similarity-sorted) list.
``k_rule`` — ``fixed``: k1, k2 as given; ``auto``: from what an unsupervised method knows
    (never the identities): g = mean samples per group (clips per tracklet; 1 without groups)
    and C = number of cameras, taking one tracklet per person and camera as the prior::

        k1 = clamp(round(k_scale · g · C), 4, 30),   k2 = max(2, round(k1 / 5))

    (k2 = k1/5 is SpCL's 30/6 ratio; with ``balanced`` each camera's quota ⌈k1/C⌉ is then
    about k_scale·g, the samples one person leaves in one camera). eps stays as given.
    ``k_scale`` = 1.5 from the sweep in ``bench/debias_first_update.py`` (first-update F on
    SynthCams' ImageNet clip features, mean over cam_norm × neighbours × eps, for a = 0.5 /
    0.75 / 1 / 1.5 / 2: 0.001 / 0.014 / 0.026 / 0.079 / 0.080; best single F 0.165 at 1.5).
``reliability`` — SpCL's self-paced criterion (Ge et al., NeurIPS 2020, §3.3; the published
    code's ``--eps-gap 0.02``): DBSCAN again at eps − 0.02 (tight) and eps + 0.02 (loose) on
    the same distances; for a sample i with cluster I (outliers are singletons),
    R_comp(i) = IoU(I, I_tight(i)) and R_indep(i) = IoU(I, I_loose(i)). A cluster's
    independence is its best member's R_indep and it is kept only if that is at least α, the
    10th percentile of the clusters' independence (clusters of ≥ 2 samples; the code's 90th
    percentile of 1 − IoU); within a kept cluster a member stays only if its R_comp equals
    the cluster's best R_comp (β, per cluster, as the code does). Dropped members become
    un-clustered (−1). SpCL fixes α at the first epoch; here it is recomputed at every update.

The result also carries the **same-camera neighbour share** (the mean, over samples, of the
fraction of its ``share_k`` = 30 nearest neighbours — itself excluded — that share its camera)
of the raw and of the normalised features, and of the candidate lists the Jaccard step used.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from reidlab.cluster.jaccard import (DEFAULT_K1, DEFAULT_K2, _check_k, _jaccard_of_lists, _knn,
                                     _normalised)
from reidlab.cluster.pseudo_labels import (DEFAULT_EPS, DEFAULT_MIN_SAMPLES, ClusterResult,
                                           _check_eps, _with_group_zeros, check_features,
                                           check_groups, partition, renumber)
from reidlab.errors import ConfigError
from reidlab.schema import option

log = logging.getLogger(__name__)

CAM_NORMS = ("none", "center", "standardize")
NEIGHBOURS = ("plain", "balanced", "cross")
K_RULES = ("fixed", "auto")
K_SCALE = 1.5  # the auto rule's a: the best mean F of bench/debias_first_update.py
K_AUTO_RANGE = (4, 30)
RELIABILITY_GAP = 0.02  # SpCL --eps-gap
RELIABILITY_PERCENTILE = 10  # α: the clusters' 10th percentile of R_indep (the code's 90 % of 1 − IoU)
SHARE_K = 30


# ----------------------------------------------------------------------------- options

@dataclass
class DebiasOptions:
    """The camera-debiasing options every clustering method shares: its ``Options`` dataclass
    inherits them, and its label update calls :func:`debiased_labels` with
    :func:`debias_kwargs`. Defaults keep the paper-faithful clustering."""

    cam_norm: str = option("none", "camera-wise normalisation of the clustered features (not "
                            "in the paper): none, center (minus each camera's mean) or "
                            "standardize (each camera's mean and std, as camera-based BN)",
                            CAM_NORMS)
    neighbours: str = option("plain", "k-reciprocal candidate lists (not in the paper): plain "
                              "(k1 nearest), balanced (at most ceil(k1/cameras) per camera) or "
                              "cross (own camera: only the sample's own clips)", NEIGHBOURS)
    k_rule: str = option("fixed", "k1/k2: fixed (as given) or auto (k1 = clamp(round(1.5 x clips "
                          "per tracklet x cameras), 4, 30), k2 = max(2, round(k1/5)); not in the "
                          "paper)", K_RULES)
    reliability: bool = option(False, "SpCL's cluster reliability criterion (independence + "
                                "compactness at eps -/+ 0.02): unreliable members un-clustered")


DEBIAS_FIELDS = ("cam_norm", "neighbours", "k_rule", "reliability")


def debias_kwargs(opts) -> dict:
    """The :func:`debiased_labels` keywords of a method's options (fields of
    :class:`DebiasOptions`)."""
    return {name: getattr(opts, name) for name in DEBIAS_FIELDS}


def update_stats(res) -> dict:
    """The numbers of a :class:`DebiasResult`'s ``info`` for a label update's record (k1, k2,
    the same-camera neighbour shares, the reliability counts); {} for another result."""
    info = getattr(res, "info", None) or {}
    return {k: v for k, v in info.items()
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            and k != "eps"}


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"debiased labels {name}={value!r}: expected one of {list(choices)}")


# ----------------------------------------------------------------------------- normalisation

def _camids(camids, n: int) -> np.ndarray:
    c = np.asarray(camids)
    if c.shape != (n,) or not (np.issubdtype(c.dtype, np.integer) or c.size == 0):
        raise ConfigError(f"camids: expected {n} integer camera ids (one per sample), found "
                          f"shape {c.shape} of {c.dtype}")
    return c.astype(np.int64)


def camera_normalised(feat: np.ndarray, camids, mode: str = "center") -> np.ndarray:
    """Unit rows of ``feat`` after camera-wise normalisation: ``none`` (L2 only), ``center``
    (minus the camera's mean) or ``standardize`` (minus the camera's mean, divided by the
    camera's per-dimension standard deviation, floored at 1e-6 of the largest one). The
    statistics are those of the given features (no state kept)."""
    _check_choice("cam_norm", mode, CAM_NORMS)
    x = _normalised(feat).astype(np.float64)
    cams = _camids(camids, x.shape[0])
    if mode != "none":
        for c in np.unique(cams):
            rows = cams == c
            x[rows] -= x[rows].mean(0)
            if mode == "standardize":
                sd = x[rows].std(0)
                x[rows] /= np.maximum(sd, max(float(sd.max()), 1e-12) * 1e-6)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, 1e-12), dtype=np.float32)


def same_camera_share(feat: np.ndarray, camids, k: int = SHARE_K,
                      use_gpu: bool | None = None) -> float:
    """Mean over samples of the fraction of its k nearest neighbours (cosine, itself
    excluded) that are from its own camera. High (SynthCams ImageNet features: 0.88) means
    the camera decides who is near whom; chance is Σ_c (n_c/n)²."""
    x = _normalised(feat)
    cams = _camids(camids, x.shape[0])
    return _share_of_lists(_knn(x, int(k) + 1, use_gpu)[1], cams)


def _share_of_lists(idx: np.ndarray, cams: np.ndarray) -> float:
    """Same-camera share of neighbour lists whose first column is the sample itself."""
    if idx.shape[1] < 2:
        return float("nan")
    return float((cams[idx[:, 1:]] == cams[:, None]).mean())


# ----------------------------------------------------------------------------- neighbours

def _search(x: np.ndarray, base: np.ndarray, queries: np.ndarray, m: int,
            use_gpu: bool | None) -> tuple[np.ndarray, np.ndarray]:
    """The m nearest of the rows ``base`` for the rows ``queries`` (global indices)."""
    import faiss

    m = min(int(m), base.size)
    if m <= 0 or queries.size == 0:
        return np.zeros((queries.size, 0), np.float32), np.zeros((queries.size, 0), np.int64)
    index = faiss.IndexFlatIP(x.shape[1])
    ngpu = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if ngpu > 0 and use_gpu is not False:
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.add(np.ascontiguousarray(x[base]))
    sim, loc = index.search(np.ascontiguousarray(x[queries]), m)
    return sim.astype(np.float32), base[loc]


def camera_aware_knn(x: np.ndarray, camids, k: int, mode: str = "balanced",
                     groups=None, cross_same: int | None = None,
                     use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour lists (sim, idx), n × min(k, n), the sample first, for the Jaccard step
    (:func:`reidlab.cluster.jaccard.jaccard_distance_from_knn`) on unit rows ``x``.

    ``plain``: the exact k nearest (:func:`reidlab.cluster.jaccard.knn`). ``balanced``: at
    most ⌈k/C⌉ from each camera (the sample itself not counted; the k nearest within these
    quotas), the list topped up with the
    nearest of the rest only where cameras hold fewer samples than the quota. ``cross``: from
    the sample's own camera only ``cross_same`` (itself included; default the size of its
    group, 1 without groups), the rest from the other cameras (topped up from its own camera
    where the others hold too few). One faiss search per (query camera, candidate camera)
    pair: memory ∝ n·k (balanced: n·C·⌈k/C⌉; more only where a camera is smaller than k/C).
    """
    _check_choice("neighbours", mode, NEIGHBOURS)
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    k = min(int(k), n)
    if mode == "plain":
        return _knn(x, k, use_gpu)
    cams = _camids(camids, n)
    cam_list, cam_code = np.unique(cams, return_inverse=True)
    members = [np.flatnonzero(cam_code == c) for c in range(cam_list.size)]
    sizes = np.array([m.size for m in members])
    sim_out = np.zeros((n, k), np.float32)
    idx_out = np.zeros((n, k), np.int64)
    if mode == "balanced":
        quota = math.ceil(k / cam_list.size)
        # candidates beyond the quota are needed only where small cameras leave a deficit
        deficit = max(0, k - int(np.minimum(sizes, quota).sum()))
        for c, q_rows in enumerate(members):
            parts = []
            for c2, b_rows in enumerate(members):
                s, i = _search(x, b_rows, q_rows, quota + deficit + (c2 == c), use_gpu)
                within = np.arange(i.shape[1])[None, :].repeat(len(q_rows), 0)
                if c2 == c:  # the sample itself takes no quota place
                    within = within - np.cumsum(i == q_rows[:, None], 1)
                parts.append((s, i, (within >= quota).astype(np.int64)))
            _merge_pri(q_rows, parts, k, sim_out, idx_out)
        return sim_out, idx_out
    # cross
    if cross_same is None:
        if groups is None:
            cross_same = 1
        else:
            g = np.asarray(groups)
            _, gsize = np.unique(g, return_counts=True)
            cross_same = int(gsize.max())
    if isinstance(cross_same, bool) or int(cross_same) < 1:
        raise ConfigError(f"debiased labels cross_same={cross_same!r}: expected an integer >= 1")
    for c, q_rows in enumerate(members):
        others = np.flatnonzero(cam_code != c)
        n_other = min(k - min(int(cross_same), k), others.size)
        own = k - n_other
        s1, i1 = _search(x, q_rows, q_rows, own, use_gpu)
        s2, i2 = _search(x, others, q_rows, n_other, use_gpu)
        _merge_pri(q_rows, [(s1, i1, np.zeros(i1.shape, np.int64)),
                            (s2, i2, np.zeros(i2.shape, np.int64))], k, sim_out, idx_out)
    return sim_out, idx_out


def _merge_pri(rows: np.ndarray, parts: list, k: int, sim_out: np.ndarray,
               idx_out: np.ndarray) -> None:
    """Rows ``rows`` of the neighbour lists from candidate ``parts`` [(sim, idx, priority)]:
    the sample itself first, then priority 0 before 1, each by decreasing similarity, cut to
    k and re-sorted by similarity (self first), as the Jaccard step reads them."""
    sim = np.concatenate([p[0] for p in parts], axis=1).astype(np.float64)
    idx = np.concatenate([p[1] for p in parts], axis=1)
    pri = np.concatenate([p[2] for p in parts], axis=1)
    is_self = idx == rows[:, None]
    missing = ~is_self.any(1)
    if missing.any():  # exact duplicates pushed the sample out of its own list
        worst = np.argmin(sim[missing], axis=1)
        idx[missing, worst] = rows[missing]
        is_self = idx == rows[:, None]
    key_sim = np.where(is_self, np.inf, sim)
    key_pri = np.where(is_self, -1, pri)
    order = np.lexsort((-key_sim, key_pri), axis=-1)[:, :k]
    take_sim = np.take_along_axis(key_sim, order, 1)
    take_idx = np.take_along_axis(idx, order, 1)
    by_sim = np.argsort(-take_sim, axis=1, kind="stable")
    take_idx = np.take_along_axis(take_idx, by_sim, 1)
    take_sim = np.take_along_axis(take_sim, by_sim, 1)
    self_sim = np.take_along_axis(sim, np.argmax(is_self, 1)[:, None], 1)[:, 0]
    take_sim[:, 0] = np.maximum(self_sim, take_sim[:, 1]) if k > 1 else self_sim
    sim_out[rows] = take_sim.astype(np.float32)
    idx_out[rows] = take_idx


# ----------------------------------------------------------------------------- k rule

def auto_k(camids, groups=None, k_scale: float = K_SCALE,
           k_range: tuple[int, int] = K_AUTO_RANGE) -> tuple[int, int]:
    """(k1, k2) of the ``auto`` rule: k1 = clamp(round(k_scale · g · C), lo, hi), g the mean
    group size (clips per tracklet; 1 without groups), C the number of cameras;
    k2 = max(2, round(k1 / 5)). Uses cameras and the tracklet structure only."""
    cams = np.asarray(camids)
    num_cams = int(np.unique(cams).size)
    if groups is None:
        g = 1.0
    else:
        _, counts = np.unique(np.asarray(groups), return_counts=True)
        g = float(counts.mean())
    if not k_scale > 0:
        raise ConfigError(f"debiased labels k_scale={k_scale!r}: expected > 0")
    lo, hi = k_range
    k1 = int(min(max(round(k_scale * g * num_cams), lo), hi))
    return k1, max(2, int(round(k1 / 5)))


# ----------------------------------------------------------------------------- reliability

def _iou_with(labels: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per sample: IoU of its cluster in ``labels`` and its cluster in ``other`` (−1 is a
    singleton in both)."""
    n = labels.size
    a = np.where(labels >= 0, labels, labels.max(initial=-1) + 1 + np.arange(n))
    b = np.where(other >= 0, other, other.max(initial=-1) + 1 + np.arange(n))
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    a, b = a.ravel(), b.ravel()
    na, nb = np.bincount(a), np.bincount(b)
    pair = a.astype(np.int64) * (int(b.max()) + 1) + b
    _, pinv, pcount = np.unique(pair, return_inverse=True, return_counts=True)
    inter = pcount[pinv.ravel()]
    return inter / (na[a] + nb[b] - inter)


def reliable(labels: np.ndarray, tight: np.ndarray, loose: np.ndarray,
             percentile: float = RELIABILITY_PERCENTILE) -> tuple[np.ndarray, dict]:
    """SpCL's criterion on three clusterings of the same distances (eps − gap, eps, eps +
    gap): ``labels`` with the unreliable members set to −1 (renumbered) and the numbers."""
    labels = np.asarray(labels, np.int64)
    comp = _iou_with(labels, np.asarray(tight, np.int64))
    indep = _iou_with(labels, np.asarray(loose, np.int64))
    inl = labels >= 0
    num = int(labels.max()) + 1 if inl.any() else 0
    if num == 0:
        return labels.copy(), {"reliability_alpha": None, "reliability_dropped": 0}
    c_indep = np.zeros(num)
    c_comp = np.zeros(num)
    np.maximum.at(c_indep, labels[inl], indep[inl])
    np.maximum.at(c_comp, labels[inl], comp[inl])
    size = np.bincount(labels[inl], minlength=num)
    pool = c_indep[size > 1]
    alpha = float(np.percentile(pool, percentile, method="lower")) if pool.size else 0.0
    keep = inl.copy()
    keep[inl] = (c_indep[labels[inl]] >= alpha) & (comp[inl] >= c_comp[labels[inl]] - 1e-12)
    out = renumber(np.where(keep, labels, -1))
    return out, {"reliability_alpha": alpha,
                 "reliability_dropped": int(inl.sum() - keep.sum()),
                 "reliability_clusters_dropped": int(num - np.unique(labels[keep]).size)}


# ----------------------------------------------------------------------------- the update

def _cross_camera_pairs(dist, cams: np.ndarray):
    """``dist`` without its stored pairs of two different samples of one camera."""
    import scipy.sparse as sp

    coo = dist.tocoo()
    keep = (cams[coo.row] != cams[coo.col]) | (coo.row == coo.col)
    out = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=dist.shape)
    out.sort_indices()
    return out


@dataclass
class DebiasResult(ClusterResult):
    """A :class:`ClusterResult` with what the debiasing did (``info``: the k1/k2 used, the
    same-camera neighbour shares, the reliability counts)."""

    info: dict = field(default_factory=dict)

    def stats(self) -> dict:
        d = super().stats()
        d.pop("info", None)
        d.update(self.info)
        return d


def debiased_labels(feat: np.ndarray, camids, *, groups=None, cam_norm: str = "none",
                    neighbours: str = "plain", k1: int = DEFAULT_K1, k2: int = DEFAULT_K2,
                    eps: float = DEFAULT_EPS, min_samples: int = DEFAULT_MIN_SAMPLES,
                    k_rule: str = "fixed", reliability: bool = False,
                    k_scale: float = K_SCALE, cross_same: int | None = None,
                    cross_camera_pairs_only: bool = False, share_k: int = SHARE_K,
                    use_gpu: bool | None = None) -> DebiasResult:
    """Pseudo labels of the rows of ``feat`` (−1 = outlier): DBSCAN(eps, min_samples) on the
    k-reciprocal Jaccard distance, with the camera levers of this module (see its docstring).
    With every lever at its default (none, plain, fixed, False) the labels are exactly
    :func:`reidlab.cluster.pseudo_labels.cluster_pseudo_labels`'s. ``groups``: as there (the
    clips of one tracklet are strong positives, one label per group).
    ``cross_camera_pairs_only`` (PIRID's ``cross_camera_only``): two samples of one camera are
    never DBSCAN neighbours (their Jaccard entry is dropped; groups keep their zeros).

    ``info`` (also in :meth:`DebiasResult.stats`): ``k1``, ``k2``, ``eps``, ``cam_norm``,
    ``neighbours``, ``k_rule``; ``same_cam_share_raw`` / ``same_cam_share`` — the same-camera
    share of the ``share_k`` nearest neighbours in the given / normalised features (0 turns
    them off); ``candidate_same_cam_share`` — of the k1 candidate lists the Jaccard step used;
    with ``reliability`` the numbers of :func:`reliable`.
    """
    for name, value, choices in (("cam_norm", cam_norm, CAM_NORMS),
                                 ("neighbours", neighbours, NEIGHBOURS),
                                 ("k_rule", k_rule, K_RULES)):
        _check_choice(name, value, choices)
    _check_eps(eps, min_samples)
    x_in = check_features(feat, "debiased labels")
    n = x_in.shape[0]
    cams = _camids(camids, n)
    groups, weight = check_groups(groups, n, "debiased labels")
    if k_rule == "auto":
        k1, k2 = auto_k(cams, groups, k_scale)
    _check_k(k1, k2)
    t0 = time.perf_counter()
    x = camera_normalised(x_in, cams, cam_norm)
    k = min(int(k1), n)
    sim, idx = camera_aware_knn(x, cams, k, neighbours, groups, cross_same, use_gpu)
    t1 = time.perf_counter()
    gap = RELIABILITY_GAP if reliability else 0.0
    dist = _jaccard_of_lists(x, sim, idx, int(k1), int(k2), 250_000,
                             float(min(1.0, eps + gap)))
    if cross_camera_pairs_only:
        dist = _cross_camera_pairs(dist, cams)
    if groups is not None:
        dist = _with_group_zeros(dist, groups)
    t2 = time.perf_counter()
    labels = partition(dist, float(eps), int(min_samples), groups, weight)
    info = {"k1": int(k1), "k2": int(k2), "eps": float(eps), "cam_norm": cam_norm,
            "neighbours": neighbours, "k_rule": k_rule,
            "candidate_same_cam_share": _share_of_lists(idx, cams)}
    if reliability:
        tight = partition(dist, float(max(eps - gap, 1e-6)), int(min_samples), groups, weight)
        loose = partition(dist, float(min(eps + gap, 1.0)), int(min_samples), groups, weight)
        labels, r_info = reliable(labels, tight, loose)
        info.update(r_info)
    t3 = time.perf_counter()
    if share_k:
        raw_share = same_camera_share(x_in, cams, share_k, use_gpu)
        info["same_cam_share_raw"] = raw_share
        info["same_cam_share"] = (raw_share if cam_norm == "none"
                                  else same_camera_share(x, cams, share_k, use_gpu))
    num = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    res = DebiasResult(labels=labels, num_clusters=num,
                       outlier_fraction=float(np.mean(labels < 0)), time_s=t3 - t0,
                       knn_s=t1 - t0, jaccard_s=t2 - t1, dbscan_s=t3 - t2,
                       num_pairs=int(dist.nnz), info=info)
    if num == 0:
        log.warning("DBSCAN found no cluster among %d samples (eps=%s, min_samples=%s, "
                    "cam_norm=%s, neighbours=%s): every sample is an outlier", n, eps,
                    min_samples, cam_norm, neighbours)
    return res
