"""Quality of pseudo labels against the ground truth, from contingency counts (O(n + C·P)).

Pairwise precision / recall / F-score as CALR (camera-aware label refinement) reports them:
a predicted positive pair is two samples in the same (non-outlier) cluster, a true positive
pair two samples of the same identity; outliers (label −1) are singletons. NMI and ARI are
scikit-learn's, with every outlier its own cluster. ``expansion`` is CALR's: the mean, over
identities, of the number of clusters an identity's samples fall into (an outlier counts as a
cluster of its own); 1 is perfect, larger means identities split.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from reidlab.errors import ConfigError


def _as_1d(name: str, a, n: int | None = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D array, found shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ConfigError(f"{name}: expected {n} values (one per sample), found {arr.size}")
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) or
                         np.issubdtype(arr.dtype, np.bool_)):
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ConfigError(f"{name}: expected integer ids, found dtype {arr.dtype}")
    return arr.astype(np.int64)


def _pairs(counts: np.ndarray) -> int:
    c = np.asarray(counts, dtype=np.int64)
    return int((c * (c - 1) // 2).sum())


def _codes(a: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inv = np.unique(a, return_inverse=True)
    return inv.ravel(), uniq.size


def _singletons(labels: np.ndarray) -> np.ndarray:
    """Labels with every −1 replaced by a fresh label of its own."""
    out = labels.copy()
    out_mask = out < 0
    start = int(out.max()) + 1 if out.size and out.max() >= 0 else 0
    out[out_mask] = start + np.arange(int(out_mask.sum()))
    return out


def cluster_quality(labels, pids, camids=None) -> dict:
    """Quality of ``labels`` (−1 = outlier) against identities ``pids``; ``camids`` adds the
    mean number of cameras per cluster. Keys: num_samples, num_clusters, outlier_fraction,
    precision, recall, fscore, nmi, ari, cameras_per_cluster (None without cameras or
    clusters), expansion. Precision (recall) is 0 when there is no predicted (true) pair."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = _as_1d("labels", labels)
    n = labels.size
    if n == 0:
        raise ConfigError("cluster_quality: expected at least one sample, found none")
    pids = _as_1d("pids", pids, n)
    inl = labels >= 0
    lab_code, num_lab = _codes(labels[inl])
    pid_code, num_pid = _codes(pids)
    num_clusters = int(num_lab)

    # contingency of (cluster, identity) over clustered samples: sparse, O(n)
    cont = sp.coo_matrix((np.ones(int(inl.sum()), np.int64), (lab_code, pid_code[inl])),
                         shape=(num_lab, num_pid)).tocsr()
    cont.sum_duplicates()
    tp = _pairs(cont.data)
    pred = _pairs(np.bincount(lab_code, minlength=num_lab))
    true = _pairs(np.bincount(pid_code, minlength=num_pid))
    precision = tp / pred if pred else 0.0
    recall = tp / true if true else 0.0
    fscore = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    full = _singletons(labels)
    nmi = float(normalized_mutual_info_score(pids, full))
    ari = float(adjusted_rand_score(pids, full))

    # expansion: distinct clusters per identity + its outliers, averaged over identities
    distinct = np.diff(cont.tocsc().indptr)  # clusters touching each identity
    outl = np.bincount(pid_code[~inl], minlength=num_pid)
    exp_value = float(np.mean(distinct + outl))

    cams = None
    if camids is not None and num_clusters:
        camids = _as_1d("camids", camids, n)
        cam_code, num_cam = _codes(camids)
        cc = sp.coo_matrix((np.ones(int(inl.sum()), np.int64), (lab_code, cam_code[inl])),
                           shape=(num_lab, num_cam)).tocsr()
        cc.sum_duplicates()
        cams = float(np.mean(np.diff(cc.indptr)))
    elif camids is not None:
        _as_1d("camids", camids, n)

    return {
        "num_samples": int(n),
        "num_clusters": num_clusters,
        "outlier_fraction": float(np.mean(~inl)),
        "precision": float(precision),
        "recall": float(recall),
        "fscore": float(fscore),
        "nmi": nmi,
        "ari": ari,
        "cameras_per_cluster": cams,
        "expansion": exp_value,
    }


EXPANSION_OUTLIERS = ("singletons", "ignore", "one")


