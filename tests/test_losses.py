"""Per-camera ID loss and adversarial camera losses against direct computations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reidlab.losses.adversarial import masked_pixel_ce, subset_adv_loss
from reidlab.losses.id import PerCameraClassifier, per_camera_id_loss
from reidlab.layers.domains import make_layout
from reidlab.models.discriminators import SubsetDiscriminators


# ---------------------------------------------------------------- L_id
def test_per_camera_id_loss_value_and_routing():
    torch.manual_seed(0)
    head = PerCameraClassifier(6, [3, 2, 4, 5])
    f = torch.randn(7, 6, requires_grad=True)
    camid = torch.tensor([0, 2, 2, 0, 1, 2, 0])  # no sample of camera 3
    labels = torch.tensor([2, 3, 0, 1, 1, 2, 0])
    loss, acc = per_camera_id_loss(f, camid, labels, head)
    ref = torch.stack([F.cross_entropy(head.classifiers[c](f[i:i + 1]), labels[i:i + 1])
                       for i, c in enumerate(camid.tolist())]).mean()
    torch.testing.assert_close(loss, ref)
    loss.backward()
    g3 = head.classifiers[3].weight.grad
    assert g3 is None or g3.abs().sum() == 0
    for c in range(3):
        assert head.classifiers[c].weight.grad.abs().sum() > 0
    # camera 1's classifier is driven by sample 4 only: its gradient equals the one-sample CE's
    g1 = head.classifiers[1].weight.grad.clone()
    head.zero_grad()
    (F.cross_entropy(head.classifiers[1](f[4:5].detach()), labels[4:5]) / 7).backward()
    torch.testing.assert_close(head.classifiers[1].weight.grad, g1)
    pred = [int(head.classifiers[c](f[i]).argmax()) for i, c in enumerate(camid.tolist())]
    assert float(acc) == pytest.approx(sum(p == y for p, y in zip(pred, labels.tolist())) / 7)


def test_per_camera_id_loss_label_smoothing_and_bad_labels():
    head = PerCameraClassifier(4, [3, 3])
    f, camid, labels = torch.randn(4, 4), torch.tensor([0, 1, 1, 0]), torch.tensor([0, 2, 1, 1])
    loss, _ = per_camera_id_loss(f, camid, labels, head, label_smoothing=0.1)
    ref = sum(F.cross_entropy(head.classifiers[c](f[i:i + 1]), labels[i:i + 1], label_smoothing=0.1)
              for i, c in enumerate(camid.tolist())) / 4
    torch.testing.assert_close(loss, ref)
    with pytest.raises(ValueError, match="camera 1"):
        per_camera_id_loss(f, camid, torch.tensor([0, 3, 0, 0]), head)


# ---------------------------------------------------------------- adversarial
def test_multi_camera_ce_matches_cross_entropy():
    lay = make_layout("multi", 4)
    z = torch.randn(6, 4)
    camid = torch.tensor([0, 1, 3, 3, 2, 0])
    loss, acc = subset_adv_loss([z], camid, lay)
    torch.testing.assert_close(loss, F.cross_entropy(z, camid))
    assert float(acc) == pytest.approx(float((z.argmax(1) == camid).float().mean()))


def test_pairwise_bce_each_pair_sees_only_its_cameras():
    torch.manual_seed(0)
    d = SubsetDiscriminators(5, make_layout("pairwise", 4), hidden=8)
    f = torch.randn(9, 5)
    camid = torch.tensor([0, 1, 2, 3, 0, 1, 2, 0, 1])  # camera 3 once
    logits = d(f)
    for z in logits:
        z.retain_grad()
    loss, _ = subset_adv_loss(logits, camid, d.layout)
    loss.backward()
    refs = []
    for (u, v), z in zip(d.layout.subsets, logits):
        member = (camid == u) | (camid == v)
        assert z.grad[~member].abs().sum() == 0  # h_(u,v) never sees other cameras
        assert z.grad[member].abs().sum() > 0
        tgt = (camid[member] == v).float()
        refs.append(F.binary_cross_entropy_with_logits(z[member, 0], tgt))
    torch.testing.assert_close(loss, torch.stack(refs).mean())


def test_pair_without_both_cameras_is_skipped():
    lay = make_layout("pairwise", 3)
    camid = torch.tensor([0, 0, 1])  # pairs (0,2) and (1,2) have one camera only
    logits = [torch.randn(3, 1, requires_grad=True) for _ in range(3)]
    loss, _ = subset_adv_loss(logits, camid, lay)
    ref = F.binary_cross_entropy_with_logits(logits[0][:, 0], torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(loss, ref)
    loss0, acc0 = subset_adv_loss(logits, torch.tensor([2, 2, 2]), lay)
    assert float(loss0.detach()) == 0 and torch.isnan(acc0)
    loss0.backward()  # graph-connected zero


def test_mask_weighted_pixel_ce():
    torch.manual_seed(0)
    lay = make_layout("multi", 3)
    z = torch.randn(4, 3, 5, 2)
    camid = torch.tensor([2, 0, 1, 0])
    w = (torch.rand(4, 5, 2) > 0.5).float()
    loss, acc = subset_adv_loss([z], camid, lay, weights=w)
    num, den, corr = 0.0, 0.0, 0.0
    for b in range(4):
        for i in range(5):
            for j in range(2):
                ce = F.cross_entropy(z[b, :, i, j][None], camid[b:b + 1])
                num += w[b, i, j] * ce
                den += w[b, i, j]
                corr += w[b, i, j] * float(z[b, :, i, j].argmax() == camid[b])
    torch.testing.assert_close(loss, num / den)
    assert float(acc) == pytest.approx(float(corr / den))
    s_loss, s_corr = masked_pixel_ce(z, camid, w)
    torch.testing.assert_close(s_loss, num)


def test_pixel_pairwise_bce():
    lay = make_layout("pairwise", 2)
    z = torch.randn(3, 1, 2, 2)
    camid = torch.tensor([1, 0, 1])
    w = torch.ones(3, 2, 2)
    loss, _ = subset_adv_loss([z], camid, lay, weights=w)
    tgt = camid.float().view(3, 1, 1).expand(3, 2, 2)
    torch.testing.assert_close(loss, F.binary_cross_entropy_with_logits(z[:, 0], tgt))


# ---------------------------------------------------------------- confusion (uniform target)
def test_uniform_target_is_cross_entropy_to_uniform_and_minimal_at_chance():
    lay = make_layout("multi", 4)
    camid = torch.tensor([0, 1, 3, 2])
    z = torch.randn(4, 4)
    loss, acc = subset_adv_loss([z], camid, lay, target="uniform")
    ref = -(F.log_softmax(z, 1) * 0.25).sum(1).mean()
    torch.testing.assert_close(loss, ref)
    # accuracy is still measured against the true cameras
    _, acc_cam = subset_adv_loss([z], camid, lay)
    assert float(acc) == float(acc_cam)
    flat, _ = subset_adv_loss([torch.zeros(4, 4)], camid, lay, target="uniform")
    torch.testing.assert_close(flat, torch.log(torch.tensor(4.0)))
    assert float(loss) > float(flat)  # bounded below by log m, reached at chance
    # pairwise: BCE to 0.5, minimum log 2 at logit 0
    pl = make_layout("pairwise", 3)
    zp = [torch.zeros(4, 1) for _ in pl.subsets]
    lp, _ = subset_adv_loss(zp, torch.tensor([0, 1, 2, 0]), pl, target="uniform")
    torch.testing.assert_close(lp, torch.log(torch.tensor(2.0)))
    with pytest.raises(ValueError, match="target"):
        subset_adv_loss([z], camid, lay, target="wrong")


def test_confusion_mode_splits_gradients_between_discriminator_and_features():
    """confusion: the discriminator gets ∂L_disc only, the features λ·∂L_conf only."""
    from reidlab.losses.adversarial import adversarial_terms

    torch.manual_seed(0)
    disc = SubsetDiscriminators(5, make_layout("multi", 3), hidden=7)
    lay = disc.layout
    camid = torch.tensor([0, 1, 2, 1, 0, 2])
    x = torch.randn(6, 5, requires_grad=True)

    def score(logits, target):
        return subset_adv_loss(logits, camid, lay, target=target)

    t = adversarial_terms(disc, x, 0.3, "confusion", score)
    t.loss.backward()
    g_disc = [p.grad.clone() for p in disc.parameters()]
    g_x = x.grad.clone()
    disc.zero_grad()
    x.grad = None
    score(disc(x.detach()), "camera")[0].backward()  # discriminator's own loss
    for a, p in zip(g_disc, disc.parameters()):
        torch.testing.assert_close(a, p.grad)
    disc.zero_grad()
    (0.3 * score(disc(x), "uniform")[0]).backward()  # the features' loss
    torch.testing.assert_close(g_x, x.grad)
    assert t.confusion is not None and t.loss.item() == pytest.approx(
        t.disc.item() + 0.3 * t.confusion.item())
    # grl: one term, the features' gradient is −λ times the discriminator loss's
    x.grad = None
    g = adversarial_terms(disc, x, 0.3, "grl", score)
    assert g.confusion is None and g.loss is g.disc
    with pytest.raises(Exception, match="adv_loss"):
        adversarial_terms(disc, x, 0.3, "nope", score)
