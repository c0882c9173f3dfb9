"""PADAL: per-camera ID learning + multi-camera adversarial alignment (+ part-aware PAM).

| method      | L_id | global discriminator on f          | PAM part discriminators on X    |
|-------------|------|------------------------------------|---------------------------------|
| padal_id    | yes  | —                                  | —                               |
| padal_m     | yes  | one N_c-way (or cfg.partial_domains)| —                               |
| padal_a     | yes  | N_c(N_c−1)/2 pairwise h_(u,v)       | —                               |
| padal_mp    | yes  | one N_c-way (or partial domains)   | K parts, N_c-way per pixel      |
| padal_ap    | yes  | pairwise                           | K parts, one logit per pair     |

Total loss L = L_id + L_adv with the adversarial inputs behind a gradient-reversal layer of
weight λ: the discriminators minimise L_adv while the features receive −λ·∂L_adv, i.e. the
feature extractor minimises L_id − λ·L_adv (``adv_loss="grl"``, the paper's form). For mp/ap,
L_adv = L_adv^global + L_adv^part (part loss: mean over parts of the mask-weighted pixel-wise
camera loss). ``adv_loss="confusion"`` keeps the discriminators' loss but lets the features
minimise λ·L_conf, the cross-entropy of the (parameter-frozen) discriminators to the uniform
camera distribution — bounded, so the features aim at a discriminator at chance rather than one
that is confidently wrong (see docs/methods.md, "Why global alignment did not help").

Config fields used: backbone, pretrained, last_stride, seed, epochs; the method's own options
are :class:`PadalOptions` (lam, adv_loss, lam_schedule, K, parts, partial_domains,
fragment_rate, label_smoothing, disc_hidden, disc_lr_mult, pam_hidden, kmeans_iters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.adversarial import ADV_LOSSES, adversarial_terms, subset_adv_loss
from reidlab.losses.id import PerCameraClassifier, per_camera_id_loss
from reidlab.methods.base import LeaderboardRow, Method, StepOutput, option, register
from reidlab.methods.padal_labels import camera_local_labels, fragment_tracklets
from reidlab.models.discriminators import SubsetDiscriminators, make_layout
from reidlab.models.pam import PartAdversary
from reidlab.models.reid_net import build_net


def camera_groups(text: str) -> list[list[int]]:
    """``"1,2,3;4,5,6"`` (1-based cameras, ';' between discriminators) → [[0,1,2],[3,4,5]]."""
    try:
        groups = [[int(c) - 1 for c in part.split(",") if c.strip()]
                  for part in text.split(";") if part.strip()]
    except ValueError:
        groups = []
    if not groups or any(len(g) < 2 or min(g) < 0 for g in groups):
        raise ValueError(f"expected camera groups like '1,2,3;4,5,6' (1-based, >= 2 cameras "
                         f"each), got {text!r}")
    return groups


@dataclass
class PadalOptions:
    """PADAL's options (``cfg.options``; CLI ``--K``, ``--lam``, …)."""

    lam: float = option(0.1, "adversarial weight λ (gradient-reversal coefficient)")
    adv_loss: str = option("grl", "grl: reversed camera cross-entropy (the paper); confusion: "
                         "cross-entropy to the uniform camera distribution", ADV_LOSSES)
    lam_schedule: str = option("constant", "constant, or dann: λ·(2/(1+exp(−10p))−1), "
                             "p = epoch/epochs", ("constant", "dann"))
    K: int = option(3, "number of PAM parts (padal_mp / padal_ap)")
    parts: str = option("kmeans", "PAM part masks: kmeans of the feature map, or strict stripes",
                      ("kmeans", "strict"))
    partial_domains: list[list[int]] | None = option(
        None, "partial-domain study (padal_m/padal_mp): one discriminator per camera group; "
        "on the command line 1-based, e.g. '1,2,3;4,5,6'; stored 0-based",
        parse=lambda text: camera_groups(text))
    fragment_rate: float = option(0.0, "ID-fragment study: fraction of tracklets split in two")
    label_smoothing: float = option(0.0, "label smoothing of the per-camera ID loss")
    disc_hidden: int = option(256, "hidden width of the global camera discriminators")
    disc_lr_mult: float = option(1.0, "discriminators learn at lr × this")
    pam_hidden: int = option(64, "channels of the PAM part discriminators")
    kmeans_iters: int = option(5, "Lloyd iterations of the PAM part clustering")

    def validate(self) -> None:
        if self.K < 1:
            raise ConfigError(f"padal option K={self.K}: expected >= 1 parts")


def lam_at(cfg, epoch: int) -> float:
    """λ for ``epoch`` (0-based) under ``cfg.lam_schedule`` (default constant)."""
    lam = float(cfg.lam)
    sched = cfg.lam_schedule
    if sched == "constant":
        return lam
    if sched == "dann":
        p = min(max(epoch / max(int(cfg.epochs), 1), 0.0), 1.0)
        return lam * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
    raise ConfigError(f"unknown lam_schedule {sched!r}; expected constant|dann")


