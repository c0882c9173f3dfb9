"""Per-camera ID loss L_id (PADAL): camera-local pseudo IDs, one linear classifier per camera.

A tracklet's pseudo ID means something only inside its camera, so camera i has its own
classifier g_i over its local IDs, and a sample goes only through the classifier of its
camera. L_id is the cross-entropy averaged over all samples of the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PerCameraClassifier(nn.Module):
    """``classifiers[c]`` is g_c: Linear(in_dim → classes_per_camera[c]) without bias."""

    def __init__(self, in_dim: int, classes_per_camera: list[int]):
        super().__init__()
        self.classes_per_camera = list(classes_per_camera)
        self.classifiers = nn.ModuleList(nn.Linear(in_dim, max(int(n), 1), bias=False)
                                         for n in classes_per_camera)
        for g in self.classifiers:
            nn.init.normal_(g.weight, std=0.001)

    def forward(self, f: torch.Tensor, camid: torch.Tensor
                ) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """{camera c: (indices of the batch samples of camera c, their logits under g_c)}."""
        out = {}
        for c in torch.unique(camid).tolist():
            idx = (camid == c).nonzero(as_tuple=True)[0]
            out[c] = (idx, self.classifiers[c](f[idx]))
        return out


def per_camera_id_loss(f: torch.Tensor, camid: torch.Tensor, labels: torch.Tensor,
                       head: PerCameraClassifier, label_smoothing: float = 0.0
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_id, accuracy): CE of each sample under its own camera's classifier, mean over samples.

    ``labels`` are camera-local (0 .. classes_per_camera[camid]−1).
    """
    total = f.new_zeros(())
    correct = 0
    for c, (idx, logits) in head(f, camid).items():
        y = labels[idx]
        if int(y.max()) >= logits.shape[1] or int(y.min()) < 0:
            raise ValueError(f"camera {c}: local labels must lie in 0..{logits.shape[1] - 1}, "
                             f"got {int(y.min())}..{int(y.max())}")
        total = total + F.cross_entropy(logits.float(), y, reduction="sum",
                                        label_smoothing=label_smoothing)
        correct += int((logits.argmax(1) == y).sum())
    n = max(int(camid.numel()), 1)
    return total / n, torch.tensor(correct / n)
