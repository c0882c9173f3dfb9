"""reidlab.cluster: faiss kNN, the sparse k-reciprocal Jaccard distance against a dense
reference, DBSCAN pseudo labels (groups of strong positives included) and cluster quality
against an O(n²) brute force."""

import itertools
import logging
import math
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from reidlab.cluster import (
    cluster_pseudo_labels,
    cluster_quality,
    cluster_table,
    dbscan_labels,
    jaccard_distance,
    jaccard_distance_dense,
    knn,
    largest_clusters,
    renumber,
)
from reidlab.cluster.jaccard import _expanded_dots
from reidlab.errors import ConfigError


def blobs(rng, n_blobs, per_blob, dim=16, spread=0.05):
    centres = rng.normal(size=(n_blobs, dim))
    y = np.repeat(np.arange(n_blobs), per_blob)
    return centres[y] + spread * rng.normal(size=(y.size, dim)), y


def identities(rng, n, dim, sigma):
    """n samples of n // 4 identities: a centre each, plus noise."""
    centres = rng.normal(size=(max(1, n // 4), dim))
    y = np.arange(n) % centres.shape[0]
    return centres[y] + sigma * rng.normal(size=(n, dim)), y


def densify(s: sp.spmatrix) -> np.ndarray:
    """Dense copy of a sparse Jaccard matrix: pairs that are not stored are at distance 1."""
    out = np.ones(s.shape)
    c = s.tocoo()
    out[c.row, c.col] = c.data
    return out


# ----------------------------------------------------------------------------- kNN

def test_knn_matches_brute_force_and_puts_self_first(rng):
    x = rng.normal(size=(150, 24)).astype(np.float32)
    sim, idx = knn(x, 12)
    assert sim.shape == idx.shape == (150, 12) and idx.dtype == np.int64
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    full = xn @ xn.T
    ref = np.argsort(-full, axis=1, kind="stable")[:, :12]
    assert np.array_equal(idx, ref)
    assert np.allclose(sim, np.take_along_axis(full, ref, 1), atol=1e-5)
    assert np.all(np.diff(sim, axis=1) <= 1e-6)
    # exact duplicates, more of them than k: i still comes first, and k > n is clamped
    dup = np.repeat(rng.normal(size=(3, 8)), 5, axis=0)
    sim, idx = knn(dup, 4)
    assert np.array_equal(idx[:, 0], np.arange(15))
    assert all(set(idx[i]) <= set(range(5 * (i // 5), 5 * (i // 5) + 5)) for i in range(15))
    assert np.all(np.diff(sim, axis=1) <= 1e-6)
    assert knn(dup, 100)[1].shape == (15, 15)
    if _no_gpu():
        with pytest.raises(ConfigError, match="GPU"):
            knn(x, 3, use_gpu=True)


def _no_gpu() -> bool:
    import faiss

    return getattr(faiss, "get_num_gpus", lambda: 0)() == 0


# ----------------------------------------------------------------------------- Jaccard

@pytest.mark.parametrize("n,dim,k1,k2,sigma", [
    (60, 16, 30, 6, 0.5),     # SpCL defaults
    (120, 8, 20, 6, 0.8),
    (200, 32, 30, 6, 1.0),
    (200, 32, 9, 3, 0.7),     # small k1: expansions reach beyond the kNN lists
    (150, 64, 10, 1, 0.5),    # k2 = 1: no query expansion
    (40, 4, 80, 10, 0.5),     # k1, k2 > n: clamped
])
def test_sparse_jaccard_equals_dense_reference(rng, n, dim, k1, k2, sigma):
    x, _ = identities(rng, n, dim, sigma)
    ref = jaccard_distance_dense(x, k1, k2)
    assert ref.shape == (n, n) and np.allclose(ref, ref.T, atol=1e-12)
    for block in (250_000, 500):  # one block / many small blocks
        s = jaccard_distance(x, k1, k2, block=block)
        assert isinstance(s, sp.csr_matrix) and s.shape == (n, n)
        assert np.abs(densify(s) - ref).max() < 1e-5
        # stored entries are exactly the overlapping pairs, the zero diagonal included
        assert s.nnz == int((ref < 1 - 1e-9).sum())
        assert np.array_equal(s.diagonal(), np.zeros(n))
        assert (s != s.T).nnz == 0
    pruned = jaccard_distance(x, k1, k2, max_distance=0.6)
    assert pruned.nnz == int((ref <= 0.6).sum())  # up to ties at 0.6, not met by random data
    assert np.abs(densify(pruned)[ref <= 0.6] - ref[ref <= 0.6]).max() < 1e-5


def test_expanded_pairs_outside_the_knn_lists_are_computed(rng):
    x = rng.normal(size=(50, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim, idx = knn(x, 5)
    e = sp.random(50, 50, density=0.3, random_state=1, format="csr") + sp.eye(50, format="csr")
    e.sort_indices()
    rows = np.repeat(np.arange(50), np.diff(e.indptr))
    dots = _expanded_dots(x, sim, idx, e)
    assert np.allclose(dots, np.einsum("ij,ij->i", x[rows], x[e.indices]), atol=1e-6)


def test_jaccard_of_tiny_inputs_and_duplicates(rng):
    one = jaccard_distance(rng.normal(size=(1, 5)))
    assert one.shape == (1, 1) and one.nnz == 1 and one[0, 0] == 0
    dup = np.repeat(rng.normal(size=(2, 6)), 6, axis=0)  # two groups of 6 identical rows
    s = jaccard_distance(dup, k1=6, k2=2)  # the 6 nearest are exactly the copies
    d = densify(s)
    assert np.allclose(d, jaccard_distance_dense(dup, 6, 2), atol=1e-5)
    assert np.allclose(d[:6, :6], 0, atol=1e-6) and np.all(d[:6, 6:] == 1)


def test_bad_features_are_clear_errors(rng):
    for bad, match in [(np.zeros((0, 4)), "non-empty"), (np.zeros(5), "2-D"),
                       (np.array([[1.0, np.nan], [0.0, 1.0]]), "finite"),
                       (np.array([[1.0, np.inf], [0.0, 1.0]]), "finite"),
                       (np.array([["a", "b"]]), "real numbers")]:
        for fn in (jaccard_distance, jaccard_distance_dense):
            with pytest.raises(ConfigError, match=match):
                fn(bad)
        with pytest.raises(ConfigError, match=match):
            knn(bad, 3)
    x = rng.normal(size=(10, 3))
    with pytest.raises(ConfigError, match="k1=0"):
        jaccard_distance(x, k1=0)
    with pytest.raises(ConfigError, match="k2"):
        jaccard_distance_dense(x, k2=1.5)
    with pytest.raises(ConfigError, match="max_distance"):
        jaccard_distance(x, max_distance=1.5)


# ----------------------------------------------------------------------------- DBSCAN

def test_dbscan_recovers_well_separated_blobs_and_finds_nothing_in_noise(rng):
    x, y = blobs(rng, 6, 40)
    res = cluster_pseudo_labels(x)  # SpCL defaults
    assert res.num_clusters == 6 and res.outlier_fraction == 0.0
    assert np.array_equal(renumber(res.labels), res.labels)
    assert cluster_quality(res.labels, y)["ari"] == pytest.approx(1.0)
    assert res.time_s >= res.knn_s + res.dbscan_s - 1e-9 and res.num_pairs >= 240
    assert set(res.stats()) == {"num_clusters", "outlier_fraction", "time_s", "knn_s",
                                "jaccard_s", "dbscan_s", "num_pairs"}
    # labels in order of first appearance, whatever the sample order
    perm = rng.permutation(len(y))
    lab = cluster_pseudo_labels(x[perm]).labels
    assert lab[0] == 0 and np.array_equal(renumber(lab), lab)
    assert cluster_quality(lab, y[perm])["ari"] == pytest.approx(1.0)


def test_no_cluster_is_all_outliers_and_logged(rng, caplog):
    noise = rng.uniform(size=(150, 32))
    with caplog.at_level(logging.WARNING, logger="reidlab.cluster.pseudo_labels"):
        res = cluster_pseudo_labels(noise, eps=0.01)
    assert res.num_clusters == 0 and res.outlier_fraction == 1.0
    assert np.all(res.labels == -1)
    assert "no cluster" in caplog.text


def test_dbscan_labels_on_sparse_input_counts_explicit_zeros():
    # 0-1-2 at distance 0 (explicit zeros), 3-4 at 0.5, 5 alone
    r = [0, 0, 1, 1, 2, 2, 3, 4]
    c = [1, 2, 0, 2, 0, 1, 4, 3]
    d = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    m = sp.csr_matrix((d, (r, c)), shape=(6, 6))
    assert m.nnz == 8
    assert dbscan_labels(m, eps=0.1, min_samples=3).tolist() == [0, 0, 0, -1, -1, -1]
    assert dbscan_labels(m, eps=0.6, min_samples=2).tolist() == [0, 0, 0, 1, 1, -1]
    # a dense matrix uses every entry; the order of first appearance numbers the clusters
    dense = np.ones((4, 4)) - np.eye(4)
    dense[2, 3] = dense[3, 2] = 0.1
    assert dbscan_labels(dense, eps=0.2, min_samples=2).tolist() == [-1, -1, 0, 0]
    assert renumber(np.array([5, -1, 2, 5, 0])).tolist() == [0, -1, 1, 0, 2]
    with pytest.raises(ConfigError, match="square"):
        dbscan_labels(sp.csr_matrix((2, 3)))
    with pytest.raises(ConfigError, match="eps"):
        dbscan_labels(m, eps=0.0)
    with pytest.raises(ConfigError, match="min_samples"):
        dbscan_labels(m, min_samples=0)


def test_groups_are_strong_positives(rng):
    x, y = blobs(rng, 2, 40)
    # two points of their own; blobs larger than k1 never list them reciprocally, and k2 = 1
    # (no query expansion) keeps their encodings to themselves
    x = np.vstack([x, rng.normal(size=(2, 16))])
    base = cluster_pseudo_labels(x, k1=30, k2=1)
    assert base.num_clusters == 2 and base.labels[-2:].tolist() == [-1, -1]
    a, b = np.flatnonzero(base.labels[:40] >= 0)[:2]
    c = 40 + np.flatnonzero(base.labels[40:80] >= 0)[0]
    groups = np.arange(len(x))
    groups[c] = a           # a clustered point of each blob: the blobs become one cluster
    groups[81] = b          # a lone point with a clustered point: joins that cluster
    res = cluster_pseudo_labels(x, k1=30, k2=1, groups=groups)
    assert res.num_clusters == 1
    assert np.all(res.labels[base.labels >= 0] == 0)
    assert res.labels[81] == 0 and res.labels[80] == -1
    # a group counts once in the density: pairs at distance 0 alone are no cluster
    noise = rng.uniform(size=(60, 32))
    pairs = np.arange(60) // 2
    assert cluster_pseudo_labels(noise, k1=6, k2=2, eps=0.01, min_samples=2,
                                 groups=pairs).num_clusters == 0
    # whatever the data, every group ends with one label
    z, _ = identities(rng, 240, 16, 0.8)
    g = rng.permutation(240) // 3
    lab = cluster_pseudo_labels(z, k1=12, k2=3, eps=0.5, min_samples=2, groups=g).labels
    assert all(len(set(lab[g == k])) == 1 for k in np.unique(g))
    assert lab.max() >= 0


def test_pseudo_label_bad_input(rng):
    with pytest.raises(ConfigError, match="at least 2 samples"):
        cluster_pseudo_labels(rng.normal(size=(1, 4)))
    with pytest.raises(ConfigError, match="finite"):
        cluster_pseudo_labels(np.full((5, 3), np.nan))
    with pytest.raises(ConfigError, match="group ids"):
        cluster_pseudo_labels(rng.normal(size=(5, 3)), groups=np.arange(4))
    with pytest.raises(ConfigError, match="eps"):
        cluster_pseudo_labels(rng.normal(size=(5, 3)), eps=1.5)


# ----------------------------------------------------------------------------- quality

def brute_force_quality(labels, pids, camids=None) -> dict:
    """Every pair, one at a time; NMI and ARI from their definitions."""
    labels, pids = list(map(int, labels)), list(map(int, pids))
    n = len(labels)
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(n), 2):
        same_c = labels[i] >= 0 and labels[i] == labels[j]
        same_p = pids[i] == pids[j]
        tp += same_c and same_p
        fp += same_c and not same_p
        fn += same_p and not same_c
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    # outliers as singletons
    full = [lab if lab >= 0 else ("out", i) for i, lab in enumerate(labels)]
    # ARI from pair counts over both labelings
    same_both = sum(full[i] == full[j] and pids[i] == pids[j]
                    for i, j in itertools.combinations(range(n), 2))
    pairs_c = sum(full[i] == full[j] for i, j in itertools.combinations(range(n), 2))
    pairs_p = sum(pids[i] == pids[j] for i, j in itertools.combinations(range(n), 2))
    total = n * (n - 1) / 2
    expected = pairs_c * pairs_p / total
    mx = (pairs_c + pairs_p) / 2
    ari = (same_both - expected) / (mx - expected) if mx != expected else 1.0
    # NMI (arithmetic mean normalisation, sklearn's default)
    def entropy(labs):
        return -sum(c / n * math.log(c / n) for c in Counter(labs).values())
    joint = Counter(zip(full, pids))
    pc, pp = Counter(full), Counter(pids)
    mi = sum(c / n * math.log(c * n / (pc[a] * pp[b])) for (a, b), c in joint.items())
    h = (entropy(full) + entropy(pids)) / 2
    nmi = mi / h if h > 0 else 1.0
    clusters = sorted({lab for lab in labels if lab >= 0})
    cams = None
    if camids is not None and clusters:
        cams = float(np.mean([len({camids[i] for i in range(n) if labels[i] == c})
                              for c in clusters]))
    exp = []
    for p in sorted(set(pids)):
        members = [i for i in range(n) if pids[i] == p]
        exp.append(len({full[i] for i in members}))
    return {"num_samples": n, "num_clusters": len(clusters),
            "outlier_fraction": sum(lab < 0 for lab in labels) / n, "precision": prec,
            "recall": rec, "fscore": f, "nmi": nmi, "ari": ari,
            "cameras_per_cluster": cams, "expansion": float(np.mean(exp))}


@pytest.mark.parametrize("seed", range(6))
def test_quality_equals_brute_force(seed):
    r = np.random.default_rng(seed)
    n = int(r.integers(5, 70))
    pids = r.integers(0, int(r.integers(1, 12)), n) * 7 - 3  # arbitrary (negative) ids
    labels = r.integers(-1, int(r.integers(1, 10)), n)
    if seed == 0:
        labels[:] = -1  # no cluster at all
    camids = r.integers(0, 4, n)
    got = cluster_quality(labels, pids, camids)
    ref = brute_force_quality(labels, pids, camids)
    assert list(got) == list(ref)
    for k, v in ref.items():
        if v is None:
            assert got[k] is None, k
        else:
            assert got[k] == pytest.approx(v, abs=1e-9), k
    assert isinstance(got["num_clusters"], int) and isinstance(got["precision"], float)
    assert cluster_quality(labels, pids)["cameras_per_cluster"] is None


def test_perfect_labels_and_quality_errors():
    pids = np.array([3, 3, 3, 8, 8, 1])
    q = cluster_quality(np.array([0, 0, 0, 1, 1, -1]), pids, np.array([0, 1, 1, 0, 0, 2]))
    assert q["precision"] == q["recall"] == q["fscore"] == 1.0
    assert q["expansion"] == 1.0 and q["cameras_per_cluster"] == 1.5
    with pytest.raises(ConfigError, match="one per sample"):
        cluster_quality(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(ConfigError, match="at least one sample"):
        cluster_quality(np.zeros(0, int), np.zeros(0, int))
    with pytest.raises(ConfigError, match="integer ids"):
        cluster_quality(np.array([0.5, 1.0]), np.array([0, 1]))


def test_cluster_table_and_largest_clusters():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, -1, -1])
    pids = np.array([5, 5, 6, 6, 7, 7, 7, 9, 8, 1, 1])
    cams = np.array([0, 1, 2, 2, 0, 0, 0, 1, 3, 0, 1])
    rows = cluster_table(labels, pids, cams)
    assert rows[0] == {"label": 0, "size": 4, "num_cameras": 3, "num_ids": 2,
                       "majority_pid": 5, "purity": 0.5}
    assert rows[2]["majority_pid"] == 8 and rows[1]["purity"] == 1.0
    assert [r["label"] for r in largest_clusters(labels, pids, cams, top=2)] == [0, 1]
    assert [r["label"] for r in largest_clusters(labels, pids, cams, by="cameras")] == [0, 2, 1]
    assert [r["label"] for r in largest_clusters(labels, pids, cams, by="impure")] == [0, 2]
    assert cluster_table(np.full(3, -1), pids[:3], cams[:3]) == []
    with pytest.raises(ConfigError, match="by="):
        largest_clusters(labels, pids, cams, by="colour")
