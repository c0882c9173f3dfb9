"""PADAL methods: pseudo labels, fragment rate, build_method, and short training runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from reidlab.data.tracklets import Tracklet
from reidlab.engine.config import make_config
from reidlab.errors import ConfigError
from reidlab.losses.adversarial import subset_adv_loss
from reidlab.methods import METHODS, build_method
from reidlab.methods.padal import lam_at
from reidlab.methods.padal_labels import camera_local_labels, fragment_tracklets
from reidlab.models.pam import part_masks

PADAL = ["padal_id", "padal_m", "padal_a", "padal_mp", "padal_ap"]


def _train(n=18, cams=3, frames=6):
    """Tracklet i: pid i // 2, camera i % cams, ``frames`` fake frame paths."""
    return [Tracklet(tuple(Path(f"t{i}_{j}.jpg") for j in range(frames)), pid=i // 2,
                     camid=i % cams, tid=i) for i in range(n)]


def test_camera_local_labels_share_pid_only_within_a_camera():
    train = [Tracklet((Path("a"),), pid=p, camid=c, tid=k)
             for k, (p, c) in enumerate([(7, 0), (3, 0), (7, 0), (7, 1), (5, 1), (3, 2)])]
    labels, counts = camera_local_labels(train, 3)
    assert counts == [2, 2, 1]
    assert labels.tolist() == [1, 0, 1, 1, 0, 0]  # pid order within each camera
    with pytest.raises(ConfigError, match="camera 3"):
        camera_local_labels(train + [Tracklet((Path("b"),), 1, 3, 9)], 3)


def test_fragment_rate_splits_tracklets_in_two():
    train = _train(n=20, frames=7) + [Tracklet((Path("single"),), pid=99, camid=0, tid=99)]
    out, plan = fragment_tracklets(train, 0.5, seed=3)
    assert len(plan.split) == 10 and len(out) == 31  # 20 eligible (>= 2 frames) → 10 split
    assert 20 not in plan.split  # the one-frame tracklet cannot be split
    labels, counts = camera_local_labels(out, 3, plan)
    base, base_counts = camera_local_labels(train, 3)
    for j, i in plan.second.items():
        s = plan.split[i]
        assert s == 3 and out[i].frames + out[j].frames == train[i].frames
        assert (out[j].pid, out[j].camid) == (train[i].pid, train[i].camid)
        assert labels[i] == base[i]  # first half keeps its label
        # the second half gets a label of its own that no other tracklet of its camera has
        same_cam = [k for k, t in enumerate(out) if t.camid == out[j].camid and k != j]
        assert labels[j] >= base_counts[out[j].camid]
        assert labels[j] not in {labels[k] for k in same_cam}
    untouched = [i for i in range(len(train)) if i not in plan.split]
    assert all(out[i] is train[i] and labels[i] == base[i] for i in untouched)
    assert sum(counts) == sum(base_counts) + 10
    again, plan2 = fragment_tracklets(train, 0.5, seed=3)
    assert plan2.split == plan.split and again == out
    assert fragment_tracklets(train, 0.5, seed=4)[1].split != plan.split
    assert fragment_tracklets(train, 0.0)[0] == train
    with pytest.raises(ConfigError):
        fragment_tracklets(train, 1.5)


def test_method_exposes_fragmented_training_list():
    cfg = make_config("test", method="padal_id", fragment_rate=0.5)
    m = build_method(cfg, _train(), 3)
    assert len(m.train_tracklets) == 18 + 9
    assert m.local_labels.numel() == len(m.train_tracklets)
    assert m.id_head.classes_per_camera == m.classes_per_camera
    for c in range(3):
        idx = [i for i, t in enumerate(m.train_tracklets) if t.camid == c]
        assert int(m.local_labels[idx].max()) == m.classes_per_camera[c] - 1


def test_build_method_registry_and_errors():
    assert set(PADAL) <= set(METHODS)
    with pytest.raises(ConfigError, match="padal_id"):
        build_method(make_config("test", method="nope"), _train(), 3)
    with pytest.raises(ConfigError, match="partial_domains"):
        build_method(make_config("test", method="padal_a", partial_domains=[[0, 1]]), _train(), 3)
    with pytest.raises(ConfigError, match="parts"):
        build_method(make_config("test", method="padal_mp", parts="blobs"), _train(), 3)


def test_partial_domains_layout_in_method():
    cfg = make_config("test", method="padal_m", partial_domains=[[0, 1], [1, 2]])
    m = build_method(cfg, _train(), 3)
    assert m.layout.subsets == ((0, 1), (1, 2)) and len(m.disc.heads) == 2
    m3 = build_method(make_config("test", method="padal_a"), _train(n=24, cams=4), 4)
    assert len(m3.disc.heads) == 6


def test_unknown_adversarial_settings_fail_when_the_method_is_built():
    for bad in (dict(adv_loss="wasserstein"), dict(lam_schedule="cosine")):
        with pytest.raises(ConfigError, match="adv_loss|lam_schedule"):
            build_method(make_config("test", method="padal_m", **bad), _train(), 3)


def test_lam_schedule():
    cfg = make_config("test", lam=0.4, epochs=10)
    assert lam_at(cfg, 5) == 0.4
    cfg = make_config("test", lam=0.4, epochs=10, lam_schedule="dann")
    assert lam_at(cfg, 0) == 0.0
    assert lam_at(cfg, 5) == pytest.approx(0.4 * (2 / (1 + math.exp(-5)) - 1))


