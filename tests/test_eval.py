"""reidlab.eval.ranking against a plain per-query reference (torchreid's eval_market1501 loop)."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import average_precision_score

from reidlab.eval import compute_distmat, evaluate, evaluate_by_camera_pair, per_query


def _evaluate_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20, junk=None):
    """Straightforward per-query loop, as torchreid's ``eval_market1501`` (stable argsort).

    ``junk(qi) -> bool mask over the gallery`` overrides the same-pid-same-camera rule.
    CMC entries beyond the junk-free list length stay at 1 (the match was found).
    """
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    all_cmc, all_ap, all_inp, aps = [], [], [], []
    for qi in range(distmat.shape[0]):
        order = np.argsort(distmat[qi], kind="stable")
        if junk is None:
            remove = (g_pids[order] == q_pids[qi]) & (g_camids[order] == q_camids[qi])
        else:
            remove = junk(qi)[order]
        raw = (g_pids[order] == q_pids[qi])[~remove].astype(np.int64)
        if not raw.any():
            aps.append(np.nan)
            continue
        cum = raw.cumsum()
        last = np.flatnonzero(raw).max()
        all_inp.append(cum[last] / (last + 1.0))
        cmc = np.ones(max_rank)
        hit = np.minimum(cum, 1)[:max_rank]
        cmc[:hit.size] = hit
        all_cmc.append(cmc)
        ap = (cum / (np.arange(raw.size) + 1.0) * raw).sum() / raw.sum()
        all_ap.append(ap)
        aps.append(ap)
    n = len(all_ap)
    return {
        "cmc": np.mean(all_cmc, 0) if n else np.full(max_rank, np.nan),
        "mAP": float(np.mean(all_ap)) if n else np.nan,
        "mINP": float(np.mean(all_inp)) if n else np.nan,
        "num_valid_queries": n,
        "num_skipped_queries": distmat.shape[0] - n,
        "ap": np.array(aps),
    }


def _random_case(rng, nq=60, ng=300, nids=30, ncams=4, integer=False):
    q_pids = rng.integers(0, nids, nq)
    g_pids = rng.integers(0, nids, ng)
    q_camids = rng.integers(0, ncams, nq)
    g_camids = rng.integers(0, ncams, ng)
    if integer:  # many exact ties
        d = rng.integers(0, 6, (nq, ng)).astype(np.float32)
    else:
        d = rng.random((nq, ng)).astype(np.float32)
    return d, q_pids, g_pids, q_camids, g_camids


def _assert_same(got, ref):
    assert got["num_valid_queries"] == ref["num_valid_queries"]
    assert got["num_skipped_queries"] == ref["num_skipped_queries"]
    np.testing.assert_allclose(got["cmc"], ref["cmc"], atol=1e-12)
    np.testing.assert_allclose(got["mAP"], ref["mAP"], atol=1e-12)
    np.testing.assert_allclose(got["mINP"], ref["mINP"], atol=1e-12)
    for k in (1, 5, 10, 20):
        np.testing.assert_allclose(got[f"rank{k}"], ref["cmc"][k - 1], atol=1e-12)


@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_evaluate_matches_reference(seed, integer):
    rng = np.random.default_rng(seed)
    case = _random_case(rng, integer=integer)
    ref = _evaluate_reference(*case)
    _assert_same(evaluate(*case), ref)
    # Chunking never changes the result.
    _assert_same(evaluate(*case, chunk=7), ref)
    pq = per_query(*case, chunk=1)
    np.testing.assert_allclose(pq.ap, ref["ap"], atol=1e-12)
    assert np.array_equal(pq.valid, ~np.isnan(ref["ap"]))


def test_skipped_queries_and_few_ids(rng):
    # Ids 40..49 appear only as queries -> no match; small gallery shorter than max_rank.
    d, qp, gp, qc, gc = _random_case(rng, nq=50, ng=15, nids=5, ncams=2, integer=True)
    qp[:10] += 40
    ref = _evaluate_reference(d, qp, gp, qc, gc)
    assert ref["num_skipped_queries"] >= 10
    _assert_same(evaluate(d, qp, gp, qc, gc), ref)


def test_match_only_in_same_camera_is_skipped():
    d = np.array([[0.1, 0.2, 0.3]], dtype=np.float32)
    out = evaluate(d, [7], [7, 1, 2], [0], [0, 1, 1])
    assert out["num_valid_queries"] == 0 and out["num_skipped_queries"] == 1
    assert np.isnan(out["mAP"]) and np.isnan(out["rank1"])


def test_all_junk_gallery(rng):
    nq, ng = 5, 12
    d = rng.random((nq, ng)).astype(np.float32)
    out = evaluate(d, np.full(nq, 3), np.full(ng, 3), np.zeros(nq, int), np.zeros(ng, int))
    assert out["num_skipped_queries"] == nq and out["num_valid_queries"] == 0
    assert np.all(np.isnan(out["cmc"])) and np.isnan(out["mINP"])


def test_hand_computed_example():
    # Gallery order by distance: g0 (junk), g1 (match), g2 (other), g3 (match), g4 (other).
    d = np.array([[0.0, 0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    out = evaluate(d, [1], [1, 1, 2, 1, 3], [0], [0, 1, 1, 2, 1], max_rank=5)
    # Junk removed: [match, other, match, other] -> AP = (1/1 + 2/3) / 2, INP = 2/3.
    assert out["mAP"] == pytest.approx((1 + 2 / 3) / 2)
    assert out["mINP"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(out["cmc"], [1, 1, 1, 1, 1])


def test_ties_are_broken_by_gallery_index():
    # All distances equal: stable order puts the match (index 2) at position 2 -> rank-1 miss.
    d = np.zeros((1, 4), dtype=np.float32)
    out = evaluate(d, [5], [1, 2, 5, 3], [0], [1, 1, 1, 1], max_rank=4)
    np.testing.assert_array_equal(out["cmc"], [0, 0, 1, 1])
    assert out["mAP"] == pytest.approx(1 / 3)
    # -0.0 ties with +0.0 (numpy compares them equal), so the index decides again.
    d = np.array([[0.0, -0.0]], dtype=np.float32)
    assert evaluate(d, [5], [1, 5], [0], [1, 1], max_rank=2)["rank1"] == 0.0


def test_ap_equals_sklearn_without_junk(rng):
    d, qp, gp, qc, gc = _random_case(rng, nq=20, ng=200, nids=10)
    gc[:] = 9  # no gallery item shares the query camera -> nothing is junk
    pq = per_query(d, qp, gp, qc, gc)
    for i in range(len(qp)):
        y = gp == qp[i]
        if y.any():
            assert pq.ap[i] == pytest.approx(average_precision_score(y, -d[i].astype(np.float64)))


def test_float64_input_and_nan_treated_as_inf(rng):
    d, qp, gp, qc, gc = _random_case(rng)
    _assert_same(evaluate(d.astype(np.float64), qp, gp, qc, gc), _evaluate_reference(d, qp, gp, qc, gc))
    d[:, ::7] = np.nan
    ref = _evaluate_reference(np.where(np.isnan(d), np.inf, d), qp, gp, qc, gc)
    _assert_same(evaluate(d, qp, gp, qc, gc), ref)


def test_negative_distances(rng):
    # e.g. negated similarities: the ranking must still be ascending over signed values.
    d, qp, gp, qc, gc = _random_case(rng)
    d = (d - 0.5) * 3.0
    d[:, ::11] = np.round(d[:, ::11])  # some ties across zero
    _assert_same(evaluate(d, qp, gp, qc, gc), _evaluate_reference(d, qp, gp, qc, gc))


def test_length_mismatch_is_reported():
    with pytest.raises(ValueError, match="g_pids"):
        evaluate(np.zeros((2, 3)), [1, 2], [1, 2], [0, 0], [0, 0, 0])


# --------------------------------------------------------------------------- distances


@pytest.mark.parametrize("backend", ["torch", "faiss", "auto"])
def test_compute_distmat_matches_cdist(rng, backend):
    q = rng.normal(size=(37, 16)).astype(np.float32)
    g = rng.normal(size=(53, 16)).astype(np.float32)
    d = compute_distmat(q, g, backend=backend, chunk=8)
    assert d.dtype == np.float32 and d.shape == (37, 53)
    np.testing.assert_allclose(d, cdist(q, g), rtol=1e-4, atol=1e-4)
    dc = compute_distmat(q, g, metric="cosine", backend=backend)
    np.testing.assert_allclose(dc, cdist(q, g, metric="cosine"), atol=1e-5)
    # |a|²+|b|²−2a·b in float32: duplicates are sqrt(rounding error) ≈ 1e-3 apart, not 0.
    assert compute_distmat(q, q, backend=backend).diagonal().max() < 1e-2


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_compute_distmat_large_common_offset(rng, backend):
    # Non-negative CNN-like features far from the origin: without centring the matmul form is
    # off by ~0.4 here; centring keeps it at ~0.02.
    x = (rng.normal(size=(200, 512)) + 20).astype(np.float32)
    d = compute_distmat(x, x, backend=backend)
    np.testing.assert_allclose(d, cdist(x.astype(np.float64), x.astype(np.float64)), atol=0.05)


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_compute_distmat_topk(rng, backend):
    q = rng.normal(size=(20, 8)).astype(np.float32)
    g = rng.normal(size=(40, 8)).astype(np.float32)
    full = cdist(q, g)
    v, i = compute_distmat(q, g, backend=backend, topk=5, chunk=6)
    np.testing.assert_array_equal(i, np.argsort(full, axis=1)[:, :5])
    np.testing.assert_allclose(v, np.sort(full, axis=1)[:, :5], rtol=1e-4, atol=1e-4)


def test_compute_distmat_bad_input():
    with pytest.raises(ValueError, match="Nq×D"):
        compute_distmat(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(Exception, match="backend"):
        compute_distmat(np.zeros((3, 4)), np.zeros((3, 4)), backend="gpu")


# ------------------------------------------------------------------------- camera pairs


def test_by_camera_pair_off_diagonal_equals_sliced_evaluate(rng):
    d, qp, gp, qc, gc = _random_case(rng, nq=80, ng=400, nids=20, ncams=3)
    out = evaluate_by_camera_pair(d, qp, gp, qc, gc)
    assert out["rank1"].shape == (3, 3)
    for a in range(3):
        assert np.isnan(out["rank1"][a, a]) and out["count"][a, a] == 0
        for b in range(3):
            if a == b:
                continue
            qi, gi = np.flatnonzero(qc == a), np.flatnonzero(gc == b)
            ref = _evaluate_reference(d[np.ix_(qi, gi)], qp[qi], gp[gi], qc[qi], gc[gi], max_rank=1)
            assert out["count"][a, b] == ref["num_valid_queries"]
            assert out["rank1"][a, b] == pytest.approx(ref["cmc"][0])
            assert out["mAP"][a, b] == pytest.approx(ref["mAP"])


def test_by_camera_pair_diagonal_ignores_only_own_tracklet(rng):
    d, qp, gp, qc, gc = _random_case(rng, nq=40, ng=200, nids=8, ncams=2)
    qt = rng.integers(0, 3, 40)
    gt = rng.integers(0, 3, 200)
    out = evaluate_by_camera_pair(d, qp, gp, qc, gc, q_tids=qt, g_tids=gt)
    for a in range(2):
        qi, gi = np.flatnonzero(qc == a), np.flatnonzero(gc == a)
        sub = d[np.ix_(qi, gi)]

        def junk(k, qi=qi, gi=gi):
            return (gp[gi] == qp[qi[k]]) & (gt[gi] == qt[qi[k]])

        ref = _evaluate_reference(sub, qp[qi], gp[gi], qc[qi], gc[gi], max_rank=1, junk=junk)
        assert out["count"][a, a] == ref["num_valid_queries"] > 0
        assert out["rank1"][a, a] == pytest.approx(ref["cmc"][0])
        assert out["mAP"][a, a] == pytest.approx(ref["mAP"])


# --------------------------------------------------------------- blocks of queries, threads


def test_evaluate_arrays_in_blocks_equals_the_full_matrix(rng):
    """Features evaluated in query blocks of 1024 rows (memory-bounded) give exactly the
    numbers of the whole distance matrix, camera pairs included."""
    from reidlab.eval import evaluate_arrays

    nq, ng, d = 2500, 700, 16
    qf = rng.normal(size=(nq, d)).astype(np.float32)
    gf = rng.normal(size=(ng, d)).astype(np.float32)
    qp, gp = rng.integers(0, 40, nq), rng.integers(0, 40, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    qt, gt = rng.integers(0, 5, nq), rng.integers(0, 5, ng)
    full = compute_distmat(qf, gf)
    ref = evaluate(full, qp, gp, qc, gc)
    ref_pairs = evaluate_by_camera_pair(full, qp, gp, qc, gc, q_tids=qt, g_tids=gt, num_cams=3)
    got = evaluate_arrays(qf, gf, qp, gp, qc, gc, q_tids=qt, g_tids=gt, num_cams=3,
                          block_bytes=1)  # the smallest blocks: 1024 queries each
    pairs = got.pop("pairs")
    for k in ("mAP", "mINP", "rank1", "rank5", "num_valid_queries", "num_skipped_queries"):
        assert got[k] == ref[k], k
    np.testing.assert_array_equal(got["cmc"], ref["cmc"])
    for k in ("rank1", "mAP", "count"):
        np.testing.assert_array_equal(pairs[k], ref_pairs[k])
    with pytest.raises(ValueError, match="g_camids"):
        evaluate_arrays(qf, gf, qp, gp, qc, gc[:-1])


def test_threads_do_not_change_the_numbers(rng, monkeypatch):
    from reidlab.eval import ranking

    d, qp, gp, qc, gc = _random_case(rng, nq=500, ng=200, integer=True)
    monkeypatch.setattr(ranking, "_THREADS", 1)
    one = evaluate(d, qp, gp, qc, gc, chunk=37)
    monkeypatch.setattr(ranking, "_THREADS", 3)
    three = evaluate(d, qp, gp, qc, gc)  # default chunks: a multiple of the threads
    _assert_same(three, {**one, "cmc": one["cmc"]})
    _assert_same(one, _evaluate_reference(d, qp, gp, qc, gc))
