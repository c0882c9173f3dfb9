"""Camera discriminators on the embedding f.

All discriminator families share one description, a :class:`DomainLayout`: a list of camera
subsets, each with its own classifier over the cameras of that subset.

- N-way (``padal_m``): one subset holding every camera → one N_c-way classifier.
- pairwise (``padal_a``): every pair (u, v), u < v → N_c(N_c−1)/2 binary classifiers h_(u,v).
- partial domains: n given subsets of m cameras each → n m-way classifiers.

A subset of two cameras has one output (a binary logit, target 1 for its second camera, BCE);
a larger subset has one output per camera (softmax CE). Each classifier is trained only on the
samples whose camera is in its subset (see ``reidlab.losses.adversarial.subset_adv_loss``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import torch
from torch import nn

from reidlab.errors import ConfigError


@dataclass(frozen=True)
class DomainLayout:
    """Camera subsets of a discriminator family; channel ranges of their outputs."""

    subsets: tuple[tuple[int, ...], ...]
    num_cameras: int

    def width(self, i: int) -> int:
        """Number of outputs of subset ``i`` (1 for a pair, else its size)."""
        m = len(self.subsets[i])
        return 1 if m == 2 else m

    @property
    def offsets(self) -> list[int]:
        out, acc = [], 0
        for i in range(len(self.subsets)):
            out.append(acc)
            acc += self.width(i)
        return out

    @property
    def total_width(self) -> int:
        return sum(self.width(i) for i in range(len(self.subsets)))


def make_layout(kind: str, num_cameras: int, partial_domains=None) -> DomainLayout:
    """``kind`` is "multi" (one N_c-way subset), "pairwise" (all pairs) or "partial"."""
    if num_cameras < 2:
        raise ConfigError(f"camera alignment needs at least 2 cameras, got {num_cameras}")
    if kind == "multi":
        subsets = [tuple(range(num_cameras))]
    elif kind == "pairwise":
        subsets = list(combinations(range(num_cameras), 2))
    elif kind == "partial":
        if not partial_domains:
            raise ConfigError("partial_domains: expected a non-empty list of camera lists")
        subsets = []
        for dom in partial_domains:
            d = tuple(int(c) for c in dom)
            if len(set(d)) != len(d) or len(d) < 2 or min(d) < 0 or max(d) >= num_cameras:
                raise ConfigError(f"partial_domains: each domain must list >= 2 distinct cameras "
                                  f"in 0..{num_cameras - 1}, got {list(dom)}")
            subsets.append(d)
    else:
        raise ConfigError(f"unknown discriminator layout {kind!r}; expected multi|pairwise|partial")
    return DomainLayout(tuple(subsets), num_cameras)


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


class CameraDiscriminator(SubsetDiscriminators):
    """One N_c-way camera classifier on f (``padal_m``)."""

    def __init__(self, in_dim: int, num_cameras: int, hidden: int = 256):
        super().__init__(in_dim, make_layout("multi", num_cameras), hidden)


class PairwiseDiscriminators(SubsetDiscriminators):
    """One binary discriminator h_(u,v) per camera pair, N_c(N_c−1)/2 of them (``padal_a``)."""

    def __init__(self, in_dim: int, num_cameras: int, hidden: int = 256):
        super().__init__(in_dim, make_layout("pairwise", num_cameras), hidden)

    @property
    def pairs(self) -> tuple[tuple[int, ...], ...]:
        return self.layout.subsets


class PartialDomainDiscriminators(SubsetDiscriminators):
    """n discriminators, each over a given subset of m cameras (partial-domain study)."""

    def __init__(self, in_dim: int, num_cameras: int, domains, hidden: int = 256):
        super().__init__(in_dim, make_layout("partial", num_cameras, domains), hidden)
