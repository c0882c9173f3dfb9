"""The label update of a clustering method, before an epoch that ``method.label_update_due``:
a feature pass over ``method.label_samples()`` (the method's own frame budget), then
``method.update_labels``; each labelling it returns is logged as a ``labels`` record (cluster
quality against ground truth and the method's own numbers) and all of them are stored in
``labels/update_EEE.npz`` (see docs/training.md, "The label store")."""

from __future__ import annotations

import dataclasses as dc
import time

import numpy as np

from reidlab.cluster.quality import cluster_quality
from reidlab.data.loader import embed_tracklets
from reidlab.engine.store import RunStore
from reidlab.eval.features import extraction_precision, write_npz_atomic
from reidlab.methods.base import LabelFeatures, LabelUpdate


class LabelStep:
    def __init__(self, store: RunStore, cfg, device, autocast: bool):
        self.store, self.cfg, self.device, self.autocast = store, cfg, device, autocast
        self.extraction = extraction_precision(device, autocast)  # named in each record

    def run(self, method, epoch: int, step: int, progress: float) -> list[LabelUpdate]:
        """The update on rank 0; every other process then loads rank 0's method state (labels,
        memories). ``progress`` is the run's fraction shown meanwhile."""
        dist = self.store.dist
        if not dist.enabled:
            return self._update(method, epoch, step, progress)
        updates = self._update(method, epoch, step, progress) if dist.is_main else []
        dist.broadcast_state(method)
        return updates

    def _features(self, method, samples, epoch: int, progress: float) -> LabelFeatures:
        store = self.store

        def prog(done, total):
            store.report(progress, f"label update before epoch {epoch + 1}: features "
                         f"{done}/{total}")

        cfg = dc.replace(self.cfg, eval_frames=method.label_frames())
        was = method.training
        method.eval()
        try:
            emb = embed_tracklets(method.embed, [s[2] for s in samples], cfg,
                                  method.net.input_norm, device=self.device, progress=prog,
                                  autocast=self.autocast)
        finally:
            method.train(was)
        store.note_corrupt(emb.corrupt, "label update")
        for i in emb.dropped:
            store.warn(f"label-update sample {i} has no readable frame; left out of clustering")
        rows = emb.index
        feat = emb.feat / np.maximum(np.linalg.norm(emb.feat, axis=1, keepdims=True), 1e-12)
        return LabelFeatures(
            feat=feat.astype(np.float32),
            index=np.array([samples[i][0] for i in rows], np.int64),
            clip=np.array([samples[i][1] for i in rows], np.int64),
            pids=emb.pids, camids=emb.camids,
            frames=[str(samples[i][2].frames[len(samples[i][2]) // 2]) for i in rows])

    def _update(self, method, epoch: int, step: int, progress: float) -> list[LabelUpdate]:
        store = self.store
        samples = method.label_samples()
        t0 = time.time()
        feats = self._features(method, samples, epoch, progress)
        t_feat = time.time() - t0
        store.report(progress, f"label update before epoch {epoch + 1}: clustering "
                     f"{len(feats.index)} samples")
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
            store.log({"kind": "labels", "epoch": epoch, "step": step,
                       "time": time.time() - store.started, "stage": u.stage, **q,
                       **u.stats, "update_time": t_update, "feature_time": t_feat,
                       "extraction": self.extraction})
            arrays[f"label_{u.stage}"] = labels
            arrays["label"] = labels
        write_npz_atomic(store.out / "labels" / f"update_{epoch:03d}.npz", arrays)
        return updates
