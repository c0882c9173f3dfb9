"""CAP (camera-aware proxies): the proxy split, the intra- and inter-camera losses against a
brute-force reading of the paper's formulas, two-epoch runs with label updates, resume after a
stop and after SIGKILLs, bad options; and the camera-specific BN-neck (camera_bn)."""

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_mars import write_tiny_mars
from tiny_runs import assert_resumed_equals_full, assert_same_state, stop_and_resume

from reidlab.cli import main
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods.cap import (inter_camera_loss, intra_camera_loss, proxy_centroids,
                                 split_proxies)
from reidlab.models.reid_net import CameraBatchNorm

HERE = Path(__file__).resolve().parent
# clustering that finds clusters on a tiny dataset (the code's k1 20 / min_samples 4 need more)
SMALL = {"k1": 6, "k2": 2, "eps": 0.7, "min_samples": 2, "inter_start": 1}


# ----------------------------------------------------------------------------- proxies

def test_a_cluster_spanning_two_cameras_gives_two_proxies():
    labels = np.array([0, 0, 0, 1, 1, -1, 2, 2])
    cams = np.array([0, 1, 0, 1, 1, 0, 2, 0])
    proxy, p_cluster, p_camera = split_proxies(labels, cams)
    # proxies camera by camera: (c0: y0, y2), (c1: y0, y1), (c2: y2)
    assert p_camera.tolist() == [0, 0, 1, 1, 2]
    assert p_cluster.tolist() == [0, 2, 0, 1, 2]
    assert proxy.tolist() == [0, 2, 0, 3, 3, -1, 4, 1]
    for i in range(len(labels)):  # every sample's proxy is its (cluster, camera)
        if labels[i] >= 0:
            assert (p_cluster[proxy[i]], p_camera[proxy[i]]) == (labels[i], cams[i])
    # cluster 0 spans 2 cameras → 2 proxies; cluster 1 one camera → 1 proxy
    assert [int((p_cluster == y).sum()) for y in range(3)] == [2, 1, 2]
    proxy, p_cluster, p_camera = split_proxies(np.array([-1, -1]), np.array([0, 1]))
    assert proxy.tolist() == [-1, -1] and len(p_cluster) == 0 and len(p_camera) == 0
    # centroids: the mean of the normalised members, normalised
    feat = np.array([[1, 0], [0, 1], [3, 0], [0, 2], [1, 1], [5, 5], [0, 1], [1, 0]], np.float32)
    proxy, p_cluster, _ = split_proxies(labels, cams)
    cent = proxy_centroids(feat, proxy, len(p_cluster))
    assert torch.allclose(cent[0], torch.tensor([1.0, 0.0]))  # samples 0 and 2
    # proxy 3 = (cluster 1, camera 1): samples 3 and 4, i.e. (0, 1) and (1, 1)/√2
    want = torch.tensor([0.0, 1.0]) + torch.tensor([1.0, 1.0]) / math.sqrt(2)
    assert torch.allclose(cent[3], want / want.norm(), atol=1e-6)


def brute_losses(f, proxy, cams, memory, p_cluster, p_camera, tau, k):
    """The paper's formulas, one sample at a time in plain Python."""
    f = torch.nn.functional.normalize(f, dim=1)
    intra, inter, positives = {}, {}, []
    for i in range(len(f)):
        c, p = int(cams[i]), int(proxy[i])
        s = [(j, float(f[i] @ memory[j]) / tau) for j in range(len(memory))]
        own = [(j, v) for j, v in s if p_camera[j] == c]
        z = math.log(sum(math.exp(v) for _, v in own))
        intra.setdefault(c, []).append(z - dict(own)[p])
        pos = [(j, v) for j, v in s if p_cluster[j] == p_cluster[p]]
        neg = sorted([(j, v) for j, v in s if p_cluster[j] != p_cluster[p]],
                     key=lambda t: -t[1])[:k]
        zz = math.log(sum(math.exp(v) for _, v in pos + neg))
        inter.setdefault(c, []).append(-sum(v - zz for _, v in pos) / len(pos))
        positives.append(sorted(j for j, _ in pos))
    return (sum(np.mean(v) for v in intra.values()), sum(np.mean(v) for v in inter.values()),
            positives)


