"""CAP: camera-aware proxies (Wang, Lai, Huang, Gong and Hua, "Camera-aware Proxies for
Unsupervised Person Re-Identification", AAAI 2021; the authors' code is
github.com/Terminator8758/CAP-master, where every number below comes from), fully
unsupervised: no identity label of any kind.

Before every epoch the trainer embeds every training tracklet (ℓ2-normalised BN feature f)
and this module clusters them — DBSCAN on the k-reciprocal Jaccard distance, through the
shared clustering of ``reidlab.cluster.debias`` (its camera-debiasing options, off by
default, are CAP's options too). Un-clustered tracklets are left out of the epoch.

* Proxies. Every cluster y is split by camera: the members of y seen by camera c form the
  proxy (y, c). A cluster that spans 2 cameras gives 2 proxies, one inside a single camera 1.
  The proxy memory K (P × D) starts from the mean normalised feature of each proxy's members
  (re-normalised) at every label update and moves towards every trained feature of its proxy
  after each step: K[p] ← μ·K[p] + (1 − μ)·f, re-normalised (μ = 0.2, ``--inv_alpha``).
* Intra-camera loss: a sample x of camera c with proxy p is classified among the proxies of
  its own camera only,
      L_intra^c = mean over the batch's samples of camera c of  −log softmax_{j ∈ P_c}(K[j]·f/τ)_p
  (τ = 0.07, ``--inv_beta``).
* Inter-camera loss with hard negatives (from epoch ``inter_start`` = 5 on, the code's
  ``crosscam_epoch``): the positives of x are *all* proxies of its cluster (one per camera it
  spans), its negatives the k = 50 (``bg_knn``) proxies of other clusters most similar to f;
  with s_j = K[j]·f/τ over the |P⁺| + k proxies,
      L_inter(x) = −(1/|P⁺|) Σ_{p ∈ P⁺} log( exp s_p / Σ_{j ∈ P⁺ ∪ N_k} exp s_j ).
* Total, as the code sums it: L = Σ_{c in the batch} ( L_intra^c + λ·mean_{x of c} L_inter(x) ),
  λ = 0.5 — a sum over the cameras present in the batch, each a mean over its samples.
* Sampling: P×K over the *proxies* (the code's ``ClassUniformlySampler`` on the proxy label,
  K = 4, batch 32; an epoch is as many batches as the clustered tracklets fill), Adam 3.5e-4;
  random flip, pad 10 + random crop at 256×128 and random erasing (p = 0.5) in the code —
  here ``hflip``, ``crop_pad`` 4 (10 px scaled to the 96×48 quick preset) and
  ``random_erase`` 0.5 as the method's config defaults.
* Clustering: the code's ``img_association``: Jaccard k1 = 20, k2 = 6, DBSCAN eps 0.5
  (``--thresh``), min_samples 4. Retrieval on the ℓ2-normalised f (cosine), as the code tests.
  Not in the paper: the camera-debiasing options every clustering method shares (``cam_norm``,
  ``neighbours``, ``k_rule``, ``reliability``; ``reidlab.cluster.debias``), all off by
  default, and ``camera_bn`` (TrainConfig: a camera-specific BN-neck, see
  ``reidlab.models.reid_net.CameraBatchNorm``; each camera's statistics are recomputed from
  its test clips before the final evaluation).

The code's schedule (50 epochs, warm-up over 10 from 1 %, ÷10 at 20 and 40) is not a default:
the preset's epochs apply; ``--epochs 50 --warmup-epochs 10 --lr-step 20`` comes closest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reidlab.cluster.debias import DebiasOptions, debias_kwargs, update_stats
from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.memory import momentum_update
from reidlab.methods.base import (LabelFeatures, LabelUpdate, LeaderboardRow, Method, StepOutput,
                                  option, register, stack_history, unstack_history)
from reidlab.methods.camera_bn import CameraBNNeck


@dataclass
class CAPOptions(DebiasOptions):
    k1: int = option(20, "k1 of the k-reciprocal Jaccard distance (CAP code: 20)")
    k2: int = option(6, "k2 (query expansion) of the Jaccard distance (CAP code: 6)")
    eps: float = option(0.5, "DBSCAN eps on the Jaccard distance (CAP code --thresh 0.5)")
    min_samples: int = option(4, "DBSCAN min_samples (CAP code: 4)")
    temperature: float = option(0.07, "τ of both proxy softmaxes (CAP code --inv_beta 0.07)")
    momentum: float = option(0.2, "μ of the proxy memory update K ← μK + (1−μ)f (CAP code "
                             "--inv_alpha 0.2)")
    intra_weight: float = option(1.0, "weight of the intra-camera loss (CAP code: 1)")
    inter_weight: float = option(0.5, "λ, weight of the inter-camera loss (CAP code: 0.5)")
    hard_negatives: int = option(50, "k: the hardest proxies of other clusters used as "
                                 "negatives of the inter-camera loss (CAP code bg_knn 50)")
    inter_start: int = option(5, "first epoch (0-based) of the inter-camera loss (CAP code "
                              "crosscam_epoch 5)")
    label_frames: int = option(8, "frames per tracklet in a label update's feature pass")

    def validate(self) -> None:
        for name in ("k1", "k2", "min_samples", "hard_negatives", "label_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"cap option {name}={getattr(self, name)}: expected >= 1")
        if not 0.0 < self.eps <= 1.0:
            raise ConfigError(f"cap option eps={self.eps}: expected 0 < eps <= 1 (Jaccard)")
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"cap option momentum={self.momentum}: expected 0 <= momentum < 1")
        if self.temperature <= 0:
            raise ConfigError(f"cap option temperature={self.temperature}: expected > 0")
        for name in ("intra_weight", "inter_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"cap option {name}={getattr(self, name)}: expected >= 0")
        if self.intra_weight == 0 and self.inter_weight == 0:
            raise ConfigError("cap options intra_weight and inter_weight are both 0: nothing "
                              "to train")
        if self.inter_start < 0:
            raise ConfigError(f"cap option inter_start={self.inter_start}: expected >= 0")


# -- proxies and losses (pure functions, tested on constructed cases) ----------------------

def split_proxies(labels: np.ndarray, camids: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The camera-aware proxies of a clustering: every (cluster, camera) pair with members.

    Returns ``(proxy, proxy_cluster, proxy_camera)``: the proxy of each sample (−1 for
    outliers) and the cluster and camera of each proxy. Proxies are numbered camera by camera,
    clusters in increasing order inside a camera (the code's order)."""
    labels = np.asarray(labels, np.int64)
    camids = np.asarray(camids, np.int64)
    if labels.shape != camids.shape or labels.ndim != 1:
        raise ValueError(f"split_proxies: labels and camids of one length expected, got "
                         f"{labels.shape} and {camids.shape}")
    keep = labels >= 0
    pairs = np.unique(np.stack([camids[keep], labels[keep]], axis=1), axis=0)  # sorted (c, y)
    proxy = np.full(labels.shape, -1, np.int64)
    if len(pairs):
        key = camids[keep] * (labels.max() + 1) + labels[keep]
        pkey = pairs[:, 0] * (labels.max() + 1) + pairs[:, 1]
        proxy[keep] = np.searchsorted(pkey, key)
    return proxy, pairs[:, 1].copy() if len(pairs) else np.zeros(0, np.int64), \
        pairs[:, 0].copy() if len(pairs) else np.zeros(0, np.int64)


