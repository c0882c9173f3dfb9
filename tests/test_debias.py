"""Camera-debiased label updates (reidlab/cluster/debias.py): on constructed features whose
camera offset decides the nearest neighbours, the plain clustering splits identities by camera
and the debiased ones recover them; the plain path is exactly today's clustering; the
camera-aware neighbour lists keep their quotas; the k rule, SpCL's reliability criterion, the
options' errors and one tiny epoch of every clustering method with the options on."""

import numpy as np
import pytest

from tiny_mars import write_tiny_mars

from reidlab.cluster.debias import (auto_k, camera_aware_knn, camera_normalised,
                                    debiased_labels, reliable, same_camera_share)
from reidlab.cluster.jaccard import (jaccard_distance, jaccard_distance_from_knn,
                                     knn)
from reidlab.cluster.pseudo_labels import cluster_pseudo_labels
from reidlab.cluster.quality import cluster_quality
from reidlab.engine.config import make_config
from reidlab.errors import ConfigError


def blobs(seed=0, ids=30, cams=4, seen_by=3, per=3, dim=32, cam_scale=1.0, noise=0.35):
    """Identities as Gaussian blobs, each seen by ``seen_by`` of ``cams`` cameras, ``per``
    samples per identity and camera (consecutive samples of one camera form a group of
    ``per``), plus a per-camera vector of norm ≈ cam_scale·√dim added to every sample."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(ids, dim))
    cam_vec = rng.normal(size=(cams, dim)) * cam_scale
    x, pid, cam, grp = [], [], [], []
    for i in range(ids):
        for c in rng.choice(cams, seen_by, replace=False):
            for _ in range(per):
                x.append(centre[i] + cam_vec[c] + rng.normal(size=dim) * noise)
                pid.append(i)
                cam.append(c)
                grp.append(len(grp) // per)
    return (np.array(x, np.float32), np.array(pid), np.array(cam), np.array(grp))


def fscore(labels, pids, cams):
    return cluster_quality(labels, pids, cams)["fscore"]


# ----------------------------------------------------------------------------- the levers

@pytest.mark.parametrize("cam_norm", ["center", "standardize"])
def test_camera_normalisation_recovers_identities_the_plain_clustering_splits(cam_norm):
    x, pid, cam, grp = blobs(cam_scale=3.0)
    assert same_camera_share(x, cam, k=10) > 0.99  # the camera decides who is near whom
    plain = debiased_labels(x, cam, groups=grp, k1=12, k2=3, min_samples=2)
    q_plain = cluster_quality(plain.labels, pid, cam)
    deb = debiased_labels(x, cam, groups=grp, k1=12, k2=3, min_samples=2,
                          cam_norm=cam_norm)
    q_deb = cluster_quality(deb.labels, pid, cam)
    assert q_plain["fscore"] < 0.2 and q_plain["cameras_per_cluster"] < 1.5
    assert q_deb["fscore"] > 0.6 and q_deb["ari"] > q_plain["ari"] + 0.4
    assert q_deb["cameras_per_cluster"] > 2.5  # a cluster spans an identity's cameras
    # the logged shares: before and after the normalisation
    assert deb.info["same_cam_share_raw"] > 0.99
    assert deb.info["same_cam_share"] < 0.5
    assert plain.info["same_cam_share"] == plain.info["same_cam_share_raw"]


@pytest.mark.parametrize("mode", ["balanced", "cross"])
def test_camera_aware_neighbours_recover_identities_without_normalisation(mode):
    # a camera offset that owns the nearest neighbours (share 0.92) while the nearest of
    # another camera is still the same person
    x, pid, cam, _ = blobs(cam_scale=1.0)
    assert same_camera_share(x, cam, k=10) > 0.9
    kw = dict(k1=12, k2=3, eps=0.6, min_samples=4, share_k=0)
    plain = fscore(debiased_labels(x, cam, **kw).labels, pid, cam)
    aware = debiased_labels(x, cam, neighbours=mode, cross_same=3, **kw)
    assert plain < 0.2
    assert fscore(aware.labels, pid, cam) > plain + 0.4
    assert aware.info["candidate_same_cam_share"] < 0.3


def test_plain_options_give_exactly_todays_clustering():
    x, pid, cam, grp = blobs(seed=1, cam_scale=0.5)
    for groups in (None, grp):
        for kw in ({}, {"k1": 12, "k2": 3, "eps": 0.5, "min_samples": 2}):
            ref = cluster_pseudo_labels(x, groups=groups, **kw)
            got = debiased_labels(x, cam, groups=groups, **kw)
            assert np.array_equal(ref.labels, got.labels)
            assert got.num_clusters == ref.num_clusters and got.num_pairs == ref.num_pairs
    # the Jaccard step on given lists equals the plain one on the plain kNN lists, bit for bit
    sim, idx = knn(x, 20)
    a = jaccard_distance(x, k1=20, k2=4)
    b = jaccard_distance_from_knn(x, sim, idx, k1=20, k2=4)
    assert (a != b).nnz == 0 and np.array_equal(a.indices, b.indices)
    sim2, idx2 = camera_aware_knn(camera_normalised(x, cam, "none"), cam, 20, "plain")
    assert np.array_equal(idx, idx2)


def test_neighbour_lists_keep_their_quotas_and_are_the_nearest_within_them():
    x, _, cam, grp = blobs(seed=2, cam_scale=1.0)
    xn = camera_normalised(x, cam, "none")
    n, k = len(x), 12
    quota = -(-k // 4)
    sim = xn @ xn.T
    for mode in ("balanced", "cross"):
        s, idx = camera_aware_knn(xn, cam, k, mode, groups=grp)
        assert idx.shape == (n, k) and (idx[:, 0] == np.arange(n)).all()
        assert all(len(set(r)) == k for r in idx.tolist())  # no sample twice
        assert (np.diff(s[:, 1:], axis=1) <= 1e-6).all()  # by decreasing similarity
        assert np.allclose(s[:, 1:], np.take_along_axis(sim, idx[:, 1:], 1), atol=1e-5)
        for i in range(0, n, 7):
            per_cam = np.bincount(cam[idx[i]], minlength=4)
            if mode == "balanced":
                own = per_cam[cam[i]]
                per_cam[cam[i]] -= 1  # the sample itself takes no place of its camera's quota
                assert per_cam.max() <= quota and own >= 1
                # within each camera, the chosen are that camera's nearest
                for c in range(4):
                    chosen = idx[i][cam[idx[i]] == c]
                    pool = np.flatnonzero(cam == c)
                    best = pool[np.argsort(-sim[i, pool], kind="stable")][:chosen.size]
                    assert set(chosen) == set(best) or np.allclose(
                        np.sort(sim[i, chosen]), np.sort(sim[i, best]), atol=1e-5)
            else:
                assert per_cam[cam[i]] == 3  # itself and two nearest of its camera
    # a camera smaller than its quota: the list is topped up from the others
    small = np.r_[np.flatnonzero(cam != 0), np.flatnonzero(cam == 0)[:1]]
    s, idx = camera_aware_knn(xn[small], cam[small], k, "balanced")
    assert idx.shape == (small.size, k)
    assert all(len(set(r)) == k for r in idx.tolist())


def test_auto_k_rule_uses_cameras_and_groups_only():
    cams6 = np.repeat(np.arange(6), 10)
    pairs = np.repeat(np.arange(30), 2)
    assert auto_k(cams6, pairs) == (18, 4)  # 1.5 × 2 clips × 6 cameras
    assert auto_k(cams6, pairs, k_scale=1.0) == (12, 2)
    assert auto_k(np.repeat(np.arange(2), 5)) == (4, 2)  # clamped below
    assert auto_k(np.repeat(np.arange(9), 8), np.repeat(np.arange(18), 4)) == (30, 6)
    x, pid, cam, grp = blobs(cam_scale=3.0)
    res = debiased_labels(x, cam, groups=grp, k_rule="auto", cam_norm="center", min_samples=2)
    assert (res.info["k1"], res.info["k2"]) == auto_k(cam, grp) == (18, 4)
    assert fscore(res.labels, pid, cam) > 0.6


def test_reliability_drops_clusters_that_merge_and_members_that_split():
    # 30 clusters of 4; at eps + gap clusters 0 and 1 merge; at eps − gap cluster 2 loses one
    labels = np.repeat(np.arange(30), 4)
    loose = labels.copy()
    loose[loose == 1] = 0
    tight = labels.copy()
    tight[8] = -1  # first member of cluster 2 an outlier at the tight eps
    out, info = reliable(labels, tight, loose)
    assert (out[:8] == -1).all()  # the merging clusters: not independent
    assert out[8] == -1 and (out[9:12] >= 0).all()  # the loose member of cluster 2
    assert (out[12:] >= 0).all() and info["reliability_dropped"] == 9
    assert info["reliability_clusters_dropped"] == 2
    # on features: the criterion only ever removes members
    x, pid, cam, grp = blobs(seed=3, cam_scale=0.3, noise=0.8)
    a = debiased_labels(x, cam, groups=grp, eps=0.6)
    b = debiased_labels(x, cam, groups=grp, eps=0.6, reliability=True)
    assert ((b.labels < 0) | (a.labels >= 0)).all()
    assert (b.labels < 0).sum() - (a.labels < 0).sum() == b.info["reliability_dropped"]
    assert "reliability_alpha" in b.stats()


def test_bad_arguments_are_clear_errors():
    x, _, cam, _ = blobs(ids=5)
    for kw, word in (({"cam_norm": "zscore"}, "cam_norm"), ({"neighbours": "all"}, "neighbours"),
                     ({"k_rule": "magic"}, "k_rule"), ({"eps": 1.5}, "eps")):
        with pytest.raises(ConfigError, match=word):
            debiased_labels(x, cam, **kw)
    with pytest.raises(ConfigError, match="camids"):
        debiased_labels(x, cam[:-1])


# ----------------------------------------------------------------------------- the methods

@pytest.mark.parametrize("method", ["cawcl", "calr", "pirid"])
@pytest.mark.parametrize("bad", [{"cam_norm": "zscore"}, {"neighbours": "nearest"},
                                 {"k_rule": "guess"}, {"reliability": "sometimes"}])
def test_bad_option_values_fail_in_make_config(method, bad, tmp_path):
    with pytest.raises(ConfigError) as e:
        make_config("test", dataset=str(tmp_path), method=method, options=bad)
    msg = str(e.value)
    assert "\n" not in msg and next(iter(bad)) in msg and method in msg


def test_bad_option_on_the_cli_writes_no_run_folder(tmp_path, capsys):
    from reidlab.cli import main

    out = tmp_path / "run"
    rc = main(["train", "--preset", "test", "--method", "cawcl", "--dataset", str(tmp_path),
               "--out", str(out), "--cam-norm", "zscore", "--no-progress"])
    assert rc != 0
    assert "cam-norm" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("d") / "mars", train_ids=6, test_ids=3,
                           frames=(4, 8))


DEBIASED = {"cam_norm": "standardize", "neighbours": "balanced", "k_rule": "auto",
            "reliability": True, "eps": 0.7, "min_samples": 2}
EXTRA = {"cawcl": {"batch_size": 6}, "calr": {"batch_size": 8},
         "pirid": {"batch_size": 8, "num_instances": 2}}
STAGE_OPTS = {"cawcl": {}, "calr": {"intra_camera_epochs": 0}, "pirid": {"intra_epochs": 0}}


@pytest.mark.parametrize("method", ["cawcl", "calr", "pirid"])
def test_each_method_trains_an_epoch_with_the_debiased_options(method, tiny, tmp_path):
    from reidlab.engine.runs import Run
    from reidlab.engine.trainer import train

    opts = {**DEBIASED, **STAGE_OPTS[method]}
    cfg = make_config("test", dataset=str(tiny), method=method, options=opts, epochs=1,
                      **EXTRA[method])
    run = Run(train(cfg, tmp_path / method))
    assert run.status()["state"] == "finished"
    recs = run.metrics("labels")
    clustered = [r for r in recs if "same_cam_share_raw" in r]
    assert clustered, recs
    r = clustered[0]
    assert 0.0 <= r["same_cam_share"] <= 1.0 and 0.0 <= r["same_cam_share_raw"] <= 1.0
    # the auto rule: k1 from clips per tracklet × cameras (3 here), k2 = max(2, k1/5)
    assert 4 <= r["k1"] <= 30 and r["k2"] == max(2, round(r["k1"] / 5))
    assert "reliability_dropped" in r and "fscore" in r
