"""The camera-specific BN-neck's test-time step (``TrainConfig.camera_bn``; Zhuang et al.,
"Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch
Normalization", ECCV 2020): after the last epoch each camera's BN-neck statistics are
recomputed from that camera's test clips, so every camera's features are normalised by their
own statistics at the final evaluation. Shared by the methods that support ``camera_bn``
(``cap``, ``cawcl``, ``calr``) through :class:`CameraBNNeck`."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reidlab.models.reid_net import build_net


@torch.no_grad()
def camera_statistics(net, tracklets, cfg, device="cpu") -> dict[int, tuple]:
    """Mean and (unbiased) variance of the pre-BN feature GAP(X) of every evaluation clip of
    ``tracklets`` (evenly spaced frames, as features are extracted), per camera:
    ``{camera: (mean C, var C, clips)}``; cameras with fewer than 2 clips are left out."""
    from torch.utils.data import DataLoader

    from reidlab.data.loader import EvalTrackletDataset, collate_tracklets

    ds = EvalTrackletDataset(tracklets, cfg, net.input_norm)
    dl = DataLoader(ds, batch_size=8, collate_fn=collate_tracklets,
                    num_workers=int(getattr(cfg, "num_workers", 0)),
                    generator=torch.Generator().manual_seed(0))
    was = net.training
    net.eval()
    sums: dict[int, list] = {}
    try:
        for batch in dl:
            keep = batch["valid"][batch["owner"]]
            x = net(batch["clips"].to(device))["feat_pre"].double().cpu()[keep]
            cams = batch["camid"][batch["owner"]][keep]
            for c in torch.unique(cams).tolist():
                xc = x[cams == c]
                acc = sums.setdefault(int(c), [0, 0.0, 0.0])
                acc[0] += len(xc)
                acc[1] = acc[1] + xc.sum(0)
                acc[2] = acc[2] + (xc * xc).sum(0)
    finally:
        net.train(was)
    out = {}
    for c, (n, s1, s2) in sorted(sums.items()):
        if n < 2:
            continue
        mean = s1 / n
        var = ((s2 - n * mean * mean) / (n - 1)).clamp_min(0)
        out[c] = (mean.float(), var.float(), n)
    return out


def set_test_camera_statistics(net, ctx, cfg, num_cameras: int) -> dict:
    """Set each camera's BN-neck statistics of ``net`` from the query and gallery clips of
    ``ctx.data`` (the hook context of ``Method.after_epoch``); returns the epoch-record field
    ``camera_bn_test_clips`` (how many clips the statistics came from)."""
    data = ctx.data
    stats = camera_statistics(net, list(data.query) + list(data.gallery), cfg, ctx.device)
    for c, (mean, var, _) in stats.items():
        if 0 <= c < num_cameras:
            net.bnneck.set_camera_stats(c, mean, var)
    return {"camera_bn_test_clips": int(sum(n for _, _, n in stats.values()))}


class CameraBNNeck:
    """What a method with an optional camera-specific BN-neck shares (put it before
    ``Method`` in the bases; the method builds ``self.net`` with :meth:`build_camera_net`):
    retrieval and label features through each clip's camera's statistics, and those
    statistics recomputed from the test clips after the last epoch."""

    supports_camera_bn = True  # reads TrainConfig.camera_bn
    takes_camid = True  # embed_tracklets passes each clip's camera

    def build_camera_net(self, cfg, num_cameras: int):
        """Set ``self.camera_bn`` from ``cfg.camera_bn`` and return the method's network:
        with a BN-neck per camera of ``num_cameras`` when it is on, the plain one otherwise."""
        self.camera_bn = bool(getattr(cfg, "camera_bn", False))
        return build_net(cfg, num_cameras=num_cameras if self.camera_bn else 0)

    @torch.no_grad()
    def embed(self, clips: torch.Tensor, camid: torch.Tensor | None = None) -> torch.Tensor:
        """ℓ2-normalised f; with ``camera_bn`` each clip through its camera's statistics (the
        plain BN-neck ignores ``camid``)."""
        return F.normalize(self.net(clips, camid)["feat"].float(), dim=1)

    def after_epoch(self, epoch: int, ctx) -> dict | None:
        """With ``camera_bn``, after the last epoch: each camera's BN-neck statistics are
        recomputed from that camera's test clips (query and gallery), as Zhuang et al. do at
        test time, before the final evaluation."""
        if not self.camera_bn or epoch != int(self.cfg.epochs) - 1:
            return None
        return set_test_camera_statistics(self.net, ctx, self.cfg, self.num_cameras)
