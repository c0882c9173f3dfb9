"""CALR: camera-aware label refinement for unsupervised re-ID (Li, Wu, Huang, Zhou, Wang;
arXiv 2403.16450, ``../shared/papers/004_6771652feb55eeef.txt``; the authors' code
github.com/leeBooMla/CALR — ``intra_camera_training.py``, ``inter_camera_training.py``,
``calr/models/cm.py``, ``calr/trainers.py``, ``calr/utils/infomap_cluster.py``). No labels
at all: only the camera of every tracklet. The equations below are written from the code
(the paper's own text was available to us only as a summary and figure captions).

Inside one camera the features mostly follow appearance, so clusters found per camera are
finer and more reliable than clusters over all cameras, which merge different people that one
camera renders alike. CALR trains in two stages:

* ``intra`` (the first ``intra_camera_epochs``): before every epoch the samples of each camera are
  clustered on their own (*local* clusters; :func:`reidlab.cluster.refine.cluster_per_camera`:
  average-linkage agglomerative clustering on the per-camera k-reciprocal Jaccard distance,
  k1 = 15, k2 = 4, ``n // 5`` clusters — the code's ``intra_camera_training.py``). A cluster
  memory holds the local centroids; the loss of a sample is the softmax cross-entropy of its
  own local centroid among **its camera's** centroids only (the code trains one CNN per
  camera; here one network with per-camera softmaxes — see docs/methods.md)::

      L_intra = −log  exp(f·c_y/τ) / Σ_{k: cam(k) = cam(f)} exp(f·c_k/τ)

  Of each camera's clusterings the one with the best silhouette score is kept (the code
  saves the local labels of its best-silhouette epoch); these are the *local labels*.
* ``inter`` (the rest): before every epoch all samples are clustered together (*global*
  clusters: DBSCAN on the k-reciprocal Jaccard distance, ``reidlab.cluster``, SpCL's
  k1 = 30, k2 = 6, eps = 0.6, min_samples = 4 — the code uses Infomap, which reidlab does not
  have). **Pivot-based refinement** (:func:`reidlab.cluster.refine.refine_by_pivots`): in
  every global cluster the densest member is the pivot (the code's node score over the
  k = 15 nearest neighbours with cosine similarity ≥ 0.5; a cluster whose best member is not
  denser than the average sample keeps all its members); members of the pivot's camera that
  are not in the pivot's local cluster leave the cluster (label −1, not trained this epoch);
  members from other cameras stay. Each conflicting member leaves with probability p
  (p = 1 in the code; ``removal_schedule="cosine"`` is the code's commented-out self-paced
  decay p = ½(1 + cos(π·e / 3E)) over the E inter epochs). The refined clusters fill a
  cluster memory (centroids, momentum μ = 0.1, τ = 0.05 — ``cm.py``); the inter-camera
  contrastive loss weights every cluster by the entropy of its cameras::

      L_inter = Σ_i w_{y_i} · (−log softmax(f_i·C/τ)_{y_i}) / Σ_i w_{y_i},
      w_c = log(1 + H_c),   H_c = −Σ_cam p_{c,cam} log p_{c,cam}

  (``generate_cluster_weights`` of the code, used from the 6th inter epoch on: a cluster
  seen by one camera only weighs 0). Camera alignment: a domain classifier (MLP 100-100 with
  BN, ReLU, dropout — the code's ``domain_classifier``) on the gradient-reversed feature
  (λ = 1) learns the camera with cross-entropy, L = L_inter + L_cam for the first 3 inter
  epochs (the code's ``epoch < 3``), L_inter alone afterwards. The inter stage goes on with
  the intra stage's network (the code starts it from a fresh ImageNet model; the intra-camera
  models only hand over their labels).

Every label update logs three labellings (``stage``): ``local``, ``global`` and ``refined``
(the training labels), each with the cluster quality the trainer measures (pairwise
precision / recall / F-score and expansion, the paper's Fig. 5), and the refinement's counts
(how many members conflicted, how many were removed, and — diagnostics from the ground truth
— how many of those really were another person, and the precision gained). The intra stage
logs ``local`` only.

Defaults come from the code where it gives one (``inter_camera_training.py``: temp 0.05,
momentum 0.1, k = 15, min_sim = 0.5, lr 3.5e-4, weight decay 5e-4, P×K sampling;
``intra_camera_training.py`` k1 = 15, k2 = 4, n // 5 clusters, K = 4 instances; 25 intra + 50
inter epochs → a third of the run intra),
else SpCL's (global DBSCAN k1 30, k2 6, eps 0.6, min_samples 4; the per-camera DBSCAN
alternative's eps and min_samples). Not in the paper or code: ``min_cluster_size``,
``clip_positives`` (clips of one tracklet are one unit), ``local_update="refresh"``,
``outliers="instances"``, ``domain_loss="clc"`` (CAWCL's camera-level confusion loss,
``reidlab.losses.camera``, behind the same GRL and classifier). The code's fixed-length epoch
(``--iters 400``: an epoch does not shrink when the refined clusters keep only part of the
samples) is the training setting ``iters`` (``TrainConfig``), 0 by default: one sampler pass.

``outliers="instances"`` (not in the paper or code; SpCL's hybrid memory, as CAWCL's
``reidlab.losses.memory``): in the inter stage every unit the training labelling leaves at −1
(a DBSCAN outlier, or a member the refinement removed) becomes a memory entry of its own —
its current feature, normalised — labelled after the clusters
(:func:`reidlab.cluster.refine.local_with_singletons`: one entry per tracklet when
``clip_positives`` joins its clips). The memory softmax then runs over clusters + instances,
with the same temperature and the same momentum update as the cluster entries; P×K samples
each instance entry as a group of its own (K draws with replacement, as CAWCL's outliers).
Camera weights: an instance entry has one camera, so ``log(1 + H)`` would give it 0 and
drop it from the loss again once the weights apply; it gets instead the **mean weight of the
cluster entries** of that label update (1 when there is no cluster) — an instance counts as
much as an average cluster. The label records and the saved label files keep the refined
clusters (their quality is the clusters'); only the training labels and the memory change,
and the refined record counts ``instance_entries``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reidlab.cluster.debias import DebiasOptions, debias_kwargs, update_stats
from reidlab.cluster.refine import LOCAL_CLUSTERINGS
from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.camera import camera_loss
from reidlab.losses.memory import momentum_update
from reidlab.methods.base import (LabelFeatures, LabelUpdate, LeaderboardRow, Method, Stage,
                                  StepOutput, option, register, stack_history, unstack_history)
from reidlab.methods.camera_bn import CameraBNNeck
from reidlab.models.grl import grad_reverse

CALR_DOMAIN_LOSSES = ("ce", "prob_ce", "clc", "none")
CALR_OUTLIERS = ("drop", "instances")


@dataclass
class CALROptions(DebiasOptions):
    intra_camera_epochs: int = option(-1, "epochs of the intra-camera stage before the "
                                      "inter-camera stage; -1: a third of the run (the "
                                      "code: 25 intra + 50 inter)")
    # local (intra-camera) clustering
    local_cluster: str = option("agglomerative", "per-camera clustering: agglomerative "
                                "(average linkage, the code) or dbscan (SpCL's, outliers "
                                "become clusters of their own)", LOCAL_CLUSTERINGS)
    local_ratio: float = option(5.0, "agglomerative: units per local cluster, n_clusters = "
                                "n // ratio (the code's len(features)//5, images of Market)")
    local_k1: int = option(15, "k1 of the per-camera Jaccard distance (code intra: 15)")
    local_k2: int = option(4, "k2 of the per-camera Jaccard distance (code intra: 4)")
    local_eps: float = option(0.6, "dbscan local clustering: eps (SpCL default)")
    local_min_samples: int = option(4, "dbscan local clustering: min_samples (SpCL)")
    local_select: str = option("silhouette", "which intra-stage clustering of a camera is "
                               "kept: best silhouette (the code) or the last",
                               ("silhouette", "last"))
    local_update: str = option("frozen", "inter stage: keep the intra-stage local labels "
                               "(frozen, the paper) or re-cluster every camera each epoch "
                               "(refresh, not in the paper)", ("frozen", "refresh"))
    # global clustering
    k1: int = option(30, "k1 of the k-reciprocal Jaccard distance (SpCL default)")
    k2: int = option(6, "k2 (query expansion) of the Jaccard distance (SpCL default)")
    eps: float = option(0.6, "DBSCAN eps on the Jaccard distance (SpCL default)")
    min_samples: int = option(4, "DBSCAN min_samples (SpCL default)")
    # refinement
    refine: bool = option(True, "pivot-based refinement (False: train on the global clusters)")
    pivot_k: int = option(15, "neighbours of the pivot density score (the code's --k1 15)")
    pivot_min_sim: float = option(0.5, "cosine similarity a neighbour needs to count in the "
                                  "density score (the code's --eps 0.5)")
    pivot_above_mean: bool = option(True, "a cluster has a pivot only if its densest member is "
                                    "denser than the average sample (the code)")
    removal_prob: float = option(1.0, "probability that a conflicting member is removed "
                                 "(the code: 1)")
    removal_schedule: str = option("constant", "constant p, or cosine: p·½(1+cos(π·e/3E)) over "
                                   "the E inter epochs (the code's commented-out decay)",
                                   ("constant", "cosine"))
    min_cluster_size: int = option(1, "not in the paper: refined clusters smaller than this "
                                   "are dissolved (1: never)")
    outliers: str = option("drop", "inter stage: samples the refined clusters leave out (−1) "
                           "are not trained (drop, the paper and code) or each is a memory "
                           "entry of its own (instances, SpCL's hybrid memory, not in the "
                           "paper; one entry per tracklet with clip_positives; its camera "
                           "weight is the mean weight of the clusters)", CALR_OUTLIERS)
    # losses
    temperature: float = option(0.05, "τ of the memory softmax (SpCL default)")
    memory_momentum: float = option(0.1, "μ of the cluster-memory update c ← μc + (1−μ)f "
                                    "(the code's --momentum)")
    camera_weights: bool = option(True, "weight clusters by log(1 + entropy of their cameras) "
                                  "(the code's generate_cluster_weights)")
    weight_warmup: int = option(5, "inter epochs before the camera weights apply (the code: 5)")
    domain_loss: str = option("ce", "camera (domain) classifier loss behind the GRL: ce, "
                              "prob_ce (the code's cross-entropy of softmax probabilities), "
                              "clc (CAWCL's camera-level confusion, eq. 4 of its paper; not "
                              "in CALR) or none", CALR_DOMAIN_LOSSES)
    domain_weight: float = option(1.0, "weight of the camera classifier loss (the code: 1)")
    grl_lambda: float = option(1.0, "gradient-reversal factor (the code: 1)")
    domain_epochs: int = option(3, "inter epochs with the camera classifier loss (the code: "
                                "the first 3); -1: all")
    domain_hidden: int = option(100, "hidden width of the camera classifier (the code: 100)")
    clip_positives: bool = option(True, "clips of one tracklet are one cluster unit")
    label_frames: int = option(8, "frames per instance in a label update's feature pass")

    def validate(self) -> None:
        for name in ("local_k1", "local_k2", "local_min_samples", "k1", "k2", "min_samples",
                     "pivot_k", "min_cluster_size", "domain_hidden", "label_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"calr option {name}={getattr(self, name)}: expected >= 1")
        for name in ("eps", "local_eps"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"calr option {name}={getattr(self, name)}: expected "
                                  "0 < eps <= 1 (a Jaccard distance)")
        if self.local_ratio < 1.0:
            raise ConfigError(f"calr option local_ratio={self.local_ratio}: expected >= 1")
        if not 0.0 <= self.removal_prob <= 1.0:
            raise ConfigError(f"calr option removal_prob={self.removal_prob}: expected 0..1")
        if not -1.0 <= self.pivot_min_sim <= 1.0:
            raise ConfigError(f"calr option pivot_min_sim={self.pivot_min_sim}: expected a "
                              "cosine similarity in -1..1")
        if not 0.0 <= self.memory_momentum < 1.0 or self.temperature <= 0:
            raise ConfigError("calr options: expected 0 <= memory_momentum < 1 and "
                              "temperature > 0")
        if self.intra_camera_epochs < -1 or self.domain_epochs < -1 or self.weight_warmup < 0:
            raise ConfigError("calr options: expected intra_camera_epochs >= -1, "
                              "domain_epochs >= -1 and weight_warmup >= 0")


def camera_entropy_weights(labels: np.ndarray, camids: np.ndarray, num: int) -> np.ndarray:
    """w_c = log(1 + H_c) for clusters 0..num−1, H_c the entropy (natural log) of the camera
    distribution of cluster c's members — 0 for a cluster seen by one camera."""
    w = np.zeros(num, np.float64)
    inl = labels >= 0
    if not inl.any():
        return w
    pairs, counts = np.unique(np.stack([labels[inl], camids[inl]], 1), axis=0,
                              return_counts=True)
    size = np.bincount(pairs[:, 0], weights=counts, minlength=num)
    p = counts / size[pairs[:, 0]]
    h = np.bincount(pairs[:, 0], weights=-p * np.log(p), minlength=num)
    return np.log1p(h)


