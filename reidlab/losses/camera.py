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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CAMERA_LOSSES = ("clc", "ce", "none")


def camera_ce(logits: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """Eq. 3: mean cross-entropy of the true cameras."""
    return F.cross_entropy(logits.float(), cams)


def camera_clc(logits: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """Eq. 4, the camera-level confusion loss (see the module docstring)."""
    c = logits.float()
    a = F.log_softmax(c, dim=1).gather(1, cams[:, None]).mean()
    b = F.log_softmax(1.0 - c, dim=1).gather(1, cams[:, None]).mean()
    return a * b


def camera_loss(kind: str, logits: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    if kind == "ce":
        return camera_ce(logits, cams)
    if kind == "clc":
        return camera_clc(logits, cams)
    raise ValueError(f"camera loss: expected one of {CAMERA_LOSSES[:2]}, got {kind!r}")
