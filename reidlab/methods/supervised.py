"""``supervised``: the upper bound every camera-aware method is measured against — training
with the **true cross-camera identities**, which none of the papers' settings has.

The strong baseline of re-ID (Luo et al., "Bag of tricks", the recipe torchreid and fast-reid
default to): identity cross-entropy with label smoothing on the BN feature f through one
linear classifier over all training identities, plus the batch-hard triplet loss on the GAP
feature g; P×K identity sampling. Pseudo-identities never enter: ``pid`` of every training
tracklet is the label. The leaderboard (``bench/leaderboard.py``) places every method between
this and the ImageNet-initialised model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.metric import batch_hard_triplet
from reidlab.methods.base import LeaderboardRow, Method, StepOutput, option, register
from reidlab.models.reid_net import build_net


@dataclass
class SupervisedOptions:
    label_smoothing: float = option(0.1, "label smoothing ε of the identity loss (BoT: 0.1)")
    triplet_weight: float = option(1.0, "weight of the batch-hard triplet loss (0: CE only)")
    margin: float = option(0.3, "triplet margin (BoT: 0.3)")

    def validate(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0 or self.margin < 0 or self.triplet_weight < 0:
            raise ConfigError("supervised options: expected 0 <= label_smoothing < 1, "
                              "margin >= 0, triplet_weight >= 0")


@register("supervised")
class Supervised(Method):
    Options = SupervisedOptions
    config_defaults = {"sampler": "pk", "num_instances": 4}
    # the upper bound is the cross-entropy alone: BoT's triplet (the default) falls far below
    # it on SynthCams at the quick budget (docs/methods.md, "The supervised bound on SynthCams")
    leaderboard_rows = (
        LeaderboardRow("supervised", "upper bound (true identities, CE)",
                       {"triplet_weight": 0.0}, order=10),
        LeaderboardRow("supervised_bot", "true identities, CE + batch-hard triplet (BoT)",
                       order=11),
    )

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """The tag "no triplet": the cross-entropy alone (the leaderboard's upper bound)."""
        return ["no triplet"] if float(settings.get("triplet_weight", 1) or 0) == 0 else []

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        pids = sorted({t.pid for t in self.train_tracklets})
        if len(pids) < 2:
            raise ConfigError(f"supervised: needs at least 2 training identities, found "
                              f"{len(pids)}")
        index = {p: i for i, p in enumerate(pids)}
        self.register_buffer("labels", torch.tensor([index[t.pid] for t in self.train_tracklets]),
                             persistent=False)
        self.net = build_net(cfg)
        self.classifier = nn.Linear(self.net.out_channels, len(pids), bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K over the true identities (across cameras)."""
        return self.labels.cpu().tolist()

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        out = self.net(batch["clips"])
        y = self.labels.to(out["feat"].device)[batch["index"]]
        logits = self.classifier(out["feat"])
        l_id = F.cross_entropy(logits.float(), y, label_smoothing=o.label_smoothing)
        loss, terms = l_id, {"id": float(l_id.detach())}
        metrics = {"id_acc": float((logits.argmax(1) == y).float().mean())}
        if o.triplet_weight > 0:
            l_tri, m = batch_hard_triplet(out["feat_pre"], y, margin=o.margin)
            loss = loss + o.triplet_weight * l_tri
            terms["triplet"] = float(l_tri.detach())
            metrics.update(m)
        return StepOutput(loss=loss, terms=terms, metrics=metrics)
