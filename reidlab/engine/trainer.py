"""The one training loop for every method, writing a run store (see ``reidlab.engine.runs``).

``train(cfg, out)`` seeds everything, loads the dataset (and a labelled source dataset for
domain adaptation, ``cfg.source``), builds the method (``reidlab.methods.build_method``),
evaluates the initial model, then per epoch: enters the method's stage for that epoch (a new
stage rebuilds Adam + StepLR), runs a label update when the method asks for one (a feature
pass over ``method.label_samples()``, ``method.update_labels``, the cluster quality of the new
labels against ground truth logged as a ``labels`` record and the labels written to
``labels/update_EEE.npz``), then ``method.training_step`` over ``method.epoch_batches(epoch)``
(samples of ``method.train_tracklets``; CUDA: autocast + GradScaler) with ``after_step`` and
``after_epoch`` hooks, logs named loss terms to ``metrics.jsonl``, checkpoints atomically
(method state such as memories and pseudo labels included), and finally evaluates and stores
features. The contract is documented in ``reidlab.methods.base``.

Exact resume: batches, frames and augmentation depend only on (seed, epoch, item); the torch,
numpy and Python RNG states are stored in the checkpoint (as tensors and plain lists, so the
file loads with ``torch.load(weights_only=True)``). ``train(cfg, out, resume=True)`` after an
interruption therefore gives the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from reidlab.atomic import (DISK_FULL, ensure_writable_dir, remove_temp_files,
                            save_torch_atomic, write_text_atomic)
from reidlab.data.loader import TrainClipDataset, embed_tracklets, train_loader
from reidlab.data.sampling import CLIP_MODES, SAMPLERS
from reidlab.data.tracklets import SOURCE, TrackletSet
from reidlab.engine.config import TrainConfig
from reidlab.engine.distributed import Dist, convert_sync_batchnorm
from reidlab.engine.settings import diff_line, fingerprint, settings_diff
from reidlab.engine.runs import (CANCEL, CHECKPOINT, CONFIG, METRICS, STATUS, clean_json,
                                 evaluate_features, live_writer, read_jsonl,
                                 read_run_config, train_config_of, write_json_atomic)
from reidlab.errors import ConfigError, DatasetError, DiskFullError, RunStoreError
from reidlab.eval.features import FeatureSet, extract_features

Progress = Callable[[float, str], None]


# ----------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Global RNG states as tensors / plain lists (``weights_only``-loadable)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, pystate, gauss = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": [int(x) for x in pystate], "gauss": gauss},
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    n = st["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    p = st["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


save_atomic = save_torch_atomic  # ``torch.save`` to a temp file, then rename over the path


def dataset_fingerprint(data: TrackletSet) -> str:
    """sha256 over every tracklet's split, labels and frame file names (relative to the root)."""
    h = hashlib.sha256()
    root = str(data.root) if data.root is not None else None
    for split in ("train", "query", "gallery"):
        for t in getattr(data, split):
            names = [str(f) for f in t.frames]
            if root is not None:
                names = [os.path.relpath(n, root) for n in names]
            h.update(f"{split}|{t.pid}|{t.camid}|{t.tid}|{'|'.join(names)}\n".encode())
    return h.hexdigest()


