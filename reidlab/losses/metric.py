"""Metric losses shared by several papers: batch-hard triplet (Hermans et al. 2017; PIRID,
xmodal_adv)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def batch_hard_triplet(feat: torch.Tensor, labels: torch.Tensor, margin: float = 0.3,
                       normalize: bool = False) -> tuple[torch.Tensor, dict]:
    """Batch-hard triplet loss: for every anchor with at least one positive and one negative in
    the batch, max(0, d(a, hardest positive) − d(a, hardest negative) + margin), averaged over
    those anchors (Euclidean distance; ``normalize`` L2-normalises first). Labels < 0 are
    ignored (outliers). Returns (loss, {"trip_prec": fraction of anchors already satisfied})."""
    if normalize:
        feat = F.normalize(feat, dim=1)
    keep = labels >= 0
    feat, labels = feat[keep], labels[keep]
    if len(labels) < 2:
        return feat.sum() * 0.0, {"trip_prec": float("nan")}
    d = torch.cdist(feat.float(), feat.float())
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=feat.device)
    pos_mask, neg_mask = same & ~eye, ~same
    valid = pos_mask.any(1) & neg_mask.any(1)
    if not bool(valid.any()):
        return feat.sum() * 0.0, {"trip_prec": float("nan")}
    d_ap = torch.where(pos_mask, d, torch.full_like(d, -1.0)).max(1).values
    d_an = torch.where(neg_mask, d, torch.full_like(d, float("inf"))).min(1).values
    loss = F.relu(d_ap - d_an + margin)[valid].mean()
    return loss, {"trip_prec": float((d_an > d_ap)[valid].float().mean())}
