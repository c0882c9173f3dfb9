"""``xmodal_adv``: domain-adversarial infrared ↔ colour re-ID (the fifth paper,
``../shared/papers/003_f1e3b38c182b0f4a.txt``: "Domain Adversarial Training for Infrared-colour
Person Re-ID").

The model (the paper's Fig. 2):

- **Two streams, shared from a stage on.** Infrared and colour images go through their own copy
  of the backbone's first stages and share the rest; the paper shares "only the final residual
  module" (``share_from=4``, the default) and leaves the earlier stages open: ``share_from=1``
  is one shared network, 2 or 3 share more.
- **Stripes (PCB).** The final map is cut into ``stripes`` (3) horizontal stripes, each average
  pooled and embedded by its own fully-connected layer to a ``part_dim`` (512) part feature f_i
  with its own identity classifier W_i and cross-entropy; the test descriptor is their
  concatenation f = [f_1 … f_n]. The batch-hard triplet loss is on f.
- **The adversarial block.** A modality classifier D_j (colour 0 / infrared 1, one logit) on
  the average-pooled output g_j of each residual stage j in ``adv_stages`` (the paper's
  "shallow": 1,2,3,4; its worse variant "deep": 4; the baseline: none). Per sample, the loss is
  weighted by w = (1 + e^−H) / Σ_batch (1 + e^−H), H the entropy of the identity distribution
  (softmax of the stripes' averaged logits): confident samples count more
  (``entropy_weights``; without them w = 1/M).
- **Training (eq. 1).** L = Σ_i CE(f_i) + L_tri − λ Σ_j L_adv(g_j, w). As in the paper the
  domain classifier and the feature extractor are trained **alternately** (``adv_mode=
  alternate``): in one phase the classifiers minimise the weighted modality cross-entropy on
  the (detached) stage features, in the other the extractor minimises identity losses minus
  the classifiers' loss with the classifiers held fixed; ``alternate_every`` = ``epoch`` (the
  paper: 35 + 35 of 70 epochs) or ``step``. The paper's objective maximises an unbounded
  cross-entropy (PADAL's GRL objective, which we found unstable on SynthCams); ``adv_loss=
  confusion`` instead moves D's prediction towards 1/2 (bounded). ``adv_mode=grl`` trains both
  at every step through a gradient-reversal layer (not in the paper; offered).
- **Optimiser.** The paper's SGD (momentum) uses lr 0.01 for the new layers and the classifiers
  and 0.001 for the pretrained backbone: the trainer's optimiser (Adam) keeps that 10 : 1 ratio
  with ``head_lr_mult`` (10 × the run's lr). The paper's 288×144 inputs, flips and random erasing
  are the ``paper`` preset's business (``--height 288 --width 144``).

Identity labels are the true pids (a supervised cross-modality method); batches are P×K over
the identities, whose K images mix both modalities as the data has them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reidlab.data.tracklets import INFRARED, Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.metric import batch_hard_triplet
from reidlab.methods.base import Method, StepOutput, is_off, option, register
from reidlab.models.backbones import build_backbone
from reidlab.models.grl import grad_reverse


@dataclass
class XModalOptions:
    stripes: int = option(3, "horizontal stripes of the final map, one part feature each "
                          "(the paper: 3)")
    part_dim: int = option(512, "dimension of each part feature (the paper: 512)")
    share_from: int = option(4, "first backbone stage shared by both modalities (4: only the "
                             "last, the paper; 1: one network)", choices=(1, 2, 3, 4))
    adv_stages: str = option("1,2,3,4", "stages whose pooled output a modality classifier "
                             "sees: 1,2,3,4 (the paper's 'shallow'), 4 ('deep'), none "
                             "(the baseline)")
    entropy_weights: bool = option(True, "weight each sample's adversarial loss by "
                                   "(1 + e^-H) / Σ(1 + e^-H), H the entropy of its identity "
                                   "prediction")
    adv_weight: float = option(1.0, "λ of the adversarial term (eq. 1 has 1)")
    adv_mode: str = option("alternate", "alternate (the paper: classifiers and extractor in "
                           "turn) or grl (both at every step, gradient reversal)",
                           choices=("alternate", "grl"))
    alternate_every: str = option("epoch", "the alternation period: epoch (the paper) or step",
                                  choices=("epoch", "step"))
    adv_loss: str = option("maximise", "the extractor's adversarial objective: maximise the "
                           "classifiers' cross-entropy (the paper, unbounded) or confusion "
                           "(towards 1/2, bounded)", choices=("maximise", "confusion"))
    triplet_weight: float = option(1.0, "weight of the batch-hard triplet loss on f")
    margin: float = option(0.3, "triplet margin")
    modality_hidden: int = option(256, "hidden width of each modality classifier (0: linear)")
    head_lr_mult: float = option(10.0, "learning-rate multiplier of the stripes, identity and "
                                 "modality classifiers over the backbone (the paper: 0.01 vs "
                                 "0.001)")

    def stages(self) -> list[int]:
        s = self.adv_stages.strip().lower()
        if s in ("", "none"):
            return []
        try:
            out = sorted({int(x) for x in s.split(",") if x.strip()})
        except ValueError:
            out = [0]
        if not out or any(j not in (1, 2, 3, 4) for j in out):
            raise ConfigError(f"xmodal_adv: adv_stages={self.adv_stages!r}; expected stages "
                              "among 1,2,3,4 (e.g. '1,2,3,4', '4') or 'none'")
        return out

    def validate(self) -> None:
        self.stages()
        if self.stripes < 1 or self.part_dim < 1 or self.modality_hidden < 0:
            raise ConfigError("xmodal_adv options: expected stripes >= 1, part_dim >= 1, "
                              "modality_hidden >= 0")
        if self.adv_weight < 0 or self.triplet_weight < 0 or self.margin < 0 \
                or self.head_lr_mult <= 0:
            raise ConfigError("xmodal_adv options: expected adv_weight, triplet_weight, margin "
                              ">= 0 and head_lr_mult > 0")


class TwoStreamNet(nn.Module):
    """The backbone as four pieces (``Backbone.pieces``); pieces before ``share_from`` are
    copied for the infrared stream. ``forward(clips, modality)`` → the pooled output g_j of
    each stage (temporal mean over a clip's frames) and the final map."""

    def __init__(self, backbone, share_from: int):
        super().__init__()
        self.backbone = backbone  # keeps input_norm, channel counts, pretrained_loaded
        self.input_norm = backbone.input_norm
        self.out_channels = backbone.out_channels
        self.stage_channels = [*backbone.stage_channels, backbone.out_channels]
        pieces = backbone.pieces()
        k = share_from - 1
        self.colour = nn.ModuleList(pieces[:k])
        self.infrared = nn.ModuleList(copy.deepcopy(p) for p in pieces[:k])
        self.shared = nn.ModuleList(pieces[k:])

    def forward(self, clips: torch.Tensor, modality: torch.Tensor | None = None) -> dict:
        if clips.dim() == 4:
            clips = clips.unsqueeze(1)
        b, t = clips.shape[:2]
        x = clips.flatten(0, 1)
        pooled = []
        if len(self.colour):
            ir = (torch.zeros(b, dtype=torch.bool, device=x.device) if modality is None
                  else (modality.to(x.device) == INFRARED))
            ir = ir.repeat_interleave(t)
            outs = []
            for stream, keep in ((self.colour, ~ir), (self.infrared, ir)):
                y, stage_outs = x[keep], []
                for piece in stream:
                    y = piece(y)
                    stage_outs.append(y)
                outs.append((keep, stage_outs))
            # merge the two streams back into batch order, stage by stage
            for j in range(len(self.colour)):
                ref = next(o[1][j] for o in outs if o[1][j].shape[0]) if x.shape[0] else None
                merged = x.new_zeros((x.shape[0], *ref.shape[1:]))
                for keep, stage_outs in outs:
                    if stage_outs[j].shape[0]:
                        merged[keep] = stage_outs[j]
                pooled.append(merged)
            x = pooled[-1]
        for piece in self.shared:
            x = piece(x)
            pooled.append(x)
        g = [s.mean((2, 3)).view(b, t, -1).mean(1) for s in pooled]
        fmap = x.view(b, t, *x.shape[1:]).mean(1)
        return {"g": g, "map": fmap}


def entropy_weights(logits: torch.Tensor) -> torch.Tensor:
    """w = (1 + e^−H) / Σ_batch (1 + e^−H), H = −Σ p log p of softmax(``logits``) (eq. 3–4).
    Detached: the weights steer the adversarial loss, they are not learnt through."""
    with torch.no_grad():
        logp = F.log_softmax(logits.float(), dim=1)
        h = -(logp.exp() * logp).sum(1)
        v = 1.0 + torch.exp(-h)
        return v / v.sum()


@register("xmodal_adv")
class XModalAdv(Method):
    Options = XModalOptions
    # an image method (SYSU-MM01, RegDB): one frame per clip, not four copies of one image
    config_defaults = {"sampler": "pk", "num_instances": 4, "frames_per_clip": 1}
    adversarial = True
    takes_modality = True  # embed_tracklets passes each clip's modality (the two streams)

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """The paper's Table 2 rows (baseline, the adversarial stages, no entropy weights), no
        triplet, another number of stripes."""
        o = settings
        stages = str(o.get("adv_stages", "1,2,3,4"))
        tags = ["no triplet" if float(o.get("triplet_weight", 1) or 0) == 0 else "",
                {"none": "baseline", "1,2,3,4": ""}.get(stages, f"stages {stages}"),
                "no weights" if is_off(o.get("entropy_weights")) else "",
                f"{o['stripes']} stripes" if int(o.get("stripes", 3)) != 3 else ""]
        return [t for t in tags if t]

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        o = self.opts
        pids = sorted({t.pid for t in self.train_tracklets})
        if len(pids) < 2:
            raise ConfigError(f"xmodal_adv: needs at least 2 training identities, found "
                              f"{len(pids)}")
        mods = {t.modality for t in self.train_tracklets}
        if o.stages() and len(mods) < 2:
            raise ConfigError("xmodal_adv: the adversarial loss needs training images of both "
                              "modalities (colour and infrared); this dataset has only "
                              f"{'infrared' if INFRARED in mods else 'colour'} (use a "
                              "cross-modality dataset such as sysumm01 or regdb, or "
                              "adv_stages=none)")
        index = {p: i for i, p in enumerate(pids)}
        self.register_buffer("labels", torch.tensor([index[t.pid] for t in self.train_tracklets]),
                             persistent=False)
        self.net = TwoStreamNet(build_backbone(cfg.backbone, cfg.pretrained, cfg.last_stride,
                                               cfg.freeze_stages),
                                o.share_from)
        c = self.net.out_channels
        self.embedders = nn.ModuleList(nn.Linear(c, o.part_dim) for _ in range(o.stripes))
        self.classifiers = nn.ModuleList(nn.Linear(o.part_dim, len(pids))
                                         for _ in range(o.stripes))
        chans = self.net.stage_channels
        self.discs = nn.ModuleDict({
            str(j): (nn.Sequential(nn.Linear(chans[j - 1], o.modality_hidden), nn.ReLU(inplace=True),
                                   nn.Linear(o.modality_hidden, 1)) if o.modality_hidden
                     else nn.Linear(chans[j - 1], 1)) for j in o.stages()})

    # -- model -----------------------------------------------------------------------------

    def sampler_groups(self, epoch: int) -> list[int]:
        return self.labels.cpu().tolist()

    def parts(self, fmap: torch.Tensor) -> list[torch.Tensor]:
        """Part features f_i of the ``stripes`` horizontal stripes of the map."""
        n = self.opts.stripes
        h = fmap.shape[2]
        edges = [round(i * h / n) for i in range(n + 1)]
        out = []
        for i, emb in enumerate(self.embedders):
            lo, hi = edges[i], max(edges[i + 1], edges[i] + 1)
            out.append(emb(fmap[:, :, lo:hi].mean((2, 3))))
        return out

    def embed(self, clips: torch.Tensor, modality: torch.Tensor | None = None) -> torch.Tensor:
        """f = [f_1 … f_n], each image through its modality's stream."""
        return torch.cat(self.parts(self.net(clips, modality)["map"]), dim=1)

    def param_groups(self) -> list[dict]:
        head = [*self.embedders.parameters(), *self.classifiers.parameters(),
                *self.discs.parameters()]
        ids = {id(p) for p in head}
        backbone = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [{"params": backbone},
                {"params": [p for p in head if p.requires_grad],
                 "lr_mult": self.opts.head_lr_mult}]

    # -- training --------------------------------------------------------------------------

    def phase(self, epoch: int, step: int) -> str:
        """``disc`` (train the modality classifiers) or ``extractor`` in alternate mode."""
        o = self.opts
        if o.adv_mode != "alternate" or not self.discs:
            return "both"
        k = epoch if o.alternate_every == "epoch" else step
        return "extractor" if k % 2 == 0 else "disc"

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        phase = self.phase(epoch, self._steps)
        self._steps += 1
        m = (batch["modality"] == INFRARED).float().to(batch["clips"].device)
        y = self.labels.to(batch["clips"].device)[batch["index"]]
        if phase == "disc":  # the classifiers learn on fixed features
            with torch.no_grad():
                out = self.net(batch["clips"], batch["modality"])
                logits = torch.stack([c(f) for c, f in
                                      zip(self.classifiers, self.parts(out["map"]))]).mean(0)
            w = self._weights(logits)
            l_adv, acc = self._adv(out["g"], m, w, detach=True)
            return StepOutput(loss=o.adv_weight * l_adv,
                              terms={"adv": float(l_adv.detach())},
                              metrics={"disc_acc": acc, "phase_disc": 1.0})
        out = self.net(batch["clips"], batch["modality"])
        f = self.parts(out["map"])
        part_logits = [c(fi) for c, fi in zip(self.classifiers, f)]
        l_ce = sum(F.cross_entropy(lg.float(), y) for lg in part_logits)
        loss = l_ce
        terms = {"ce": float(l_ce.detach())}
        mean_logits = torch.stack(part_logits).mean(0)
        metrics = {"id_acc": float((mean_logits.argmax(1) == y).float().mean())}
        if o.triplet_weight > 0:
            l_tri, mt = batch_hard_triplet(torch.cat(f, 1), y, margin=o.margin)
            loss = loss + o.triplet_weight * l_tri
            terms["triplet"] = float(l_tri.detach())
            metrics.update(mt)
        if self.discs:
            w = self._weights(mean_logits)
            if phase == "both":  # GRL: the classifiers minimise, the features maximise
                l_adv, acc = self._adv([grad_reverse(g, 1.0) for g in out["g"]], m, w)
                loss = loss + o.adv_weight * l_adv
            else:  # extractor phase: the classifiers are held fixed
                l_adv, acc = self._adv(out["g"], m, w, frozen=True)
                if o.adv_loss == "confusion":
                    l_conf = self._confusion(out["g"], w)
                    loss = loss + o.adv_weight * l_conf
                    terms["conf"] = float(l_conf.detach())
                else:
                    loss = loss - o.adv_weight * l_adv  # eq. 1
            terms["adv"] = float(l_adv.detach())
            metrics["disc_acc"] = acc
            metrics["phase_disc"] = 0.0
        return StepOutput(loss=loss, terms=terms, metrics=metrics)

    _steps = 0  # the run's optimiser steps so far (the step alternation)

    def on_epoch_start(self, epoch: int, ctx) -> None:
        self._steps = int(ctx.step)  # restored by --resume, so the alternation is too

    def _weights(self, logits: torch.Tensor) -> torch.Tensor:
        if self.opts.entropy_weights:
            return entropy_weights(logits)
        return torch.full((logits.shape[0],), 1.0 / logits.shape[0], device=logits.device)

    def _disc(self, j: int, g: torch.Tensor, frozen: bool) -> torch.Tensor:
        d = self.discs[str(j)]
        if not frozen:
            return d(g).squeeze(1)
        # the classifier's current weights, without gradients into them
        params = {k: v.detach() for k, v in d.named_parameters()}
        return torch.func.functional_call(d, params, (g,)).squeeze(1)

    def _adv(self, gs, m, w, detach: bool = False, frozen: bool = False):
        """Σ_j Σ_batch w · BCE(D_j(g_j), m) (eq. 5) and the classifiers' mean accuracy."""
        total, accs = 0.0, []
        for j in self.opts.stages():
            g = gs[j - 1].detach() if detach else gs[j - 1]
            z = self._disc(j, g.float(), frozen)
            total = total + (w * F.binary_cross_entropy_with_logits(z, m, reduction="none")).sum()
            accs.append(float(((z > 0).float() == m).float().mean()))
        return total, sum(accs) / max(len(accs), 1)

    def _confusion(self, gs, w):
        """Σ_j Σ_batch w · BCE(D_j(g_j), 1/2): the features move D towards not knowing."""
        total = 0.0
        for j in self.opts.stages():
            z = self._disc(j, gs[j - 1].float(), frozen=True)
            total = total + (w * F.binary_cross_entropy_with_logits(
                z, torch.full_like(z, 0.5), reduction="none")).sum()
        return total
