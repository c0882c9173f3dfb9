"""reidlab.analysis: domain-gap numbers, rank lists and 2-D embeddings vs plain references."""

import numpy as np
import pytest

from reidlab.analysis import (
    camera_probe,
    distance_distributions,
    gap_summary,
    pooled,
    same_vs_cross_camera_retrieval,
    silhouette,
)
from reidlab.analysis.embedding import embed_2d
from reidlab.analysis.ranklists import (
    per_query_ap,
    rank_list,
    rank_list_features,
    worst_queries,
    worst_queries_features,
)
from reidlab.eval import compute_distmat
from reidlab.eval.features import FeatureSet
from scipy.spatial.distance import cdist


def _tracklets(rng, n=240, ids=40, cams=4, cam_strength=3.0, dim=24):
    """Identity centre + camera offset + noise, one row per tracklet."""
    pids = rng.integers(0, ids, n)
    camids = rng.integers(0, cams, n)
    idc = rng.normal(size=(ids, dim))
    camc = rng.normal(size=(cams, dim)) * cam_strength
    x = idc[pids] + camc[camids] + 0.4 * rng.normal(size=(n, dim))
    return x.astype(np.float32), pids, camids


def _ap_reference(d_row, is_match, keep):
    """AP of one query: stable order, only ``keep`` items, matches among them."""
    order = np.argsort(d_row, kind="stable")
    raw = is_match[order][keep[order]]
    if not raw.any():
        return np.nan
    cum = raw.cumsum()
    return float((cum / np.arange(1, raw.size + 1) * raw).sum() / raw.sum())


# ------------------------------------------------------------------------------ camera probe


def test_camera_probe_sees_camera_signal(rng):
    x, pids, camids = _tracklets(rng, cam_strength=3.0)
    out = camera_probe(x, camids, groups=pids, cv=4)
    assert out["accuracy"] > 0.95
    assert out["chance"] == pytest.approx(np.bincount(camids).max() / len(camids))
    conf = out["confusion"]
    assert conf.sum() == len(camids)
    assert out["accuracy"] == pytest.approx(np.trace(conf) / conf.sum())
    for i, c in enumerate(out["cameras"]):
        assert out["per_camera_accuracy"][int(c)] == pytest.approx(conf[i, i] / conf[i].sum())


def test_camera_probe_pca_dim(rng):
    x, pids, camids = _tracklets(rng, cam_strength=3.0, dim=64)
    assert camera_probe(x, camids, groups=pids, cv=3, pca_dim=8)["accuracy"] > 0.9
    # One component cannot separate 4 camera offsets as well as the full features.
    weak = camera_probe(x, camids, groups=pids, cv=3, pca_dim=1)["accuracy"]
    assert weak < camera_probe(x, camids, groups=pids, cv=3)["accuracy"]


def test_camera_probe_near_chance_without_signal(rng):
    x, pids, camids = _tracklets(rng, cam_strength=0.0)
    out = camera_probe(x, camids, groups=pids, cv=4)
    assert out["accuracy"] < out["chance"] + 0.15


def test_camera_probe_groups_hold_out_identities(rng):
    # Each identity lives in one camera and features carry identity only: without groups the
    # probe can memorise identities of the held-out tracklets; with pid groups it cannot.
    ids = 40
    pid_cam = rng.integers(0, 3, ids)
    pids = np.repeat(np.arange(ids), 4)
    camids = pid_cam[pids]
    x = (rng.normal(size=(ids, 128))[pids] + 0.1 * rng.normal(size=(len(pids), 128))).astype(np.float32)
    free = camera_probe(x, camids, cv=4)
    held = camera_probe(x, camids, groups=pids, cv=4)
    assert free["accuracy"] > 0.95
    assert held["accuracy"] < held["chance"] + 0.2


def test_camera_probe_bad_input():
    with pytest.raises(ValueError, match="2 cameras"):
        camera_probe(np.zeros((10, 3)), np.zeros(10, int))
    with pytest.raises(ValueError, match="camera ids"):
        camera_probe(np.zeros((10, 3)), np.zeros(9, int))


# -------------------------------------------------------------------------------- silhouette


