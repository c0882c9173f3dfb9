"""Camera-classifier losses of CAWCL (Mekhazni et al., §3.4) for adversarial camera alignment.

A camera classifier θ_c on the (gradient-reversed) features minimises one of these losses; the
features receive −δ·∂L, i.e. the encoder maximises it:

* ``ce`` (eq. 3): cross-entropy of the true camera.
* ``clc`` (eq. 4), the camera-level confusion loss

      L_CLC = (1/K²) · [Σ_i log softmax(c_i)_{y_i}] · [Σ_i log softmax(1 − c_i)_{y_i}]

  for a batch of K samples with classifier outputs c_i and cameras y_i. Both sums are ≤ 0,
  so L_CLC ≥ 0; the classifier makes it small by being *sure*, right (first factor → 0) or
  wrong (second factor → 0: the true camera gets the lowest score); the encoder, through the
  reversal, drives both factors away from 0 — towards a classifier that can neither confirm
  nor exclude any camera, the paper's "maximise the conditional entropy H(C | g(τ))".
  Caveat (measured on SynthCams, docs/methods.md): a classifier that ranks the true camera
  *last* by a margin Δ has L_CLC ≈ Δ(N−1)e^−Δ → 0 and the reversed gradient vanishes with
  it, although its argmin still names the camera.
* ``uniform`` (not in the paper; PADAL's bounded confusion objective, reidlab's fix): the
  classifier learns the true camera on detached features, the features minimise the
  cross-entropy of a parameter-frozen copy to the uniform camera distribution (minimum at
  chance, no confidently-wrong escape). See ``reidlab.losses.adversarial.adversarial_terms``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reidlab.losses.adversarial import camera_ce  # noqa: F401  (eq. 3)

CAMERA_LOSSES = ("clc", "ce", "uniform", "none")


def camera_clc(logits: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """Eq. 4, the camera-level confusion loss (see the module docstring)."""
    c = logits.float()
    a = F.log_softmax(c, dim=1).gather(1, cams[:, None]).mean()
    b = F.log_softmax(1.0 - c, dim=1).gather(1, cams[:, None]).mean()
    return a * b


def camera_loss(kind: str, logits: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """The classifier's loss ``ce`` or ``clc`` (used behind a gradient-reversal layer)."""
    if kind == "ce":
        return camera_ce(logits, cams)
    if kind == "clc":
        return camera_clc(logits, cams)
    raise ValueError(f"camera loss: expected ce or clc, got {kind!r}")


def uniform_confusion(head: torch.nn.Module, f: torch.Tensor, cams: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``uniform``: (classifier CE on detached f, features' CE to uniform through a frozen
    copy, classifier logits) — their sum is the loss to add."""
    from reidlab.losses.adversarial import frozen_call

    logits = head(f.detach())
    l_cls = camera_ce(logits, cams)
    l_conf = -F.log_softmax(frozen_call(head, f).float(), dim=1).mean(1).mean()
    return l_cls, l_conf, logits
