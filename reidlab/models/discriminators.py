"""Camera discriminators on the embedding f: :class:`SubsetDiscriminators`, one MLP per
camera subset of a ``DomainLayout`` (``reidlab.layers.domains``; ``make_layout`` builds them):

- N-way (``padal_m``): one subset holding every camera → one N_c-way classifier.
- pairwise (``padal_a``): every pair (u, v), u < v → N_c(N_c−1)/2 binary classifiers h_(u,v).
- partial domains: n given subsets of m cameras each → n m-way classifiers.

A subset of two cameras has one output (a binary logit, target 1 for its second camera, BCE);
a larger subset has one output per camera (softmax CE). Each classifier is trained only on the
samples whose camera is in its subset (see ``reidlab.losses.adversarial.subset_adv_loss``).
"""

from __future__ import annotations

import torch
from torch import nn

from reidlab.layers.domains import DomainLayout, make_layout  # noqa: F401  (re-exported)


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2, inplace=True),
                         nn.Linear(hidden, out_dim))


class SubsetDiscriminators(nn.Module):
    """One MLP per subset of ``layout``; ``forward(f)`` returns the list of per-subset logits
    (B×1 for a pair, B×m otherwise), computed for every sample — the loss picks the relevant
    ones, so a classifier only ever learns from its own cameras."""

    def __init__(self, in_dim: int, layout: DomainLayout, hidden: int = 256):
        super().__init__()
        self.layout = layout
        self.heads = nn.ModuleList(_mlp(in_dim, hidden, layout.width(i))
                                   for i in range(len(layout.subsets)))

    def forward(self, f: torch.Tensor) -> list[torch.Tensor]:
        return [h(f) for h in self.heads]