def _silhouette_reference(x, lab):
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    s = []
    for i in range(len(x)):
        same = (lab == lab[i]) & (np.arange(len(x)) != i)
        if not same.any():
            s.append(0.0)
            continue
        a = d[i, same].mean()
        b = min(d[i, lab == o].mean() for o in np.unique(lab) if o != lab[i])
        s.append((b - a) / max(a, b))
    return float(np.mean(s))


def test_silhouette_matches_reference(rng):
    x, pids, camids = _tracklets(rng, n=80, ids=10, cams=3)
    x64 = x.astype(np.float64)
    assert silhouette(x, camids) == pytest.approx(_silhouette_reference(x64, camids), abs=1e-5)
    assert silhouette(x, pids) == pytest.approx(_silhouette_reference(x64, pids), abs=1e-5)
    assert silhouette(x, camids) > silhouette(x, pids)  # strong camera offsets
    assert np.isnan(silhouette(x, np.zeros(len(x))))


def test_silhouette_subsample_reproducible(rng):
    x, _, camids = _tracklets(rng, n=300)
    a = silhouette(x, camids, max_samples=100, seed=1)
    assert a == silhouette(x, camids, max_samples=100, seed=1)
    assert a != silhouette(x, camids, max_samples=100, seed=2)


# ---------------------------------------------------------------------- same vs cross camera


def test_same_vs_cross_matches_reference(rng):
    x, pids, camids = _tracklets(rng, n=120, ids=20, cams=3, cam_strength=1.0)
    x[5] = x[6]  # an exact tie
    out = same_vs_cross_camera_retrieval(x, pids, camids)
    d = compute_distmat(x, x)  # same distances; the reference checks the retrieval logic
    np.testing.assert_allclose(d, cdist(x, x), atol=1e-2)  # matmul form: not exactly 0 on duplicates
    n = len(x)
    res = {"same": ([], []), "cross": ([], [])}
    for i in range(n):
        others = np.arange(n) != i
        for name, keep in (("same", others & (camids == camids[i])), ("cross", camids != camids[i])):
            match = pids == pids[i]
            if not (match & keep).any():
                continue
            order = [j for j in np.argsort(d[i], kind="stable") if keep[j]]
            res[name][0].append(float(match[order[0]]))
            res[name][1].append(_ap_reference(d[i], match, keep))
    for name in ("same", "cross"):
        assert out[f"{name}_camera_queries"] == len(res[name][0])
        assert out[f"{name}_camera_rank1"] == pytest.approx(np.mean(res[name][0]))
        assert out[f"{name}_camera_mAP"] == pytest.approx(np.mean(res[name][1]), abs=1e-6)
    assert out["rank1_gap"] == pytest.approx(out["same_camera_rank1"] - out["cross_camera_rank1"])


def test_same_vs_cross_shows_camera_gap(rng):
    x, pids, camids = _tracklets(rng, n=300, ids=40, cams=4, cam_strength=3.0)
    out = same_vs_cross_camera_retrieval(x, pids, camids)
    assert out["same_camera_rank1"] > out["cross_camera_rank1"] + 0.2
    x0, pids0, camids0 = _tracklets(np.random.default_rng(1), n=300, ids=40, cams=4, cam_strength=0.0)
    out0 = same_vs_cross_camera_retrieval(x0, pids0, camids0)
    assert abs(out0["rank1_gap"]) < 0.15


# ------------------------------------------------------------------ distance distributions


def test_distance_distributions_exhaustive(rng):
    nq, ng = 30, 50
    qp, gp = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    d = rng.random((nq, ng)).astype(np.float32)
    out = distance_distributions(d, qp, gp, qc, gc, max_pairs=10**6)
    same = (qp[:, None] == gp[None]) & (qc[:, None] != gc[None])
    diff = qp[:, None] != gp[None]
    np.testing.assert_array_equal(np.sort(out["same"]), np.sort(d[same]))
    np.testing.assert_array_equal(np.sort(out["diff"]), np.sort(d[diff]))
    for (a, b), v in out["by_pair"].items():
        sel = (qc[:, None] == a) & (gc[None] == b)
        np.testing.assert_array_equal(np.sort(v["same"]), np.sort(d[same & sel]))
        np.testing.assert_array_equal(np.sort(v["diff"]), np.sort(d[diff & sel]))
        if a == b:
            assert v["same"].size == 0  # same pid + same camera is junk
    with_junk = distance_distributions(d, qp, gp, qc, gc, drop_junk=False)
    np.testing.assert_array_equal(np.sort(with_junk["same"]), np.sort(d[qp[:, None] == gp[None]]))


