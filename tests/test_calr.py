"""CALR: pivot-based refinement and the expansion measure on constructed cases, per-camera
clustering, camera-entropy weights; a two-stage run with local / global / refined label
updates, resume, and bad input."""

import numpy as np
import pytest
import torch

from tiny_mars import write_tiny_mars
from tiny_runs import assert_resumed_equals_full, stop_and_resume

from reidlab.cluster.quality import cluster_quality, expansion
from reidlab.cluster.refine import (
    choose_pivots,
    cluster_per_camera,
    local_with_singletons,
    pivot_scores,
    refine_by_pivots,
)
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods.calr import camera_entropy_weights

# A global cluster 0 that wrongly merges persons 1 and 2 — two local clusters of camera 0 —
# with person 1's samples of camera 1; cluster 1 is clean (person 3 in cameras 0 and 1).
GLOBAL = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, -1])
LOCAL = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5])
CAMS = np.array([0, 0, 0, 0, 1, 1, 0, 0, 1, 1])
PIDS = np.array([1, 1, 2, 2, 1, 1, 3, 3, 3, 4])


# ----------------------------------------------------------------------------- refinement

def test_refinement_splits_a_merged_cluster_and_counts_its_steps():
    labels, st = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[0, 6], pids=PIDS)
    # person 2 (camera 0, outside the pivot's local cluster) leaves; camera 1 stays
    assert labels.tolist() == [0, 0, -1, -1, 0, 0, 1, 1, 1, -1]
    assert st["refine_pivots"] == 2 and st["refine_conflicts"] == 2
    assert st["refine_removed"] == 2 and st["refine_spared"] == 0
    assert st["refine_clusters_split"] == 1 and st["refine_dissolved"] == 0
    assert st["refine_removed_other_id"] == 2
    assert st["refine_removed_other_id_fraction"] == 1.0
    before, after = cluster_quality(GLOBAL, PIDS), cluster_quality(labels, PIDS)
    assert after["precision"] > before["precision"] and after["precision"] == 1.0
    assert after["recall"] < before["recall"]  # the price: person 1's removed pairs
    # a pivot from the other local cluster removes the other person instead
    labels2, _ = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[2, 6])
    assert labels2.tolist() == [-1, -1, 0, 0, 0, 0, 1, 1, 1, -1]
    # a pivot in camera 1 leaves camera 0 alone: nothing to refine there
    labels3, st3 = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[4, 6])
    assert labels3.tolist() == GLOBAL.tolist() and st3["refine_removed"] == 0
    # no pivot, no refinement
    labels4, st4 = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[-1, -1])
    assert labels4.tolist() == GLOBAL.tolist() and st4["refine_pivots"] == 0


def test_refinement_self_paced_draws_min_size_and_groups():
    # p = 0 spares every conflict; the counts say so
    labels, st = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[0, 6], removal_prob=0.0)
    assert labels.tolist() == GLOBAL.tolist()
    assert st["refine_conflicts"] == 2 and st["refine_spared"] == 2 and st["refine_removed"] == 0
    # one draw per group: the two samples of a group leave together or stay together
    for seed in range(20):
        lab, _ = refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[0, 6], removal_prob=0.5,
                                  rng=np.random.default_rng(seed),
                                  groups=np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5]))
        assert lab[2] == lab[3]
    # min_size dissolves what the refinement left too small
    g = np.array([0, 0, 0, 1, 1])
    lab, st = refine_by_pivots(g, np.array([0, 1, 1, 2, 2]), np.zeros(5, int), pivots=[0, 3],
                               min_size=2)
    assert lab.tolist() == [-1, -1, -1, 0, 0]
    assert st["refine_removed"] == 2 and st["refine_dissolved"] == 1
    assert st["refine_removed_total"] == 3
    # a local outlier is a local cluster of its own (per group when given)
    assert local_with_singletons([0, -1, -1, 1]).tolist() == [0, 2, 3, 1]
    assert local_with_singletons([0, -1, -1, 1], groups=[5, 7, 7, 9]).tolist() == [0, 2, 2, 1]


