"""PIRID: prototype-based inter-camera learning (Wang, Zhang et al.;
``../shared/papers/002_18d174262746f885.txt``), for intra-camera supervised (ICS) re-ID:
identities are labelled inside each camera, never linked across cameras.

Camera-local IDs: inside each camera the tracklets (or images) of one person share one label
(``padal_labels.camera_local_labels``, as PADAL); camera c's N_c IDs occupy the global slots
A_c … A_c + N_c − 1 (A_c = N_1 + … + N_{c−1}) of an ID memory K (N × D, N = Σ N_c).

* Intra-camera learning (eq. 1–3): the ID memory is filled by a feature pass before the first
  epoch (each slot: the mean normalised BN feature f of its ID) and then moved towards every
  trained feature of its ID. Each camera is a non-parametric classifier: the softmax of
  K[j]·f/τ runs over **that camera's own slots only** (τ = 0.01), and L_intra sums, over the
  cameras in the batch, the mean −log p of that camera's samples (the paper's 1/|D_c|).
* Inter-camera prototype learning (eq. 4–6), from epoch ``intra_epochs`` on (5 of the
  paper's 50): before every such epoch the ID slots K are clustered — DBSCAN (eps 0.6,
  ``min_samples = 2``, so isolated IDs are dropped) on the k-reciprocal Jaccard distance
  (SpCL's k1 = 30, k2 = 6; the paper only says "DBSCAN with a threshold of 0.6") — and
  every cluster is a prototype: its memory entry K' is the mean of its slots. L_inter_ID is
  the softmax of K'·f/τ over all prototypes with the sample's prototype as target (samples of
  dropped IDs have none); L_inter_triplet is the batch-hard triplet loss (margin 0.1) on the
  GAP feature g with the prototypes as labels. L = L_intra + L_inter_ID + L_inter_triplet.
* P×K sampling, 8 identities × 4 instances, batch 32: groups are the camera-local IDs in the
  intra stage and the prototypes (an ID left out keeps its own group) afterwards.

The memory update of eq. 1 is printed as K[j] ← μ·K[j] + (1 − μ)·f with μ = 0.05, which keeps
only 5 % of the old value: the slot would be the last feature seen, not the class centroid the
text describes ("the updated features in each column can be interpreted as the centroids").
We read μ as the *updating rate* the text names it: ``memory_rule="centroid"`` (default) is
K[j] ← (1 − μ)·K[j] + μ·f; ``"as_printed"`` applies eq. 1 literally. K' is updated the same way.

Variants of the paper's Table 2: PIRID-1 = ``inter=False`` (intra-camera loss throughout),
PIRID-2 = ``triplet_weight=0``. Not in the paper: ``cross_camera_only`` keeps two IDs of one
camera out of each other's neighbourhoods before DBSCAN (they are different people by
construction of the labels).

Schedule: Adam 3.5e-4 with a warm-up over the first 10 epochs and ÷10 every 20 epochs of 50
— ``--epochs 50 --warmup-epochs 10 --lr-step 20`` (the method sets lr, batch and P×K; the
epochs come from the preset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reidlab.cluster.debias import DebiasOptions, debias_kwargs
from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError
from reidlab.losses.memory import momentum_update
from reidlab.losses.metric import batch_hard_triplet
from reidlab.methods.base import (LabelFeatures, LabelUpdate, LeaderboardRow, Method, Stage,
                                  StepOutput, changed_option_tags, is_off, option, register,
                                  stack_history, unstack_history)
from reidlab.methods.padal_labels import camera_local_labels
from reidlab.models.reid_net import build_net

MEMORY_RULES = ("centroid", "as_printed")


@dataclass
class PIRIDOptions(DebiasOptions):
    intra_epochs: int = option(5, "epochs of intra-camera learning before the prototypes "
                               "(the paper: 5 of 50)")
    inter: bool = option(True, "inter-camera prototype learning (False: PIRID-1, intra only)")
    intra_weight: float = option(1.0, "weight of L_intra")
    inter_weight: float = option(1.0, "weight of L_inter_ID (the prototype loss)")
    triplet_weight: float = option(1.0, "weight of L_inter_triplet (0: PIRID-2)")
    margin: float = option(0.1, "triplet margin m1")
    temperature: float = option(0.01, "τ of the non-parametric softmaxes")
    memory_rate: float = option(0.05, "μ, the memory updating rate")
    memory_rule: str = option("centroid", "centroid: K ← (1−μ)K + μf (a slow class centroid, "
                              "our reading); as_printed: eq. 1, K ← μK + (1−μ)f",
                              MEMORY_RULES)
    eps: float = option(0.6, "DBSCAN eps on the Jaccard distance of the ID slots")
    min_samples: int = option(2, "DBSCAN min_samples (2: only isolated IDs are dropped)")
    k1: int = option(30, "k1 of the Jaccard distance (SpCL default; the paper gives none)")
    k2: int = option(6, "k2 of the Jaccard distance (SpCL default)")
    cross_camera_only: bool = option(False, "not in the paper: two IDs of one camera are "
                                     "never neighbours when the prototypes are clustered")
    label_frames: int = option(8, "frames per tracklet in a label update's feature pass")

    def validate(self) -> None:
        if self.intra_epochs < 0:
            raise ConfigError(f"pirid option intra_epochs={self.intra_epochs}: expected >= 0")
        if not 0.0 <= self.memory_rate <= 1.0:
            raise ConfigError(f"pirid option memory_rate={self.memory_rate}: expected 0..1")
        if self.temperature <= 0 or self.margin < 0:
            raise ConfigError("pirid options: expected temperature > 0 and margin >= 0")
        if not 0.0 < self.eps <= 1.0:
            raise ConfigError(f"pirid option eps={self.eps}: expected 0 < eps <= 1 (Jaccard)")
        for name in ("min_samples", "k1", "k2", "label_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"pirid option {name}={getattr(self, name)}: expected >= 1")


def memory_update(memory: torch.Tensor, rows: torch.Tensor, feat: torch.Tensor,
                  rate: float, rule: str = "centroid") -> None:
    """Move ``memory[rows[i]]`` towards ``feat[i]`` at the updating rate μ: ``centroid``
    m ← (1 − μ)·m + μ·f; ``as_printed`` (eq. 1) m ← μ·m + (1 − μ)·f."""
    momentum_update(memory, rows, feat, 1.0 - rate if rule == "centroid" else rate)


def link_prototypes(slots: np.ndarray, camids: np.ndarray, k1: int = 30, k2: int = 6,
                    eps: float = 0.6, min_samples: int = 2,
                    cross_camera_only: bool = False, info: dict | None = None,
                    **debias) -> np.ndarray:
    """Prototype label of every ID slot (−1: isolated, dropped): DBSCAN on the k-reciprocal
    Jaccard distance of the unit rows of ``slots``. With ``cross_camera_only`` two slots of
    one camera are never neighbours (DBSCAN can still chain them through another camera).
    ``debias``: the camera-debiasing keywords of :func:`reidlab.cluster.debias.debiased_labels`
    (cam_norm, neighbours, k_rule, reliability; their defaults change nothing); ``info``, when
    given, receives the clustering's numbers (k1, k2, same-camera neighbour shares)."""
    from reidlab.cluster.debias import debiased_labels, update_stats

    x = np.asarray(slots, np.float32)
    n = len(x)
    if n < 2:
        return np.full(n, -1, np.int64)
    k1 = min(int(k1), n - 1)
    res = debiased_labels(x, np.asarray(camids), k1=max(k1, 1), k2=max(min(int(k2), k1), 1),
                          eps=float(eps), min_samples=int(min_samples),
                          cross_camera_pairs_only=cross_camera_only, **debias)
    if info is not None:
        info.update(update_stats(res))
    return res.labels