def test_distance_distributions_subsample(rng):
    q, g = rng.normal(size=(40, 8)), rng.normal(size=(300, 8))
    qp, gp = rng.integers(0, 5, 40), rng.integers(0, 5, 300)
    qc, gc = rng.integers(0, 2, 40), rng.integers(0, 2, 300)
    a = distance_distributions((q, g), qp, gp, qc, gc, max_pairs=500, seed=3)
    b = distance_distributions((q, g), qp, gp, qc, gc, max_pairs=500, seed=3)
    c = distance_distributions((q, g), qp, gp, qc, gc, max_pairs=500, seed=4)
    assert a["diff"].size == 500 and a["same"].size == 500
    np.testing.assert_array_equal(a["diff"], b["diff"])
    assert not np.array_equal(a["diff_pairs"][1], c["diff_pairs"][1])
    r, cc = a["diff_pairs"]
    assert np.all(qp[r] != gp[cc]) and len(set(zip(r.tolist(), cc.tolist()))) == 500
    full = np.sqrt(((q[:, None] - g[None]) ** 2).sum(-1))
    np.testing.assert_allclose(a["diff"], full[r, cc], rtol=1e-4, atol=1e-4)


def test_distance_distributions_from_features_in_blocks_equal_the_matrix(rng):
    """From features the distances are computed one block of query rows at a time and only
    the sampled pairs kept: the same pairs and the same values as from the full matrix."""
    from reidlab.eval.ranking import compute_distmat

    q, g = rng.normal(size=(2600, 8)).astype(np.float32), rng.normal(size=(300, 8)).astype(
        np.float32)
    qp, gp = rng.integers(0, 40, 2600), rng.integers(0, 40, 300)
    qc, gc = rng.integers(0, 3, 2600), rng.integers(0, 3, 300)
    ref = distance_distributions(compute_distmat(q, g), qp, gp, qc, gc, max_pairs=5000, seed=1)
    got = distance_distributions((q, g), qp, gp, qc, gc, max_pairs=5000, seed=1,
                                 block_bytes=1)  # 1024-row blocks: three of them
    for k in ("same", "diff"):
        np.testing.assert_array_equal(got[f"{k}_pairs"][0], ref[f"{k}_pairs"][0])
        np.testing.assert_array_equal(got[k], ref[k])
        assert got[f"{k}_pairs"][0].max() >= 2048  # the last block was read
    assert got["by_pair"].keys() == ref["by_pair"].keys()
    with pytest.raises(ValueError, match="features"):
        distance_distributions((q, g), qp[:-1], gp, qc, gc)


# ------------------------------------------------------------------------------ FeatureSet


def _featureset(rng, duplicate_queries=True):
    x, pids, camids = _tracklets(rng, n=200, ids=30, cams=3)
    q = np.arange(0, 200, 4)
    g = np.setdiff1d(np.arange(200), q)
    if duplicate_queries:  # official MARS: query tracks also in the gallery
        g = np.concatenate([g, q])
    return FeatureSet(x[q], x[g], pids[q], pids[g], camids[q], camids[g],
                      np.arange(len(q)), np.arange(len(g)))


def test_pooled_drops_duplicated_query_tracks(rng):
    fs = _featureset(rng)
    feats, pids, camids = pooled(fs)
    assert len(feats) == 200 == len(pids) == len(camids)
    assert len({r.tobytes() for r in feats}) == 200


def test_gap_summary(rng):
    fs = _featureset(rng, duplicate_queries=False)
    s = gap_summary(fs, probe_cv=3, max_pairs=1000)
    feats, pids, camids = pooled(fs)
    assert s["camera_probe"]["accuracy"] == camera_probe(feats, camids, groups=pids, cv=3)["accuracy"]
    assert s["silhouette_camera"] == silhouette(feats, camids)
    assert s["same_vs_cross"] == same_vs_cross_camera_retrieval(feats, pids, camids)
    assert s["evaluation"]["num_valid_queries"] > 0
    assert s["by_camera_pair"]["rank1"].shape == (3, 3)
    assert s["distances"]["diff"].size == 1000
    # computed in blocks, equal to the full matrix's numbers
    from reidlab.eval.ranking import compute_distmat, evaluate, evaluate_by_camera_pair

    d = compute_distmat(fs.q_feat, fs.g_feat)
    args = (fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids)
    assert s["evaluation"]["mAP"] == evaluate(d, *args)["mAP"]
    np.testing.assert_array_equal(s["by_camera_pair"]["rank1"],
                                  evaluate_by_camera_pair(d, *args)["rank1"])
    np.testing.assert_array_equal(
        s["distances"]["diff"],
        distance_distributions(d, *args, max_pairs=1000, seed=0)["diff"])