def test_intra_and_inter_camera_losses_match_the_formulas():
    torch.manual_seed(0)
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    cams = np.array([0, 1, 2, 0, 1, 0, 2, 1, 1, 2])
    proxy, p_cluster, p_camera = split_proxies(labels, cams)
    memory = torch.nn.functional.normalize(torch.randn(len(p_cluster), 8), dim=1)
    f = torch.randn(len(labels), 8)
    pc, pcam = torch.from_numpy(p_cluster), torch.from_numpy(p_camera)
    px, cm = torch.from_numpy(proxy), torch.from_numpy(cams)
    for k in (2, 50):
        want_intra, want_inter, positives = brute_losses(f, px, cm, memory, pc, pcam, 0.07, k)
        got_intra, per_cam = intra_camera_loss(f, px, cm, memory, pcam, 0.07)
        got_inter, info = inter_camera_loss(f, px, cm, memory, pc, 0.07, k)
        assert got_intra.item() == pytest.approx(want_intra, rel=1e-5)
        assert got_inter.item() == pytest.approx(want_inter, rel=1e-5)
        assert set(per_cam) == {0, 1, 2}
        assert info["neg"] == min(k, len(p_cluster) - 3)  # cluster 0 has 3 proxies
    # the inter-camera positives of a sample are exactly its cluster's proxies
    assert positives[0] == sorted(np.flatnonzero(p_cluster == 0).tolist())
    assert len(positives[0]) == 3 and len(positives[3]) == 2 and len(positives[7]) == 2
    # a negative outside the k hardest does not change the loss; a positive does
    k = 2
    sims = torch.nn.functional.normalize(f[:1], dim=1) @ memory.t()
    negs = [j for j in range(len(p_cluster)) if p_cluster[j] != 0]
    easiest = min(negs, key=lambda j: float(sims[0, j]))
    base, _ = inter_camera_loss(f[:1], px[:1], cm[:1], memory, pc, 0.07, k)
    moved = memory.clone()
    moved[easiest] = torch.nn.functional.normalize(moved[easiest] - 0.5 * f[0], dim=0)
    same, _ = inter_camera_loss(f[:1], px[:1], cm[:1], moved, pc, 0.07, k)
    assert same.item() == pytest.approx(base.item(), rel=1e-6)
    moved = memory.clone()
    moved[int(px[0])] = -moved[int(px[0])]
    changed, _ = inter_camera_loss(f[:1], px[:1], cm[:1], moved, pc, 0.07, k)
    assert changed.item() > base.item() + 0.1
    # gradients flow to the features only
    fg = f.clone().requires_grad_(True)
    loss = intra_camera_loss(fg, px, cm, memory, pcam, 0.07)[0] + \
        inter_camera_loss(fg, px, cm, memory, pc, 0.07, 50)[0]
    loss.backward()
    assert fg.grad is not None and fg.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- camera BN

def test_camera_batch_norm_uses_each_cameras_own_statistics():
    torch.manual_seed(0)
    bn = CameraBatchNorm(4, num_cameras=3)
    cams = torch.tensor([0] * 6 + [1] * 6 + [2])
    x = torch.randn(13, 4)
    x[cams == 1] = x[cams == 1] * 5 + 10  # camera 1: another offset and scale
    y = bn(x, cams)
    for c in (0, 1):  # each camera standardised by its own batch statistics
        assert torch.allclose(y[cams == c].mean(0), torch.zeros(4), atol=1e-5)
        assert torch.allclose(y[cams == c].var(0, unbiased=False), torch.ones(4), atol=1e-3)
    assert torch.allclose(bn.running_mean[1], 0.1 * x[cams == 1].mean(0), atol=1e-5)
    # a camera with one sample in the batch: its running statistics, not updated
    assert torch.allclose(bn.running_mean[2], torch.zeros(4))
    assert torch.allclose(y[12], x[12] / math.sqrt(1 + 1e-5), atol=1e-5)
    # evaluation: each sample through its camera's running statistics
    bn.eval()
    bn.set_camera_stats(1, x[cams == 1].mean(0), x[cams == 1].var(0))
    z = bn(x[cams == 1], cams[cams == 1])
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-5)
    plain = bn(x[cams == 1])  # no camera: the pooled statistics
    assert not torch.allclose(plain, z)
    bn.train()
    with pytest.raises(ValueError, match="camera"):
        bn(x)
    with pytest.raises(ValueError, match="0..2"):
        bn(x, torch.full((13,), 3))


