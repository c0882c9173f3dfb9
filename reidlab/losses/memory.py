"""Hybrid memory and the contrastive loss over it (SpCL, Ge et al. NeurIPS'20; CAWCL's §3.5).

The memory holds one L2-normalised feature per training *instance* (a tracklet, or one clip of
a tracklet). A label update assigns every instance a cluster label or −1 (un-clustered). The
contrastive loss of a query feature q compares it with the memory's *entries*: the centroid of
every cluster (mean of its members' instance features, re-normalised) and every un-clustered
instance on its own:

    p_j = exp(q·e_j / τ) / Σ_k exp(q·e_k / τ),      L = Σ_j t_j · (−log p_j)

where the target ``t`` puts all its mass on the query's own entry (its cluster's centroid, or
its own instance slot when it is an outlier) — SpCL's loss — or, with self-paced kNN
weights (:func:`knn_weights`, CAWCL eq. 7–9), spreads part of it over the query's nearest
entries. Only the query carries a gradient; after the optimiser step the memory slots of the
batch move towards the new features: m ← μ·m + (1 − μ)·q, then re-normalised (CAWCL eq. 10,
MoCo's rule; μ = 0.2 is SpCL's published default, the paper gives no value).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class HybridMemory(nn.Module):
    """Instance features (n×D, unit norm) + labels (n, −1 = un-clustered).

    Not ``nn.Parameter``s: the memory is never optimised by gradient; its size follows the
    dataset and it is saved through the owning method's extra state."""

    def __init__(self, dim: int, temperature: float = 0.05, momentum: float = 0.2):
        super().__init__()
        self.dim = int(dim)
        self.temperature = float(temperature)
        self.momentum = float(momentum)
        self.features = torch.zeros(0, self.dim)
        self.labels = torch.zeros(0, dtype=torch.long)

    # -- state -----------------------------------------------------------------------------

    def reset(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """New instance features (normalised here) and labels (−1 = un-clustered)."""
        if features.ndim != 2 or len(features) != len(labels):
            raise ValueError(f"memory reset: features n×D and labels n expected, got "
                             f"{tuple(features.shape)} and {tuple(labels.shape)}")
        self.features = F.normalize(features.detach().float(), dim=1).cpu()
        self.labels = labels.detach().long().cpu()

    def state(self) -> dict:
        return {"features": self.features.clone(), "labels": self.labels.clone()}

    def load(self, state: dict) -> None:
        self.features = state["features"].float().cpu()
        self.labels = state["labels"].long().cpu()

    def __len__(self) -> int:
        return len(self.labels)

    # -- entries ---------------------------------------------------------------------------

    def entries(self, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(E×D unit-norm entries, n: entry index of every instance). Entries are the
        cluster centroids (cluster c → entry c) then the un-clustered instances in order."""
        feats = self.features if device is None else self.features.to(device)
        labels = self.labels if device is None else self.labels.to(device)
        num_clusters = int(labels.max().item()) + 1 if len(labels) and labels.max() >= 0 else 0
        clustered = labels >= 0
        cent = torch.zeros(num_clusters, self.dim, device=feats.device)
        if num_clusters:
            cent.index_add_(0, labels[clustered], feats[clustered])
        outliers = torch.nonzero(~clustered).flatten()
        entry = torch.empty_like(labels)
        entry[clustered] = labels[clustered]
        entry[outliers] = num_clusters + torch.arange(len(outliers), device=feats.device)
        table = torch.cat([F.normalize(cent, dim=1), feats[outliers]])
        return table, entry

    # -- loss and update -------------------------------------------------------------------

    def loss(self, q: torch.Tensor, slots: torch.Tensor, knn_k: int = 0
             ) -> tuple[torch.Tensor, dict]:
        """Contrastive loss of queries ``q`` (B×D, any norm) whose instances are ``slots`` (B).

        ``knn_k > 0`` turns on the self-paced kNN weights of :func:`knn_weights`."""
        q = F.normalize(q.float(), dim=1)
        table, entry = self.entries(q.device)
        pos = entry[slots.to(q.device)]
        logits = q @ table.t() / self.temperature
        logp = F.log_softmax(logits, dim=1)
        if knn_k > 0:
            with torch.no_grad():
                target = knn_weights(q.detach(), table, pos, knn_k)
            loss = -(target * logp).sum(1).mean()
            extra = {"knn_mass": float((1 - target.gather(1, pos[:, None])).mean())}
        else:
            loss = F.nll_loss(logp, pos)
            extra = {}
        acc = float((logits.argmax(1) == pos).float().mean())
        return loss, {"mem_acc": acc, **extra}

    @torch.no_grad()
    def update(self, q: torch.Tensor, slots: torch.Tensor) -> None:
        """m ← μ·m + (1 − μ)·q for each (query, slot), in batch order, then re-normalised."""
        momentum_update(self.features, slots, q, self.momentum)


@torch.no_grad()
def momentum_update(memory: torch.Tensor, rows: torch.Tensor, feat: torch.Tensor,
                    keep: float) -> None:
    """The memory update every memory method shares (SpCL, CAWCL eq. 10, PIRID eq. 1, CALR):
    ``memory[r] ← keep·memory[r] + (1 − keep)·f`` for each (row, feature) in batch order (a row
    met twice moves twice), then re-normalised; ``feat`` is ℓ2-normalised first and ``memory``
    (CPU) is changed in place. ``keep`` is the weight of the old value."""
    feat = F.normalize(feat.detach().float().cpu(), dim=1)
    for x, r in zip(feat, rows.cpu().tolist()):
        v = keep * memory[r] + (1.0 - keep) * x
        memory[r] = v / v.norm().clamp_min(1e-12)


def knn_weights(q: torch.Tensor, table: torch.Tensor, pos: torch.Tensor, k: int) -> torch.Tensor:
    """Self-paced soft targets (CAWCL eq. 9 with γ from the k nearest neighbours), B×E rows
    summing to 1.

    The query's own entry has weight 1. Every other entry j among the query's k nearest
    entries (Euclidean distance d of unit vectors) gets w_j = max(1 − d_j / γ, 0), where γ is
    the distance to the k-th nearest entry — the paper sets γ "based on the maximum distance
    between an example and its k-nearest neighbour", so close pseudo-negatives (likely false
    negatives) count as partial positives. All other entries get 0. The paper writes
    w = max(1 − l/γ, 0) with l the pair's loss term; we use the feature distance d, the
    quantity γ is measured in (documented in docs/methods.md)."""
    d = torch.cdist(q, table).clamp_min(0)  # B×E
    k = int(min(max(k, 1), table.shape[0]))
    dk, idx = torch.topk(d, k, dim=1, largest=False)
    gamma = dk[:, -1:].clamp_min(1e-6)
    w = torch.zeros_like(d)
    w.scatter_(1, idx, (1.0 - dk / gamma).clamp_min(0))
    w.scatter_(1, pos[:, None], 1.0)
    return w / w.sum(1, keepdim=True)
