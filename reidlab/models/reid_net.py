"""The tracklet model shared by every method: frames → X per frame → temporal average → f.

``ReIDNet(backbone)(clips)`` with clips B×T×3×H×W (or B×3×H×W, read as T=1) returns
    ``map``         X averaged over the T frames, B×C×h×w
    ``frame_maps``  the per-frame maps, B×T×C×h×w (a view, no copy)
    ``stages``      intermediate backbone stages, each averaged over T
    ``feat_pre``    GAP(X), B×C
    ``feat``        BN-neck(feat_pre), B×C — the retrieval embedding (Euclidean distance)
"""

from __future__ import annotations

import torch
from torch import nn

from reidlab.models.backbones import Backbone


class ReIDNet(nn.Module):
    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone
        self.out_channels = backbone.out_channels
        self.stage_channels = list(backbone.stage_channels)
        self.input_norm = backbone.input_norm
        # BN-neck (Luo et al., "Bag of tricks"): no shift, so f stays centred per dimension.
        self.bnneck = nn.BatchNorm1d(backbone.out_channels)
        self.bnneck.bias.requires_grad_(False)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)

    def forward(self, clips: torch.Tensor) -> dict:
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
        return {"map": x, "frame_maps": frame_maps, "stages": stages,
                "feat_pre": feat_pre, "feat": self.bnneck(feat_pre)}