def _batch(train, idx, gen):
    idx = torch.as_tensor(idx)
    return {"clips": torch.randn(len(idx), 2, 3, 32, 16, generator=gen),
            "camid": torch.tensor([train[i].camid for i in idx]),
            "pid": torch.tensor([train[i].pid for i in idx]), "index": idx}


@pytest.mark.parametrize("name,parts,adv_loss", [
    ("padal_id", "kmeans", "grl"), ("padal_m", "kmeans", "grl"), ("padal_a", "kmeans", "grl"),
    ("padal_mp", "kmeans", "grl"), ("padal_mp", "strict", "grl"), ("padal_ap", "kmeans", "grl"),
    ("padal_m", "kmeans", "confusion"), ("padal_ap", "strict", "confusion")])
def test_training_steps(name, parts, adv_loss):
    torch.manual_seed(0)
    train = _train()
    cfg = make_config("test", method=name, K=2, parts=parts, lam=0.1, adv_loss=adv_loss)
    m = build_method(cfg, train, 3)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    batch = _batch(train, range(12), torch.Generator().manual_seed(1))
    ids = []
    for _ in range(8):
        out = m.training_step(batch, epoch=0)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        ids.append(out.terms["id"])
        assert all(math.isfinite(v) for v in out.terms.values())
    assert ids[-1] < ids[0]
    if name == "padal_id":
        assert set(out.terms) == {"id"} and "disc_acc" not in out.metrics
    else:
        assert {"id", "adv"} <= set(out.terms) and 0.0 <= out.metrics["disc_acc"] <= 1.0
        total = out.terms["id"] + out.terms["adv"]
        if adv_loss == "confusion":  # + λ·L_conf, one confusion term per discriminator family
            total += 0.1 * sum(v for k, v in out.terms.items() if k.startswith("conf"))
            assert ("conf_part" in out.terms) == (name in ("padal_mp", "padal_ap"))
        assert out.loss.item() == pytest.approx(total, rel=1e-5)
    if name in ("padal_mp", "padal_ap"):
        assert out.terms["adv"] == pytest.approx(out.terms["adv_global"] + out.terms["adv_part"])
        assert 0.0 <= out.metrics["disc_acc_part"] <= 1.0
        masks = part_masks(m, batch["clips"][:3, 0], K=2, parts=parts)
        assert masks.shape == (3, 2, 4, 2)
    m.eval()
    assert m.embed(batch["clips"][:2]).shape == (2, m.net.out_channels)


def test_discriminator_learns_camera_when_lam_is_zero():
    """With λ = 0 the GRL passes no gradient to the features; the camera discriminator alone
    must learn to tell cameras apart when the inputs carry a camera signal."""
    torch.manual_seed(0)
    train = _train()
    m = build_method(make_config("test", method="padal_m", lam=0.0), train, 3)
    gen = torch.Generator().manual_seed(2)
    batch = _batch(train, range(18), gen)
    batch["clips"] += batch["camid"].view(-1, 1, 1, 1, 1).float() * 1.5  # camera brightness
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        out = m.training_step(batch, 0)
        first = first or out.terms["adv"]
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert out.metrics["disc_acc"] == 1.0 and out.terms["adv"] < 0.3 < first


def test_grl_reverses_adversarial_gradient_on_features():
    torch.manual_seed(0)
    train = _train()
    cfgs = {lam: make_config("test", method="padal_m", lam=lam) for lam in (0.0, 0.5)}
    grads = {}
    for lam, cfg in cfgs.items():
        torch.manual_seed(0)
        m = build_method(cfg, train, 3)
        batch = _batch(train, range(12), torch.Generator().manual_seed(1))
        out = m.training_step(batch, 0)
        out.loss.backward()
        w = m.net.backbone.convs[0][0].weight
        grads[lam] = w.grad.clone()
        # gradient of the adversarial term alone, without GRL
        m.zero_grad()
        feat = m.net(batch["clips"])["feat"]
        subset_adv_loss(m.disc(feat), batch["camid"], m.layout)[0].backward()
        grads[(lam, "adv")] = w.grad.clone()
    # total(λ) − total(0) = −λ · ∂L_adv/∂w
    torch.testing.assert_close(grads[0.5] - grads[0.0], -0.5 * grads[(0.5, "adv")],
                               rtol=1e-4, atol=1e-6)


def test_discriminators_get_their_own_learning_rate(tmp_path):
    """``disc_lr_mult`` puts every discriminator parameter (global and PAM) in a faster group."""
    from tiny_mars import write_tiny_mars

    from reidlab.engine.trainer import Trainer

    data = write_tiny_mars(tmp_path / "d", train_ids=3, test_ids=3)
    cfg = make_config("test", dataset=str(data), method="padal_mp", disc_lr_mult=10.0, epochs=0)
    tr = Trainer(cfg, tmp_path / "run")
    tr._prepare_store()
    tr._setup()
    base, fast = tr.optimizer.param_groups
    assert base["lr"] == pytest.approx(cfg.lr) and fast["lr"] == pytest.approx(10 * cfg.lr)
    m = tr.method
    adv = {id(p) for mod in (m.disc, m.pam) for p in mod.parameters()}
    assert {id(p) for p in fast["params"]} == adv
    assert not adv & {id(p) for p in base["params"]}
    assert len(base["params"]) + len(fast["params"]) == len(list(m.parameters()))
