"""The one training loop for every method, writing a run store (see ``reidlab.engine.runs``).

``train(cfg, out)`` seeds everything, loads the dataset (and a labelled source dataset for
domain adaptation, ``cfg.source``), builds the method (``reidlab.methods.build_method``),
evaluates the initial model, then per epoch: enters the method's stage for that epoch (a new
stage rebuilds Adam; the learning-rate schedule follows the run's epoch), runs a label update
when the method asks for one, then ``method.training_step`` over
``method.epoch_batches(epoch)`` (samples of ``method.train_tracklets``; CUDA: autocast +
GradScaler) with the ``after_step`` and ``after_epoch`` hooks, logs named loss terms,
checkpoints, and finally evaluates and stores features. The contract is documented in
``reidlab.methods.base`` and docs/training.md.

The loop is the trainer's own; the rest are services, each in its module:

- ``reidlab.engine.store.RunStore``: status, progress, ``metrics.jsonl``, warnings, config;
- ``reidlab.engine.checkpoint.Checkpointer``: ``checkpoint.pt`` with the RNG states;
- ``reidlab.engine.label_step.LabelStep``: a clustering method's label update;
- ``reidlab.engine.evaluator.Evaluator``: features and metrics during the run;
- ``reidlab.engine.hooks.HookContext``: what the method's hooks see of the run.

Exact resume: batches, frames and augmentation depend only on (seed, epoch, item) and the RNG
states are in the checkpoint, so ``train(cfg, out, resume=True)`` after an interruption gives
the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from reidlab.data.loader import TrainClipDataset, train_loader
from reidlab.data.tracklets import SOURCE, TrackletSet
from reidlab.engine.checkpoint import (Checkpointer, load_checkpoint,  # noqa: F401 (public)
                                       rng_state, set_rng_state)
from reidlab.engine.config import TrainConfig, check_settings
from reidlab.engine.distributed import Dist, convert_sync_batchnorm
from reidlab.engine.evaluator import Evaluator
from reidlab.engine.hooks import HookContext
from reidlab.engine.label_step import LabelStep
from reidlab.engine.runs import CHECKPOINT, features_file
from reidlab.engine.store import RunStore, dataset_fingerprint, versions  # noqa: F401 (public)
from reidlab.errors import ConfigError, DatasetError, RunStoreError

Progress = Callable[[float, str], None]


# ----------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device(name)


def load_data(cfg: TrainConfig) -> TrackletSet:
    from reidlab.data import load_dataset

    data = load_dataset(cfg.dataset_format, cfg.dataset, **(cfg.dataset_options or {}))
    if not data.train:
        raise DatasetError(cfg.dataset, "a dataset with training tracklets", "none")
    return data


def load_source(cfg: TrainConfig) -> TrackletSet | None:
    """The labelled source dataset of a domain-adaptation run (``cfg.source``), its training
    tracklets tagged ``domain=SOURCE``; None without one."""
    if not cfg.source:
        return None
    import dataclasses as dc

    from reidlab.data import load_dataset

    src = load_dataset(cfg.source_format, cfg.source, **(cfg.source_options or {}))
    labelled = [dc.replace(t, domain=SOURCE) for t in src.train if t.pid >= 0]
    if len({t.pid for t in labelled}) < 2:
        raise DatasetError(cfg.source, "a labelled source dataset (training tracklets of at "
                           "least 2 identities, pid >= 0)",
                           f"{len({t.pid for t in labelled})} labelled identities")
    src.train = labelled
    return src


def _batch_to(batch: dict, device: torch.device) -> dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v)
            for k, v in batch.items()}


def _select(batch: dict, keep: torch.Tensor) -> dict:
    return {k: (v[keep] if torch.is_tensor(v) and v.ndim > 0 and len(v) == len(keep) else v)
            for k, v in batch.items()}


def _mean_dicts(ds: list[dict]) -> dict:
    keys = sorted({k for d in ds for k in d})
    return {k: float(np.mean([d[k] for d in ds if k in d])) for k in keys}


def _scalar(v) -> float:
    return float(v.detach().float().item()) if torch.is_tensor(v) else float(v)


# ----------------------------------------------------------------------------- trainer


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


class Stopped(Exception):
    """Raised inside the loop when a stop was requested (handled by ``Trainer.fit``)."""


def lr_factor(cfg, epoch: int) -> float:
    """Learning-rate multiplier of 0-based ``epoch``: a linear warm-up over the first
    ``cfg.warmup_epochs`` epochs (epoch e runs at (e + 1)/warmup, the strong baseline's
    3.5e-5 → 3.5e-4 schedule that PIRID uses), times ``lr_gamma`` per ``lr_step`` epochs."""
    w = int(getattr(cfg, "warmup_epochs", 0) or 0)
    warm = min(1.0, (epoch + 1) / w) if w > 0 else 1.0
    return warm * cfg.lr_gamma ** (epoch // max(int(cfg.lr_step), 1))


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (oneDNN: AMX or AVX512-BF16); elsewhere
    oneDNN emulates it, slower than float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Trainer:
    """One run: the loop over epochs and steps; the run store, checkpoints, label updates and
    evaluation are services (``self.store``, ``self.checkpointer``, ``self.labels``,
    ``self.evaluator``); the method's hooks get a :class:`HookContext` (:meth:`context`)."""

    def __init__(self, cfg: TrainConfig, out: str | Path, resume: bool = False,
                 progress: Progress | None = None, stop_flag: Callable[[], bool] | None = None):
        self.out = Path(out)
        self.cfg = cfg
        self.resume = resume
        self.stop_flag = stop_flag
        self.epoch = 0  # epochs completed
        self.step = 0  # optimiser steps done
        self._in_epoch = False
        self.dropped_seen: set[int] = set()  # training tracklets without any readable frame
        self.dist = Dist.from_env()  # several processes under torchrun (docs/training.md)
        self.step_module = None  # DDP around the method's training step (several processes)
        self.store = RunStore(self.out, self.dist, cfg.epochs,
                              position=lambda: (self.epoch, self.step, self._in_epoch),
                              progress=progress)
        self.checkpointer = Checkpointer(self.out / CHECKPOINT, self.dist)

    def context(self) -> HookContext:
        """What the method's hooks see: settings, device, data, where the run stands, and
        the store's ``log`` and ``warn``."""
        return HookContext(cfg=self.cfg, device=self.device, data=self.data, source=self.source,
                           epoch=self.epoch, step=self.step, log=self.store.log,
                           warn=self.store.warn)

    def stop_requested(self) -> bool:
        stop = (self.stop_flag is not None and self.stop_flag()) or self.store.cancel_requested()
        return self.dist.any(stop, self.device)  # every process stops at the same step

    # -- set-up ----------------------------------------------------------------------------

    def _prepare_store(self) -> None:
        """The settings refused before the run folder is made (also those of a TrainConfig
        built without ``make_config``), then the folder checked and on resume the stored
        settings taken."""
        from reidlab.models.backbones import check_freeze_stages

        check_settings(self.cfg)
        check_freeze_stages(self.cfg.freeze_stages)
        self.cfg, self.stored = self.store.prepare(self.cfg, self.resume)

    def _setup(self) -> None:
        cfg = self.cfg
        seed_everything(cfg.seed)
        self.device = self.dist.device(select_device(cfg.device))
        self.dist.check_batch(cfg.batch_size)
        self.amp = bool(cfg.amp) and self.device.type == "cuda"
        # feature passes (evaluation, label updates): CUDA AMP, or bfloat16 on a CPU if asked
        # (emulated bfloat16 is slower than float32: the switch is for speed, so a CPU without
        # native bfloat16 skips it, and fit() says so)
        self.eval_autocast = self.amp or (bool(cfg.eval_bf16) and self.device.type == "cpu"
                                          and cpu_has_bf16())
        self.store.report(0.0, "loading dataset")
        self.data = load_data(cfg)
        self.source = load_source(cfg)
        self.store.write_config(cfg, self.data, self.source, self.stored, self.device)
        from reidlab.methods import build_method

        try:
            self.method = build_method(cfg, self.data.train, self.data.num_cameras,
                                       source=self.source.train if self.source else None
                                       ).to(self.device)
        except ConfigError as e:  # say which data the method refused
            cams = len({t.camid for t in self.data.train})
            raise ConfigError(f"{e} [dataset {cfg.dataset}: {len(self.data.train)} training "
                              f"tracklets from {cams} camera(s)]") from e
        if self.dist.enabled:  # the backbone's batch statistics: those of the global batch
            self.method.net = convert_sync_batchnorm(self.method.net, self.device)
        if cfg.channels_last:  # NHWC convolutions (oneDNN on CPU, tensor cores on GPU)
            self.method.to(memory_format=torch.channels_last)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        # the loader samples the method's own list (fragments, appended source tracklets)
        self.dataset = TrainClipDataset(self.method.train_tracklets, cfg,
                                        self.method.net.input_norm, augment=True)
        self.evaluator = Evaluator(self.store, self.data, cfg, self.device, self.eval_autocast)
        self.labels = LabelStep(self.store, cfg, self.device, self.eval_autocast)
        self.method.on_stage_start(self.method.stage_at(0), self.context())
        self._build_optimizer()

    def _build_optimizer(self) -> None:
        """Adam over the method's parameter groups of its current stage. The learning rate of
        each epoch is set by :meth:`_set_lr` from the run's epoch (not from the stage's), so a
        stage boundary resets Adam's moments but not the schedule."""
        cfg = self.cfg
        groups = self.method.param_groups()
        for g in groups:
            g["base_lr"] = cfg.lr * g.pop("lr_mult", 1.0)
            g["lr"] = g["base_lr"]
        try:  # one fused kernel over all parameters: ~3x faster steps than the per-tensor loop
            self.optimizer = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                              fused=True)
        except (RuntimeError, TypeError, ValueError):  # a device/dtype fused Adam lacks
            for g in groups:
                g.pop("fused", None)
            self.optimizer = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.step_module = self.dist.wrap(self.method)

    def _set_lr(self, epoch: int) -> float:
        factor = lr_factor(self.cfg, epoch)
        for g in self.optimizer.param_groups:
            g["lr"] = g["base_lr"] * factor
        return factor

    def _enter_stage(self, epoch: int) -> None:
        """Switch to the method's stage for ``epoch``; a new stage rebuilds the optimiser."""
        stage = self.method.stage_at(epoch)
        if stage == self.method.stage:
            return
        self.method.on_stage_start(stage, self.context())
        self._build_optimizer()
        self.store.log({"kind": "stage", "epoch": epoch, "stage": stage.name, "step": self.step})

    # -- checkpoints -----------------------------------------------------------------------

    def _load_checkpoint(self) -> bool:
        ck = self.checkpointer.load(self.device) if self.resume else None
        if ck is None:
            return False
        self.method.load_state_dict(ck["model"])
        self.epoch, self.step = int(ck["epoch"]), int(ck["step"])
        # the optimiser of the stage the checkpoint was written in
        self.method.on_stage_start(self.method.stage_at(max(self.epoch - 1, 0)), self.context())
        self._build_optimizer()
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scaler.load_state_dict(ck["scaler"])
        self.store.corrupt_seen = set(ck.get("corrupt_seen", []))
        self.dropped_seen = set(int(t) for t in ck.get("dropped_seen", []))
        set_rng_state(ck["rng"])
        return True

    def _save_checkpoint(self) -> None:
        self.checkpointer.save({
            "model": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {"lr_factor": lr_factor(self.cfg, max(self.epoch - 1, 0))},  # info only
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "corrupt_seen": sorted(self.store.corrupt_seen),
            "dropped_seen": sorted(self.dropped_seen),
            "stage": self.method.stage.name if self.method.stage else None,
            "config": json.dumps(self.cfg.to_dict()),
        })

    # -- the loop --------------------------------------------------------------------------

    def _evaluate(self, which: str, lo: float, hi: float) -> dict:
        return self.evaluator.evaluate(self.method, which, lo, hi, self.epoch, self.step)

    def fit(self) -> Path:
        store = self.store
        self.dist.start(self.cfg.device)
        self._prepare_store()
        try:
            store.status("running", "starting", progress=0.0)
            self._setup()
            resumed = self._load_checkpoint()
            store.clear_stale_outputs(resumed)
            store.open_metrics(resumed, self.epoch)
            if self.cfg.eval_bf16 and self.device.type == "cpu" and not self.eval_autocast:
                store.warn("eval_bf16 ignored: this CPU has no native bfloat16 (AMX or "
                           "AVX512-BF16), where bfloat16 extraction would be slower than "
                           "float32; features are float32")
            cfg = self.cfg
            # decided by all processes before any of them can write the file
            if self.dist.any(not features_file(self.out, "initial").is_file(),
                             self.device):
                self._evaluate("initial", 0.0, 0.05)
            for epoch in range(self.epoch, cfg.epochs):
                self._in_epoch = True
                self._enter_stage(epoch)
                self._set_lr(epoch)
                if self.method.label_update_due(epoch):
                    self.labels.run(self.method, epoch, self.step, self._frac(0.0))
                    if self.dist.enabled:  # the wrapper of the method's new state
                        self.step_module = self.dist.wrap(self.method)
                self._train_epoch(epoch)
                extra = self.method.after_epoch(epoch, self.context()) or {}
                self._in_epoch = False
                self.epoch = epoch + 1
                store.log({"kind": "epoch", **self._epoch_summary,
                           "stage": self.method.stage.name, **extra})
                if (which := self.evaluator.due(self.method, self.epoch)) is not None:
                    self._evaluate(which, self._frac(0.0), self._frac(0.0))
                self._save_checkpoint()
            m = self._evaluate("final", 0.95, 1.0)
            msg = f"finished: rank-1 {_pct(m.get('rank1'))}, mAP {_pct(m.get('mAP'))}"
            store.status("finished", msg, progress=1.0)
            if store.progress_cb is not None:
                store.progress_cb(1.0, msg)
        except Stopped:
            store.status("cancelled", f"cancelled during epoch {self.epoch + 1}; resume "
                         f"continues from epoch {self.epoch}")
        except BaseException as e:
            try:
                store.status("failed", f"{type(e).__name__}: {e}")
            except (OSError, RunStoreError):  # e.g. the disk is full: keep the first error
                pass
            raise
        finally:
            store.close()
        self.dist.close()  # several processes: leave the group together
        return self.out

    def _frac(self, within_epoch: float) -> float:
        done = (self.epoch + within_epoch) / max(self.cfg.epochs, 1)
        return 0.05 + 0.9 * done

    def _train_epoch(self, epoch: int) -> None:
        cfg, method = self.cfg, self.method
        method.train()
        method.on_epoch_start(epoch, self.context())
        batches = method.epoch_batches(epoch)
        if cfg.steps_per_epoch > 0:  # a step budget: the first batches of the epoch's order
            batches = batches[: cfg.steps_per_epoch]
        batches = self.dist.shard(batches)  # this process's part
        loader = train_loader(self.dataset, batches, epoch, cfg.num_workers,
                              pin_memory=self.device.type == "cuda")
        t_epoch = t_last = time.time()
        losses, terms, mets, n_img, n_corrupt, n_since = [], [], [], 0, 0, 0
        for i, batch in enumerate(loader):
            n_corrupt += self.store.note_corrupt(
                [p for s in batch.pop("corrupt") for p in s.split("\n") if p], "training")
            valid = batch.pop("valid")
            if not bool(valid.all()):
                for t in sorted(set(batch["index"][~valid].tolist()) - self.dropped_seen):
                    self.dropped_seen.add(t)
                    self.store.warn(f"training tracklet {t} has no readable frame; dropped from the "
                              "batch", str(method.train_tracklets[t].frames[0]))
                if self.dist.enabled and not bool(valid.any()):
                    pass  # every process must take the step; its unreadable clips stay in
                else:
                    batch = _select(batch, valid)
                if len(batch["index"]) == 0:
                    continue
            batch = _batch_to(batch, self.device)
            with torch.autocast(self.device.type, enabled=self.amp):
                out = (method.training_step(batch, epoch) if self.step_module is None
                       else self.step_module(batch, epoch))
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(out.loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.dist.enabled:  # memories see the whole global batch, in rank order
                out.extras = self.dist.gather_rows(out.extras)
            method.after_step(batch, out)
            self.step += 1
            b_img = batch["clips"].shape[0] * batch["clips"].shape[1] * self.dist.world
            n_img += b_img
            n_since += b_img
            loss = _scalar(out.loss)
            t_terms = {k: _scalar(v) for k, v in out.terms.items()}
            t_mets = {k: _scalar(v) for k, v in out.metrics.items()}
            if self.dist.enabled:  # logged: the means over the processes
                (loss_d, t_terms, t_mets) = self.dist.mean_dicts({"loss": loss}, t_terms, t_mets)
                loss = loss_d["loss"]
            losses.append(loss)
            terms.append(t_terms)
            mets.append(t_mets)
            if cfg.log_every and self.step % cfg.log_every == 0:
                now = time.time()
                self.store.log({"kind": "step", "epoch": epoch + 1, "step": self.step, "loss": loss,
                          "terms": t_terms, "metrics": t_mets,
                          "lr": self.optimizer.param_groups[0]["lr"],
                          "images_per_s": n_since / max(now - t_last, 1e-9),
                          "time": now - self.store.started})
                t_last, n_since = now, 0
            self.store.report(self._frac((i + 1) / max(len(batches), 1)),
                        f"epoch {epoch + 1}/{cfg.epochs} step {i + 1}/{len(batches)} "
                        f"loss {loss:.4f}")
            if self.stop_requested():
                raise Stopped()
        now = time.time()
        self._epoch_summary = {
            "epoch": epoch + 1, "step": self.step,
            "loss": float(np.mean(losses)) if losses else None,
            "terms": _mean_dicts(terms), "metrics": _mean_dicts(mets),
            "lr": self.optimizer.param_groups[0]["lr"],
            "images_per_s": n_img / max(now - t_epoch, 1e-9), "time": now - self.store.started,
            "epoch_time": now - t_epoch, "corrupt_frames": n_corrupt}


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: Progress | None = None,
          stop_flag: Callable[[], bool] | None = None) -> Path:
    """Train ``cfg.method`` and write the run store to ``out``; returns ``out``.

    ``resume=True`` continues from ``out/checkpoint.pt`` with the stored config (``cfg.epochs``
    may extend the run). ``stop_flag()`` returning True, or a file ``out/CANCEL``, stops after the
    current step with status ``cancelled``. ``progress(fraction, message)`` reports progress.
    """
    return Trainer(cfg, out, resume=resume, progress=progress, stop_flag=stop_flag).fit()