def test_refinement_input_errors():
    with pytest.raises(ConfigError, match="member of its own cluster"):
        refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[6, 0])
    with pytest.raises(ConfigError, match="one per global cluster"):
        refine_by_pivots(GLOBAL, LOCAL, CAMS, pivots=[0])
    with pytest.raises(ConfigError, match="one per sample"):
        refine_by_pivots(GLOBAL, LOCAL[:-1], CAMS)
    with pytest.raises(ConfigError, match="removal_prob"):
        refine_by_pivots(GLOBAL, LOCAL, CAMS, removal_prob=1.5)


def test_pivots_are_the_densest_members():
    rng = np.random.default_rng(0)
    centre = np.array([1.0, 0, 0, 0])
    blob = centre + 0.02 * rng.normal(size=(12, 4))
    far = rng.normal(size=(6, 4)) * 3  # scattered samples: sparse neighbourhoods
    feat = np.concatenate([blob, far]).astype(np.float32)
    s = pivot_scores(feat, k=5, min_sim=0.9)
    assert s.shape == (18,) and s[:12].min() > s[12:].max()
    glob = np.r_[np.zeros(12, int), np.ones(6, int)]
    piv = choose_pivots(glob, s)
    assert piv[0] == int(np.argmax(s[:12]))
    assert piv[1] == -1  # its best member is below the mean density: no pivot
    assert choose_pivots(glob, s, above_mean=False)[1] == 12 + int(np.argmax(s[12:]))


# ----------------------------------------------------------------------------- expansion

def test_expansion_on_a_constructed_case():
    # person 1 split over clusters 0 and 1, person 2 in cluster 2 plus two outliers,
    # person 3 whole in cluster 3
    labels = np.array([0, 0, 1, 2, 2, -1, -1, 3, 3])
    pids = np.array([1, 1, 1, 2, 2, 2, 2, 3, 3])
    assert expansion(labels, pids) == pytest.approx((2 + 3 + 1) / 3)  # outliers: singletons
    assert expansion(labels, pids, "one") == pytest.approx((2 + 2 + 1) / 3)  # −1 one cluster
    assert expansion(labels, pids, "ignore") == pytest.approx((2 + 1 + 1) / 3)
    assert expansion([-1, -1], [1, 2], "ignore") == 0.0
    assert expansion(np.zeros(4, int), [1, 1, 2, 2]) == 1.0  # merged, never split
    with pytest.raises(ConfigError, match="outliers"):
        expansion(labels, pids, "drop")
    # cluster_quality's expansion is the singletons convention
    rng = np.random.default_rng(3)
    for _ in range(5):
        lab = rng.integers(-1, 6, 40)
        pid = rng.integers(0, 7, 40)
        assert cluster_quality(lab, pid)["expansion"] == pytest.approx(expansion(lab, pid))


# ----------------------------------------------------------------------------- local clusters

def test_cluster_per_camera_stays_inside_cameras():
    rng = np.random.default_rng(1)
    people = rng.normal(size=(4, 8)) * 3
    rows, cams, pids, groups = [], [], [], []
    for cam in (0, 1):
        for p in range(4):
            for k in range(3):  # three tracklets of two clips each
                for _ in range(2):
                    rows.append(people[p] + 0.05 * rng.normal(size=8) + 4 * cam)
                    cams.append(cam)
                    pids.append(p)
                    groups.append((cam, p, k))
    feat = np.array(rows, np.float32)
    cams, pids = np.array(cams), np.array(pids)
    groups = np.unique(np.array(groups), axis=0, return_inverse=True)[1].ravel()
    within, sils, info = cluster_per_camera(feat, cams, "agglomerative", ratio=3.0, k1=6, k2=2,
                                            groups=groups)
    assert info["cameras"] == [0, 1] and info["clusters"] == [4, 4]
    for cam in (0, 1):  # one cluster per person in each camera
        m = cams == cam
        assert cluster_quality(within[m], pids[m])["ari"] == pytest.approx(1.0)
    assert np.all(np.isfinite(sils)) and sils.min() > 0.5
    for g in np.unique(groups):  # the clips of a tracklet share a label
        assert np.unique(within[groups == g]).size == 1
    within2, _, _ = cluster_per_camera(feat, cams, "dbscan", k1=6, k2=2, eps=0.6,
                                       min_samples=2, groups=groups, silhouette=False)
    assert (within2 >= 0).all()
    with pytest.raises(ConfigError, match="expected one of"):
        cluster_per_camera(feat, cams, "kmeans")