def test_gap_summary_passes_over_the_distances_once(rng, monkeypatch):
    """The evaluation's blocks also fill the distance histograms (DistanceSampler): every
    query row's distances are computed once, and the sampled pairs equal the full matrix's."""
    import reidlab.eval.ranking as ranking
    from reidlab.analysis.domain_gap import DistanceSampler

    fs = _featureset(rng, duplicate_queries=False)
    rows = []
    real = ranking.compute_distmat

    def counting(q, g, *a, **kw):
        rows.append(len(q))
        return real(q, g, *a, **kw)

    monkeypatch.setattr(ranking, "compute_distmat", counting)
    s = gap_summary(fs, probe_cv=3, max_pairs=500)
    assert sum(rows) == len(fs.q_feat)  # one pass over the query rows, not two
    d = real(fs.q_feat, fs.g_feat)
    args = (fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids)
    ref = distance_distributions(d, *args, max_pairs=500, seed=0)
    for k in ("same", "diff"):
        np.testing.assert_array_equal(s["distances"][k], ref[k])
    assert s["distances"]["by_pair"].keys() == ref["by_pair"].keys()
    # a block left out is an error, never NaN distances in a histogram
    half = DistanceSampler(*args, max_pairs=500)
    half.take(slice(0, 10), d[:10])
    with pytest.raises(RuntimeError, match="query rows"):
        half.result()


# ------------------------------------------------------------------------------ rank lists


def _case(rng, nq=25, ng=120):
    qp, gp = rng.integers(0, 8, nq), rng.integers(0, 8, ng)
    qc, gc = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    d = rng.integers(0, 20, (nq, ng)).astype(np.float32)  # ties on purpose
    return d, qp, gp, qc, gc


def test_rank_list_marks_junk_and_counts_k(rng):
    d, qp, gp, qc, gc = _case(rng)
    for qi in range(5):
        lst = rank_list(d, qp, gp, qc, gc, qi, k=10)
        order = np.argsort(d[qi], kind="stable")
        rows = [e["gallery_row"] for e in lst]
        assert rows == order[:len(rows)].tolist()
        assert sum(not e["junk"] for e in lst) == 10
        for e in lst:
            j = e["gallery_row"]
            assert e["junk"] == bool(gp[j] == qp[qi] and gc[j] == qc[qi])
            assert e["match"] == bool(gp[j] == qp[qi] and not e["junk"])
            assert e["distance"] == d[qi, j]
        assert [e["rank"] for e in lst if not e["junk"]] == list(range(1, 11))
        clean = rank_list(d, qp, gp, qc, gc, qi, k=10, include_junk=False)
        assert [e for e in lst if not e["junk"]] == clean
    with pytest.raises(IndexError):
        rank_list(d, qp, gp, qc, gc, len(qp), k=3)


def test_per_query_ap_and_worst_queries(rng):
    d, qp, gp, qc, gc = _case(rng)
    ref = np.array([_ap_reference(d[i], gp == qp[i], ~((gp == qp[i]) & (gc == qc[i])))
                    for i in range(len(qp))])
    got = per_query_ap(d, qp, gp, qc, gc)
    np.testing.assert_allclose(got, ref, atol=1e-12)
    worst = worst_queries(d, qp, gp, qc, gc, n=5)
    valid = np.flatnonzero(~np.isnan(ref))
    assert np.all(np.diff(ref[worst]) >= 0)
    assert ref[worst[-1]] <= np.sort(ref[valid])[4]
    by_first = worst_queries(d, qp, gp, qc, gc, n=len(qp), by="first_match")
    assert set(by_first.tolist()) == set(valid.tolist())
    firsts = [next(e["rank"] for e in rank_list(d, qp, gp, qc, gc, i, k=len(gp)) if e["match"])
              for i in by_first]
    assert np.all(np.diff(firsts) <= 0)


