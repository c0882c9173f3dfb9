"""Several processes training one run (``torchrun --nproc_per_node N -m reidlab train ...``).

The trainer reads torchrun's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``); with one
process nothing here is used. With N processes:

- every process draws the same global batches (a pure function of seed, epoch and the method's
  labels) and trains on its contiguous 1/N of each: P×K batches are ordered group by group,
  so with P divisible by N each process holds whole identity groups, and the clip sampling of
  each item is the item's own (seeded by seed, epoch, tracklet, clip), whoever draws it;
- gradients are averaged by :class:`~torch.nn.parallel.DistributedDataParallel`, batch-norm
  statistics are those of the global batch (``SyncBatchNorm`` on GPUs, :class:`GlooSyncBatchNorm`
  on CPUs, where PyTorch's has no kernel), so step 1 has the loss of one process on the same
  global batch;
- what a method updates after a step (memory banks) is updated with the whole global batch,
  gathered in rank order, so every process holds the same memory;
- label updates (clustering methods) and evaluations run once, on rank 0, and the method's
  state is broadcast; only rank 0 writes the run store.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidlab.errors import ConfigError


# the autograd all-reduce below is the one that is differentiable; its successor is not (yet)
warnings.filterwarnings("ignore", message=r"torch\.distributed\.nn\.functional\.all_reduce",
                        category=FutureWarning)


class GlooSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the batch of every process (CPU/gloo): per-channel sums and sums of
    squares are all-reduced with autograd (``torch.distributed.nn``), so gradients flow to
    every process's inputs as they would through one process's batch norm."""

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-d input, got {x.dim()}-d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        from torch.distributed.nn.functional import all_reduce

        c = x.shape[1]
        dims = [0, *range(2, x.dim())]
        n = torch.full((1,), x.numel() / c, dtype=x.dtype, device=x.device)
        stats = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), n]))
        total = stats[-1]
        mean = stats[:c] / total
        var = (stats[c:2 * c] / total - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                     else self.momentum)
                unbiased = var * (total / (total - 1).clamp_min(1))
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * unbiased.detach())
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every batch norm of ``module`` synchronised over the processes (weights, buffers and
    their training flags carried over)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        out = GlooSyncBatchNorm(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                out.weight = module.weight
                out.bias = module.bias
        if module.track_running_stats:
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, convert_sync_batchnorm(child, device))
    return out


