"""Adversarial camera losses and discriminator accuracy.

The discriminators (``reidlab.models.discriminators``) minimise these losses; the features see
them through a gradient-reversal layer, so the feature extractor maximises them (L_id − λ·L_adv).

``subset_adv_loss`` is the one loss behind every family: for each camera subset of a
``DomainLayout`` it takes only the samples whose camera lies in the subset (and only if they
come from at least two of its cameras, so the task is well posed), and scores them with
binary cross-entropy (a pair (u, v): target 1 for v) or softmax cross-entropy (m > 2 cameras).
Logits are B×w (global discriminators on f) or B×w×h×w (pixel-wise PAM discriminators, then
``weights`` B×h×w — a part mask — weight every pixel: Σ w·ℓ / Σ w).
The returned loss is the mean over the subsets that took part.

``target="uniform"`` scores the same logits against the uniform distribution over the subset's
cameras (0.5 for a pair) instead of the true camera: the bounded *confusion* loss that the
feature extractor minimises in ``adv_loss="confusion"`` mode. Its minimum (log m, or log 2) is
reached exactly when the discriminator cannot tell the cameras apart, whereas the reversed
cross-entropy of gradient reversal keeps rewarding features that make the discriminator
confidently *wrong* (unbounded), which can separate the cameras again under permuted labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from reidlab.errors import ConfigError
from reidlab.layers.domains import DomainLayout
from reidlab.layers.grl import grad_reverse


def masked_pixel_ce(logits: torch.Tensor, target: torch.Tensor,
                    weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-wise CE of logits B×N×h×w against per-sample classes B, weighted by B×h×w.

    Returns (Σ w·ℓ, Σ w·correct) — sums, so callers can pool several groups before dividing.
    """
    tgt = target.view(-1, 1, 1).expand(-1, *logits.shape[2:])
    ce = F.cross_entropy(logits, tgt, reduction="none")
    correct = (logits.argmax(1) == tgt).float()
    return (weights * ce).sum(), (weights * correct).sum()


TARGETS = ("camera", "uniform")


def _subset_terms(z: torch.Tensor, t: torch.Tensor, w: torch.Tensor | None,
                  uniform: bool = False):
    """Summed loss, summed correct and total weight of one subset's selected samples."""
    if z.shape[1] == 1:  # binary (pair): target 1 for the subset's second camera
        zz = z[:, 0]
        tgt = t.float().view(-1, *([1] * (zz.dim() - 1))).expand_as(zz)
        ell = F.binary_cross_entropy_with_logits(
            zz, torch.full_like(zz, 0.5) if uniform else tgt, reduction="none")
        correct = ((zz > 0).float() == tgt).float()
    else:
        tgt = t.view(-1, *([1] * (z.dim() - 2))).expand(-1, *z.shape[2:])
        ell = (-F.log_softmax(z, dim=1).mean(1) if uniform
               else F.cross_entropy(z, tgt, reduction="none"))
        correct = (z.argmax(1) == tgt).float()
    if w is None:
        w = torch.ones_like(ell)
    w = w.to(ell.dtype)
    return (w * ell).sum(), (w * correct).sum(), w.sum()


def subset_adv_loss(logits: list[torch.Tensor], camid: torch.Tensor, layout: DomainLayout,
                    weights: torch.Tensor | None = None, target: str = "camera"
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, accuracy) of the discriminators of ``layout`` (see module docstring).

    ``target``: "camera" (the discriminators' loss) or "uniform" (the confusion loss).

    ``logits[i]`` belongs to ``layout.subsets[i]``. Accuracy is the (weighted) fraction of
    correctly classified samples/pixels pooled over all participating subsets. With no
    participating subset the loss is a graph-connected zero and the accuracy NaN.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    losses, n_correct, n_total = [], 0.0, 0.0
    for z, subset in zip(logits, layout.subsets):
        cams = torch.as_tensor(subset, device=camid.device)
        sel = (camid.view(-1, 1) == cams.view(1, -1))
        member = sel.any(1)
        if torch.unique(camid[member]).numel() < 2:
            continue
        t = sel[member].float().argmax(1)  # position of each sample's camera in the subset
        w = None if weights is None else weights[member]
        s_loss, s_corr, s_w = _subset_terms(z[member].float(), t, w, target == "uniform")
        if float(s_w) <= 0:
            continue
        losses.append(s_loss / s_w)
        n_correct += float(s_corr)
        n_total += float(s_w)
    if not losses:
        zero = sum(z.sum() for z in logits) * 0.0
        return zero, torch.tensor(float("nan"))
    return torch.stack(losses).mean(), torch.tensor(n_correct / n_total)


def camera_ce(logits: torch.Tensor, camid: torch.Tensor) -> torch.Tensor:
    """Plain N-way camera cross-entropy (global camera classifier on f)."""
    return F.cross_entropy(logits.float(), camid)


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Top-1 accuracy of B×N logits."""
    return float((logits.argmax(1) == target).float().mean())


ADV_LOSSES = ("grl", "confusion")


def frozen_call(module: torch.nn.Module, x: torch.Tensor):
    """``module(x)`` with the module's parameters detached: gradients reach ``x`` only."""
    params = {k: v.detach() for k, v in module.named_parameters()}
    return torch.func.functional_call(module, params, (x,))


@dataclass
class AdvTerms:
    """One adversarial term: ``loss`` is what the trainer adds to the total loss."""

    loss: torch.Tensor
    disc: torch.Tensor  # the discriminators' loss (true camera targets)
    acc: torch.Tensor  # the discriminators' accuracy
    confusion: torch.Tensor | None = None  # the features' loss (confusion mode only)


def adversarial_terms(disc: torch.nn.Module, x: torch.Tensor, lam: float, mode: str,
                      score: Callable[[object, str], tuple[torch.Tensor, torch.Tensor]]
                      ) -> AdvTerms:
    """Discriminator ``disc`` on features ``x`` under an adversarial ``mode``.

    ``score(logits, target)`` returns (loss, accuracy) with target "camera" or "uniform".

    - ``grl``: one pass through a gradient-reversal layer: the discriminator minimises the
      camera loss, the features receive −λ times its gradient (L_id − λ·L_adv, as in PADAL).
    - ``confusion``: the discriminator learns on detached features; the features minimise
      λ·(cross-entropy to the uniform camera distribution) through a copy of the
      discriminator whose parameters get no gradient. Bounded: at its minimum the
      discriminator is at chance, instead of confidently wrong.
    """
    if mode == "grl":
        loss, acc = score(disc(grad_reverse(x, lam)), "camera")
        return AdvTerms(loss=loss, disc=loss, acc=acc)
    if mode == "confusion":
        l_disc, acc = score(disc(x.detach()), "camera")
        l_conf, _ = score(frozen_call(disc, x), "uniform")
        return AdvTerms(loss=l_disc + lam * l_conf, disc=l_disc, acc=acc, confusion=l_conf)
    raise ConfigError(f"unknown adv_loss {mode!r}; expected one of {list(ADV_LOSSES)}")