def versions() -> dict:
    import reidlab

    out = {"python": platform.python_version(), "torch": torch.__version__,
           "numpy": np.__version__, "reidlab": reidlab.__version__}
    try:
        import torchvision

        out["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


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


def build_method(cfg: TrainConfig, train: list, num_cameras: int, source: list | None = None):
    """``reidlab.methods.build_method``."""
    from reidlab.methods import build_method as build

    return build(cfg, train, num_cameras, source=source)


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
    """One run. Methods' ``on_epoch_start(epoch, trainer)`` may use ``cfg``, ``device``,
    ``data``, ``method``, ``log(record)``, ``warn(message, path)`` and
    ``embed(tracklets) -> Embedded``."""

    def __init__(self, cfg: TrainConfig, out: str | Path, resume: bool = False,
                 progress: Progress | None = None, stop_flag: Callable[[], bool] | None = None):
        self.out = Path(out)
        self.cfg = cfg
        self.resume = resume
        self.progress_cb = progress
        self.stop_flag = stop_flag
        self.started = time.time()
        self._last_status = 0.0
        self._metrics_fh = None
        self.epoch = 0  # epochs completed
        self.step = 0  # optimiser steps done
        self.corrupt_seen: set[str] = set()
        self._in_epoch = False
        self.dropped_seen: set[int] = set()  # training tracklets without any readable frame
        self.dist = Dist.from_env()  # several processes under torchrun (docs/training.md)
        self.step_module = None  # DDP around the method's training step (several processes)
        if not self.dist.is_main:
            self.progress_cb = None
        self.checkpoint_epoch: int | None = None  # epochs in the checkpoint on disk

    # -- run store -------------------------------------------------------------------------

    def status(self, state: str, message: str = "", progress: float | None = None,
               force: bool = True) -> None:
        now = time.time()
        if not self.dist.is_main or (not force and now - self._last_status < 0.5):
            return
        self._last_status = now
        if progress is not None:
            self._progress = progress
        write_json_atomic(self.out / STATUS, {
            "state": state, "pid": os.getpid(), "progress": getattr(self, "_progress", 0.0),
            "message": message, "epoch": self.epoch, "step": self.step,
            "epochs": self.cfg.epochs, "updated": now, "started": self.started})

    def report(self, fraction: float, message: str) -> None:
        fraction = float(min(max(fraction, 0.0), 1.0))
        self._progress = fraction
        self.status("running", message, force=False)
        if self.progress_cb is not None:
            self.progress_cb(fraction, message)

    def log(self, record: dict) -> None:
        """Append one JSON line to ``metrics.jsonl`` and flush it (rank 0 only)."""
        if self._metrics_fh is None and not self.dist.is_main:
            return
        line = json.dumps(clean_json(record), allow_nan=False) + "\n"
        try:
            self._metrics_fh.write(line)
            self._metrics_fh.flush()
        except OSError as e:
            if e.errno in DISK_FULL:
                raise DiskFullError(self.out / METRICS, "its last record may be cut short "
                                    "(readers skip it, --resume drops it)") from e
            raise

    def warn(self, message: str, path: str | None = None) -> None:
        print(f"warning: {message}" + (f" ({path})" if path else ""), file=sys.stderr)
        epoch = self.epoch + (1 if self._in_epoch else 0)
        self.log({"kind": "warning", "epoch": epoch, "message": message, "path": path})

    def _note_corrupt(self, paths: list[str], where: str) -> int:
        new = [p for p in paths if p not in self.corrupt_seen]
        for p in new:
            self.corrupt_seen.add(p)
            self.warn(f"unreadable frame skipped ({where}: corrupt, truncated or missing); "
                      "the nearest readable frame of its tracklet is used instead", p)
        return len(new)

    def stop_requested(self) -> bool:
        stop = (self.stop_flag is not None and self.stop_flag()) or (self.out / CANCEL).exists()
        return self.dist.any(stop, self.device)  # every process stops at the same step

    # -- set-up ----------------------------------------------------------------------------

    def _prepare_store(self) -> None:
        ensure_writable_dir(self.out, "a writable folder for the run (is the runs folder "
                            "writable?)")
        stored = None
        pid = live_writer(self.out)
        if pid is not None:  # two writers would interleave checkpoints and metrics
            raise RunStoreError(self.out, "a run folder that no other process is training",
                                f"process {pid} training it (status.json); let it finish, or "
                                f"stop it (touch {self.out / CANCEL}) before resuming")
        if (self.out / CONFIG).is_file():
            if not self.resume:
                raise ConfigError(f"{self.out} already holds a run; pass --resume to continue "
                                  "it or choose another --out")
            stored = read_run_config(self.out, dataset=True)
            if not isinstance(stored["dataset"].get("fingerprint"), str):
                raise RunStoreError(self.out / CONFIG, "a dataset fingerprint (to check that "
                                    "--resume trains on the same dataset)", "none; a run "
                                    "folder from an older version cannot be resumed")
            epochs = self.cfg.epochs
            stored_cfg = train_config_of(stored, self.out / CONFIG)  # readable, or refused
            diff = settings_diff(stored, self.cfg, ignore=("epochs",))
            if diff:  # resuming must never train (or report) one setting under another's name
                raise ConfigError(f"{self.out} holds a run with other settings: "
                                  f"{diff_line(diff)}; resume it with its own settings, or "
                                  "train these under another name")
            self.cfg = stored_cfg
            self.cfg.epochs = max(epochs, 1)  # resuming may extend (or shorten) a run
        if self.dist.is_main:
            (self.out / CANCEL).unlink(missing_ok=True)
        self.dist.barrier()  # no process reads the store before rank 0 has looked at it
        self.stored = stored
        if self.cfg.sampler not in SAMPLERS:
            raise ConfigError(f"sampler: expected one of {list(SAMPLERS)}, got {self.cfg.sampler!r}")
        if self.cfg.clip_mode not in CLIP_MODES:
            raise ConfigError(f"clip_mode: expected one of {list(CLIP_MODES)}, got "
                              f"{self.cfg.clip_mode!r}")
        if int(self.cfg.steps_per_epoch) < 0:
            raise ConfigError(f"steps_per_epoch: expected 0 (all batches) or a positive count, "
                              f"got {self.cfg.steps_per_epoch}")
        from reidlab.models.backbones import check_freeze_stages

        check_freeze_stages(self.cfg.freeze_stages)  # here, before the run folder is written

    def _write_config(self) -> None:
        fp = dataset_fingerprint(self.data)
        src_fp = dataset_fingerprint(self.source) if self.source is not None else None
        if self.stored is not None:
            if self.stored["dataset"]["fingerprint"] != fp:
                raise DatasetError(self.cfg.dataset, "the same dataset the run was started on "
                                   f"(fingerprint {self.stored['dataset']['fingerprint'][:12]})",
                                   f"fingerprint {fp[:12]}")
            stored_src = (self.stored.get("source") or {}).get("fingerprint")
            if stored_src != src_fp:
                raise DatasetError(self.cfg.source or "(no source)", "the same source dataset "
                                   f"the run was started on ({str(stored_src)[:12]})",
                                   f"{str(src_fp)[:12]}")
            info = dict(self.stored)
            info["config"] = self.cfg.to_dict()
        else:
            protocol = self.data.meta.get("protocol")
            info = {
                "config": self.cfg.to_dict(),
                "dataset": {"format": self.cfg.dataset_format,
                            "root": str(Path(self.cfg.dataset).resolve()),
                            "options": self.cfg.dataset_options, "name": self.data.name,
                            "fingerprint": fp, "num_cameras": self.data.num_cameras,
                            "summary": self.data.summary(), "meta": self.data.meta},
                "seed": self.cfg.seed,
                "protocol": protocol,
                "versions": versions(),
                "device": str(self.device),
                "created": self.started,
                "command": sys.argv,
            }
            if self.source is not None:
                info["source"] = {"format": self.cfg.source_format,
                                  "root": str(Path(self.cfg.source).resolve()),
                                  "name": self.source.name, "fingerprint": src_fp,
                                  "num_cameras": self.source.num_cameras,
                                  "summary": self.source.summary()}
        info["settings_fingerprint"] = fingerprint(info)  # equal settings, seed excluded
        if self.dist.is_main:
            write_json_atomic(self.out / CONFIG, info)

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
        self.report(0.0, "loading dataset")
        self.data = load_data(cfg)
        self.source = load_source(cfg)
        self._write_config()
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
        self.method.on_stage_start(self.method.stage_at(0), self)
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
        self.method.on_stage_start(stage, self)
        self._build_optimizer()
        self.log({"kind": "stage", "epoch": epoch, "stage": stage.name, "step": self.step})

    def _load_checkpoint(self) -> bool:
        path = self.out / CHECKPOINT
        if not (self.resume and path.is_file()):
            return False
        ck = load_checkpoint(path, self.device)
        self.method.load_state_dict(ck["model"])
        # the optimiser of the stage the checkpoint was written in
        last = max(int(ck["epoch"]) - 1, 0)
        self.method.on_stage_start(self.method.stage_at(last), self)
        self._build_optimizer()
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scaler.load_state_dict(ck["scaler"])
        self.epoch, self.step = int(ck["epoch"]), int(ck["step"])
        self.corrupt_seen = set(ck.get("corrupt_seen", []))
        self.dropped_seen = set(int(t) for t in ck.get("dropped_seen", []))
        self.checkpoint_epoch = self.epoch
        set_rng_state(ck["rng"])
        return True

    def _save_checkpoint(self) -> None:
        if not self.dist.is_main:  # rank 0 writes; the others wait for it
            self.dist.barrier()
            return
        try:
            self._write_checkpoint()
        except DiskFullError as e:
            before = (f"the previous checkpoint (epoch {self.checkpoint_epoch}) is intact; free "
                      f"space and run --resume to continue from epoch {self.checkpoint_epoch}"
                      if self.checkpoint_epoch is not None else
                      "no earlier checkpoint exists, so --resume starts the run over")
            raise DiskFullError(e.path, f"the checkpoint of epoch {self.epoch} was not written; "
                                f"{before}") from e
        self.checkpoint_epoch = self.epoch
        self.dist.barrier()

    def _write_checkpoint(self) -> None:
        save_atomic({
            "model": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {"lr_factor": lr_factor(self.cfg, max(self.epoch - 1, 0))},  # info only
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "rng": rng_state(),
            "corrupt_seen": sorted(self.corrupt_seen),
            "dropped_seen": sorted(self.dropped_seen),
            "stage": self.method.stage.name if self.method.stage else None,
            "config": json.dumps(self.cfg.to_dict()),
        }, self.out / CHECKPOINT)

    def _clear_stale_outputs(self, resumed: bool) -> None:
        """Temp files of writes a kill interrupted go; a run without a checkpoint starts over,
        so what an earlier attempt wrote before its first checkpoint (initial features, the
        first label update) is redone rather than trusted."""
        if not self.dist.is_main:  # rank 0 owns the store
            return
        remove_temp_files(self.out)
        if not resumed:
            for p in [self.out / "features" / "initial.npz", self.out / "features" / "final.npz",
                      *sorted((self.out / "labels").glob("update_*.npz"))]:
                p.unlink(missing_ok=True)

    def _open_metrics(self, resumed: bool) -> None:
        if not self.dist.is_main:
            return
        path = self.out / METRICS
        if resumed:  # drop records of the epoch that was interrupted
            # a label update or stage switch at the start of the interrupted epoch is redone
            keep = [r for r in read_jsonl(path)
                    if r.get("epoch", 0) <= self.epoch and not
                    (r.get("kind") == "eval" and r.get("which") == "final") and not
                    (r.get("kind") in ("labels", "stage") and r.get("epoch", 0) >= self.epoch)]
            write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in keep))
        elif path.exists():
            path.unlink()
        self._metrics_fh = open(path, "a")

    # -- evaluation ------------------------------------------------------------------------

    def embed(self, tracklets, progress=None):
        """Embeddings of ``tracklets`` with the current model (eval mode, restored after)."""
        was = self.method.training
        self.method.eval()
        try:
            return embed_tracklets(self.method.embed, tracklets, self.cfg,
                                   self.method.net.input_norm, device=self.device,
                                   progress=progress, autocast=self.eval_autocast)
        finally:
            self.method.train(was)

    def evaluate(self, which: str, lo: float, hi: float) -> dict:
        """Features of query and gallery, metrics logged (rank 0; the others wait)."""
        if not self.dist.is_main:
            self.dist.barrier()
            return {}
        m = self._evaluate(which, lo, hi)
        self.dist.barrier()
        return m

    def _evaluate(self, which: str, lo: float, hi: float) -> dict:
        def prog(frac, msg):
            self.report(lo + (hi - lo) * frac, f"{which} evaluation: {msg}")

        def on_corrupt(split, paths, dropped):
            self._note_corrupt(paths, f"{split} features")
            for i in dropped:
                self.warn(f"{split} tracklet {i} has no readable frame; left out of the features")

        fs = extract_features(self.method, self.data.query, self.data.gallery, self.cfg,
                              progress=prog, device=self.device,
                              autocast=self.eval_autocast,
                              on_corrupt=on_corrupt)
        if which in ("initial", "final"):
            fs.save(self.out / "features" / f"{which}.npz")
        m = self._metrics_of(fs)
        self.log({"kind": "eval", "which": which, "epoch": self.epoch, "step": self.step,
                  "time": time.time() - self.started, **m})
        return m

    def label_update(self, epoch: int) -> list:
        """The label update on rank 0; every other process then loads rank 0's method state
        (labels, memories) and the training-step wrapper is rebuilt."""
        if not self.dist.enabled:
            return self._label_update(epoch)
        updates = self._label_update(epoch) if self.dist.is_main else []
        self.dist.broadcast_state(self.method)
        self.step_module = self.dist.wrap(self.method)
        return updates

    def _label_update(self, epoch: int) -> list:
        """Feature pass over ``method.label_samples()``, ``method.update_labels``, then one
        ``labels`` record per returned labelling (cluster quality against ground truth, the
        method's own numbers) and ``labels/update_EEE.npz`` (see docs/training.md)."""
        import dataclasses as dc

        from reidlab.cluster.quality import cluster_quality
        from reidlab.eval.features import write_npz_atomic
        from reidlab.methods.base import LabelFeatures, LabelUpdate

        method = self.method
        samples = method.label_samples()
        lo = self._frac(0.0)
        t0 = time.time()

        def prog(done, total):
            self.report(lo, f"label update before epoch {epoch + 1}: features {done}/{total}")

        cfg = dc.replace(self.cfg, eval_frames=method.label_frames())
        was = method.training
        method.eval()
        try:
            emb = embed_tracklets(method.embed, [s[2] for s in samples], cfg,
                                  method.net.input_norm, device=self.device, progress=prog,
                                  autocast=self.eval_autocast)
        finally:
            method.train(was)
        self._note_corrupt(emb.corrupt, "label update")
        for i in emb.dropped:
            self.warn(f"label-update sample {i} has no readable frame; left out of clustering")
        rows = emb.index
        feat = emb.feat / np.maximum(np.linalg.norm(emb.feat, axis=1, keepdims=True), 1e-12)
        feats = LabelFeatures(
            feat=feat.astype(np.float32),
            index=np.array([samples[i][0] for i in rows], np.int64),
            clip=np.array([samples[i][1] for i in rows], np.int64),
            pids=emb.pids, camids=emb.camids,
            frames=[str(samples[i][2].frames[len(samples[i][2]) // 2]) for i in rows])
        t_feat = time.time() - t0
        self.report(lo, f"label update before epoch {epoch + 1}: clustering {len(rows)} samples")
        t1 = time.time()
        updates = method.update_labels(feats, epoch)
        if isinstance(updates, LabelUpdate):
            updates = [updates]
        t_update = time.time() - t1
        arrays = {"index": feats.index, "clip": feats.clip, "pid": feats.pids,
                  "camid": feats.camids, "feat": feats.feat.astype(np.float16),
                  "frame": np.array(feats.frames, dtype=str)}
        for u in updates:
            labels = np.asarray(u.labels, np.int64)
            q = cluster_quality(labels, feats.pids, feats.camids)
            self.log({"kind": "labels", "epoch": epoch, "step": self.step,
                      "time": time.time() - self.started, "stage": u.stage, **q,
                      **u.stats, "update_time": t_update, "feature_time": t_feat})
            arrays[f"label_{u.stage}"] = labels
            arrays["label"] = labels
        write_npz_atomic(self.out / "labels" / f"update_{epoch:03d}.npz", arrays)
        return updates

    def _metrics_of(self, fs: FeatureSet) -> dict:
        q_tids = [self.data.query[i].tid for i in fs.q_index]
        g_tids = [self.data.gallery[i].tid for i in fs.g_index]
        return evaluate_features(fs, self.data.num_cameras, self.data.meta.get("protocol"),
                                 q_tids, g_tids, meta=self.data.meta)

    # -- the loop --------------------------------------------------------------------------

    def fit(self) -> Path:
        self.dist.start(self.cfg.device)
        self._prepare_store()
        try:
            self.status("running", "starting", progress=0.0)
            self._setup()
            resumed = self._load_checkpoint()
            self._clear_stale_outputs(resumed)
            self._open_metrics(resumed)
            if self.cfg.eval_bf16 and self.device.type == "cpu" and not self.eval_autocast:
                self.warn("eval_bf16 ignored: this CPU has no native bfloat16 (AMX or "
                          "AVX512-BF16), where bfloat16 extraction would be slower than "
                          "float32; features are float32")
            cfg = self.cfg
            # decided by all processes before any of them can write the file
            if self.dist.any(not (self.out / "features" / "initial.npz").is_file(),
                             self.device):
                self.evaluate("initial", 0.0, 0.05)
            for epoch in range(self.epoch, cfg.epochs):
                self._in_epoch = True
                self._enter_stage(epoch)
                self._set_lr(epoch)
                if self.method.label_update_due(epoch):
                    self.label_update(epoch)
                self._train_epoch(epoch)
                extra = self.method.after_epoch(epoch, self) or {}
                self._in_epoch = False
                self.epoch = epoch + 1
                self.log({"kind": "epoch", **self._epoch_summary,
                          "stage": self.method.stage.name, **extra})
                if cfg.eval_every and self.epoch % cfg.eval_every == 0 and self.epoch < cfg.epochs:
                    self.evaluate("epoch", self._frac(0.0), self._frac(0.0))
                self._save_checkpoint()
            m = self.evaluate("final", 0.95, 1.0)
            msg = f"finished: rank-1 {_pct(m.get('rank1'))}, mAP {_pct(m.get('mAP'))}"
            self.status("finished", msg, progress=1.0)
            if self.progress_cb is not None:
                self.progress_cb(1.0, msg)
        except Stopped:
            self.status("cancelled", f"cancelled during epoch {self.epoch + 1}; resume "
                        f"continues from epoch {self.epoch}")
        except BaseException as e:
            try:
                self.status("failed", f"{type(e).__name__}: {e}")
            except (OSError, RunStoreError):  # e.g. the disk is full: keep the first error
                pass
            raise
        finally:
            if self._metrics_fh is not None:
                self._metrics_fh.close()
        self.dist.close()  # several processes: leave the group together
        return self.out

    def _frac(self, within_epoch: float) -> float:
        done = (self.epoch + within_epoch) / max(self.cfg.epochs, 1)
        return 0.05 + 0.9 * done

    def _train_epoch(self, epoch: int) -> None:
        cfg, method = self.cfg, self.method
        method.train()
        method.on_epoch_start(epoch, self)
        batches = method.epoch_batches(epoch)
        if cfg.steps_per_epoch > 0:  # a step budget: the first batches of the epoch's order
            batches = batches[: cfg.steps_per_epoch]
        batches = self.dist.shard(batches)  # this process's part
        loader = train_loader(self.dataset, batches, epoch, cfg.num_workers,
                              pin_memory=self.device.type == "cuda")
        t_epoch = t_last = time.time()
        losses, terms, mets, n_img, n_corrupt, n_since = [], [], [], 0, 0, 0
        for i, batch in enumerate(loader):
            n_corrupt += self._note_corrupt(
                [p for s in batch.pop("corrupt") for p in s.split("\n") if p], "training")
            valid = batch.pop("valid")
            if not bool(valid.all()):
                for t in sorted(set(batch["index"][~valid].tolist()) - self.dropped_seen):
                    self.dropped_seen.add(t)
                    self.warn(f"training tracklet {t} has no readable frame; dropped from the "
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
                self.log({"kind": "step", "epoch": epoch + 1, "step": self.step, "loss": loss,
                          "terms": t_terms, "metrics": t_mets,
                          "lr": self.optimizer.param_groups[0]["lr"],
                          "images_per_s": n_since / max(now - t_last, 1e-9),
                          "time": now - self.started})
                t_last, n_since = now, 0
            self.report(self._frac((i + 1) / max(len(batches), 1)),
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
            "images_per_s": n_img / max(now - t_epoch, 1e-9), "time": now - self.started,
            "epoch_time": now - t_epoch, "corrupt_frames": n_corrupt}


def load_checkpoint(path: str | Path, device="cpu") -> dict:
    """``torch.load(path, weights_only=True)`` of a checkpoint; a damaged (e.g. truncated) file
    raises :class:`RunStoreError` naming it instead of torch's zip error."""
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise RunStoreError(path, "a complete checkpoint written by reidlab train",
                            f"a damaged or truncated file ({type(e).__name__}: "
                            f"{str(e)[:200]})") from e
    if not isinstance(ck, dict) or not {"model", "optimizer", "epoch", "step", "rng"} <= set(ck):
        raise RunStoreError(path, "a complete checkpoint written by reidlab train (keys model, "
                            "optimizer, epoch, step, rng)",
                            f"keys {sorted(ck) if isinstance(ck, dict) else type(ck).__name__}")
    return ck


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: Progress | None = None,
          stop_flag: Callable[[], bool] | None = None) -> Path:
    """Train ``cfg.method`` and write the run store to ``out``; returns ``out``.

    ``resume=True`` continues from ``out/checkpoint.pt`` with the stored config (``cfg.epochs``
    may extend the run). ``stop_flag()`` returning True, or a file ``out/CANCEL``, stops after the
    current step with status ``cancelled``. ``progress(fraction, message)`` reports progress.
    """
    return Trainer(cfg, out, resume=resume, progress=progress, stop_flag=stop_flag).fit()
