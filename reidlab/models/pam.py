"""Part-aware Adaptation Module (PAM): part masks and pixel-wise part discriminators.

Part masks (no gradient): the h·w spatial feature vectors of a map X (B×C×h×w) are clustered
per map by K-means (k-means++ init with a fixed seed, so a map always gets the same masks;
``iters`` Lloyd iterations; vectors L2-normalised, i.e. spherical K-means, so clusters follow
what a location looks like rather than its activation strength). Each cluster is a hard
(one-hot) mask; masks are ORDERED by the y coordinate of their centroid (mean row of their
pixels), top → bottom, so mask 0 is the head region. An empty cluster is an all-zero mask placed
last. ``strict`` masks are K uniform horizontal stripes (row r belongs to stripe
⌊(r + ½)·K / h⌋).

Part discriminators: K fully-convolutional discriminators D_k (3×3 convs, LeakyReLU 0.2) on
GRL(X) (or, in confusion mode, on X with the bounded uniform-target loss for the features),
each giving per-pixel camera logits laid out by a ``DomainLayout`` (N_c channels for one N-way
subset, one channel per pair for pairwise). The K discriminators are independent
networks, run together as grouped convolutions. The loss of part k is the pixel-wise camera
loss weighted by mask k; L_adv^part is the mean over the parts that took part (an
empty mask contributes nothing).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reidlab.errors import ConfigError
from reidlab.layers.domains import DomainLayout
from reidlab.losses.adversarial import AdvTerms, adversarial_terms, subset_adv_loss

PART_KINDS = ("kmeans", "strict")


def strict_masks(b: int, h: int, w: int, K: int, device=None) -> torch.Tensor:
    """K uniform horizontal stripes, B×K×h×w one-hot (stripe 0 on top)."""
    rows = ((torch.arange(h, device=device, dtype=torch.float32) + 0.5) * K / h).floor().long()
    m = F.one_hot(rows.clamp(max=K - 1), K).T.float()  # K×h
    return m[None, :, :, None].expand(b, K, h, w).contiguous()


def _kmeanspp_init(v: torch.Tensor, K: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++ centres B×K×C for vectors v (B×N×C), batched; uniform draws from ``gen``."""
    b, n, _ = v.shape
    ar = torch.arange(b, device=v.device)
    u = torch.rand(b, K, generator=gen).to(v.device)
    first = (u[:, 0] * n).long().clamp(max=n - 1)
    centres = [v[ar, first]]
    d2 = ((v - centres[0][:, None]) ** 2).sum(-1)  # B×N
    for k in range(1, K):
        total = d2.sum(1, keepdim=True)
        # all points identical to chosen centres: fall back to uniform probabilities
        p = torch.where(total > 1e-12, d2 / total.clamp_min(1e-12), torch.full_like(d2, 1.0 / n))
        cdf = p.cumsum(1)
        idx = torch.searchsorted(cdf, (u[:, k:k + 1] * cdf[:, -1:]).contiguous()).squeeze(1)
        c = v[ar, idx.clamp(max=n - 1)]
        centres.append(c)
        d2 = torch.minimum(d2, ((v - c[:, None]) ** 2).sum(-1))
    return torch.stack(centres, 1)


@torch.no_grad()
def kmeans_masks(x: torch.Tensor, K: int, iters: int = 5, seed: int = 0,
                 normalize: bool = True) -> torch.Tensor:
    """Hard part masks B×K×h×w from maps x (B×C×h×w) by batched K-means, ordered by height."""
    with torch.autocast(device_type=x.device.type, enabled=False):  # fp32 K-means under AMP
        return _kmeans_masks(x.detach().float(), K, iters, seed, normalize)


def _kmeans_masks(x: torch.Tensor, K: int, iters: int, seed: int, normalize: bool) -> torch.Tensor:
    b, c, h, w = x.shape
    v = x.flatten(2).transpose(1, 2)  # B×N×C
    if normalize:
        v = F.normalize(v, dim=-1)
    gen = torch.Generator().manual_seed(seed)
    centres = _kmeanspp_init(v, K, gen)
    for _ in range(iters + 1):
        assign = torch.cdist(v, centres).argmin(-1)  # B×N
        onehot = F.one_hot(assign, K).float()  # B×N×K
        counts = onehot.sum(1)  # B×K
        sums = onehot.transpose(1, 2) @ v  # B×K×C
        # empty cluster: keep its previous centre
        centres = torch.where(counts[..., None] > 0, sums / counts.clamp_min(1)[..., None], centres)
    ys = torch.arange(h, device=x.device, dtype=torch.float32).repeat_interleave(w)  # N
    cy = (onehot * ys[None, :, None]).sum(1) / counts.clamp_min(1)
    cy = torch.where(counts > 0, cy, torch.full_like(cy, float("inf")))
    order = cy.argsort(dim=1, stable=True)  # B×K, top → bottom, empty last
    masks = onehot.gather(2, order[:, None, :].expand(b, h * w, K))
    return masks.transpose(1, 2).reshape(b, K, h, w)


