"""The method contract. A method is a composition of a re-ID network, heads, named loss terms
and hooks — never a copy of a training loop. The one trainer (``reidlab.engine.trainer``)
drives every method through this interface.

Batch format (built by ``reidlab.data.loader``):
    ``clips``  float tensor B×T×3×H×W, normalised with ``method.net.input_norm``
    ``camid``  long B (0-based camera)
    ``index``  long B (position of the tracklet in ``method.train_tracklets``)
    ``pid``    long B (ground-truth identity: methods of this family must NOT use it across
               cameras; it exists for diagnostics and supervised baselines)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from reidlab.data.tracklets import Tracklet


@dataclass
class StepOutput:
    loss: torch.Tensor  # the scalar to back-propagate (already weighted, GRL inside)
    terms: dict[str, float] = field(default_factory=dict)  # named loss terms, unweighted
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. discriminator accuracy


class Method(nn.Module):
    """Base class. Subclasses set ``self.net`` (a ``reidlab.models.reid_net.ReIDNet``) and heads."""

    name: str = "base"

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int):
        super().__init__()
        self.cfg = cfg
        self.num_cameras = num_cameras
        # The list the trainer samples training clips from; ``batch["index"]`` indexes it. A
        # method may transform the dataset's list (padal's fragment-rate study splits
        # tracklets in two), so the trainer must build its loader from this attribute.
        self.train_tracklets: list[Tracklet] = list(train)

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        raise NotImplementedError

    def param_groups(self) -> list[dict]:
        """Optimiser parameter groups; a group's ``lr_mult`` scales the trainer's learning rate
        (e.g. faster discriminators)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def on_epoch_start(self, epoch: int, trainer) -> None:
        """Hook run before each epoch (clustering methods update pseudo labels here)."""

    @torch.no_grad()
    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """Retrieval embedding f for clips B×T×3×H×W (Euclidean distance is used on it)."""
        return self.net(clips)["feat"]


METHODS: dict[str, Callable[..., Method]] = {}


def register(name: str):
    def deco(cls):
        cls.name = name
        METHODS[name] = cls
        return cls

    return deco