def proxy_centroids(feat: np.ndarray, proxy: np.ndarray, num_proxies: int) -> torch.Tensor:
    """Mean normalised feature of each proxy's members, re-normalised (P × D)."""
    x = F.normalize(torch.as_tensor(np.asarray(feat, np.float32)), dim=1)
    p = torch.as_tensor(np.asarray(proxy, np.int64))
    keep = p >= 0
    cent = torch.zeros(num_proxies, x.shape[1]).index_add_(0, p[keep], x[keep])
    return F.normalize(cent, dim=1)


def intra_camera_loss(f: torch.Tensor, proxy: torch.Tensor, camid: torch.Tensor,
                      memory: torch.Tensor, proxy_camera: torch.Tensor, temperature: float
                      ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Σ over the cameras c in the batch of the mean −log p of its samples' own proxy under a
    softmax over the proxies of camera c only. ``f`` is normalised here. Returns the loss and
    the per-camera terms (for tests and logs)."""
    f = F.normalize(f.float(), dim=1)
    total = f.sum() * 0.0
    per_cam = {}
    for c in torch.unique(camid).tolist():
        rows = camid == c
        cols = torch.nonzero(proxy_camera == c).flatten()
        # the position of each row's proxy among its camera's proxies
        local = torch.searchsorted(cols, proxy[rows])
        logits = f[rows] @ memory[cols].t() / temperature
        term = F.cross_entropy(logits, local)
        per_cam[int(c)] = term
        total = total + term
    return total, per_cam


def inter_camera_loss(f: torch.Tensor, proxy: torch.Tensor, camid: torch.Tensor,
                      memory: torch.Tensor, proxy_cluster: torch.Tensor, temperature: float,
                      hard_negatives: int) -> tuple[torch.Tensor, dict]:
    """Σ over the cameras in the batch of the mean over its samples of
    −(1/|P⁺|) Σ_{p∈P⁺} log softmax over (P⁺ ∪ N_k) — P⁺ every proxy of the sample's cluster,
    N_k the ``hard_negatives`` proxies of other clusters nearest to f (by K·f). Returns the
    loss and {"pos": mean |P⁺|, "neg": mean |N_k|}."""
    f = F.normalize(f.float(), dim=1)
    sims = f @ memory.t()  # B × P
    cluster = proxy_cluster[proxy]  # B
    pos = proxy_cluster[None, :] == cluster[:, None]  # B × P
    with torch.no_grad():
        masked = sims.detach().masked_fill(pos, float("-inf"))
        k = int(min(hard_negatives, int((~pos).sum(1).min())))
        neg = torch.zeros_like(pos)
        if k > 0:
            neg.scatter_(1, torch.topk(masked, k, dim=1).indices, True)
    logits = (sims / temperature).masked_fill(~(pos | neg), float("-inf"))
    logp = F.log_softmax(logits, dim=1)
    per_sample = -(logp.masked_fill(~pos, 0.0).sum(1) / pos.sum(1))
    total = f.sum() * 0.0
    for c in torch.unique(camid).tolist():
        total = total + per_sample[camid == c].mean()
    return total, {"pos": float(pos.sum(1).float().mean()), "neg": float(k)}


@register("cap")
class CAP(CameraBNNeck, Method):
    Options = CAPOptions
    config_defaults = {"sampler": "pk", "num_instances": 4, "batch_size": 32, "lr": 3.5e-4,
                       "crop_pad": 4, "random_erase": 0.5}
    clusters = True
    normalize_embedding = True  # retrieval on ℓ2-normalised f, cosine as in the code
    leaderboard_rows = (
        LeaderboardRow("cap", "no labels (camera-aware proxies)", order=60),
        LeaderboardRow("cap_debias", "no labels, camera-debiased proxies",
                       {"cam_norm": "standardize", "k_rule": "auto"}, order=230),
    )

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        if not self.train_tracklets:
            raise ConfigError("cap: the dataset has no training tracklets")
        # camera-specific BN-neck (TrainConfig.camera_bn, not in the CAP paper): per-camera
        # statistics in training, each camera's own test statistics at the final evaluation
        self.net = self.build_camera_net(cfg, num_cameras)
        n = len(self.train_tracklets)
        self.dim = self.net.out_channels
        # label state (extra state): proxy of every tracklet, cluster/camera of every proxy
        self.sample_proxy = torch.full((n,), -1, dtype=torch.long)
        self.proxy_cluster = torch.zeros(0, dtype=torch.long)
        self.proxy_camera = torch.zeros(0, dtype=torch.long)
        self.memory = torch.zeros(0, self.dim)
        self.history: list[torch.Tensor] = []  # the cluster labels of every update

    @property
    def num_proxies(self) -> int:
        return len(self.proxy_cluster)

    # -- labels ----------------------------------------------------------------------------

    def label_update_due(self, epoch: int) -> bool:
        return True  # the code clusters before every epoch

    def label_frames(self) -> int:
        return self.opts.label_frames

    def cluster(self, feats: LabelFeatures):
        """The shared clustering of the label-update features, with the camera-debiasing
        options every clustering method has (``reidlab.cluster.debias``; defaults: the plain
        Jaccard + DBSCAN of the paper)."""
        from reidlab.cluster.debias import debiased_labels

        o = self.opts
        return debiased_labels(feats.feat, feats.camids, k1=o.k1, k2=o.k2, eps=o.eps,
                               min_samples=o.min_samples, **debias_kwargs(o))

    def update_labels(self, feats: LabelFeatures, epoch: int) -> LabelUpdate:
        res = self.cluster(feats)
        labels = np.asarray(res.labels, np.int64)
        proxy, p_cluster, p_camera = split_proxies(labels, feats.camids)
        n = len(self.train_tracklets)
        self.sample_proxy = torch.full((n,), -1, dtype=torch.long)
        self.sample_proxy[torch.from_numpy(feats.index)] = torch.from_numpy(proxy)
        self.proxy_cluster = torch.from_numpy(p_cluster)
        self.proxy_camera = torch.from_numpy(p_camera)
        self.memory = proxy_centroids(feats.feat, proxy, len(p_cluster))
        full = torch.full((n,), -1, dtype=torch.long)
        full[torch.from_numpy(feats.index)] = torch.from_numpy(labels)
        self.history.append(full)
        num_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
        stats = {"cluster_time": float(res.time_s), "num_proxies": self.num_proxies,
                 "proxies_per_cluster": float(self.num_proxies / max(num_clusters, 1))}
        stats.update(update_stats(res))
        if num_clusters == 0:
            stats["note"] = "no cluster found: no proxy, the epoch trains nothing"
        return LabelUpdate(labels=labels, stats=stats)

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K groups: the proxies (un-clustered tracklets, −1, are not sampled)."""
        return self.sample_proxy.tolist()

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """P×K batches over the proxies, as many as the clustered items fill (the code's
        ``num_batch = clustered samples // batch size``): a proxy smaller than K is filled by
        repetition, so P×K over many small proxies would otherwise make a longer epoch."""
        if self.num_proxies == 0:  # nothing clustered: no proxy to learn from this epoch
            return []
        batches = super().epoch_batches(epoch)
        if int(self.cfg.iters) > 0:  # a fixed-length epoch (TrainConfig.iters) instead
            return batches
        items = int((self.sample_proxy >= 0).sum()) * int(self.cfg.clips_per_tracklet)
        return batches[:max(1, items // int(self.cfg.batch_size))]

    # -- the loss --------------------------------------------------------------------------

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        f = self.net(batch["clips"], batch["camid"])["feat"]
        dev = f.device
        proxy = self.sample_proxy.to(dev)[batch["index"]]
        keep = proxy >= 0  # every sampled tracklet has one; kept for safety
        f, proxy, cams = f[keep], proxy[keep], batch["camid"][keep]
        memory = self.memory.to(dev)
        loss = f.sum() * 0.0
        terms, metrics = {}, {}
        if o.intra_weight > 0:
            l_intra, _ = intra_camera_loss(f, proxy, cams, memory, self.proxy_camera.to(dev),
                                           o.temperature)
            loss = loss + o.intra_weight * l_intra
            terms["intra"] = float(l_intra.detach())
        if o.inter_weight > 0 and epoch >= o.inter_start:
            l_inter, info = inter_camera_loss(f, proxy, cams, memory,
                                              self.proxy_cluster.to(dev), o.temperature,
                                              o.hard_negatives)
            loss = loss + o.inter_weight * l_inter
            terms["inter"] = float(l_inter.detach())
            metrics["positives"] = info["pos"]
        with torch.no_grad():
            metrics["proxy_acc"] = float(((F.normalize(f.float(), dim=1) @ memory.t())
                                          .argmax(1) == proxy).float().mean())
        return StepOutput(loss=loss, terms=terms, metrics=metrics,
                          extras={"feat": f.detach(), "slots": proxy.detach()})

    def after_step(self, batch: dict, out: StepOutput) -> None:
        if "slots" in out.extras and len(out.extras["slots"]):
            momentum_update(self.memory, out.extras["slots"], out.extras["feat"],
                            self.opts.momentum)

    # -- state that changes size (saved in the checkpoint) ---------------------------------

    def get_extra_state(self) -> dict:
        return {"memory": self.memory.clone(), "sample_proxy": self.sample_proxy.clone(),
                "proxy_cluster": self.proxy_cluster.clone(),
                "proxy_camera": self.proxy_camera.clone(),
                "history": stack_history(self.history)}

    def set_extra_state(self, state: dict) -> None:
        self.memory = state["memory"].float().cpu()
        self.sample_proxy = state["sample_proxy"].long().cpu()
        self.proxy_cluster = state["proxy_cluster"].long().cpu()
        self.proxy_camera = state["proxy_camera"].long().cpu()
        self.history = unstack_history(state.get("history"))
