"""Numbers that measure the camera-domain gap of a set of tracklet features.

Every function takes plain arrays (one row per tracklet) and is pure: same inputs and seed, same
output. ``gap_summary`` bundles them for a :class:`~reidlab.eval.features.FeatureSet`.

* ``camera_probe`` — how well a linear model predicts the camera from a feature (high = the
  features carry the camera; the papers' Fig. 1 in one number).
* ``silhouette`` — cluster separation of the features by camera or by identity.
* ``same_vs_cross_camera_retrieval`` — rank-1 when the gallery is restricted to the query's own
  camera vs to the other cameras (cross ≪ same = a camera gap).
* ``distance_distributions`` — same- vs different-person distances, overall and per camera pair.
* ``separation_auc`` / ``pair_separation`` — how well those distances separate matches from
  non-matches (ROC AUC), overall and per camera pair.
"""

from __future__ import annotations

import numpy as np

from reidlab.eval.ranking import _distance_blocks, _rank_core, compute_distmat, summarize


def _as_2d(feats) -> np.ndarray:
    x = np.asarray(feats, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features: expected an N×D array, got shape {x.shape}")
    return x


# ---------------------------------------------------------------------------- camera probe


def camera_probe(feats, camids, groups=None, cv: int = 5, seed: int = 0, C: float = 1.0,
                 max_iter: int = 1000, pca_dim: int | None = None) -> dict:
    """Cross-validated linear probe predicting the camera of held-out tracklets.

    Model: ``StandardScaler`` → multinomial ``LogisticRegression(C)``. Each row is one tracklet,
    so every fold's test rows are tracklets the probe never saw. With ``groups`` (e.g. pids)
    the folds are ``GroupKFold`` (shuffled with ``seed``) so the held-out identities are unseen
    too; otherwise ``StratifiedKFold(shuffle=True, random_state=seed)``. ``cv`` is lowered to
    what the data allows (number of groups / smallest camera count, at least 2).
    ``pca_dim``: optionally project to that many principal components first (fitted inside
    each fold) — faster for wide features such as 1280-d backbone outputs.

    Returns ``{"accuracy", "per_camera_accuracy": {cam: recall}, "chance", "n", "folds",
    "confusion": C×C counts (rows true camera, columns predicted), "cameras"}``; ``chance`` is
    the accuracy of always predicting the most frequent camera.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _as_2d(feats)
    y = np.asarray(camids)
    if len(y) != len(x):
        raise ValueError(f"camera_probe: {len(x)} feature rows but {len(y)} camera ids")
    cams, counts = np.unique(y, return_counts=True)
    if cams.size < 2:
        raise ValueError(f"camera_probe: needs at least 2 cameras, got {cams.tolist()}")
    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != len(x):
            raise ValueError(f"camera_probe: {len(x)} feature rows but {len(groups)} groups")
        folds = max(2, min(cv, np.unique(groups).size))
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        folds = max(2, min(cv, int(counts.min())))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    steps = [StandardScaler()]
    if pca_dim is not None and pca_dim < x.shape[1]:
        steps.append(PCA(n_components=pca_dim, random_state=seed))
    model = make_pipeline(*steps, LogisticRegression(C=C, max_iter=max_iter))
    pred = cross_val_predict(model, x, y, groups=groups, cv=splitter)
    conf = np.zeros((cams.size, cams.size), dtype=np.int64)
    np.add.at(conf, (np.searchsorted(cams, y), np.searchsorted(cams, pred)), 1)
    per_cam = {int(c): float(conf[i, i] / conf[i].sum()) for i, c in enumerate(cams)}
    return {
        "accuracy": float((pred == y).mean()),
        "per_camera_accuracy": per_cam,
        "chance": float(counts.max() / counts.sum()),
        "n": int(len(y)),
        "folds": int(folds),
        "confusion": conf,
        "cameras": cams,
    }


# ------------------------------------------------------------------------------- silhouette


def silhouette(feats, labels, max_samples: int = 2000, seed: int = 0) -> float:
    """Euclidean silhouette score of ``feats`` grouped by ``labels`` (camera or identity).

    Computed on a reproducible random subsample of ``max_samples`` rows when there are more.
    NaN when fewer than 2 labels or every row has its own label (undefined).
    """
    from sklearn.metrics import silhouette_score

    x = _as_2d(feats)
    lab = np.asarray(labels)
    if len(lab) != len(x):
        raise ValueError(f"silhouette: {len(x)} feature rows but {len(lab)} labels")
    if len(x) > max_samples:
        idx = np.random.default_rng(seed).choice(len(x), size=max_samples, replace=False)
        x, lab = x[idx], lab[idx]
    k = np.unique(lab).size
    if k < 2 or k >= len(lab):
        return float("nan")
    return float(silhouette_score(x, lab, metric="euclidean"))


# ------------------------------------------------------------------- same vs cross camera


def same_vs_cross_camera_retrieval(feats, pids, camids, chunk: int | None = None) -> dict:
    """Rank-1/mAP of every tracklet against the OTHER tracklets, same camera vs other cameras.

    Each row is a query; its gallery is every other row (never itself), split two ways:
    * same camera: only rows with the query's camera. Valid if one of them has the query's pid.
    * cross camera: only rows from the other cameras. Valid if one of them has the query's pid.
    Invalid queries are skipped (counted in ``*_queries``). Euclidean distances; ties as in
    :func:`reidlab.eval.evaluate`. A camera gap shows as ``cross_camera_rank1`` far below
    ``same_camera_rank1``; ``rank1_gap = same − cross``. Distances are computed chunk by
    chunk (never the whole N×N matrix).
    """
    x = _as_2d(feats)
    pids, camids = np.asarray(pids), np.asarray(camids)
    if not (len(x) == len(pids) == len(camids)):
        raise ValueError(f"same_vs_cross_camera_retrieval: lengths differ: {len(x)} features, "
                         f"{len(pids)} pids, {len(camids)} camids")
    d = _LazyDistances(x, x)
    n = len(x)
    idx = np.arange(n)

    def match_fn(rows):
        return pids[rows, None] == pids[None, :]

    def ignore_same(rows):  # keep: same camera, not itself
        return (camids[rows, None] != camids[None, :]) | (idx[rows, None] == idx[None, :])

    def ignore_cross(rows):  # keep: other cameras
        return camids[rows, None] == camids[None, :]

    same = summarize(_rank_core(d, match_fn, ignore_same, chunk), max_rank=1)
    cross = summarize(_rank_core(d, match_fn, ignore_cross, chunk), max_rank=1)
    return {
        "same_camera_rank1": same["rank1"],
        "same_camera_mAP": same["mAP"],
        "same_camera_queries": same["num_valid_queries"],
        "cross_camera_rank1": cross["rank1"],
        "cross_camera_mAP": cross["mAP"],
        "cross_camera_queries": cross["num_valid_queries"],
        "rank1_gap": same["rank1"] - cross["rank1"],
    }


class _LazyDistances:
    """Row blocks of the Euclidean distance matrix, computed on demand (``d[rows]``)."""

    def __init__(self, q: np.ndarray, g: np.ndarray):
        self.q, self.g = q, g
        self.shape = (len(q), len(g))

    def __getitem__(self, rows: slice) -> np.ndarray:
        return compute_distmat(self.q[rows], self.g)


# -------------------------------------------------------------------- distance histograms


def _sample_pairs(mask_fn, nq: int, ng: int, max_pairs: int, rng, chunk: int = 256):
    """Rows/cols of the True entries of an implicit Nq×Ng mask; uniform subsample if > max."""
    total = sum(int(mask_fn(slice(s, min(nq, s + chunk))).sum()) for s in range(0, nq, chunk))
    sel = None
    if total > max_pairs:
        sel = np.sort(rng.choice(total, size=max_pairs, replace=False))
    rs, cs, off = [], [], 0
    for s in range(0, nq, chunk):
        flat = np.flatnonzero(mask_fn(slice(s, min(nq, s + chunk))))
        if sel is not None:
            lo, hi = np.searchsorted(sel, [off, off + flat.size])
            flat, off = flat[sel[lo:hi] - off], off + flat.size
        rs.append(flat // ng + s)
        cs.append(flat % ng)
    return np.concatenate(rs).astype(np.int64), np.concatenate(cs).astype(np.int64)


class DistanceSampler:
    """The sampled pairs of :func:`distance_distributions`, filled one block of distance rows at
    a time: pass :meth:`take` as ``on_block`` to :func:`reidlab.eval.ranking.evaluate_arrays`
    and the evaluation's own pass over the distances also gathers the histograms' pairs (one
    pass, not two), then :meth:`result`. The pairs are drawn up front from the labels alone, so
    the values are the full matrix's whichever blocks bring them."""

    def __init__(self, q_pids, g_pids, q_camids, g_camids, max_pairs: int = 200_000,
                 seed: int = 0, drop_junk: bool = True):
        self.q_pids, self.g_pids = np.asarray(q_pids), np.asarray(g_pids)
        self.q_camids, self.g_camids = np.asarray(q_camids), np.asarray(g_camids)
        if len(self.q_camids) != len(self.q_pids) or len(self.g_camids) != len(self.g_pids):
            raise ValueError(f"distance_distributions: {len(self.q_pids)} query / "
                             f"{len(self.g_pids)} gallery pids but {len(self.q_camids)} / "
                             f"{len(self.g_camids)} camera ids")
        qp, gp, qc, gc = self.q_pids, self.g_pids, self.q_camids, self.g_camids
        nq, ng = len(qp), len(gp)

        def same_fn(rows):
            m = qp[rows, None] == gp[None, :]
            if drop_junk:
                m &= qc[rows, None] != gc[None, :]
            return m

        def diff_fn(rows):
            return qp[rows, None] != gp[None, :]

        rng = np.random.default_rng(seed)
        self.pairs = {name: _sample_pairs(fn, nq, ng, max_pairs, rng)
                      for name, fn in (("same", same_fn), ("diff", diff_fn))}
        self.vals = {name: np.full(len(r), np.nan, np.float32)
                     for name, (r, _) in self.pairs.items()}
        self._seen = 0

    def take(self, blk: slice, d: np.ndarray) -> None:
        """Keep the sampled pairs among query rows ``blk`` (``d``: their distances, one row per
        query of the block, one column per gallery item)."""
        for name, (r, c) in self.pairs.items():
            lo, hi = np.searchsorted(r, [blk.start, blk.stop])  # r is sorted
            self.vals[name][lo:hi] = d[r[lo:hi] - blk.start, c[lo:hi]]
        self._seen += blk.stop - blk.start

    def take_matrix(self, d: np.ndarray) -> None:
        """All query rows at once, from a full Nq×Ng matrix."""
        self.take(slice(0, len(d)), d)

    def result(self) -> dict:
        """The dictionary :func:`distance_distributions` returns."""
        if self._seen != len(self.q_pids):
            raise RuntimeError(f"DistanceSampler: saw {self._seen} of {len(self.q_pids)} query "
                               "rows; every block must be taken before the result")
        out = {"by_pair": {}}
        for name in ("same", "diff"):
            r, c = self.pairs[name]
            out[name] = self.vals[name]
            out[f"{name}_pairs"] = (r, c)
            ca, cb = self.q_camids[r], self.g_camids[c]
            for a, b in sorted(set(zip(ca.tolist(), cb.tolist()))):
                sel = (ca == a) & (cb == b)
                out["by_pair"].setdefault((a, b), {"same": np.zeros(0, np.float32),
                                                   "diff": np.zeros(0, np.float32)})
                out["by_pair"][(a, b)][name] = out[name][sel]
        return out


def distance_distributions(source, q_pids, g_pids, q_camids, g_camids,
                           max_pairs: int = 200_000, seed: int = 0, drop_junk: bool = True,
                           block_bytes: int = 1 << 28) -> dict:
    """Same-person and different-person distances, overall and per camera pair (histograms).

    ``source``: an Nq×Ng distance matrix, or a tuple ``(q_feat, g_feat)``: Euclidean distances
    are then computed in blocks of query rows (at most ``block_bytes`` of distances at a time,
    the evaluation's blocks, so the values equal the full matrix's) and only the sampled pairs
    are kept — 20k × 100k tracklets without an 8 GB matrix. (To get them from an evaluation's
    own pass instead of a second one, use :class:`DistanceSampler`, as :func:`gap_summary`
    does.) ``drop_junk``: leave out pairs with the same pid AND camera, as the evaluation
    protocol does (in the official MARS protocol these include each query's own track at
    distance 0). Each of the two sets is a uniform random subsample of at most ``max_pairs``
    pairs (reproducible with ``seed``).

    Returns ``{"same": float32[], "diff": float32[], "same_pairs": (q_rows, g_rows),
    "diff_pairs": (q_rows, g_rows), "by_pair": {(a, b): {"same": ..., "diff": ...}}}`` where
    ``(a, b)`` = (query camera, gallery camera) for every pair present.
    """
    feats = isinstance(source, tuple)
    if feats:
        qf, gf = (np.asarray(a, dtype=np.float32) for a in source)
        shape = (len(qf), len(gf))
    else:
        d = np.asarray(source, dtype=np.float32)
        shape = d.shape
    if shape != (len(q_pids), len(g_pids)) or len(q_camids) != shape[0] \
            or len(g_camids) != shape[1]:
        what = "features" if feats else "distance matrix"
        raise ValueError(f"distance_distributions: {what} {shape} does not match "
                         f"{len(q_pids)} query / {len(g_pids)} gallery labels")
    sampler = DistanceSampler(q_pids, g_pids, q_camids, g_camids, max_pairs=max_pairs,
                              seed=seed, drop_junk=drop_junk)
    if feats:
        for blk, db in _distance_blocks(qf, gf, "euclidean", block_bytes):
            sampler.take(blk, db)
            del db
    else:
        sampler.take_matrix(d)
    return sampler.result()


def separation_auc(same, diff) -> float:
    """How well distances separate same-person from different-person pairs: the probability
    that a random same-person pair is closer than a random different-person pair (ties count
    half; the area under the ROC curve). 100 % = every match closer than every non-match, 50 %
    = no separation; NaN when either set is empty."""
    same = np.sort(np.asarray(same, dtype=np.float64).ravel())
    diff = np.sort(np.asarray(diff, dtype=np.float64).ravel())
    if same.size == 0 or diff.size == 0:
        return float("nan")
    below = np.searchsorted(diff, same, side="left")  # different pairs closer than each same
    ties = np.searchsorted(diff, same, side="right") - below
    return float(np.mean(1.0 - (below + 0.5 * ties) / diff.size))


def pair_separation(by_pair: dict, cameras=None) -> dict:
    """Per (query camera, gallery camera): :func:`separation_auc` and the medians of the
    same- and different-person distances, from ``distance_distributions(...)["by_pair"]``.

    Returns ``{"cameras": [...], "auc": C×C, "same_median": C×C, "diff_median": C×C,
    "n_same": C×C, "n_diff": C×C}`` (NaN / 0 where a pair has no such distances; the
    diagonal, same-camera pairs, has different-person distances only, since same-camera
    same-person pairs are junk)."""
    cams = sorted({c for ab in by_pair for c in ab} if cameras is None else cameras)
    idx = {c: i for i, c in enumerate(cams)}
    C = len(cams)
    out = {"cameras": cams, **{k: np.full((C, C), np.nan) for k in
                               ("auc", "same_median", "diff_median")},
           "n_same": np.zeros((C, C), int), "n_diff": np.zeros((C, C), int)}
    for (a, b), v in by_pair.items():
        if a not in idx or b not in idx:
            continue
        i, j = idx[a], idx[b]
        same, diff = np.asarray(v.get("same", [])), np.asarray(v.get("diff", []))
        out["auc"][i, j] = separation_auc(same, diff)
        out["n_same"][i, j], out["n_diff"][i, j] = same.size, diff.size
        if same.size:
            out["same_median"][i, j] = float(np.median(same))
        if diff.size:
            out["diff_median"][i, j] = float(np.median(diff))
    return out


# ---------------------------------------------------------------------------- FeatureSet


def pooled_keep(fs) -> np.ndarray:
    """Boolean mask over the gallery rows of a FeatureSet: False where a row duplicates a query
    row exactly (same feature bytes, pid and camera — the official MARS protocol keeps the
    query tracks in the gallery). :func:`pooled` and :func:`pooled_modality` drop those rows."""
    q = np.asarray(fs.q_feat, dtype=np.float32)
    g = np.asarray(fs.g_feat, dtype=np.float32)
    seen = {(row.tobytes(), int(p), int(c)) for row, p, c in zip(q, fs.q_pids, fs.q_camids)}
    return np.array([(row.tobytes(), int(p), int(c)) not in seen
                     for row, p, c in zip(g, fs.g_pids, fs.g_camids)], dtype=bool)


def pooled(fs, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Query + gallery rows of a FeatureSet as one set of tracklets (feats, pids, camids).

    Gallery rows that duplicate a query row exactly are dropped (:func:`pooled_keep`; pass
    ``keep`` when it is already computed).
    """
    keep = pooled_keep(fs) if keep is None else keep
    feats = np.concatenate([np.asarray(fs.q_feat, dtype=np.float32),
                            np.asarray(fs.g_feat, dtype=np.float32)[keep]])
    pids = np.concatenate([np.asarray(fs.q_pids), np.asarray(fs.g_pids)[keep]])
    camids = np.concatenate([np.asarray(fs.q_camids), np.asarray(fs.g_camids)[keep]])
    return feats, pids, camids


def pooled_modality(fs, keep: np.ndarray | None = None) -> np.ndarray:
    """The modality (COLOUR 0 / INFRARED 1) of each row of :func:`pooled`."""
    keep = pooled_keep(fs) if keep is None else keep
    return np.concatenate([np.asarray(fs.q_modality), np.asarray(fs.g_modality)[keep]])


def gap_summary(fs, seed: int = 0, probe_cv: int = 5, max_pairs: int = 200_000,
                block_bytes: int = 1 << 28) -> dict:
    """All gap numbers for a FeatureSet.

    Probe, silhouettes and same-vs-cross retrieval use the pooled query+gallery tracklets
    (:func:`pooled`; probe folds hold out identities). Distances, the standard evaluation and
    the per-camera-pair matrices use query vs gallery, computed in blocks of query rows (never
    more than ``block_bytes`` of distances; the same numbers as the full matrix), in one pass:
    the evaluation's blocks also fill the distance histograms (:class:`DistanceSampler`).
    """
    from reidlab.eval.ranking import evaluate_arrays

    feats, pids, camids = pooled(fs)
    sampler = DistanceSampler(fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids,
                              max_pairs=max_pairs, seed=seed)
    ev = evaluate_arrays(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                         fs.g_camids, block_bytes=block_bytes, on_block=sampler.take)
    by_pair = ev.pop("pairs")
    return {
        "camera_probe": camera_probe(feats, camids, groups=pids, cv=probe_cv, seed=seed),
        "silhouette_camera": silhouette(feats, camids, seed=seed),
        "silhouette_identity": silhouette(feats, pids, seed=seed),
        "same_vs_cross": same_vs_cross_camera_retrieval(feats, pids, camids),
        "distances": sampler.result(),  # gathered during the evaluation's pass
        "evaluation": ev,
        "by_camera_pair": by_pair,
    }


def pick_identities(pids, camids, n: int = 20, seed: int = 0, min_cameras: int = 2) -> np.ndarray:
    """``n`` identities for a figure like PIRID's Fig. 3: drawn with a fixed seed among the
    identities (pid > 0, distractors left out) seen by at least ``min_cameras`` cameras, so
    that each one can show whether its cameras come together. Sorted pids; fewer when fewer
    qualify."""
    pids, camids = np.asarray(pids), np.asarray(camids)
    ok = sorted(int(p) for p in np.unique(pids[pids > 0])
                if len(np.unique(camids[pids == p])) >= min_cameras)
    if len(ok) <= n:
        return np.asarray(ok, dtype=np.int64)
    chosen = np.random.default_rng(seed).choice(len(ok), n, replace=False)
    return np.sort(np.asarray(ok, dtype=np.int64)[chosen])
