"""PCB-style horizontal part pooling (Sun et al., "Beyond Part Models"), used by xmodal.

``pcb_pool(X, P)`` averages the map X (B×C×h×w) over P horizontal stripes → B×P×C (stripe 0 on
top; adaptive pooling, so h need not be a multiple of P). ``PCBHead`` adds, per part, a 1×1
reduction (Linear + BN + ReLU) and a classifier.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pcb_pool(x: torch.Tensor, parts: int) -> torch.Tensor:
    """B×C×h×w → B×P×C, average over P horizontal stripes."""
    return F.adaptive_avg_pool2d(x, (parts, 1)).squeeze(-1).transpose(1, 2)


class PCBHead(nn.Module):
    """Per-part reduction and classifier. ``forward(X)`` → (part features B×P×D, logits list)."""

    def __init__(self, in_channels: int, parts: int, num_classes: int, reduce_dim: int = 256):
        super().__init__()
        self.parts = parts
        self.reduce = nn.ModuleList(
            nn.Sequential(nn.Linear(in_channels, reduce_dim), nn.BatchNorm1d(reduce_dim),
                          nn.ReLU(inplace=True)) for _ in range(parts))
        self.classifiers = nn.ModuleList(nn.Linear(reduce_dim, num_classes) for _ in range(parts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        pooled = pcb_pool(x, self.parts)
        feats = [r(pooled[:, p]) for p, r in enumerate(self.reduce)]
        logits = [c(f) for c, f in zip(self.classifiers, feats)]
        return torch.stack(feats, 1), logits