def link_stats(proto: np.ndarray, slot_pids: np.ndarray, slot_cams: np.ndarray) -> dict:
    """How right the prototype links are: pairs of ID slots put in one prototype, and the
    fraction of them that are one person (``link_precision``); of all slot pairs that are one
    person, the fraction linked (``link_recall``); prototypes spanning several cameras."""
    proto, pids, cams = map(np.asarray, (proto, slot_pids, slot_cams))
    m = proto >= 0
    same = (proto[:, None] == proto[None, :]) & m[:, None] & m[None, :]
    truth = pids[:, None] == pids[None, :]
    iu = np.triu_indices(len(proto), 1)
    linked, true = same[iu], truth[iu]
    num = int(proto.max()) + 1 if m.any() else 0
    multi = sum(len(set(cams[proto == p].tolist())) > 1 for p in range(num))
    return {"prototypes": num, "linked_ids": int(m.sum()), "dropped_ids": int((~m).sum()),
            "link_pairs": int(linked.sum()),
            "link_precision": float((linked & true).sum() / max(linked.sum(), 1)),
            "link_recall": float((linked & true).sum() / max(true.sum(), 1)),
            "multi_camera_prototypes": int(multi)}


@register("pirid")
class PIRID(Method):
    Options = PIRIDOptions
    config_defaults = {"lr": 3.5e-4, "batch_size": 32, "sampler": "pk", "num_instances": 4}
    clusters = True
    normalize_embedding = True  # retrieval on ℓ2-normalised f
    # the intra-camera stage cut to 3 of the quick preset's 8 epochs (see bench/table_pirid.py)
    leaderboard_rows = (
        LeaderboardRow("pirid", "camera-local IDs → prototypes",
                       {"intra_epochs": 3, "label_frames": 4}, {"warmup_epochs": 2}, order=40),
        LeaderboardRow("pirid_debias", "camera-local IDs → camera-debiased prototypes",
                       {"intra_epochs": 3, "label_frames": 4, "cam_norm": "standardize",
                        "k_rule": "auto"}, {"warmup_epochs": 2}, order=220),
    )

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """The paper's Table 2 variants: intra-camera only, no triplet, eq. 1 as printed;
        then the camera-debiasing options that differ from their defaults."""
        o = settings
        tags = ["intra only" if is_off(o.get("inter")) else "",
                "no triplet" if float(o.get("triplet_weight", 1) or 0) == 0 else "",
                "eq.1 as printed" if o.get("memory_rule") == "as_printed" else ""]
        return [t for t in tags if t] + changed_option_tags(DebiasOptions, settings)

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__(cfg, train, num_cameras, source)
        if not train:
            raise ConfigError("pirid: the dataset has no training tracklets")
        cams = {t.camid for t in train}
        if self.opts.inter and len(cams) < 2:
            raise ConfigError(f"pirid: inter-camera learning needs at least 2 training cameras; "
                              f"found {len(cams)} — use inter=False (PIRID-1)")
        local, counts = camera_local_labels(self.train_tracklets, num_cameras)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        slot = offsets[[t.camid for t in self.train_tracklets]] + local
        self.num_slots = int(sum(counts))
        self.register_buffer("slot_of", torch.as_tensor(slot, dtype=torch.long), persistent=False)
        cam_of_slot = np.repeat(np.arange(num_cameras), counts)
        self.register_buffer("slot_cam", torch.as_tensor(cam_of_slot, dtype=torch.long),
                             persistent=False)
        pid_of_slot = np.zeros(self.num_slots, np.int64)  # ground truth, for link_stats only
        pid_of_slot[slot] = [t.pid for t in self.train_tracklets]
        self.slot_pid = pid_of_slot
        self.net = build_net(cfg)
        dim = self.net.out_channels
        self.dim = dim
        # state that changes size (saved through get/set_extra_state)
        self.id_memory = torch.zeros(0, dim)  # N×D once filled
        self.proto = torch.full((self.num_slots,), -1, dtype=torch.long)  # slot → prototype
        self.proto_memory = torch.zeros(0, dim)  # Y×D
        self.history: list[torch.Tensor] = []

    # -- stages and labels -----------------------------------------------------------------

    def inter_from(self) -> int | None:
        return self.opts.intra_epochs if self.opts.inter else None

    def stages(self) -> list[Stage]:
        start = self.inter_from()
        if start is None or start >= int(self.cfg.epochs):
            return [Stage("intra", 0)]
        return [Stage("intra", 0), Stage("inter", start)] if start > 0 else [Stage("inter", 0)]

    def label_update_due(self, epoch: int) -> bool:
        return epoch == 0 or len(self.id_memory) == 0 or self.stage_at(epoch).name == "inter"

    def label_frames(self) -> int:
        return self.opts.label_frames

    def update_labels(self, feats: LabelFeatures, epoch: int) -> list[LabelUpdate]:
        o = self.opts
        slot = self.slot_of.cpu().numpy()[feats.index]
        updates = [LabelUpdate(labels=slot.copy(), stage="local",
                               stats={"ids": self.num_slots})]
        if len(self.id_memory) == 0:  # fill the ID memory: the mean feature of each ID
            mem = np.zeros((self.num_slots, feats.feat.shape[1]), np.float32)
            np.add.at(mem, slot, feats.feat)
            self.id_memory = F.normalize(torch.from_numpy(mem), dim=1)
        if self.stage_at(epoch).name != "inter":
            return updates
        mem = self.id_memory.numpy()
        link_info: dict = {}
        proto = link_prototypes(mem, self.slot_cam.cpu().numpy(), o.k1, o.k2, o.eps,
                                o.min_samples, o.cross_camera_only, info=link_info,
                                **debias_kwargs(o))
        self.proto = torch.as_tensor(proto, dtype=torch.long)
        num = int(proto.max()) + 1 if (proto >= 0).any() else 0
        pm = torch.zeros(num, self.dim)
        if num:
            keep = self.proto >= 0
            pm.index_add_(0, self.proto[keep], self.id_memory[keep])
        self.proto_memory = F.normalize(pm, dim=1)
        self.history.append(self.proto.clone())
        stats = {**link_stats(proto, self.slot_pid, self.slot_cam.cpu().numpy()), **link_info}
        if num == 0:
            stats["note"] = "no prototype found: the inter-camera losses are off this epoch"
        updates.append(LabelUpdate(labels=proto[slot], stage="prototype", stats=stats))
        return updates

    def sampler_groups(self, epoch: int) -> list[int]:
        """P×K groups: camera-local IDs; in the inter stage an ID linked into a prototype
        takes the prototype's group (offset past the slots)."""
        slot = self.slot_of.cpu()
        if self.stage_at(epoch).name != "inter" or not len(self.proto_memory):
            return slot.tolist()
        p = self.proto[slot]
        return torch.where(p >= 0, p + self.num_slots, slot).tolist()

    # -- the loss --------------------------------------------------------------------------

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        o = self.opts
        out = self.net(batch["clips"])
        f = F.normalize(out["feat"].float(), dim=1)
        slot = self.slot_of.to(f.device)[batch["index"]]
        loss = f.sum() * 0.0
        terms, metrics = {}, {}
        if len(self.id_memory):
            mem = self.id_memory.to(f.device)
            logits = f @ mem.t() / o.temperature
            own = self.slot_cam.to(f.device)[None, :] == self.slot_cam.to(f.device)[slot][:, None]
            logits = logits.masked_fill(~own, float("-inf"))  # each camera's own IDs only
            nll = F.cross_entropy(logits, slot, reduction="none")
            cams = self.slot_cam.to(f.device)[slot]
            per_cam = [nll[cams == c].mean() for c in torch.unique(cams)]
            l_intra = torch.stack(per_cam).sum()
            loss = loss + o.intra_weight * l_intra
            terms["intra"] = float(l_intra.detach())
            metrics["intra_acc"] = float((logits.argmax(1) == slot).float().mean())
        proto = self.proto.to(f.device)[slot]
        linked = proto >= 0
        if self.stage is not None and self.stage.name == "inter" and len(self.proto_memory) \
                and bool(linked.any()):
            pm = self.proto_memory.to(f.device)
            logits = f[linked] @ pm.t() / o.temperature
            l_inter = F.cross_entropy(logits, proto[linked])
            loss = loss + o.inter_weight * l_inter
            terms["inter"] = float(l_inter.detach())
            metrics["inter_acc"] = float((logits.argmax(1) == proto[linked]).float().mean())
            metrics["linked_fraction"] = float(linked.float().mean())
            if o.triplet_weight > 0:
                l_tri, m = batch_hard_triplet(out["feat_pre"], proto, margin=o.margin)
                loss = loss + o.triplet_weight * l_tri
                terms["triplet"] = float(l_tri.detach())
                metrics.update(m)
        return StepOutput(loss=loss, terms=terms, metrics=metrics,
                          extras={"feat": f.detach(), "slot": slot.detach(),
                                  "proto": proto.detach()})

    def after_step(self, batch: dict, out: StepOutput) -> None:
        o = self.opts
        if not len(self.id_memory) or "slot" not in out.extras:
            return
        memory_update(self.id_memory, out.extras["slot"], out.extras["feat"],
                        o.memory_rate, o.memory_rule)
        p = out.extras["proto"]
        if len(self.proto_memory) and bool((p >= 0).any()):
            memory_update(self.proto_memory, p[p >= 0], out.extras["feat"][p >= 0],
                            o.memory_rate, o.memory_rule)

    # -- state that changes size -----------------------------------------------------------

    def get_extra_state(self) -> dict:
        return {"id_memory": self.id_memory.clone(), "proto": self.proto.clone(),
                "proto_memory": self.proto_memory.clone(),
                "history": stack_history(self.history)}

    def set_extra_state(self, state: dict) -> None:
        self.id_memory = state["id_memory"].float().cpu()
        self.proto = state["proto"].long().cpu()
        self.proto_memory = state["proto_memory"].float().cpu()
        self.history = unstack_history(state.get("history"))
