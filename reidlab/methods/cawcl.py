"""CAWCL: camera alignment and weighted contrastive learning (Mekhazni, Dufau et al., 2023;
``../shared/papers/001_360f72fd98c79d07.txt``), for video re-ID without target labels — fully
unsupervised, or with a labelled source dataset (unsupervised domain adaptation, UDA).

Total loss (eq. 1):  L = δ1·L_CE + δ2·L_cam + δ3·L_contr,  δ = (1, 0.2, 1) as in the paper.

* L_CE (eq. 2): identity cross-entropy of the *source* tracklets (UDA only).
* L_cam (eq. 3 / 4): a camera classifier θ_c (MLP) on the target features behind a
  gradient-reversal layer, trained by camera cross-entropy (``cam_loss="ce"``) or by the
  camera-level confusion loss (``"clc"``, ``reidlab.losses.camera``); ``"none"`` drops it.
  Target cameras only (the paper found source cameras did not help).
* L_contr (eq. 5–10): before every epoch of the adaptation stage the trainer embeds every
  target *clip instance* and this module clusters them — DBSCAN on the k-reciprocal Jaccard
  distance (``reidlab.cluster``); the clips cut from one tracklet are strong positive pairs
  (their distance is set to 0, the paper's contribution 2). The hybrid memory
  (``reidlab.losses.memory``) is reset with those features: cluster centroids + un-clustered
  instances; the contrastive loss of each target clip against it, with the kNN self-paced
  weights (``weighting="knn"``) or SpCL's plain target (``"none"``); momentum updates after
  each step.
* Clips (§3.1, §4.1): each tracklet is cut into N successive equal segments (N = 2, the
  paper's best, ``clips_per_tracklet``), each clip draws one frame from each of 4 equal chunks
  of its segment (``clip_mode="segments"``, ``frames_per_clip=4``); every clip is an instance.
* Stages: with a source and ``pretrain_epochs > 0``, a supervised ``pretrain`` stage on the
  source (the paper's lower bound, "sup. S only") comes first, then ``adapt`` (fresh Adam).

Hyper-parameters the paper does not give take SpCL's published defaults: k1 = 30, k2 = 6,
eps = 0.6, min_samples = 4, memory momentum μ = 0.2, temperature τ = 0.05; the k of the kNN
weights is ours (5). Adam 3e-4 and batch 24 of the paper are the method's config defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reidlab.cluster.debias import DebiasOptions, debias_kwargs, update_stats
from reidlab.data.tracklets import SOURCE, TARGET, Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.camera import CAMERA_LOSSES, camera_loss, uniform_confusion
from reidlab.losses.memory import HybridMemory
from reidlab.methods.base import (LabelFeatures, LabelUpdate, LeaderboardRow, Method, Stage,
                                  StepOutput, changed_option_tags, is_off, option, register,
                                  stack_history, unstack_history)
from reidlab.methods.camera_bn import CameraBNNeck
from reidlab.models.grl import grad_reverse


@dataclass
class CAWCLOptions(DebiasOptions):
    cam_loss: str = option("clc", "camera classifier loss: clc (eq. 4), ce (eq. 3), uniform "
                           "(not in the paper: bounded confusion, PADAL's fix) or none",
                           CAMERA_LOSSES)
    contrastive: bool = option(True, "the clustering + hybrid-memory contrastive loss L_contr")
    weighting: str = option("knn", "self-paced kNN weights of L_contr (knn) or SpCL's plain "
                          "target (none)", ("knn", "none"))
    knn_k: int = option(5, "k of the kNN weights: γ = distance to the k-th nearest memory entry "
                      "(the paper gives none)")
    id_weight: float = option(1.0, "δ1, weight of the source identity loss (UDA)")
    cam_weight: float = option(0.2, "δ2, weight of the camera loss (also its reversal factor)")
    contr_weight: float = option(1.0, "δ3, weight of the contrastive loss")
    k1: int = option(30, "k1 of the k-reciprocal Jaccard distance (SpCL default)")
    k2: int = option(6, "k2 (query expansion) of the Jaccard distance (SpCL default)")
    eps: float = option(0.6, "DBSCAN eps on the Jaccard distance (SpCL default)")
    min_samples: int = option(4, "DBSCAN min_samples (SpCL default)")
    clip_positives: bool = option(True, "clips of one tracklet are one cluster (distance 0)")
    camera_centering: bool = option(False, "not in the paper: subtract each camera's mean "
                                    "feature before clustering (the same as cam_norm=center, "
                                    "kept for earlier runs; see docs/methods.md)")
    temperature: float = option(0.05, "τ of the memory softmax (SpCL default)")
    momentum: float = option(0.2, "μ of the memory update m ← μm + (1−μ)q (SpCL default)")
    cam_hidden: int = option(256, "hidden width of the camera classifier θ_c")
    pretrain_epochs: int = option(0, "UDA: epochs of supervised source training first")
    label_frames: int = option(8, "frames per clip instance in a label update's feature pass")
    oracle_labels: bool = option(False, "diagnosis, NOT unsupervised: the true identities "
                                 "replace the clustering (perfect pseudo labels)")

    def validate(self) -> None:
        for name in ("knn_k", "k1", "k2", "min_samples", "cam_hidden", "label_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"cawcl option {name}={getattr(self, name)}: expected >= 1")
        if not 0.0 < self.eps <= 1.0:
            raise ConfigError(f"cawcl option eps={self.eps}: expected 0 < eps <= 1 (Jaccard)")
        if not 0.0 <= self.momentum < 1.0 or self.temperature <= 0:
            raise ConfigError("cawcl options: expected 0 <= momentum < 1 and temperature > 0")
        if self.pretrain_epochs < 0:
            raise ConfigError("cawcl option pretrain_epochs: expected >= 0")


def camera_centred(feat: np.ndarray, camids: np.ndarray) -> np.ndarray:
    """Features minus their camera's mean, re-normalised: the camera's shared offset (its
    style) no longer decides who is near whom in the first clusterings."""
    out = feat.astype(np.float32, copy=True)
    for c in np.unique(camids):
        out[camids == c] -= out[camids == c].mean(0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def oracle_clusters(pids: np.ndarray):
    """A ``ClusterResult`` whose clusters are the true identities (pid ≤ 0, distractors and
    junk, are outliers): the diagnosis row of the CAWCL bench, never a training mode."""
    from reidlab.cluster.pseudo_labels import ClusterResult, renumber

    pids = np.asarray(pids)
    labels = renumber(np.where(pids > 0, pids, -1))
    num = int(labels.max()) + 1 if (labels >= 0).any() else 0
    return ClusterResult(labels=labels, num_clusters=num,
                         outlier_fraction=float(np.mean(labels < 0)), time_s=0.0, knn_s=0.0,
                         jaccard_s=0.0, dbscan_s=0.0, num_pairs=0)


CAMERA_BN_SOURCE = ("cawcl: camera_bn is for the target's cameras only; a source dataset's "
                    "cameras have no statistics of their own here — drop --source or "
                    "--camera-bn")


@register("cawcl")
class CAWCL(CameraBNNeck, Method):
    Options = CAWCLOptions
    config_defaults = {"clips_per_tracklet": 2, "clip_mode": "segments", "frames_per_clip": 4,
                       "lr": 3e-4, "batch_size": 24}
    adversarial = True
    clusters = True
    normalize_embedding = True  # retrieval on ℓ2-normalised f
    accepts_source = True
    leaderboard_rows = (
        LeaderboardRow("cawcl", "no labels (clusters + camera alignment)", order=30),
        # camera-debiased label updates (reidlab/cluster/debias.py; docs/methods.md): the best
        # first clustering of bench/results/debias_first_update.md (standardize + auto k,
        # eps 0.7); the other clustering methods' *_debias rows follow it
        LeaderboardRow("cawcl_debias", "no labels, camera-debiased clusters",
                       {"cam_norm": "standardize", "k_rule": "auto", "eps": 0.7}, order=200),
        # the same with the camera-specific BN-neck (Zhuang et al., ECCV 2020) at training and
        # test time: docs/methods.md "cawcl_debias with the camera-specific BN-neck"
        LeaderboardRow("cawcl_debias_cbn", "no labels, camera-debiased clusters, camera BN",
                       {"cam_norm": "standardize", "k_rule": "auto", "eps": 0.7},
                       {"camera_bn": True}, order=201),
        # the same with two sampler passes an epoch (--iters 88; one pass is 44–45 batches of
        # 24 clips): twice the steps of the quick preset's 8 epochs, where the paper trains 150
        # (docs/methods.md "cawcl_debias_cbn_iters")
        LeaderboardRow("cawcl_debias_cbn_iters", "no labels, camera-debiased clusters, camera "
                       "BN, two passes an epoch",
                       {"cam_norm": "standardize", "k_rule": "auto", "eps": 0.7},
                       {"camera_bn": True, "iters": 88}, order=202),
    )

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """The paper's ablations: the camera loss, no contrastive loss, no kNN weights,
        oracle labels; then the camera-debiasing options that differ from their defaults."""
        o = settings
        tags = [{"ce": "cam CE", "none": "no cam"}.get(o.get("cam_loss"), ""),
                "no contr" if is_off(o.get("contrastive")) else "",
                "no kNN" if o.get("weighting") == "none" else "",
                "oracle labels" if o.get("oracle_labels") in (True, "true") else ""]
        return [t for t in tags if t] + changed_option_tags(DebiasOptions, settings)

    @classmethod
    def check_settings(cls, cfg) -> None:
        if getattr(cfg, "camera_bn", False) and getattr(cfg, "source", None):
            raise ConfigError(CAMERA_BN_SOURCE)

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        o = self.opts
        target = [t for t in train if t.domain == TARGET]
        source = list(source or [])
        if not target:
            raise ConfigError("cawcl: the target dataset has no training tracklets")
        if o.cam_loss != "none" and len({t.camid for t in target}) < 2:
            raise ConfigError("cawcl: camera alignment needs a target with at least 2 cameras; "
                              f"found {len({t.camid for t in target})} — use cam_loss=none")
        if not o.contrastive and not source:
            raise ConfigError("cawcl: without the contrastive loss a source dataset is needed "
                              "(nothing else teaches identities); pass --source or keep "
                              "contrastive on")
        self.num_target = len(target)
        self.train_tracklets = target + source
        self.clips = int(cfg.clips_per_tracklet)
        # camera-specific BN-neck (TrainConfig.camera_bn; not in the CAWCL paper): each target
        # camera's own statistics in training, label updates and, recomputed from its test
        # clips, at the final evaluation (reidlab.methods.camera_bn)
        if cfg.camera_bn and source:  # make_config refuses it first (check_settings)
            raise ConfigError(CAMERA_BN_SOURCE)
        self.net = self.build_camera_net(cfg, num_cameras)
        dim = self.net.out_channels
        self.cam_head = nn.Sequential(nn.Linear(dim, o.cam_hidden), nn.ReLU(inplace=True),
                                      nn.Linear(o.cam_hidden, num_cameras))
        self.src_pids = sorted({t.pid for t in source})
        self.id_head = nn.Linear(dim, len(self.src_pids)) if source else None
        src_map = {p: i for i, p in enumerate(self.src_pids)}
        labels = [src_map[t.pid] if t.domain == SOURCE else -1 for t in self.train_tracklets]
        self.register_buffer("src_labels", torch.tensor(labels), persistent=False)
        self.memory = HybridMemory(dim, o.temperature, o.momentum)
        self.history: list[torch.Tensor] = []  # the labels of every update (slots)

    # -- stages and labels -----------------------------------------------------------------

    def stages(self) -> list[Stage]:
        p = self.opts.pretrain_epochs if self.id_head is not None else 0
        return [Stage("pretrain", 0), Stage("adapt", p)] if p > 0 else [Stage("adapt", 0)]

    def label_update_due(self, epoch: int) -> bool:
        return self.opts.contrastive and self.stage_at(epoch).name == "adapt"

    def label_frames(self) -> int:
        return self.opts.label_frames

    def slot(self, index: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        """Memory slot of target clip instance (tracklet, clip)."""
        return index * self.clips + clip

    def label_samples(self) -> list[tuple[int, int, Tracklet]]:
        segments = self.cfg.clip_mode == "segments"
        return [(i, c, t.segment(c, self.clips) if segments else t)
                for i, t in enumerate(self.train_tracklets[:self.num_target])
                for c in range(self.clips)]

    def update_labels(self, feats: LabelFeatures, epoch: int) -> LabelUpdate:
        from reidlab.cluster.debias import debiased_labels

        o = self.opts
        groups = feats.index if (o.clip_positives and self.clips > 1) else None
        debias = debias_kwargs(o)
        if o.camera_centering and debias["cam_norm"] == "none":
            debias["cam_norm"] = "center"
        if o.oracle_labels:  # the machinery with perfect clusters: what pseudo labels cost
            res = oracle_clusters(feats.pids)
        else:
            res = debiased_labels(feats.feat, feats.camids, groups=groups, k1=o.k1, k2=o.k2,
                                  eps=o.eps, min_samples=o.min_samples, **debias)
        n_slots = self.num_target * self.clips
        memfeat = torch.zeros(n_slots, feats.feat.shape[1])
        labels = torch.full((n_slots,), -1, dtype=torch.long)
        slots = feats.index * self.clips + feats.clip
        memfeat[slots] = torch.from_numpy(feats.feat)
        labels[slots] = torch.from_numpy(np.asarray(res.labels, np.int64))
        self.memory.reset(memfeat, labels)
        self.history.append(labels.clone())
        stats = {"cluster_time": float(res.time_s), "memory_entries": int(
            res.num_clusters + int((labels < 0).sum())), **update_stats(res)}
        if res.num_clusters == 0:
            stats["note"] = "no cluster found: every instance is its own memory entry"
        return LabelUpdate(labels=np.asarray(res.labels), stats=stats)

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K groups: a tracklet's pseudo label (its first clip's); outliers, source
        tracklets and tracklets before the first update are groups of their own."""
        n = len(self.train_tracklets)
        groups = list(range(n))
        if len(self.memory):
            lab = self.memory.labels.view(self.num_target, self.clips)[:, 0]
            offset = n
            for t, g in enumerate(lab.tolist()):
                groups[t] = offset + g if g >= 0 else t
        return groups

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """Target batches (``cfg.sampler``); with a source, each batch also holds as many
        source clips (random, their own stream). The pretrain stage has source batches only."""
        from reidlab.data.sampling import epoch_batches

        cfg = self.cfg
        n = len(self.train_tracklets)
        cams = [t.camid for t in self.train_tracklets]
        groups = self.sampler_groups(epoch)

        def batches(pool, sampler, salt):
            return epoch_batches(sampler, n, self.clips, cfg.batch_size, cfg.seed, epoch,
                                 groups=groups, camids=cams, instances=cfg.num_instances,
                                 tracklets=pool, salt=salt, iters=cfg.iters)

        src_pool = range(self.num_target, n)
        if self.stage_at(epoch).name == "pretrain":
            return batches(src_pool, "random", 104729)
        tgt = batches(range(self.num_target), cfg.sampler, 7919)
        if self.id_head is None or self.opts.id_weight == 0:
            return tgt
        src = batches(src_pool, "random", 104729)
        return [b + src[i % len(src)] for i, b in enumerate(tgt)]

    # -- the loss --------------------------------------------------------------------------

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        out = self.net(batch["clips"], batch["camid"])  # camid: only a camera-specific neck
        f = out["feat"]
        dom = batch["domain"]
        tgt, src = dom == TARGET, dom == SOURCE
        loss = f.sum() * 0.0
        terms, metrics, extras = {}, {}, {}
        if self.id_head is not None and bool(src.any()) and o.id_weight > 0:
            y = self.src_labels.to(f.device)[batch["index"][src]]
            logits = self.id_head(f[src])
            l_ce = F.cross_entropy(logits.float(), y)
            loss = loss + o.id_weight * l_ce
            terms["ce"] = float(l_ce.detach())
            metrics["id_acc"] = float((logits.argmax(1) == y).float().mean())
        if self.stage is not None and self.stage.name == "adapt" and bool(tgt.any()):
            ft = f[tgt]
            if o.cam_loss != "none":
                cams = batch["camid"][tgt]
                if o.cam_loss == "uniform":
                    l_cam, l_conf, logits = uniform_confusion(self.cam_head, ft, cams)
                    loss = loss + o.cam_weight * (l_cam + l_conf)
                    terms["conf"] = float(l_conf.detach())
                else:
                    logits = self.cam_head(grad_reverse(ft, 1.0))
                    l_cam = camera_loss(o.cam_loss, logits, cams)
                    loss = loss + o.cam_weight * l_cam
                terms["cam"] = float(l_cam.detach())
                metrics["cam_acc"] = float((logits.argmax(1) == cams).float().mean())
                # CLC lets the classifier be sure *and wrong*: the true camera as its lowest
                # score still tells the camera (see docs/methods.md, CAWCL on SynthCams)
                metrics["cam_acc_argmin"] = float((logits.argmin(1) == cams).float().mean())
            if o.contrastive and len(self.memory):
                slots = self.slot(batch["index"][tgt], batch["clip"][tgt])
                k = o.knn_k if o.weighting == "knn" else 0
                l_contr, m = self.memory.loss(ft, slots, k)
                loss = loss + o.contr_weight * l_contr
                terms["contr"] = float(l_contr.detach())
                metrics.update(m)
                extras = {"feat": ft.detach(), "slots": slots.detach()}
        return StepOutput(loss=loss, terms=terms, metrics=metrics, extras=extras)

    def after_step(self, batch: dict, out: StepOutput) -> None:
        if "slots" in out.extras:
            self.memory.update(out.extras["feat"], out.extras["slots"])

    # -- state that changes size (saved in the checkpoint) ---------------------------------

    def get_extra_state(self) -> dict:
        return {"memory": self.memory.state(),
                "history": stack_history(self.history)}

    def set_extra_state(self, state: dict) -> None:
        self.memory.load(state["memory"])
        self.history = unstack_history(state.get("history"))