def compute_masks(x: torch.Tensor, K: int, parts: str = "kmeans", **kw) -> torch.Tensor:
    """Masks B×K×h×w for maps x by ``parts`` = "kmeans" | "strict"."""
    if K < 1:
        raise ConfigError(f"K (number of parts) must be >= 1, got {K}")
    if parts == "kmeans":
        return kmeans_masks(x, K, **kw)
    if parts == "strict":
        b, _, h, w = x.shape
        return strict_masks(b, h, w, K, device=x.device)
    raise ConfigError(f"unknown parts {parts!r}; expected one of {list(PART_KINDS)}")


@torch.no_grad()
def part_masks(net_or_method, frames: torch.Tensor, K: int, parts: str = "kmeans") -> torch.Tensor:
    """The K part masks the PAM uses for ``frames`` (B×3×H×W, normalised), B×K×h×w.

    ``net_or_method``: a ``ReIDNet`` or a method holding one as ``.net``. Runs in eval mode and
    restores the previous mode.
    """
    net = getattr(net_or_method, "net", net_or_method)
    was_training = net.training
    net.eval()
    try:
        x = net(frames)["map"]
    finally:
        net.train(was_training)
    return compute_masks(x, K, parts)


class PartDiscriminators(nn.Module):
    """K independent fully-convolutional discriminators (3×3 convs, LeakyReLU 0.2).

    ``forward(x)`` → logits B×K×W×h×w with W = ``layout.total_width``.
    """

    def __init__(self, in_channels: int, K: int, layout: DomainLayout, hidden: int = 64):
        super().__init__()
        self.K, self.layout = K, layout
        out = layout.total_width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, K * hidden, 3, padding=1),  # K first layers side by side
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(K * hidden, K * hidden, 3, padding=1, groups=K),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(K * hidden, K * out, 3, padding=1, groups=K),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return y.view(y.shape[0], self.K, -1, *y.shape[2:])


class PartAdversary(nn.Module):
    """PAM head: masks on X (no grad), part discriminators on X, mask-weighted adversarial loss."""

    def __init__(self, in_channels: int, K: int, layout: DomainLayout, parts: str = "kmeans",
                 hidden: int = 64, kmeans_iters: int = 5):
        super().__init__()
        if parts not in PART_KINDS:
            raise ConfigError(f"unknown parts {parts!r}; expected one of {list(PART_KINDS)}")
        self.K, self.parts, self.layout, self.kmeans_iters = K, parts, layout, kmeans_iters
        self.disc = PartDiscriminators(in_channels, K, layout, hidden)

    def forward(self, x: torch.Tensor, camid: torch.Tensor, lam: float, mode: str = "grl"
                ) -> AdvTerms:
        """Adversarial terms (L_adv^part, pixel accuracy, …) for maps x (B×C×h×w) of cameras
        camid; ``mode`` "grl" or "confusion" as in ``adversarial_terms``."""
        kw = {"iters": self.kmeans_iters} if self.parts == "kmeans" else {}
        masks = compute_masks(x, self.K, self.parts, **kw)
        offs, lay = self.layout.offsets, self.layout

        def score(logits: torch.Tensor, target: str):  # logits B×K×W×h×w
            losses, accs = [], []
            for k in range(self.K):
                per_subset = [logits[:, k, o:o + lay.width(i)] for i, o in enumerate(offs)]
                loss_k, acc_k = subset_adv_loss(per_subset, camid, lay, weights=masks[:, k],
                                                target=target)
                if not torch.isnan(acc_k):  # part k took part (non-empty mask, >= 2 cameras)
                    losses.append(loss_k)
                    accs.append(acc_k)
            if not losses:
                return logits.sum() * 0.0, torch.tensor(float("nan"))
            return torch.stack(losses).mean(), torch.stack(accs).mean()

        return adversarial_terms(self.disc, x, lam, mode, score)
