"""What a method's hooks see of the run: :class:`HookContext`.

``Method.on_stage_start(stage, ctx)``, ``on_epoch_start(epoch, ctx)`` and
``after_epoch(epoch, ctx)`` receive a fresh context at every call, never the trainer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from reidlab.data.tracklets import TrackletSet


@dataclass(frozen=True)
class HookContext:
    cfg: object  # the run's TrainConfig
    device: torch.device
    data: TrackletSet  # the dataset (train / query / gallery)
    source: TrackletSet | None  # the labelled source of a domain-adaptation run
    epoch: int  # epochs completed when the hook is called
    step: int  # optimiser steps done (restored by --resume)
    log: Callable[[dict], None]  # append a record to metrics.jsonl
    warn: Callable[..., None]  # warn(message, path=None): stderr and a warning record
