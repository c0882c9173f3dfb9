"""The camera subsets of a discriminator family, :class:`DomainLayout`, shared by the
discriminators (``reidlab.models``) and their losses (``reidlab.losses.adversarial``).

- N-way (``multi``): one subset holding every camera → one N_c-way classifier.
- pairwise: every pair (u, v), u < v → N_c(N_c−1)/2 binary classifiers h_(u,v).
- partial domains: n given subsets of m cameras each → n m-way classifiers.

A subset of two cameras has one output (a binary logit, target 1 for its second camera); a
larger subset has one output per camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

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