def test_camera_entropy_weights():
    labels = np.array([0, 0, 1, 1, 1, 1, -1])
    cams = np.array([0, 0, 0, 1, 2, 3, 1])
    w = camera_entropy_weights(labels, cams, 3)
    assert w[0] == 0.0  # one camera: weight 0
    assert w[1] == pytest.approx(np.log1p(np.log(4)))  # four cameras evenly
    assert w[2] == 0.0  # empty


# ----------------------------------------------------------------------------- runs

# clustering that finds clusters on a tiny dataset
SMALL = {"k1": 6, "k2": 2, "eps": 0.7, "min_samples": 2, "local_k1": 4, "local_k2": 2,
         "local_ratio": 1.5, "pivot_k": 4, "label_frames": 4}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("t") / "mars", train_ids=8, test_ids=3,
                           frames=(4, 8))


def calr_cfg(root, **kw):
    opts = {**SMALL, **kw.pop("options", {})}
    kw.setdefault("batch_size", 8)
    return make_config("test", dataset=str(root), method="calr", options=opts, **kw)


def test_two_stage_run_logs_local_global_and_refined(target, tmp_path):
    out = train(calr_cfg(target), tmp_path / "c")  # 2 epochs: 1 intra, 1 inter
    run = Run(out)
    assert run.status()["state"] == "finished"
    labels = run.metrics("labels")
    assert [(r["epoch"], r["stage"]) for r in labels] == [
        (0, "local"), (1, "local"), (1, "global"), (1, "refined")]
    for r in labels:
        for k in ("precision", "recall", "fscore", "expansion", "num_clusters"):
            assert k in r, k
    ref = labels[-1]
    for k in ("refine_pivots", "refine_conflicts", "refine_removed", "refine_spared",
              "refine_removed_total", "precision_gain", "removal_prob"):
        assert k in ref, k
    glob = labels[-2]
    assert ref["precision"] - glob["precision"] == pytest.approx(ref["precision_gain"])
    assert "local_silhouette" in labels[0]
    z = np.load(out / "labels" / "update_001.npz")
    assert {"label_local", "label_global", "label_refined", "label"} <= set(z.files)
    assert np.array_equal(z["label"], z["label_refined"])  # the training labels
    # refinement only removes, and only samples of a pivot's camera
    moved = z["label_global"] != z["label_refined"]
    assert (z["label_refined"][moved] == -1).all()
    assert int(moved.sum()) == ref["refine_removed_total"]
    # local clusters never span two cameras
    loc, cam = z["label_local"], z["camid"]
    assert all(np.unique(cam[loc == c]).size == 1 for c in np.unique(loc[loc >= 0]))
    ep = run.metrics("epoch")
    assert [r["stage"] for r in ep] == ["intra", "inter"]
    assert set(ep[0]["terms"]) == {"intra"}
    if (z["label_refined"] >= 0).any():
        assert {"inter", "cam"} <= set(ep[1]["terms"])
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    extra = ck["model"]["_extra_state"]
    assert extra["history"].shape[0] == 2
    assert torch.equal(extra["slot_labels"][torch.from_numpy(z["index"])],
                       torch.from_numpy(z["label_refined"]))
    # restore rebuilds the method with its memory and labels, and embeds as the method does
    from reidlab.engine.restore import load_run_model

    rm = load_run_model(out)
    assert torch.equal(rm.method.slot_labels, extra["slot_labels"])
    assert torch.equal(rm.method.local, extra["local"])
    f = rm.embed(torch.randn(3, 2, 3, 32, 16))
    assert torch.allclose(f.norm(dim=1), torch.ones(3), atol=1e-5)