def test_rank_lists_from_features_match_the_full_matrix(rng):
    """The app's memory-bounded forms: the worst-first order from per-query blocks equals the
    full matrix's, and one query's rank list from its own distance row equals its row's."""
    nq, ng = 2600, 300  # > 2 blocks of 1024 query rows with the tiny block budget below
    qp, gp = rng.integers(0, 60, nq), rng.integers(0, 60, ng)
    qc, gc = rng.integers(0, 4, nq), rng.integers(0, 4, ng)
    centres = rng.normal(size=(60, 16))
    q = (centres[qp] + 0.9 * rng.normal(size=(nq, 16))).astype(np.float32)
    g = (centres[gp] + 0.9 * rng.normal(size=(ng, 16))).astype(np.float32)
    d = compute_distmat(q, g)
    for by in ("ap", "first_match"):
        full = worst_queries(d, qp, gp, qc, gc, n=nq, by=by)
        blocks = worst_queries_features(q, g, qp, gp, qc, gc, n=nq, by=by, block_bytes=1)
        np.testing.assert_array_equal(blocks, full)
    assert len(full) > 1000
    for qi in [0, 1023, 1024, 2599, int(full[0])]:
        a = rank_list(d, qp, gp, qc, gc, qi, k=8)
        b = rank_list_features(q, g, qp, gp, qc, gc, qi, k=8)
        assert [e["gallery_row"] for e in a] == [e["gallery_row"] for e in b]
        assert [(e["match"], e["junk"], e["rank"]) for e in a] == \
            [(e["match"], e["junk"], e["rank"]) for e in b]
        np.testing.assert_allclose([e["distance"] for e in a], [e["distance"] for e in b],
                                   rtol=1e-5)
    with pytest.raises(IndexError):
        rank_list_features(q, g, qp, gp, qc, gc, nq, k=3)
    with pytest.raises(ValueError, match="by must be"):
        worst_queries_features(q, g, qp, gp, qc, gc, by="rank")


# ------------------------------------------------------------------------------- embeddings


def _blobs(rng, n=60):
    x = rng.normal(size=(n, 16)).astype(np.float32)
    lab = np.arange(n) % 2
    x[lab == 1] += 8.0
    return x, lab


def _separated(y, lab):
    """Nearest neighbour in 2-D always has the same blob label."""
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.all(lab[d.argmin(1)] == lab)


def test_pca_embedding(rng, tmp_path):
    x, lab = _blobs(rng)
    y = embed_2d(x, "pca", cache_dir=tmp_path)
    assert y.shape == (60, 2) and y.dtype == np.float32
    xc = x - x.mean(0)
    ref = xc @ np.linalg.svd(xc, full_matrices=False)[2][:2].T
    np.testing.assert_allclose(np.abs(y), np.abs(ref), rtol=1e-3, atol=1e-3)
    assert _separated(y, lab)


def test_tsne_embedding_cache_and_progress(rng, tmp_path, monkeypatch):
    x, lab = _blobs(rng)
    calls = []
    params = dict(n_iter=100, early_exaggeration_iter=50, n_jobs=1)
    y = embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, progress=lambda f, m: calls.append(f), **params)
    assert y.shape == (60, 2) and y.dtype == np.float32 and np.isfinite(y).all()
    assert _separated(y, lab)
    assert calls[-1] == 1.0 and np.all(np.diff(calls) >= 0) and len(calls) > 4
    assert len(list(tmp_path.glob("tsne-*.npy"))) == 1
    # The second call is served from the cache: t-SNE is not run again.
    import openTSNE

    monkeypatch.setattr(openTSNE, "TSNE", lambda *a, **k: pytest.fail("cache not used"))
    np.testing.assert_array_equal(embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, **params), y)
    monkeypatch.undo()
    # Different parameters → a different cache entry; same seed → same result without cache.
    y2 = embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, perplexity=5, **params)
    assert len(list(tmp_path.glob("tsne-*.npy"))) == 2 and not np.array_equal(y, y2)
    np.testing.assert_allclose(embed_2d(x, "tsne", seed=0, use_cache=False, **params), y, atol=1e-5)


