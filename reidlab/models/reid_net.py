"""The tracklet model shared by every method: frames → X per frame → temporal average → f.

``ReIDNet(backbone)(clips)`` with clips B×T×3×H×W (or B×3×H×W, read as T=1) returns
    ``map``         X averaged over the T frames, B×C×h×w
    ``frame_maps``  the per-frame maps, B×T×C×h×w (a view, no copy)
    ``stages``      intermediate backbone stages, each averaged over T
    ``feat_pre``    GAP(X), B×C
    ``feat``        BN-neck(feat_pre), B×C — the retrieval embedding (Euclidean distance)

``ReIDNet(backbone, num_cameras=N)`` (N > 0, ``TrainConfig.camera_bn``) makes the BN-neck
camera-specific (:class:`CameraBatchNorm`, after Zhuang et al., "Rethinking the Distribution
Gap of Person Re-identification with Camera-based Batch Normalization", ECCV 2020, applied to
the embedding only): ``forward(clips, camid)`` normalises each sample with its own camera's
statistics. The backbone's BatchNorm layers stay shared.

``build_net(cfg)`` is the network of a run's settings (``cfg.backbone``, ``pretrained``,
``last_stride``, ``freeze_stages``): every method and every page builds it so.
"""

from __future__ import annotations

import torch
from torch import nn

from reidlab.models.backbones import Backbone, build_backbone


class CameraBatchNorm(nn.Module):
    """BatchNorm over features B×C with statistics per camera and one shared affine (γ, β).

    Training: the samples of each camera in the batch are normalised with their own batch mean
    and variance, and that camera's running statistics move towards them (momentum 0.1); a
    camera with a single sample in the batch uses its running statistics. Evaluation: each
    sample with its camera's running statistics (:meth:`set_camera_stats` replaces them, e.g.
    by statistics of that camera's test data). Without camera ids: the statistics of all
    cameras pooled (also tracked), and training without them is an error. ``bias`` is frozen
    at 0 like the plain BN-neck's."""

    def __init__(self, channels: int, num_cameras: int, momentum: float = 0.1,
                 eps: float = 1e-5):
        super().__init__()
        if num_cameras < 1:
            raise ValueError(f"CameraBatchNorm: num_cameras={num_cameras}, expected >= 1")
        self.num_cameras, self.momentum, self.eps = int(num_cameras), float(momentum), eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels), requires_grad=False)
        self.register_buffer("running_mean", torch.zeros(num_cameras, channels))
        self.register_buffer("running_var", torch.ones(num_cameras, channels))
        self.register_buffer("pooled_mean", torch.zeros(channels))
        self.register_buffer("pooled_var", torch.ones(channels))

    def _affine(self, x, mean, var):
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor):
        m = self.momentum
        mean.mul_(1 - m).add_(m * x.mean(0))
        var.mul_(1 - m).add_(m * x.var(0, unbiased=True))

    def forward(self, x: torch.Tensor, camid: torch.Tensor | None = None) -> torch.Tensor:
        x32 = x.float()
        if camid is None:
            if self.training:
                raise ValueError("CameraBatchNorm in training needs the camera of every sample")
            return self._affine(x32, self.pooled_mean, self.pooled_var).to(x.dtype)
        camid = camid.to(x.device).long()
        if int(camid.min()) < 0 or int(camid.max()) >= self.num_cameras:
            raise ValueError(f"CameraBatchNorm: camera ids must be in 0..{self.num_cameras - 1}")
        if not self.training:
            return self._affine(x32, self.running_mean[camid], self.running_var[camid]
                                ).to(x.dtype)
        out = torch.empty_like(x32)
        if len(x32) > 1:
            self._track(self.pooled_mean, self.pooled_var, x32.detach())
        for c in torch.unique(camid).tolist():
            rows = camid == c
            xc = x32[rows]
            if len(xc) > 1:
                mean, var = xc.mean(0), xc.var(0, unbiased=False)
                self._track(self.running_mean[c], self.running_var[c], xc.detach())
            else:
                mean, var = self.running_mean[c], self.running_var[c]
            out[rows] = self._affine(xc, mean, var)
        return out.to(x.dtype)

    @torch.no_grad()
    def set_camera_stats(self, camera: int, mean: torch.Tensor, var: torch.Tensor) -> None:
        self.running_mean[camera] = mean.to(self.running_mean)
        self.running_var[camera] = var.to(self.running_var)


class ReIDNet(nn.Module):
    def __init__(self, backbone: Backbone, num_cameras: int = 0):
        super().__init__()
        self.backbone = backbone
        self.out_channels = backbone.out_channels
        self.stage_channels = list(backbone.stage_channels)
        self.input_norm = backbone.input_norm
        self.camera_bn = int(num_cameras) > 0
        if self.camera_bn:  # camera-specific BN-neck (TrainConfig.camera_bn)
            self.bnneck = CameraBatchNorm(backbone.out_channels, int(num_cameras))
            return
        # BN-neck (Luo et al., "Bag of tricks"): no shift, so f stays centred per dimension.
        self.bnneck = nn.BatchNorm1d(backbone.out_channels)
        self.bnneck.bias.requires_grad_(False)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)

    def forward(self, clips: torch.Tensor, camid: torch.Tensor | None = None) -> dict:
        if clips.dim() == 4:
            clips = clips.unsqueeze(1)
        if clips.dim() != 5:
            raise ValueError(f"clips must be B×T×3×H×W or B×3×H×W, got shape {tuple(clips.shape)}")
        b, t = clips.shape[:2]
        out = self.backbone(clips.flatten(0, 1))
        fm = out["map"]
        frame_maps = fm.view(b, t, *fm.shape[1:])
        x = frame_maps.mean(1)
        stages = [s.view(b, t, *s.shape[1:]).mean(1) for s in out["stages"]]
        feat_pre = x.mean((2, 3))
        feat = self.bnneck(feat_pre, camid) if self.camera_bn else self.bnneck(feat_pre)
        return {"map": x, "frame_maps": frame_maps, "stages": stages,
                "feat_pre": feat_pre, "feat": feat}


def build_net(cfg, num_cameras: int = 0, *, freeze_stages: int | None = None) -> ReIDNet:
    """The re-ID network of the settings ``cfg`` (a ``TrainConfig``, or anything with its
    ``backbone``, ``pretrained``, ``last_stride`` and ``freeze_stages``): the backbone
    (ImageNet weights when ``pretrained``; its first ``freeze_stages`` pieces frozen, or the
    given number instead) under a BN-neck, camera-specific for ``num_cameras`` > 0."""
    frozen = cfg.freeze_stages if freeze_stages is None else freeze_stages
    return ReIDNet(build_backbone(cfg.backbone, cfg.pretrained, cfg.last_stride, frozen),
                   num_cameras=num_cameras)