def test_resume_mid_run_equals_uninterrupted(target, tmp_path):
    cfg = calr_cfg(target, epochs=3, options={"intra_camera_epochs": 1})
    steps = [r["epoch"] for r in Run(train(cfg, tmp_path / "count")).metrics("step")]
    assert steps.count(3) >= 1
    # stopped inside epoch 3 (an inter epoch), after its label update
    full, part = stop_and_resume(cfg, tmp_path, sum(1 for e in steps if e < 3))
    assert_resumed_equals_full(full, part, ("epoch", "stage", "num_clusters", "precision"))
    assert len(Run(full).metrics("labels")) == 7


def test_bad_input_is_a_clear_error(target, tmp_path):
    one_cam = write_tiny_mars(tmp_path / "one", train_ids=3, test_ids=2, cameras=1)
    with pytest.raises(ConfigError, match="at least 2 cameras"):
        train(calr_cfg(one_cam, epochs=1), tmp_path / "r1")
    with pytest.raises(ConfigError, match="removal_prob"):
        train(calr_cfg(target, epochs=1, options={"removal_prob": 2.0}), tmp_path / "r3")
    with pytest.raises(ConfigError, match="local_cluster"):
        train(calr_cfg(target, epochs=1, options={"local_cluster": "kmeans"}), tmp_path / "r4")
    with pytest.raises(ConfigError, match="source dataset was given"):
        train(calr_cfg(target, epochs=1, source=str(target)), tmp_path / "r2")