@register("padal_id")
class PadalID(Method):
    """Per-camera ID classifiers on f over camera-local pseudo IDs (the baseline)."""

    Options = PadalOptions
    adv_kind: str | None = None  # "multi" | "pairwise"
    use_pam: bool = False
    leaderboard_rows = (LeaderboardRow("padal_id", "camera-local IDs", order=20),)

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """Strict part masks (PAM methods), the confusion loss and the DANN λ ramp (methods
        that align cameras with a weight λ)."""
        o = settings
        tags = [("strict", cls.uses_parts and o.get("parts") == "strict"),
                ("confusion", cls.uses_lam and o.get("adv_loss") == "confusion"),
                ("dann", cls.uses_lam and o.get("lam_schedule") == "dann")]
        return [tag for tag, on in tags if on]

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        o = self.opts
        self.train_tracklets, self.fragment_plan = fragment_tracklets(
            list(train), float(o.fragment_rate), int(cfg.seed))
        labels, counts = camera_local_labels(self.train_tracklets, num_cameras, self.fragment_plan)
        self.classes_per_camera = counts
        self.register_buffer("local_labels", torch.as_tensor(labels), persistent=False)
        self.net = build_net(cfg)
        dim = self.net.out_channels
        self.id_head = PerCameraClassifier(dim, counts)
        self.disc = self.pam = None
        if self.adv_kind is not None:
            cams = sorted({t.camid for t in train})
            if len(cams) < 2:  # the discriminators would learn a single class
                raise ConfigError(f"{self.name}: camera alignment needs training tracklets "
                                  f"from at least 2 cameras; found {len(cams)} (camids {cams})"
                                  " — use padal_id")
            self.layout = self._layout(cfg, num_cameras)
            hidden = int(o.disc_hidden)
            self.disc = SubsetDiscriminators(dim, self.layout, hidden)
        if self.use_pam:
            self.pam = PartAdversary(dim, int(o.K), self.layout, o.parts, int(o.pam_hidden),
                                     int(o.kmeans_iters))

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K groups: the camera-local pseudo IDs (fragment halves are groups of their own)."""
        offset = np.concatenate([[0], np.cumsum(self.classes_per_camera)])
        labels = self.local_labels.cpu().numpy()
        return [int(offset[t.camid] + labels[i]) for i, t in enumerate(self.train_tracklets)]

    def param_groups(self) -> list[dict]:
        """Discriminators (global and PAM) learn at lr × cfg.disc_lr_mult (one group when 1)."""
        if float(self.opts.disc_lr_mult) == 1.0:
            return super().param_groups()
        adv = [p for m in (self.disc, self.pam) if m is not None for p in m.parameters()]
        taken = {id(p) for p in adv}
        groups = [{"params": [p for p in self.parameters() if id(p) not in taken]}]
        if adv:
            groups.append({"params": adv, "lr_mult": float(self.opts.disc_lr_mult)})
        return groups

    def _layout(self, cfg, num_cameras: int):
        domains = self.opts.partial_domains
        if self.adv_kind == "pairwise":
            if domains:
                raise ConfigError(f"{self.name}: partial_domains applies to padal_m / padal_mp; "
                                  "pairwise discriminators already align every camera pair")
            return make_layout("pairwise", num_cameras)
        return make_layout("partial", num_cameras, domains) if domains else \
            make_layout("multi", num_cameras)

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        camid = batch["camid"]
        out = self.net(batch["clips"])
        labels = self.local_labels.to(camid.device)[batch["index"]]
        l_id, id_acc = per_camera_id_loss(out["feat"], camid, labels, self.id_head,
                                          float(self.opts.label_smoothing))
        loss, terms, metrics = l_id, {"id": float(l_id.detach())}, {"id_acc": float(id_acc)}
        if self.disc is not None:
            lam = lam_at(self.cfg, epoch)
            mode = self.opts.adv_loss
            glob = adversarial_terms(
                self.disc, out["feat"], lam, mode,
                lambda logits, target: subset_adv_loss(logits, camid, self.layout,
                                                       target=target))
            metrics.update(disc_acc=float(glob.acc), lam=lam)
            parts = [("global", glob)]
            if self.pam is not None:
                part = self.pam(out["map"], camid, lam, mode)
                metrics["disc_acc_part"] = float(part.acc)
                parts.append(("part", part))
            for key, t in parts:
                if len(parts) > 1:
                    terms[f"adv_{key}"] = float(t.disc.detach())
                if t.confusion is not None:
                    terms[f"conf_{key}" if len(parts) > 1 else "conf"] = float(
                        t.confusion.detach())
            terms["adv"] = float(sum(t.disc.detach() for _, t in parts))
            loss = loss + sum(t.loss for _, t in parts)
        return StepOutput(loss=loss, terms=terms, metrics=metrics)


@register("padal_m")
class PadalM(PadalID):
    """One N_c-way camera discriminator on f (memory-efficient alignment)."""

    adv_kind = "multi"
    adversarial = True
    uses_lam = True
    leaderboard_rows = (LeaderboardRow("padal_m", "camera-local IDs + GRL alignment", order=21),)


@register("padal_a")
class PadalA(PadalID):
    """One binary discriminator per camera pair (accuracy-guaranteed alignment)."""

    adv_kind = "pairwise"
    adversarial = True
    uses_lam = True


@register("padal_mp")
class PadalMP(PadalID):
    """padal_m + PAM (cfg.parts "kmeans" or "strict", cfg.K parts)."""

    adv_kind = "multi"
    use_pam = True
    adversarial = True
    uses_lam = True
    uses_parts = True
    leaderboard_rows = (
        LeaderboardRow("padal_mp", "camera-local IDs + GRL alignment + parts", {"K": 3},
                       order=22),
        LeaderboardRow("padal_mp_conf", "camera-local IDs + confusion alignment + parts",
                       {"K": 3, "adv_loss": "confusion"}, order=23),
    )


@register("padal_ap")
class PadalAP(PadalID):
    """padal_a + PAM with one pixel-wise logit per camera pair."""

    adv_kind = "pairwise"
    use_pam = True
    adversarial = True
    uses_lam = True
    uses_parts = True
