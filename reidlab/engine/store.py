"""The run-store writer of one training run: ``status.json``, ``metrics.jsonl``, warnings and
``config.json`` (the layout and its readers are in ``reidlab.engine.runs``).

Only rank 0 writes (several processes under torchrun); the others' calls do nothing. The
trainer tells the store where the loop stands through ``position() -> (epoch, step, in_epoch)``,
so a status or a warning carries the epoch it happened in.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from reidlab.atomic import DISK_FULL, ensure_writable_dir, remove_temp_files, write_text_atomic
from reidlab.data.tracklets import TrackletSet
from reidlab.engine.distributed import Dist
from reidlab.engine.runs import (CANCEL, CONFIG, METRICS, STAGES, STATUS, clean_json,
                                 features_file, live_writer, read_jsonl, read_run_config,
                                 train_config_of, write_json_atomic)
from reidlab.engine.settings import diff_line, fingerprint, settings_diff
from reidlab.errors import ConfigError, DatasetError, DiskFullError, RunStoreError

Progress = Callable[[float, str], None]


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


class RunStore:
    """Writes one run folder ``out``; ``epochs`` is the run's length (shown in the status)."""

    def __init__(self, out: str | Path, dist: Dist, epochs: int,
                 position: Callable[[], tuple[int, int, bool]],
                 progress: Progress | None = None):
        self.out = Path(out)
        self.dist = dist
        self.epochs = epochs
        self.position = position
        self.progress_cb = progress if dist.is_main else None
        self.started = time.time()
        self.fh = None  # metrics.jsonl, open for appending (rank 0)
        self._progress = 0.0
        self._last_status = 0.0
        self.corrupt_seen: set[str] = set()  # frames already warned about (checkpointed)

    # -- status, progress, metrics, warnings -----------------------------------------------

    def status(self, state: str, message: str = "", progress: float | None = None,
               force: bool = True) -> None:
        now = time.time()
        if not self.dist.is_main or (not force and now - self._last_status < 0.5):
            return
        self._last_status = now
        if progress is not None:
            self._progress = progress
        epoch, step, _ = self.position()
        write_json_atomic(self.out / STATUS, {
            "state": state, "pid": os.getpid(), "progress": self._progress,
            "message": message, "epoch": epoch, "step": step,
            "epochs": self.epochs, "updated": now, "started": self.started})

    def report(self, fraction: float, message: str) -> None:
        fraction = float(min(max(fraction, 0.0), 1.0))
        self._progress = fraction
        self.status("running", message, force=False)
        if self.progress_cb is not None:
            self.progress_cb(fraction, message)

    def log(self, record: dict) -> None:
        """Append one JSON line to ``metrics.jsonl`` and flush it (rank 0 only)."""
        if self.fh is None and not self.dist.is_main:
            return
        line = json.dumps(clean_json(record), allow_nan=False) + "\n"
        try:
            self.fh.write(line)
            self.fh.flush()
        except OSError as e:
            if e.errno in DISK_FULL:
                raise DiskFullError(self.out / METRICS, "its last record may be cut short "
                                    "(readers skip it, --resume drops it)") from e
            raise

    def warn(self, message: str, path: str | None = None) -> None:
        print(f"warning: {message}" + (f" ({path})" if path else ""), file=sys.stderr)
        epoch, _, in_epoch = self.position()
        self.log({"kind": "warning", "epoch": epoch + (1 if in_epoch else 0),
                  "message": message, "path": path})

    def note_corrupt(self, paths: list[str], where: str) -> int:
        """Warn once per unreadable frame; returns how many were new."""
        new = [p for p in paths if p not in self.corrupt_seen]
        for p in new:
            self.corrupt_seen.add(p)
            self.warn(f"unreadable frame skipped ({where}: corrupt, truncated or missing); "
                      "the nearest readable frame of its tracklet is used instead", p)
        return len(new)

    def cancel_requested(self) -> bool:
        return (self.out / CANCEL).exists()

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self, cfg, resume: bool):
        """Check the folder before anything is written: writable, no live writer, and on
        ``resume`` a stored run of the same settings. Returns ``(cfg, stored)``: the stored
        run's config (``epochs`` from ``cfg``) and its ``config.json`` (None for a new run)."""
        ensure_writable_dir(self.out, "a writable folder for the run (is the runs folder "
                            "writable?)")
        stored = None
        pid = live_writer(self.out)
        if pid is not None:  # two writers would interleave checkpoints and metrics
            raise RunStoreError(self.out, "a run folder that no other process is training",
                                f"process {pid} training it (status.json); let it finish, or "
                                f"stop it (touch {self.out / CANCEL}) before resuming")
        if (self.out / CONFIG).is_file():
            if not resume:
                raise ConfigError(f"{self.out} already holds a run; pass --resume to continue "
                                  "it or choose another --out")
            stored = read_run_config(self.out, dataset=True)
            if not isinstance(stored["dataset"].get("fingerprint"), str):
                raise RunStoreError(self.out / CONFIG, "a dataset fingerprint (to check that "
                                    "--resume trains on the same dataset)", "none; a run "
                                    "folder from an older version cannot be resumed")
            epochs = cfg.epochs
            stored_cfg = train_config_of(stored, self.out / CONFIG)  # readable, or refused
            diff = settings_diff(stored, cfg, ignore=("epochs",))
            if diff:  # resuming must never train (or report) one setting under another's name
                raise ConfigError(f"{self.out} holds a run with other settings: "
                                  f"{diff_line(diff)}; resume it with its own settings, or "
                                  "train these under another name")
            cfg = stored_cfg
            cfg.epochs = max(epochs, 1)  # resuming may extend (or shorten) a run
            self.epochs = cfg.epochs
        if self.dist.is_main:
            (self.out / CANCEL).unlink(missing_ok=True)
        self.dist.barrier()  # no process reads the store before rank 0 has looked at it
        return cfg, stored

    def write_config(self, cfg, data: TrackletSet, source: TrackletSet | None,
                     stored: dict | None, device) -> None:
        """``config.json``; on resume, the stored one after checking that the dataset (and
        source) fingerprints are those the run was started on."""
        fp = dataset_fingerprint(data)
        src_fp = dataset_fingerprint(source) if source is not None else None
        if stored is not None:
            if stored["dataset"]["fingerprint"] != fp:
                raise DatasetError(cfg.dataset, "the same dataset the run was started on "
                                   f"(fingerprint {stored['dataset']['fingerprint'][:12]})",
                                   f"fingerprint {fp[:12]}")
            stored_src = (stored.get("source") or {}).get("fingerprint")
            if stored_src != src_fp:
                raise DatasetError(cfg.source or "(no source)", "the same source dataset "
                                   f"the run was started on ({str(stored_src)[:12]})",
                                   f"{str(src_fp)[:12]}")
            info = dict(stored)
            info["config"] = cfg.to_dict()
        else:
            info = {
                "config": cfg.to_dict(),
                "dataset": {"format": cfg.dataset_format,
                            "root": str(Path(cfg.dataset).resolve()),
                            "options": cfg.dataset_options, "name": data.name,
                            "fingerprint": fp, "num_cameras": data.num_cameras,
                            "summary": data.summary(), "meta": data.meta},
                "seed": cfg.seed,
                "protocol": data.meta.get("protocol"),
                "versions": versions(),
                "device": str(device),
                "created": self.started,
                "command": sys.argv,
            }
            if source is not None:
                info["source"] = {"format": cfg.source_format,
                                  "root": str(Path(cfg.source).resolve()),
                                  "name": source.name, "fingerprint": src_fp,
                                  "num_cameras": source.num_cameras,
                                  "summary": source.summary()}
        info["settings_fingerprint"] = fingerprint(info)  # equal settings, seed excluded
        if self.dist.is_main:
            write_json_atomic(self.out / CONFIG, info)

    def clear_stale_outputs(self, resumed: bool) -> None:
        """Temp files of writes a kill interrupted go; a run without a checkpoint starts over,
        so what an earlier attempt wrote before its first checkpoint (initial features, the
        first label update) is redone rather than trusted."""
        if not self.dist.is_main:  # rank 0 owns the store
            return
        remove_temp_files(self.out)
        if not resumed:
            for p in [*(features_file(self.out, w) for w in STAGES),
                      *sorted((self.out / "labels").glob("update_*.npz"))]:
                p.unlink(missing_ok=True)

    def open_metrics(self, resumed: bool, epoch: int) -> None:
        """Open ``metrics.jsonl`` for appending; a resumed run (from ``epoch`` completed
        epochs) first drops the records of the epoch that was interrupted."""
        if not self.dist.is_main:
            return
        path = self.out / METRICS
        if resumed:
            # a label update or stage switch at the start of the interrupted epoch is redone
            keep = [r for r in read_jsonl(path)
                    if r.get("epoch", 0) <= epoch and not
                    (r.get("kind") == "eval" and r.get("which") == "final") and not
                    (r.get("kind") in ("labels", "stage") and r.get("epoch", 0) >= epoch)]
            write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in keep))
        elif path.exists():
            path.unlink()
        self.fh = open(path, "a")

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