# ----------------------------------------------------------------------------- runs

@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("cap") / "mars", train_ids=6, test_ids=3,
                           frames=(4, 8))


def cap_cfg(root, **kw):
    opts = {**SMALL, **kw.pop("options", {})}
    kw.setdefault("batch_size", 8)
    return make_config("test", dataset=str(root), method="cap", options=opts, **kw)


def test_two_epoch_run_with_proxies_and_both_losses(target, tmp_path):
    out = train(cap_cfg(target), tmp_path / "c")
    run = Run(out)
    assert run.status()["state"] == "finished"
    cfg = run.train_config()  # the code's sampler (P×K over proxies, K 4) and augmentation
    assert (cfg.sampler, cfg.num_instances, cfg.crop_pad, cfg.random_erase) == ("pk", 4, 4, 0.5)
    labels = run.metrics("labels")
    assert [r["epoch"] for r in labels] == [0, 1]
    for r in labels:
        for k in ("num_clusters", "num_proxies", "precision", "fscore", "same_cam_share"):
            assert k in r, k
        assert r["num_proxies"] >= r["num_clusters"] > 0
    ep = run.metrics("epoch")
    # an epoch: as many batches as the clustered tracklets fill (the code's num_batch)
    clustered = [int((np.load(out / "labels" / f"update_{e:03d}.npz")["label"] >= 0).sum())
                 for e in (0, 1)]
    assert [r["step"] for r in ep] == [clustered[0] // 8, clustered[0] // 8 + clustered[1] // 8]
    assert set(ep[0]["terms"]) == {"intra"}  # inter-camera loss from epoch inter_start = 1
    assert set(ep[1]["terms"]) == {"intra", "inter"}
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    extra = ck["model"]["_extra_state"]
    z = np.load(out / "labels" / "update_001.npz")
    proxy, p_cluster, p_camera = split_proxies(z["label"], z["camid"])
    assert torch.equal(extra["proxy_cluster"], torch.from_numpy(p_cluster))
    assert torch.equal(extra["proxy_camera"], torch.from_numpy(p_camera))
    assert extra["memory"].shape == (len(p_cluster), extra["memory"].shape[1])
    assert torch.allclose(extra["memory"].norm(dim=1), torch.ones(len(p_cluster)), atol=1e-5)
    assert extra["history"].shape[0] == 2
    assert labels[-1]["num_proxies"] == len(p_cluster)
    # evaluated, and restore rebuilds the method and embeds as it does
    assert 0.0 <= run.final_metrics()["rank1"] <= 1.0
    from reidlab.engine.restore import load_run_model

    rm = load_run_model(out)
    assert torch.equal(rm.method.proxy_cluster, extra["proxy_cluster"])
    f = rm.embed(torch.randn(3, 2, 3, 32, 16))
    assert torch.allclose(f.norm(dim=1), torch.ones(3), atol=1e-5)


def test_resume_mid_run_equals_uninterrupted(target, tmp_path):
    cfg = cap_cfg(target, epochs=3)
    per_epoch = len(Run(train(cfg, tmp_path / "count")).metrics("step")) // 3
    full, part = stop_and_resume(cfg, tmp_path, 2 * per_epoch)  # inside epoch 3
    assert_resumed_equals_full(full, part)
    assert len(Run(full).metrics("labels")) == 3


def test_no_cluster_found_is_a_logged_state(target, tmp_path):
    out = train(cap_cfg(target, epochs=1, options={"min_samples": 100}), tmp_path / "none")
    run = Run(out)
    rec = run.metrics("labels")[0]
    assert rec["num_clusters"] == 0 and rec["num_proxies"] == 0
    assert "no cluster" in rec["note"] and run.status()["state"] == "finished"
    assert run.metrics("step") == []


@pytest.mark.parametrize("bad,match", [
    ({"eps": 2.0}, "eps"), ({"temperature": 0}, "temperature"), ({"momentum": 1.0}, "momentum"),
    ({"hard_negatives": 0}, "hard_negatives"), ({"inter_start": -1}, "inter_start"),
    ({"intra_weight": 0, "inter_weight": 0}, "both 0"), ({"cam_norm": "x"}, "cam_norm"),
    ({"k1": "many"}, "k1"), ({"nope": 1}, "unknown cap options")])
def test_bad_options_are_one_line_errors_before_a_run_folder(target, tmp_path, bad, match):
    with pytest.raises(ConfigError, match=match):
        cap_cfg(target, options=bad)


def test_bad_options_on_the_command_line(target, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["train", "--preset", "test", "--method", "cap", "--dataset", str(target),
                 "--opt", "eps=3", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "eps" in err and "Traceback" not in err
    assert not out.exists()


def test_camera_bn_run_recomputes_each_cameras_test_statistics(target, tmp_path):
    from reidlab.methods.camera_bn import camera_statistics

    cfg = cap_cfg(target, camera_bn=True, sampler="pk_cam")
    out = train(cfg, tmp_path / "cbn")
    run = Run(out)
    assert run.status()["state"] == "finished"
    assert run.metrics("epoch")[-1]["camera_bn_test_clips"] > 0
    from reidlab.engine.restore import load_run_model

    rm = load_run_model(out)
    bn = rm.method.net.bnneck
    assert isinstance(bn, CameraBatchNorm)
    data = run.dataset()
    stats = camera_statistics(rm.method.net, list(data.query) + list(data.gallery), cfg)
    assert stats
    for c, (mean, var, n) in stats.items():  # the checkpoint holds the test statistics
        assert torch.allclose(bn.running_mean[c], mean, atol=1e-4)
        assert torch.allclose(bn.running_var[c], var, rtol=1e-3, atol=1e-5)
    # retrieval features: each clip through its own camera's statistics
    clips = torch.randn(2, 2, 3, 32, 16)
    a = rm.method.embed(clips, torch.tensor([0, 0]))
    b = rm.method.embed(clips, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)


# ----------------------------------------------------------------------------- kills

def kill_attempt(kill: str, data: Path, out: Path) -> int:
    """``python tests/kill_driver.py KILL -- train --method cap ...`` on ``out``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")]))
    # a resume reads the preset from the run's config.json
    preset = [] if (out / "config.json").is_file() else ["--preset", "test"]
    args = [*preset, "--method", "cap", "--dataset", str(data), "--out", str(out),
            "--batch-size", "8", "--seed", "3", *[x for k, v in SMALL.items()
                                                  for x in ("--opt", f"{k}={v}")]]
    p = subprocess.run([sys.executable, str(HERE / "kill_driver.py"), kill, "--", *args],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{kill}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.returncode


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_same_run(target, tmp_path):
    """SIGKILL after a step, inside a label-store write and inside a checkpoint write; each
    time resumed; the end equals an uninterrupted run."""
    from test_kill_resume import assert_complete_files, records

    ref = tmp_path / "ref"
    assert kill_attempt("none", target, ref) == 0
    out = tmp_path / "run"
    for kill in ("step:2", "write:update_:1", "write:checkpoint.pt:1", "step:3"):
        assert kill_attempt(kill, target, out) == -signal.SIGKILL, kill
        assert_complete_files(out)
    assert kill_attempt("none", target, out) == 0
    assert Run(out).status()["state"] == "finished"
    assert records(out) == records(ref)
    assert_same_state(torch.load(ref / "checkpoint.pt", weights_only=True)["model"],
                      torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    assert Run(out).final_metrics()["mAP"] == Run(ref).final_metrics()["mAP"]