def _moved(obj, device: torch.device):
    """``obj`` (tensors in dicts, lists, tuples) with every tensor on ``device``."""
    if torch.is_tensor(obj):
        return obj.detach().to(device)
    if isinstance(obj, dict):
        return type(obj)((k, _moved(v, device)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_moved(v, device) for v in obj)
    return obj


class _Step(nn.Module):
    """What DistributedDataParallel wraps: ``forward`` is the method's training step."""

    def __init__(self, method: nn.Module):
        super().__init__()
        self.method = method

    def forward(self, batch: dict, epoch: int):
        return self.method.training_step(batch, epoch)


class Dist:
    """This process's place among the processes of a run (one process: ``enabled`` False)."""

    def __init__(self, world: int = 1, rank: int = 0, local_rank: int = 0):
        self.world, self.rank, self.local_rank = world, rank, local_rank
        self.enabled = world > 1
        self.started = False
        self._device = torch.device("cpu")

    @classmethod
    def from_env(cls) -> "Dist":
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as e:
            raise ConfigError(f"WORLD_SIZE/RANK/LOCAL_RANK must be integers (torchrun sets "
                              f"them): {e}") from e
        return cls(world, rank, local)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def start(self, device_name: str) -> None:
        """Join the process group (NCCL on GPUs, gloo on CPUs). Evaluations and label updates
        run on rank 0 while the others wait, hence the long timeout."""
        if not self.enabled or self.started:
            return
        import torch.distributed as dist

        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo",
                                    timeout=timedelta(hours=6))
        self.started = True

    def device(self, device: torch.device) -> torch.device:
        if self.enabled and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
        self._device = device
        return device

    def check_batch(self, batch_size: int) -> None:
        if self.enabled and batch_size % self.world:
            raise ConfigError(f"batch_size {batch_size} must be divisible by the number of "
                              f"processes ({self.world}): each trains an equal part of every "
                              "global batch")

    def shard(self, batches: list[list]) -> list[list]:
        """This process's contiguous part of every global batch; batches smaller than the
        number of processes are dropped on every process alike."""
        if not self.enabled:
            return batches
        out = []
        for b in batches:
            if len(b) < self.world:
                continue
            lo = len(b) * self.rank // self.world
            hi = len(b) * (self.rank + 1) // self.world
            out.append(b[lo:hi])
        return out

    def wrap(self, method: nn.Module):
        """The module whose forward is a training step: DDP around the method (rebuilt by the
        trainer whenever the method's parameters or stage change)."""
        if not self.enabled:
            return None
        from torch.nn.parallel import DistributedDataParallel as DDP

        dev = next(method.parameters()).device
        return DDP(_Step(method), device_ids=[dev.index] if dev.type == "cuda" else None,
                   find_unused_parameters=True, forward_sync_buffers=False)

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def mean_dicts(self, *ds: dict) -> list[dict]:
        """Each dict of numbers averaged over the processes, key by key (a key that only some
        processes have — a loss term of samples only they drew — over those)."""
        if not self.enabled:
            return list(ds)
        import torch.distributed as dist

        every: list = [None] * self.world
        dist.all_gather_object(every, list(ds))
        out = []
        for i in range(len(ds)):
            keys = list(dict.fromkeys(k for e in every for k in e[i]))
            out.append({k: sum(e[i][k] for e in every if k in e[i])
                        / sum(1 for e in every if k in e[i]) for k in keys})
        return out

    def any(self, flag: bool, device: torch.device) -> bool:
        if not self.enabled:
            return flag
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t)
        return bool(t.item() > 0)

    def gather_rows(self, extras: dict) -> dict:
        """Every tensor of ``extras`` with a batch dimension, concatenated over the processes
        in rank order (parts may differ in length, or be absent on a process whose part had
        no such rows); other values stay this process's."""
        if not self.enabled:
            return extras
        import torch.distributed as dist

        mine = {k: (tuple(v.shape[1:]), str(v.dtype).replace("torch.", ""))
                for k, v in extras.items() if torch.is_tensor(v) and v.dim() >= 1}
        every: list = [None] * self.world
        dist.all_gather_object(every, mine)
        keys: dict = {}
        for d in every:
            for k, spec in d.items():
                keys.setdefault(k, spec)
        out = dict(extras)
        dev = next((v.device for v in extras.values() if torch.is_tensor(v)), self._device)
        for k in sorted(keys):
            tail, dtype = keys[k]
            v = extras.get(k)
            if not (torch.is_tensor(v) and v.dim() >= 1):
                v = torch.zeros((0, *tail), dtype=getattr(torch, dtype), device=dev)
            v = v.detach().contiguous()
            n = torch.tensor([v.shape[0]], device=v.device)
            got = [torch.zeros_like(n) for _ in range(self.world)]
            dist.all_gather(got, n)
            sizes = [int(s.item()) for s in got]
            width = max(max(sizes), 1)
            if v.shape[0] < width:
                v = torch.cat([v, v.new_zeros((width - v.shape[0], *v.shape[1:]))])
            parts = [torch.empty_like(v) for _ in range(self.world)]
            dist.all_gather(parts, v)
            out[k] = torch.cat([p[:s] for p, s in zip(parts, sizes)])
        return out

    def broadcast_state(self, method: nn.Module) -> None:
        """Rank 0's method state (parameters, buffers and the state that changes size:
        pseudo labels, memories) loaded on every process."""
        if not self.enabled:
            return
        import torch.distributed as dist

        box = [_moved(method.state_dict(), torch.device("cpu")) if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        if not self.is_main:
            method.load_state_dict(_moved(box[0], next(method.parameters()).device))

    def close(self) -> None:
        if self.enabled and self.started:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()
            self.started = False
