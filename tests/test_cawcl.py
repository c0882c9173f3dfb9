"""CAWCL and the losses it shares: camera losses under gradient reversal, the hybrid memory,
kNN self-paced weights, batch-hard triplet; two-epoch runs with label updates, resume, UDA and
bad input."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tiny_mars import write_tiny_mars
from tiny_runs import assert_resumed_equals_full, stop_and_resume

from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError, DatasetError
from reidlab.losses.camera import camera_ce, camera_clc
from reidlab.losses.memory import HybridMemory, knn_weights
from reidlab.losses.metric import batch_hard_triplet
from reidlab.models.grl import grad_reverse

# clustering that finds clusters on a tiny dataset (SpCL's k1=30/min_samples=4 need more data)
SMALL = {"k1": 6, "k2": 2, "eps": 0.7, "min_samples": 2}


# ----------------------------------------------------------------------------- losses

def test_clc_is_the_papers_eq4_and_reverses_under_grl():
    torch.manual_seed(0)
    c = torch.randn(5, 3)
    y = torch.tensor([0, 2, 1, 1, 0])
    a = sum(math.log(torch.softmax(c[i], 0)[y[i]]) for i in range(5))
    b = sum(math.log(torch.softmax(1 - c[i], 0)[y[i]]) for i in range(5))
    assert camera_clc(c, y).item() == pytest.approx(a * b / 25, rel=1e-5)
    assert camera_ce(c, y).item() == pytest.approx(F.cross_entropy(c, y).item())
    # confident (right or wrong) classifiers have a smaller CLC than an undecided one
    right = torch.nn.functional.one_hot(y, 3).float() * 20
    assert camera_clc(right, y) < camera_clc(torch.zeros(5, 3) + 0.01 * c, y)
    assert camera_clc(-right, y) < camera_clc(torch.zeros(5, 3) + 0.01 * c, y)
    # under the GRL, the features receive exactly −λ × the classifier's gradient
    for loss in (camera_clc, camera_ce):
        f = torch.randn(5, 4, requires_grad=True)
        w = torch.randn(4, 3)
        g_plain, = torch.autograd.grad(loss(f @ w, y), f)
        g_rev, = torch.autograd.grad(0.2 * loss(grad_reverse(f, 1.0) @ w, y), f)
        assert torch.allclose(g_rev, -0.2 * g_plain, atol=1e-6)


def test_clc_saturates_when_the_true_camera_scores_lowest():
    """The finding behind docs/methods.md: a classifier that ranks the true camera *last* by a
    wide margin has L_CLC → 0 and gives the encoder a vanishing reversed gradient, while its
    argmin still names every camera."""
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    for margin, small in ((2.0, False), (20.0, True)):
        c = torch.zeros(6, 6)
        c[torch.arange(6), y] = -margin
        c.requires_grad_(True)
        loss = camera_clc(c, y)
        g, = torch.autograd.grad(loss, c)
        assert (c.argmin(1) == y).all()
        assert (loss.item() < 1e-6 and g.abs().max() < 1e-6) == small
    # an undecided classifier is far from that
    assert camera_clc(torch.zeros(6, 6), y).item() == pytest.approx(math.log(6) ** 2, rel=1e-5)


def test_uniform_confusion_splits_the_gradients():
    from reidlab.losses.camera import uniform_confusion

    torch.manual_seed(0)
    head = torch.nn.Linear(4, 3)
    f = torch.randn(6, 4, requires_grad=True)
    cams = torch.tensor([0, 1, 2, 0, 1, 2])
    l_cls, l_conf, _ = uniform_confusion(head, f, cams)
    (l_cls + l_conf).backward()
    # the head learns only from the camera CE, the features only from the confusion term
    head2 = torch.nn.Linear(4, 3)
    head2.load_state_dict(head.state_dict())
    g_head = torch.autograd.grad(F.cross_entropy(head2(f.detach()), cams), head2.weight)[0]
    assert torch.allclose(head.weight.grad, g_head, atol=1e-6)
    g_f = torch.autograd.grad(-F.log_softmax(head2(f), 1).mean(1).mean(), f)[0]
    assert torch.allclose(f.grad, g_f, atol=1e-6)
    assert l_conf.item() >= math.log(3) - 1e-6  # bounded below by its value at chance


def test_memory_entries_loss_and_momentum_update():
    mem = HybridMemory(3, temperature=0.5, momentum=0.2)
    feats = torch.tensor([[1., 0, 0], [0.8, 0.6, 0], [0, 1., 0], [0, 0, 1.]])
    mem.reset(feats * 3, torch.tensor([0, 0, -1, 1]))
    table, entry = mem.entries()
    assert entry.tolist() == [0, 0, 2, 1]  # clusters 0, 1 then the outlier instance
    assert torch.allclose(table[0], F.normalize(feats[0] + feats[1], dim=0))
    assert torch.allclose(table[2], feats[2])
    q = torch.tensor([[1., 0.1, 0]])
    loss, m = mem.loss(q, torch.tensor([0]))
    logits = F.normalize(q, dim=1) @ table.t() / 0.5
    assert loss.item() == pytest.approx(F.cross_entropy(logits, torch.tensor([0])).item(),
                                        rel=1e-5)
    mem.update(torch.tensor([[0., 0, 2.]]), torch.tensor([2]))
    expect = F.normalize(0.2 * feats[2] + 0.8 * torch.tensor([0., 0, 1]), dim=0)
    assert torch.allclose(mem.features[2], expect)
    assert torch.allclose(mem.features[0], feats[0])  # other slots untouched


def test_knn_weights_give_near_entries_partial_mass():
    table = F.normalize(torch.tensor([[1., 0], [0.9, 0.1], [0.7, 0.7], [-1, 0], [0, -1]]), dim=1)
    q = F.normalize(torch.tensor([[1., 0.02]]), dim=1)
    w = knn_weights(q, table, torch.tensor([0]), k=3)
    assert w.sum().item() == pytest.approx(1.0)
    assert w[0, 0] > w[0, 1] > 0  # own entry highest, the close neighbour partial
    assert w[0, 2] == 0 and w[0, 3] == 0 and w[0, 4] == 0  # k-th neighbour and beyond: 0


def test_camera_centering_removes_a_per_camera_offset():
    from reidlab.methods.cawcl import camera_centred

    rng = np.random.default_rng(0)
    ids = rng.normal(size=(10, 8))
    cams = np.repeat([0, 1], 10)
    f = np.concatenate([ids, ids]) + np.repeat([[5.0] * 8, [-5.0] * 8], 10, axis=0)
    g = camera_centred(f, cams)
    assert np.allclose(g[:10], g[10:], atol=1e-5)  # the same person in both cameras
    assert np.allclose(np.linalg.norm(g, axis=1), 1, atol=1e-5)


def test_batch_hard_triplet_matches_brute_force():
    torch.manual_seed(1)
    f = torch.randn(10, 5)
    y = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, -1, 0])
    loss, info = batch_hard_triplet(f, y, margin=0.3)
    keep = [i for i in range(10) if y[i] >= 0]
    terms = []
    for a in keep:
        pos = [torch.dist(f[a], f[p]) for p in keep if p != a and y[p] == y[a]]
        neg = [torch.dist(f[a], f[n]) for n in keep if y[n] != y[a]]
        if pos and neg:
            terms.append(max(0.0, max(pos).item() - min(neg).item() + 0.3))
    assert loss.item() == pytest.approx(float(np.mean(terms)), rel=1e-5)
    assert 0 <= info["trip_prec"] <= 1


# ----------------------------------------------------------------------------- runs

@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("t") / "mars", train_ids=6, test_ids=3,
                           frames=(4, 8))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("s") / "mars", train_ids=5, test_ids=2,
                           frames=(4, 8), seed=3)


def cawcl_cfg(root, **kw):
    opts = {**SMALL, **kw.pop("options", {})}
    kw.setdefault("batch_size", 6)
    return make_config("test", dataset=str(root), method="cawcl", options=opts, **kw)


def test_two_epoch_run_with_label_updates(target, tmp_path):
    out = train(cawcl_cfg(target), tmp_path / "c")
    run = Run(out)
    assert run.status()["state"] == "finished"
    labels = run.metrics("labels")
    assert [r["epoch"] for r in labels] == [0, 1]
    for r in labels:
        assert r["num_samples"] == 2 * 6 * 0 + r["num_samples"] > 0
        for k in ("num_clusters", "outlier_fraction", "precision", "recall", "fscore", "nmi",
                  "ari", "update_time"):
            assert k in r, k
    z = np.load(out / "labels" / "update_001.npz")
    assert set(z.files) >= {"index", "clip", "label", "label_global", "pid", "camid", "feat",
                            "frame"}
    assert set(np.unique(z["clip"])) == {0, 1}  # two clips per tracklet are instances
    # clips of one tracklet share a cluster (strong positives) unless both are outliers
    lab = {}
    for i, c, y in zip(z["index"], z["clip"], z["label"]):
        lab.setdefault(int(i), set()).add(int(y))
    assert all(len(v) == 1 for v in lab.values())
    terms = run.metrics("epoch")[-1]["terms"]
    assert {"cam", "contr"} <= set(terms)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    extra = ck["model"]["_extra_state"]
    assert extra["memory"]["features"].shape[0] == 2 * len(lab)
    assert extra["history"].shape[0] == 2
    # restore rebuilds the method with its memory, and embeds as the method does
    from reidlab.engine.restore import load_run_model

    rm = load_run_model(out)
    assert torch.equal(rm.method.memory.labels, extra["memory"]["labels"])
    f = rm.embed(torch.randn(3, 2, 3, 32, 16))
    assert torch.allclose(f.norm(dim=1), torch.ones(3), atol=1e-5)


def test_quality_of_the_first_update_matches_brute_force(target, tmp_path):
    out = train(cawcl_cfg(target, epochs=1), tmp_path / "q")
    from test_cluster import brute_force_quality

    rec = Run(out).metrics("labels")[0]
    z = np.load(out / "labels" / "update_000.npz")
    lab = z["label"]
    ref = brute_force_quality(lab, z["pid"], z["camid"])
    for k in ("precision", "recall", "fscore"):
        assert rec[k] == pytest.approx(ref[k]), k
    assert rec["num_clusters"] == len({int(x) for x in lab if x >= 0})
    assert rec["outlier_fraction"] == pytest.approx(float(np.mean(lab < 0)))
    assert rec["extraction"] == "float32"  # the label features' precision (no autocast here)


def test_resume_mid_run_equals_uninterrupted(target, tmp_path):
    cfg = cawcl_cfg(target, epochs=3)
    per_epoch = len(Run(train(cfg, tmp_path / "count")).metrics("step")) // 3
    # stopped inside epoch 3, after its label update
    full, part = stop_and_resume(cfg, tmp_path, 2 * per_epoch)
    assert_resumed_equals_full(full, part)
    assert len(Run(full).metrics("labels")) == 3


def test_uda_with_a_labelled_source_and_a_pretrain_stage(target, source, tmp_path):
    cfg = cawcl_cfg(target, epochs=3, source=str(source), options={"pretrain_epochs": 1})
    out = train(cfg, tmp_path / "uda")
    run = Run(out)
    assert run.config["source"]["root"] == str(Path(source).resolve())
    ep = run.metrics("epoch")
    assert [r["stage"] for r in ep] == ["pretrain", "adapt", "adapt"]
    assert set(ep[0]["terms"]) == {"ce"}  # source only before adaptation
    assert {"ce", "cam", "contr"} <= set(ep[1]["terms"])
    assert [r["epoch"] for r in run.metrics("labels")] == [1, 2]  # target clusters only
    z = np.load(out / "labels" / "update_001.npz")
    n_target = len(run.dataset().train)
    assert z["index"].max() < n_target


def test_no_cluster_found_is_a_logged_state(target, tmp_path):
    out = train(cawcl_cfg(target, epochs=1, options={"eps": 0.01}), tmp_path / "none")
    rec = Run(out).metrics("labels")[0]
    assert rec["num_clusters"] == 0 and rec["outlier_fraction"] == 1.0
    assert "no cluster" in rec["note"] and Run(out).status()["state"] == "finished"


def test_bad_input_is_a_clear_error(target, tmp_path):
    one_cam = write_tiny_mars(tmp_path / "one", train_ids=3, test_ids=2, cameras=1)
    with pytest.raises(ConfigError, match="at least 2 cameras"):
        train(cawcl_cfg(one_cam, epochs=1), tmp_path / "r1")
    train(cawcl_cfg(one_cam, epochs=1, options={"cam_loss": "none"}), tmp_path / "r1b")
    with pytest.raises(ConfigError, match="source dataset is needed"):
        train(cawcl_cfg(target, epochs=1, options={"contrastive": False}), tmp_path / "r2")
    with pytest.raises(DatasetError, match="labelled source"):
        unlabelled = write_tiny_mars(tmp_path / "u", train_ids=1, test_ids=2)
        train(cawcl_cfg(target, epochs=1, source=str(unlabelled)), tmp_path / "r3")
    with pytest.raises(ConfigError, match="source dataset was given"):
        train(make_config("test", dataset=str(target), method="padal_m",
                          source=str(target), epochs=1), tmp_path / "r4")


def test_oracle_labels_are_the_true_identities(target, tmp_path):
    """The diagnosis option: perfect pseudo labels through the same memory and loss."""
    out = train(cawcl_cfg(target, epochs=1, options={"oracle_labels": True}), tmp_path / "o")
    rec = Run(out).metrics("labels")[0]
    assert rec["precision"] == 1.0 and rec["recall"] == 1.0 and rec["outlier_fraction"] == 0
    z = np.load(out / "labels" / "update_000.npz")
    assert len(np.unique(z["label"])) == len(np.unique(z["pid"]))


def test_camera_bn_neck_in_cawcl(target, source, tmp_path):
    """cawcl with the camera-specific BN-neck: the label updates and the final evaluation see
    each camera through its own statistics (the test statistics set after the last epoch);
    with a source dataset it is a clear error before a run folder is written."""
    from reidlab.engine.restore import load_run_model
    from reidlab.methods.camera_bn import camera_statistics
    from reidlab.models.reid_net import CameraBatchNorm

    cfg = cawcl_cfg(target, camera_bn=True)
    run = Run(train(cfg, tmp_path / "cbn"))
    assert run.status()["state"] == "finished"
    assert run.metrics("epoch")[-1]["camera_bn_test_clips"] > 0
    assert len(run.metrics("labels")) == 2
    net = load_run_model(run.path).method.net
    assert isinstance(net.bnneck, CameraBatchNorm)
    data = run.dataset()
    for c, (mean, _, _) in camera_statistics(net, list(data.query) + list(data.gallery),
                                             cfg).items():
        assert torch.allclose(net.bnneck.running_mean[c], mean, atol=1e-4)
    method = load_run_model(run.path).method
    clips = torch.randn(2, 2, 3, 32, 16)
    assert not torch.allclose(method.embed(clips, torch.tensor([0, 0])),
                              method.embed(clips, torch.tensor([1, 1])))
    # the plain neck ignores the camera
    plain = Run(train(cawcl_cfg(target, epochs=1), tmp_path / "plain"))
    m = load_run_model(plain.path).method
    assert torch.equal(m.embed(clips, torch.tensor([0, 0])), m.embed(clips, torch.tensor([1, 1])))
    with pytest.raises(ConfigError, match="camera_bn"):
        cawcl_cfg(target, camera_bn=True, source=str(source),
                  options={"pretrain_epochs": 1})  # make_config: before any run folder
