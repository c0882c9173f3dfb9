"""Evaluation during training: features of the query and gallery tracklets with the current
model, the protocol's metrics logged as an ``eval`` record, and the initial and final features
stored as ``features/{initial,final}.npz`` (rank 0; the other processes wait for it)."""

from __future__ import annotations

import contextlib
import time

from reidlab.data.tracklets import TrackletSet
from reidlab.engine.checkpoint import kept_rng_state
from reidlab.engine.runs import STAGES, evaluate_feature_set, features_file
from reidlab.engine.store import RunStore
from reidlab.eval.features import FeatureSet, extract_features, extraction_precision


class Evaluator:
    """Evaluates a method on ``data``'s query and gallery; ``autocast`` for the feature pass
    (each ``eval`` record names the precision it gave: ``extraction``)."""

    def __init__(self, store: RunStore, data: TrackletSet, cfg, device, autocast: bool):
        self.store, self.data, self.cfg = store, data, cfg
        self.device, self.autocast = device, autocast
        self.extraction = extraction_precision(device, autocast)

    def evaluate(self, method, which: str, lo: float, hi: float, epoch: int, step: int) -> dict:
        """The metrics (``{}`` on processes other than rank 0); progress runs from ``lo`` to
        ``hi``; ``which`` is initial, epoch, stage or final. An evaluation between epochs
        (epoch, stage) leaves the random state as it found it, so asking for one does not change
        the training that follows."""
        dist = self.store.dist
        if not dist.is_main:
            dist.barrier()
            return {}
        between = which in ("epoch", "stage")
        with kept_rng_state() if between else contextlib.nullcontext():
            m = self._evaluate(method, which, lo, hi, epoch, step)
        dist.barrier()
        return m

    def due(self, method, done: int) -> str | None:
        """The evaluation due after ``done`` epochs, before the last: ``stage`` when the next
        epoch starts another of the method's stages (``eval_stage_end``), ``epoch`` every
        ``eval_every`` epochs, else None."""
        cfg = self.cfg
        if done >= cfg.epochs:
            return None
        if cfg.eval_stage_end and done > 0 and \
                method.stage_at(done).name != method.stage_at(done - 1).name:
            return "stage"
        if cfg.eval_every and done % cfg.eval_every == 0:
            return "epoch"
        return None

    def _evaluate(self, method, which, lo, hi, epoch, step) -> dict:
        store = self.store

        def prog(frac, msg):
            store.report(lo + (hi - lo) * frac, f"{which} evaluation: {msg}")

        def on_corrupt(split, paths, dropped):
            store.note_corrupt(paths, f"{split} features")
            for i in dropped:
                store.warn(f"{split} tracklet {i} has no readable frame; left out of the features")

        fs = extract_features(method, self.data.query, self.data.gallery, self.cfg,
                              progress=prog, device=self.device, autocast=self.autocast,
                              on_corrupt=on_corrupt)
        if which in STAGES:
            fs.save(features_file(store.out, which))
        m = self.metrics_of(fs)
        stage = {"stage": method.stage.name} if which == "stage" and method.stage else {}
        store.log({"kind": "eval", "which": which, "epoch": epoch, "step": step, **stage,
                   "time": time.time() - store.started, "extraction": self.extraction, **m})
        return m

    def metrics_of(self, fs: FeatureSet) -> dict:
        """The dataset's protocol (trials, junk by tracklet id) applied to ``fs``."""
        q_tids = [self.data.query[i].tid for i in fs.q_index]
        g_tids = [self.data.gallery[i].tid for i in fs.g_index]
        return evaluate_feature_set(fs, self.data.num_cameras, self.data.meta.get("protocol"),
                                    q_tids, g_tids, meta=self.data.meta)