def expansion(labels, pids, outliers: str = "singletons") -> float:
    """CALR's *expansion*: the mean, over identities, of the number of distinct clusters that
    an identity's samples fall into — 1 when no identity is split, larger when identities are
    spread over several clusters (the paper's Fig. 5 compares global, local and refined
    clusters by it; local clusters split every identity by camera, so their expansion is
    about the number of cameras an identity is seen by).

    ``outliers`` (label −1): ``"singletons"`` — each outlier a cluster of its own (the
    convention of :func:`cluster_quality`'s ``expansion``); ``"ignore"`` — outliers left out,
    and identities with no clustered sample too (how CALR's code measures refined clusters,
    ``evaluate_refine``; 0.0 when no sample is clustered); ``"one"`` — all outliers one
    cluster (CALR's code on raw global labels, ``bcubed`` in ``evaluation/metrics.py``)."""
    if outliers not in EXPANSION_OUTLIERS:
        raise ConfigError(f"expansion outliers={outliers!r}: expected one of "
                          f"{list(EXPANSION_OUTLIERS)}")
    labels = _as_1d("labels", labels)
    if labels.size == 0:
        raise ConfigError("expansion: expected at least one sample, found none")
    pids = _as_1d("pids", pids, labels.size)
    if outliers == "singletons":
        labels = _singletons(labels)
    elif outliers == "ignore":
        keep = labels >= 0
        labels, pids = labels[keep], pids[keep]
        if labels.size == 0:
            return 0.0
    pairs = np.unique(np.stack([pids, labels], axis=1), axis=0)
    return float(pairs.shape[0] / np.unique(pids).size)


def cluster_table(labels, pids, camids) -> list[dict]:
    """One dict per cluster (outliers left out), in label order: ``label``, ``size``,
    ``num_cameras``, ``num_ids``, ``majority_pid`` (the smallest on ties) and ``purity``
    (share of the majority identity)."""
    labels = _as_1d("labels", labels)
    n = labels.size
    pids = _as_1d("pids", pids, n)
    camids = _as_1d("camids", camids, n)
    inl = labels >= 0
    if not inl.any():
        return []
    lab_u, lab_code = np.unique(labels[inl], return_inverse=True)
    pid_u, pid_code = np.unique(pids[inl], return_inverse=True)
    _, cam_code = np.unique(camids[inl], return_inverse=True)
    size = np.bincount(lab_code, minlength=lab_u.size)
    cont = sp.coo_matrix((np.ones(lab_code.size, np.int64), (lab_code, pid_code)),
                         shape=(lab_u.size, pid_u.size)).tocsr()
    cont.sum_duplicates()
    cont.sort_indices()
    cams = sp.coo_matrix((np.ones(lab_code.size, np.int64), (lab_code, cam_code)),
                         shape=(lab_u.size, int(cam_code.max()) + 1)).tocsr()
    cams.sum_duplicates()
    num_ids = np.diff(cont.indptr)
    num_cams = np.diff(cams.indptr)
    rows = []
    for c in range(lab_u.size):
        lo, hi = cont.indptr[c], cont.indptr[c + 1]
        counts, ids = cont.data[lo:hi], cont.indices[lo:hi]
        best = int(np.argmax(counts))  # indices sorted: the first maximum is the smallest pid
        rows.append({"label": int(lab_u[c]), "size": int(size[c]),
                     "num_cameras": int(num_cams[c]), "num_ids": int(num_ids[c]),
                     "majority_pid": int(pid_u[ids[best]]),
                     "purity": float(counts[best] / size[c])})
    return rows


def largest_clusters(labels, pids, camids, top: int = 10, by: str = "size") -> list[dict]:
    """The ``top`` clusters of :func:`cluster_table`, for the app: ``by="size"`` the largest,
    ``"cameras"`` those spanning the most cameras (then the largest), ``"impure"`` the largest
    clusters with more than one identity (then the least pure)."""
    if by not in ("size", "cameras", "impure"):
        raise ConfigError(f"largest_clusters by={by!r}: expected 'size', 'cameras' or 'impure'")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise ConfigError(f"largest_clusters top={top!r}: expected an integer >= 0")
    rows = cluster_table(labels, pids, camids)
    if by == "size":
        key = lambda r: (-r["size"], r["label"])  # noqa: E731
    elif by == "cameras":
        key = lambda r: (-r["num_cameras"], -r["size"], r["label"])  # noqa: E731
    else:
        rows = [r for r in rows if r["num_ids"] > 1]
        key = lambda r: (-r["size"], r["purity"], r["label"])  # noqa: E731
    return sorted(rows, key=key)[:top]