@register("calr")
class CALR(CameraBNNeck, Method):
    Options = CALROptions
    config_defaults = {"sampler": "pk", "num_instances": 4, "lr": 3.5e-4, "weight_decay": 5e-4}
    adversarial = True
    clusters = True
    normalize_embedding = True  # retrieval on ℓ2-normalised f
    leaderboard_rows = (
        LeaderboardRow("calr", "no labels (camera-aware clusters)", order=50),
        LeaderboardRow("calr_debias", "no labels, camera-debiased clusters",
                       {"cam_norm": "standardize", "k_rule": "auto", "eps": 0.7}, order=210),
        # the code's fixed-length epoch (--iters): the inter epochs as long as the intra ones
        # (33 P×K batches at local ratio 2) instead of the 7–8 batches the refined clusters fill
        # (docs/methods.md, "calr_debias_iters")
        LeaderboardRow("calr_debias_iters", "no labels, camera-debiased clusters, fixed-length "
                       "epochs", {"cam_norm": "standardize", "k_rule": "auto", "eps": 0.7,
                                  "local_ratio": 2.0}, {"iters": 33}, order=211),
    )

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int, source=None):
        super().__init__(cfg, train, num_cameras, source)
        o = self.opts
        if not train:
            raise ConfigError("calr: the dataset has no training tracklets")
        cams = sorted({t.camid for t in train})
        if len(cams) < 2:
            raise ConfigError("calr: camera-aware label refinement needs training tracklets "
                              f"from at least 2 cameras; found {len(cams)}")
        self.clips = int(cfg.clips_per_tracklet)
        epochs = int(cfg.epochs)
        self.intra_epochs = (round(epochs / 3) if o.intra_camera_epochs < 0
                             else int(o.intra_camera_epochs))
        # camera-specific BN-neck (TrainConfig.camera_bn; not in the CALR paper): every clip
        # through its camera's BN statistics, in training, in the label updates' features and,
        # with each camera's test statistics (reidlab.methods.camera_bn), at the final evaluation
        self.net = self.build_camera_net(cfg, num_cameras)
        dim = self.net.out_channels
        h = o.domain_hidden
        self.cam_head = nn.Sequential(
            nn.Linear(dim, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(h, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True), nn.Linear(h, num_cameras))
        n_slots = len(self.train_tracklets) * self.clips
        self.slot_cam = torch.tensor([t.camid for t in self.train_tracklets]
                                     ).repeat_interleave(self.clips)
        # the memory and the labels (extra state: resized by every label update)
        self.centroids = torch.zeros(0, dim)
        self.centroid_cam = torch.zeros(0, dtype=torch.long)  # intra: camera of a centroid
        self.centroid_weight = torch.zeros(0)  # inter: w_c
        self.slot_labels = torch.full((n_slots,), -1, dtype=torch.long)
        # kept local labels: cluster within the slot's camera, −1 none; per camera its score
        self.local = torch.full((n_slots,), -1, dtype=torch.long)
        self.local_score = torch.full((num_cameras,), -math.inf)
        self.local_epoch = torch.full((num_cameras,), -1, dtype=torch.long)
        self.history: list[torch.Tensor] = []

    # -- stages and labels -----------------------------------------------------------------

    def stages(self) -> list[Stage]:
        if self.intra_epochs <= 0:
            return [Stage("inter", 0)]
        return [Stage("intra", 0), Stage("inter", self.intra_epochs)]

    def label_update_due(self, epoch: int) -> bool:
        return True

    def label_frames(self) -> int:
        return self.opts.label_frames

    def label_samples(self) -> list[tuple[int, int, Tracklet]]:
        segments = self.cfg.clip_mode == "segments"
        return [(i, c, t.segment(c, self.clips) if segments else t)
                for i, t in enumerate(self.train_tracklets) for c in range(self.clips)]

    def _inter_epoch(self, epoch: int) -> int:
        return epoch - max(self.intra_epochs, 0)

    def removal_prob(self, epoch: int) -> float:
        """p of the refinement before ``epoch`` (the self-paced schedule)."""
        o = self.opts
        if o.removal_schedule == "constant":
            return float(o.removal_prob)
        total = max(int(self.cfg.epochs) - max(self.intra_epochs, 0), 1)
        e = max(self._inter_epoch(epoch), 0)
        return float(o.removal_prob) * 0.5 * (1.0 + math.cos(math.pi * e / (3 * total)))

    def _local_clustering(self, feats: LabelFeatures, groups):
        from reidlab.cluster.refine import cluster_per_camera

        o = self.opts
        return cluster_per_camera(feats.feat, feats.camids, o.local_cluster, o.local_ratio,
                                  o.local_k1, o.local_k2, o.local_eps, o.local_min_samples,
                                  groups=groups, silhouette=o.local_select == "silhouette")

    @staticmethod
    def _combined(within: np.ndarray, camids: np.ndarray) -> np.ndarray:
        """Labels unique over cameras from (camera, cluster within the camera); −1 stays."""
        from reidlab.cluster.pseudo_labels import renumber

        out = np.full(within.shape, -1, np.int64)
        ok = within >= 0
        if ok.any():
            _, code = np.unique(np.stack([camids[ok], within[ok]], 1), axis=0,
                                return_inverse=True)
            out[ok] = code.ravel()
        return renumber(out)

    def _train_inter_on(self, feats: LabelFeatures, slots: np.ndarray, labels: np.ndarray,
                        groups, stats: dict) -> np.ndarray:
        """Reset the inter stage's memory and training labels from its clusters ``labels``:
        with ``outliers="instances"`` every −1 unit (per ``groups`` id) becomes an entry of its
        own after the clusters (``stats["instance_entries"]`` counts them). Returns the
        training labels."""
        from reidlab.cluster.refine import local_with_singletons

        num_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
        if self.opts.outliers == "instances":
            labels = local_with_singletons(labels, groups)
        stats["instance_entries"] = int(labels.max()) + 1 - num_clusters if len(labels) else 0
        self._reset_memory(feats, slots, labels, intra=False, num_clusters=num_clusters)
        return labels

    def _reset_memory(self, feats: LabelFeatures, slots: np.ndarray, labels: np.ndarray,
                      intra: bool, num_clusters: int | None = None) -> None:
        """Memory = one centroid per label; entries from ``num_clusters`` on are instance
        entries (``outliers="instances"``), weighted by the clusters' mean camera weight."""
        num = int(labels.max()) + 1 if (labels >= 0).any() else 0
        x = torch.from_numpy(feats.feat).float()
        lab = torch.from_numpy(labels)
        cent = torch.zeros(num, x.shape[1])
        inl = lab >= 0
        if num:
            cent.index_add_(0, lab[inl], x[inl])
        self.centroids = F.normalize(cent, dim=1)
        cam = torch.full((num,), -1, dtype=torch.long)
        if num:
            cam[lab[inl]] = torch.from_numpy(feats.camids[labels >= 0]).long()
        self.centroid_cam = cam if intra else torch.full((num,), -1, dtype=torch.long)
        w = camera_entropy_weights(labels, feats.camids, num)
        if num_clusters is not None and num_clusters < num:  # the instance entries
            w[num_clusters:] = w[:num_clusters].mean() if num_clusters else 1.0
        self.centroid_weight = torch.from_numpy(w).float()
        self.slot_labels = torch.full_like(self.slot_labels, -1)
        self.slot_labels[torch.from_numpy(slots)] = lab
        self.history.append(self.slot_labels.clone())

    def update_labels(self, feats: LabelFeatures, epoch: int) -> list[LabelUpdate]:
        import time

        from reidlab.cluster.debias import debiased_labels
        from reidlab.cluster.quality import cluster_quality
        from reidlab.cluster.refine import choose_pivots, pivot_scores, refine_by_pivots

        o = self.opts
        stage = self.stage_at(epoch).name
        slots = feats.index * self.clips + feats.clip
        groups = feats.index if (o.clip_positives and self.clips > 1) else None
        t0 = time.perf_counter()
        intra = stage == "intra"
        have_local = bool((self.local[torch.from_numpy(slots)] >= 0).any())
        local_stats: dict = {}
        if intra or o.local_update == "refresh" or not have_local:
            within, sils, info = self._local_clustering(feats, groups)
            cams = info["cameras"]
            score = {c: (float(s) if np.isfinite(s) else -1.0) for c, s in zip(cams, sils)}
            kept = 0
            for c in cams:
                better = o.local_select == "last" or score[c] > float(self.local_score[c])
                if not intra or better:  # outside the intra stage: always the new clustering
                    rows = feats.camids == c
                    sl = torch.from_numpy(slots[rows])
                    self.local[self.slot_cam == c] = -1
                    self.local[sl] = torch.from_numpy(within[rows])
                    self.local_score[c] = score[c]
                    self.local_epoch[c] = epoch
                    kept += 1
            finite = sils[np.isfinite(sils)]
            local_stats = {"local_silhouette": float(finite.mean()) if finite.size else None,
                           "local_cameras_kept": kept}
            current = self._combined(within, feats.camids)
        else:
            current = None
        kept_local = self._combined(self.local[torch.from_numpy(slots)].numpy(), feats.camids)
        local_stats["local_epochs"] = self.local_epoch.tolist()  # per camera: kept from
        local_time = time.perf_counter() - t0
        if intra:
            self._reset_memory(feats, slots, current, intra=True)
            return [LabelUpdate(current, {**local_stats, "cluster_time": local_time}, "local")]

        res = debiased_labels(feats.feat, feats.camids, groups=groups, k1=o.k1, k2=o.k2,
                              eps=o.eps, min_samples=o.min_samples, **debias_kwargs(o))
        glob = np.asarray(res.labels, np.int64)
        g_stats = {"cluster_time": float(res.time_s), **update_stats(res)}
        if res.num_clusters == 0:
            g_stats["note"] = ("no global cluster found: nothing to train on this epoch"
                               if o.outliers == "drop" else
                               "no global cluster found: every unit is its own entry")
        updates = [LabelUpdate(kept_local, {**local_stats, "cluster_time": local_time}, "local"),
                   LabelUpdate(glob, g_stats, "global")]
        if not o.refine:
            self._train_inter_on(feats, slots, glob, groups, g_stats)
            return updates
        t1 = time.perf_counter()
        scores = pivot_scores(feats.feat, o.pivot_k, o.pivot_min_sim)
        pivots = choose_pivots(glob, scores, o.pivot_above_mean)
        p = self.removal_prob(epoch)
        rng = np.random.default_rng([int(self.cfg.seed), int(epoch), 0xCA1])
        refined, r_stats = refine_by_pivots(glob, kept_local, feats.camids, pivots=pivots,
                                            removal_prob=p, rng=rng, groups=groups,
                                            min_size=o.min_cluster_size, pids=feats.pids)
        # diagnostics from the ground truth (never used for training): what refining gained
        qg = cluster_quality(glob, feats.pids)
        qr = cluster_quality(refined, feats.pids)
        r_stats.update({"removal_prob": p, "refine_time": time.perf_counter() - t1,
                        "precision_gain": qr["precision"] - qg["precision"],
                        "recall_change": qr["recall"] - qg["recall"],
                        "expansion_change": qr["expansion"] - qg["expansion"]})
        train_lab = self._train_inter_on(feats, slots, refined, groups, r_stats)
        if not (train_lab >= 0).any():
            r_stats["note"] = "no refined cluster: nothing to train on this epoch"
        elif not (refined >= 0).any():
            r_stats["note"] = "no refined cluster: every unit is its own entry"
        return updates + [LabelUpdate(refined, r_stats, "refined")]

    # -- sampling --------------------------------------------------------------------------

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K groups: a tracklet's training label (its first labelled clip's); −1 (an
        outlier of the refined clusters, or no label) is not sampled. With
        ``outliers="instances"`` an outlier's label is its own instance entry: a group of one
        unit, which P×K fills to K by drawing with replacement (as CAWCL's outliers)."""
        lab = self.slot_labels.view(len(self.train_tracklets), self.clips)
        best = lab.max(1).values  # a labelled clip if any (clips of a tracklet agree)
        first = torch.where(lab[:, 0] >= 0, lab[:, 0], best)
        return first.tolist()

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        if not bool((self.slot_labels >= 0).any()):
            return []  # no cluster: logged in the labels record's note
        return super().epoch_batches(epoch)

    # -- the loss --------------------------------------------------------------------------

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        f = self.net(batch["clips"], batch["camid"])["feat"]  # camid: a camera-specific neck
        q = F.normalize(f.float(), dim=1)
        slots = batch["index"] * self.clips + batch["clip"]
        y = self.slot_labels.to(q.device)[slots]
        keep = y >= 0
        loss = f.sum() * 0.0
        terms, metrics, extras = {}, {}, {}
        intra = self.stage is not None and self.stage.name == "intra"
        if bool(keep.any()) and len(self.centroids):
            qk, yk = q[keep], y[keep]
            logits = qk @ self.centroids.to(q.device).t() / o.temperature
            if intra:
                own = self.centroid_cam.to(q.device)[None, :] == batch["camid"][keep][:, None]
                logits = logits.masked_fill(~own, float("-inf"))
            nll = -F.log_softmax(logits, dim=1).gather(1, yk[:, None]).squeeze(1)
            weighted = (not intra and o.camera_weights
                        and self._inter_epoch(epoch) >= o.weight_warmup)
            if weighted:
                w = self.centroid_weight.to(q.device)[yk]
                l_mem = (w * nll).sum() / w.sum().clamp_min(1e-12)
                metrics["cluster_weight"] = float(w.mean())
            else:
                l_mem = nll.mean()
            loss = loss + l_mem
            terms["intra" if intra else "inter"] = float(l_mem.detach())
            metrics["mem_acc"] = float((logits.argmax(1) == yk).float().mean())
            extras = {"feat": qk.detach(), "labels": yk.detach()}
        e = self._inter_epoch(epoch)
        cam_on = (not intra and o.domain_loss != "none" and q.shape[0] > 1
                  and (o.domain_epochs < 0 or e < o.domain_epochs))
        if cam_on:
            cams = batch["camid"]
            logits = self.cam_head(grad_reverse(q, o.grl_lambda)).float()
            if o.domain_loss == "prob_ce":
                l_cam = F.cross_entropy(F.softmax(logits, dim=1), cams)
            else:  # ce or clc: CAWCL's camera losses (reidlab.losses.camera)
                l_cam = camera_loss(o.domain_loss, logits, cams)
            loss = loss + o.domain_weight * l_cam
            terms["cam"] = float(l_cam.detach())
            metrics["cam_acc"] = float((logits.argmax(1) == cams).float().mean())
        return StepOutput(loss=loss, terms=terms, metrics=metrics, extras=extras)

    @torch.no_grad()
    def after_step(self, batch: dict, out: StepOutput) -> None:
        """c ← μ·c + (1 − μ)·f, re-normalised, for each trained sample in batch order (the
        code's ``CM.backward``)."""
        if "labels" not in out.extras:
            return
        momentum_update(self.centroids, out.extras["labels"], out.extras["feat"],
                        self.opts.memory_momentum)

    # -- state that changes size (saved in the checkpoint) ---------------------------------

    def get_extra_state(self) -> dict:
        return {"centroids": self.centroids.clone(), "centroid_cam": self.centroid_cam.clone(),
                "centroid_weight": self.centroid_weight.clone(),
                "slot_labels": self.slot_labels.clone(), "local": self.local.clone(),
                "local_score": self.local_score.clone(), "local_epoch": self.local_epoch.clone(),
                "history": stack_history(self.history)}

    def set_extra_state(self, state: dict) -> None:
        self.centroids = state["centroids"].float().cpu()
        self.centroid_cam = state["centroid_cam"].long().cpu()
        self.centroid_weight = state["centroid_weight"].float().cpu()
        self.slot_labels = state["slot_labels"].long().cpu()
        self.local = state["local"].long().cpu()
        self.local_score = state["local_score"].float().cpu()
        self.local_epoch = state["local_epoch"].long().cpu()
        self.history = unstack_history(state.get("history"))