def test_camera_bn_neck_in_calr(target, tmp_path):
    """calr with the camera-specific BN-neck (not in the paper): both stages train through each
    clip's camera's statistics, the final evaluation uses each camera's test statistics, and
    the embedding depends on the camera; a stop inside the inter stage resumes exactly."""
    from reidlab.engine.restore import load_run_model
    from reidlab.models.reid_net import CameraBatchNorm

    cfg = calr_cfg(target, camera_bn=True)
    run = Run(train(cfg, tmp_path / "cbn"))
    assert run.status()["state"] == "finished"
    assert run.metrics("epoch")[-1]["camera_bn_test_clips"] > 0
    assert [r["stage"] for r in run.metrics("labels")] == ["local", "local", "global", "refined"]
    method = load_run_model(run.path).method
    assert isinstance(method.net.bnneck, CameraBatchNorm)
    clips = torch.randn(2, 2, 3, 32, 16)
    a, b = method.embed(clips, torch.tensor([0, 0])), method.embed(clips, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    assert torch.allclose(a.norm(dim=1), torch.ones(2), atol=1e-5)
    cfg3 = calr_cfg(target, camera_bn=True, epochs=3, options={"intra_camera_epochs": 1})
    steps = [r["epoch"] for r in Run(train(cfg3, tmp_path / "count")).metrics("step")]
    full, part = stop_and_resume(cfg3, tmp_path, sum(1 for e in steps if e < 2))
    assert_resumed_equals_full(full, part, ("epoch", "stage", "num_clusters", "precision"))


def test_outliers_as_instance_entries(target, tmp_path):
    """outliers="instances" (not in the paper): in the inter stage every −1 unit of the refined
    clusters is a memory entry of its own (one per tracklet with clip_positives), weighted by
    the clusters' mean camera weight; the label records keep the refined clusters, equal to a
    "drop" run's at the first inter update; a stop inside the inter stage resumes exactly."""
    drop = Run(train(calr_cfg(target, clips_per_tracklet=2), tmp_path / "drop"))
    out = train(calr_cfg(target, clips_per_tracklet=2, options={"outliers": "instances"}),
                tmp_path / "inst")
    run = Run(out)
    assert run.status()["state"] == "finished"
    keys = ("epoch", "stage", "num_clusters", "precision", "recall", "fscore", "expansion")
    la, lb = run.metrics("labels"), drop.metrics("labels")
    assert [tuple(r.get(k) for k in keys) for r in la] == [tuple(r.get(k) for k in keys)
                                                            for r in lb]
    za, zb = np.load(out / "labels" / "update_001.npz"), np.load(
        drop.path / "labels" / "update_001.npz")
    for k in ("label_local", "label_global", "label_refined", "label"):
        assert np.array_equal(za[k], zb[k]), k
    refined = za["label_refined"]
    num_clusters = int(refined.max()) + 1 if (refined >= 0).any() else 0
    # units at −1: one per tracklet (clip_positives joins the clips of a tracklet)
    units = np.unique(za["index"][refined < 0]).size
    assert units > 0  # the tiny set leaves some out, else the test shows nothing
    assert la[-1]["instance_entries"] == units and lb[-1]["instance_entries"] == 0
    extra = torch.load(out / "checkpoint.pt", weights_only=True)["model"]["_extra_state"]
    assert extra["centroids"].shape[0] == num_clusters + units
    lab = extra["slot_labels"][torch.from_numpy(za["index"] * 2 + za["clip"])]
    assert (lab >= 0).all()  # every training slot is trained
    ok = refined >= 0
    assert torch.equal(lab[torch.from_numpy(ok)], torch.from_numpy(refined[ok]))
    assert (lab[torch.from_numpy(~ok)] >= num_clusters).all()
    for t in np.unique(za["index"][~ok]):  # clips of one tracklet share their entry
        assert lab[torch.from_numpy(za["index"] == t)].unique().numel() == 1
    w = extra["centroid_weight"]
    assert torch.allclose(w[num_clusters:], w[:num_clusters].mean().expand(units))
    assert {"inter", "cam"} <= set(run.metrics("epoch")[1]["terms"])
    # every unit is sampled in the inter stage
    trained = run.metrics("step")
    assert len(trained) > len(drop.metrics("step"))
    # stop / resume inside the inter stage
    cfg = calr_cfg(target, epochs=3, options={"intra_camera_epochs": 1, "outliers": "instances"})
    steps = [r["epoch"] for r in Run(train(cfg, tmp_path / "count")).metrics("step")]
    assert steps.count(3) >= 1
    full, part = stop_and_resume(cfg, tmp_path, sum(1 for e in steps if e < 3))
    assert_resumed_equals_full(full, part, ("epoch", "stage", "num_clusters", "precision",
                                            "instance_entries"))
    # without refinement the global clusters are the training labels: their outliers count
    nr = train(calr_cfg(target, options={"outliers": "instances", "refine": False}),
               tmp_path / "norefine")
    g = Run(nr).metrics("labels")[-1]
    zg = np.load(nr / "labels" / "update_001.npz")["label_global"]
    assert g["stage"] == "global" and g["instance_entries"] == int((zg < 0).sum())
    with pytest.raises(ConfigError, match="outliers"):
        train(calr_cfg(target, epochs=1, options={"outliers": "keep"}), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_iters_fixes_the_inter_epoch_length(target, tmp_path):
    """``iters`` (TrainConfig): every epoch trains exactly that many batches — the inter epoch,
    where the refined clusters keep only part of the samples, as long as the intra one (the
    code's fixed 400 iterations); a bad value is a ConfigError before a run folder."""
    out = train(calr_cfg(target, epochs=2, iters=5), tmp_path / "c")
    ep = Run(out).metrics("epoch")
    assert [(r["stage"], r["step"]) for r in ep] == [("intra", 5), ("inter", 10)]
    with pytest.raises(ConfigError, match="iters"):
        train(calr_cfg(target, epochs=1, iters=-2), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_clc_camera_loss_in_the_inter_stage(target, tmp_path):
    """``domain_loss="clc"``: CAWCL's camera-level confusion loss behind CALR's GRL, in every
    inter epoch with ``domain_epochs=-1``."""
    from reidlab.losses.camera import camera_clc

    out = train(calr_cfg(target, epochs=3, options={"intra_camera_epochs": 1,
                                                     "domain_loss": "clc",
                                                     "domain_epochs": -1}), tmp_path / "c")
    ep = Run(out).metrics("epoch")
    assert [("cam" in r["terms"]) for r in ep] == [False, True, True]
    assert all(np.isfinite(r["terms"]["cam"]) and r["terms"]["cam"] > 0 for r in ep[1:])
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.1]])
    cams = torch.tensor([0, 1])
    a = torch.log_softmax(logits, 1)[[0, 1], cams].mean()
    b = torch.log_softmax(1 - logits, 1)[[0, 1], cams].mean()
    assert float(camera_clc(logits, cams)) == pytest.approx(float(a * b))
    with pytest.raises(ConfigError, match="domain_loss"):
        train(calr_cfg(target, epochs=1, options={"domain_loss": "mmd"}), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