def test_tsne_quality_schedules(rng, tmp_path, monkeypatch):
    """``quality`` picks openTSNE's schedule and grid (explicit parameters win over it), keys
    the cache, and above 1000 points uses FFT gradients; every schedule keeps blobs apart."""
    import openTSNE

    seen = []
    real = openTSNE.TSNE

    def spy(*a, **k):  # records the schedule, runs a short one (the test's time)
        seen.append(k)
        return real(*a, **{**k, "n_iter": min(k["n_iter"], 60),
                           "early_exaggeration_iter": min(k["early_exaggeration_iter"], 40)})

    monkeypatch.setattr(openTSNE, "TSNE", spy)
    centres = rng.normal(size=(4, 20)) * 8
    labels = np.repeat(np.arange(4), 300)
    x = (centres[labels] + rng.normal(size=(1200, 20))).astype(np.float32)
    from sklearn.neighbors import KNeighborsClassifier

    for q in ("fast", "standard"):
        y = embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, quality=q, n_jobs=1)
        assert KNeighborsClassifier(5).fit(y, labels).score(y, labels) > 0.95
    fast, standard = seen
    assert (fast["n_iter"], fast["early_exaggeration_iter"], fast["min_num_intervals"]) == \
        (125, 75, 25) and fast["negative_gradient_method"] == "fft"
    assert (standard["n_iter"], standard["early_exaggeration_iter"]) == (250, 250)
    assert len(list(tmp_path.glob("tsne-*.npy"))) == 2  # one cache entry per schedule
    embed_2d(x, "tsne", seed=0, use_cache=False, quality="fast", n_iter=60, n_jobs=1)
    assert seen[-1]["n_iter"] == 60 and seen[-1]["min_num_intervals"] == 25
    embed_2d(x[:200], "tsne", seed=0, use_cache=False, quality="fast", n_jobs=1)
    assert "negative_gradient_method" not in seen[-1]  # small maps: openTSNE's Barnes-Hut
    with pytest.raises(ValueError, match="quality"):
        embed_2d(x, "tsne", quality="slow", use_cache=False)


def test_embed_bad_input(tmp_path):
    with pytest.raises(ValueError, match="method"):
        embed_2d(np.zeros((5, 3)), "mds", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="N×D"):
        embed_2d(np.zeros(5), "pca", cache_dir=tmp_path)


@pytest.mark.slow
def test_umap_embedding(rng, tmp_path):
    x, lab = _blobs(rng)
    y = embed_2d(x, "umap", seed=0, cache_dir=tmp_path, n_epochs=50)
    assert y.shape == (60, 2) and y.dtype == np.float32
    assert _separated(y, lab)


def test_tsne_projects_wide_features_on_principal_components_first(rng, tmp_path):
    """Features wider than 50-d go through PCA-50 before t-SNE (the neighbour search then
    costs a fraction); the clusters stay apart; ``pca_dims=0`` turns it off."""
    centres = rng.normal(size=(3, 120)) * 6
    labels = np.repeat(np.arange(3), 40)
    x = (centres[labels] + rng.normal(size=(120, 120))).astype(np.float32)
    msgs = []
    y = embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, progress=lambda f, m: msgs.append(m),
                 n_iter=100, early_exaggeration_iter=50)
    assert any("PCA 120 → 50" in m for m in msgs)
    from sklearn.neighbors import KNeighborsClassifier

    assert KNeighborsClassifier(5).fit(y, labels).score(y, labels) > 0.95
    msgs.clear()
    embed_2d(x, "tsne", seed=0, cache_dir=tmp_path, progress=lambda f, m: msgs.append(m),
             n_iter=100, early_exaggeration_iter=50, pca_dims=0)
    assert not any("PCA" in m for m in msgs)


def test_separation_auc_matches_pairwise_count(rng):
    from reidlab.analysis.domain_gap import separation_auc

    same = np.round(rng.normal(1.0, 0.5, 40), 1)  # rounded: ties count half
    diff = np.round(rng.normal(1.5, 0.5, 70), 1)
    ref = np.mean([(s < d) + 0.5 * (s == d) for s in same for d in diff])
    assert separation_auc(same, diff) == pytest.approx(ref)
    assert separation_auc([0.1, 0.2], [0.5, 0.9]) == 1.0
    assert separation_auc([0.9], [0.1, 0.2]) == 0.0
    assert np.isnan(separation_auc([], [1.0]))


def test_pair_separation_per_camera_pair():
    from reidlab.analysis.domain_gap import pair_separation

    by_pair = {(0, 1): {"same": np.array([0.1, 0.2]), "diff": np.array([0.15, 0.9])},
               (1, 0): {"same": np.array([0.5]), "diff": np.array([0.4, 0.6])},
               (0, 0): {"same": np.zeros(0), "diff": np.array([0.3])}}
    sep = pair_separation(by_pair)
    assert sep["cameras"] == [0, 1]
    assert sep["auc"][0, 1] == pytest.approx(0.75) and sep["auc"][1, 0] == pytest.approx(0.5)
    assert np.isnan(sep["auc"][0, 0]) and np.isnan(sep["auc"][1, 1])
    assert sep["n_same"][0, 1] == 2 and sep["n_diff"][0, 0] == 1
    assert sep["same_median"][0, 1] == pytest.approx(0.15)


def test_tsne_exact_faiss_affinities_equal_opentsne_exact_search(rng):
    """Above 1000 points t-SNE takes its neighbours from faiss's exact search instead of
    openTSNE's approximate Annoy; the affinities must equal openTSNE's own exact search, also
    when some points are duplicates (a point's twin may be listed before the point itself)."""
    from openTSNE import affinity

    from reidlab.analysis.embedding import _exact_affinities

    x = rng.normal(size=(1200, 8)).astype(np.float32)
    x[10] = x[11]  # duplicates
    x[500] = x[501] = x[502]
    ours = _exact_affinities(x, {"perplexity": 10.0}).P.toarray()
    ref = affinity.PerplexityBasedNN(x, perplexity=10.0, method="exact").P.toarray()
    assert ours.shape == (1200, 1200)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    assert np.all(np.diag(ours) == 0)  # no point is its own neighbour


def test_tsne_above_1000_points_uses_exact_neighbours(rng, monkeypatch):
    import openTSNE.affinity as aff

    from reidlab.analysis import embedding

    x = rng.normal(size=(1100, 6)).astype(np.float32)
    msgs = []
    monkeypatch.setattr(aff.PerplexityBasedNN, "__init__", _spy(aff.PerplexityBasedNN.__init__, msgs))
    y = embedding.embed_2d(x, "tsne", seed=0, use_cache=False, n_iter=20,
                           early_exaggeration_iter=10, progress=lambda f, m: msgs.append(m))
    assert y.shape == (1100, 2) and np.isfinite(y).all()
    assert "t-SNE: exact nearest neighbours (faiss)" in msgs
    assert any(m == ("knn_index", "PrecomputedNeighbors") for m in msgs)


def _spy(init, msgs):
    def wrapped(self, *a, **k):
        if k.get("knn_index") is not None:
            msgs.append(("knn_index", type(k["knn_index"]).__name__))
        return init(self, *a, **k)
    return wrapped


def test_exact_pca_matches_sklearn_and_is_the_default_up_to_2048_dims(rng):
    """The covariance-eigh PCA of the t-SNE/UMAP pre-projection gives sklearn's exact
    components (up to float32 rounding, signs by sklearn's rule), captures at least the
    randomized solver's variance, and "auto" picks it up to EXACT_PCA_MAX_DIM dimensions."""
    from sklearn.decomposition import PCA

    from reidlab.analysis import embedding as E

    x = (rng.normal(size=(600, 80)) * np.linspace(3, 0.5, 80)).astype(np.float32)
    ours = E._pca_exact(x, 10)
    ref = PCA(n_components=10, svd_solver="full").fit_transform(x.astype(np.float64))
    ref = ref * np.sign(ref[np.abs(ref).argmax(axis=0), np.arange(10)])
    np.testing.assert_allclose(ours, ref, atol=2e-3 * np.abs(ref).max())
    rand = E._reduce(x, 0, lambda f, m: None, {"pca_dims": 10, "pca_solver": "randomized"},
                     "t")
    assert (ours ** 2).sum() >= (rand ** 2).sum() * (1 - 1e-5)
    np.testing.assert_array_equal(E._reduce(x, 0, lambda f, m: None, {"pca_dims": 10}, "t"),
                                  ours)
    with pytest.raises(ValueError, match="pca_solver must be one of"):
        E._reduce(x, 0, lambda f, m: None, {"pca_solver": "svd"}, "t")
