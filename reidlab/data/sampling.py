"""Clip sampling and batch samplers. Everything is a pure function of (seed, epoch).

* A tracklet of L frames is split into T equal chunks and one frame is drawn from each chunk:
  at random in training, the chunk centre in evaluation. When L < T frames repeat.
* With N clips per tracklet per epoch, the N clips of one tracklet look at different frames:
  ``clip_mode="interleaved"`` (default) draws clip n from the n-th of N equal sub-ranges of
  every chunk (each clip spans the whole tracklet); ``clip_mode="segments"`` (CAWCL's clips)
  cuts the tracklet into N successive equal segments and clip n is chunked inside segment n.
* Group labels come from the method every epoch; items whose group is −1 (outliers of a
  clustering) are not sampled by any sampler.
* An epoch is a list of items ``(tracklet, clip)``; a sampler orders them into batches:
  ``random`` (shuffle), ``pk`` (P groups × K items per batch over arbitrary group labels — e.g.
  camera-local pseudo IDs, since PADAL has no cross-camera IDs), ``pk_cam`` (P×K with the K
  items of a group drawn from as many of its cameras as it has: the camera-mixed sampler of
  the clustering papers' code bases) and ``camera`` (every batch holds the same number of
  items from each camera; small cameras are over-sampled).

Randomness comes from ``numpy.random.default_rng([seed, epoch, ...])`` so a resumed run draws
exactly the same batches and frames as an uninterrupted one, with no generator state to store.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reidlab.errors import ConfigError

SAMPLERS = ("random", "pk", "pk_cam", "camera")
CLIP_MODES = ("interleaved", "segments")


def chunk_bounds(length: int, num_chunks: int) -> np.ndarray:
    """Start/end (exclusive) of ``num_chunks`` equal chunks of ``range(length)``: array T×2.

    When ``length < num_chunks`` chunks are one frame each and frames repeat in order.
    """
    if length < 1 or num_chunks < 1:
        raise ValueError(f"need length >= 1 and num_chunks >= 1, got {length}, {num_chunks}")
    if length >= num_chunks:
        edges = np.floor(np.arange(num_chunks + 1) * length / num_chunks).astype(np.int64)
        return np.stack([edges[:-1], edges[1:]], axis=1)
    start = np.floor(np.arange(num_chunks) * length / num_chunks).astype(np.int64)
    return np.stack([start, start + 1], axis=1)


def clip_frame_indices(length: int, num_frames: int, rng: np.random.Generator | None = None,
                       clip: int = 0, num_clips: int = 1, mode: str = "interleaved"
                       ) -> np.ndarray:
    """Frame indices (sorted, length ``num_frames``) of one clip of a tracklet of ``length``.

    ``rng=None`` is evaluation mode: the centre of each chunk's sub-range. Otherwise one frame
    is drawn uniformly from the ``clip``-th of ``num_clips`` equal sub-ranges of each chunk
    (``mode="interleaved"``), or from each of ``num_frames`` chunks of the ``clip``-th of
    ``num_clips`` successive segments of the tracklet (``mode="segments"``).
    """
    if not 0 <= clip < num_clips:
        raise ValueError(f"clip {clip} out of range for {num_clips} clips")
    if mode == "segments":
        from reidlab.data.tracklets import segment_bounds

        lo, hi = segment_bounds(length, clip, num_clips)
        return lo + clip_frame_indices(hi - lo, num_frames, rng)
    if mode != "interleaved":
        raise ConfigError(f"clip_mode: expected one of {list(CLIP_MODES)}, got {mode!r}")
    bounds = chunk_bounds(length, num_frames)
    size = bounds[:, 1] - bounds[:, 0]
    lo = bounds[:, 0] + (clip * size) // num_clips
    hi = bounds[:, 0] + ((clip + 1) * size) // num_clips
    hi = np.maximum(hi, lo + 1)  # chunks smaller than num_clips: share frames
    lo = np.minimum(lo, bounds[:, 1] - 1)
    hi = np.minimum(hi, bounds[:, 1])
    if rng is None:
        return (lo + (hi - lo - 1) // 2).astype(np.int64)
    return (lo + np.floor(rng.random(len(lo)) * (hi - lo)).astype(np.int64)).astype(np.int64)


def eval_frame_indices(length: int, frames_per_clip: int, max_frames: int = 0) -> np.ndarray:
    """Frames for feature extraction, shape C×T: ``C = ceil(n / T)`` clips over evenly spaced
    frames, where ``n = length`` (``max_frames=0``: all frames) or ``min(length, max_frames)``."""
    n = length if max_frames <= 0 else min(length, max_frames)
    num_clips = max(1, -(-n // frames_per_clip))
    idx = clip_frame_indices(length, num_clips * frames_per_clip)
    return idx.reshape(num_clips, frames_per_clip)


def item_rng(seed: int, epoch: int, *keys: int) -> np.random.Generator:
    """The generator for one (seed, epoch, item...) — independent of iteration order."""
    return np.random.default_rng([int(seed), int(epoch), *(int(k) for k in keys)])


def random_batches(items: Sequence, batch_size: int, rng: np.random.Generator,
                   drop_last: bool = True) -> list[list]:
    """Shuffle and cut into batches; the last short batch is dropped when there is a full one."""
    order = rng.permutation(len(items))
    batches = [[items[i] for i in order[s:s + batch_size]] for s in range(0, len(order), batch_size)]
    if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def camera_mixed_chunks(idx: list[int], cams: Sequence[int], instances: int,
                        rng: np.random.Generator) -> list[list[int]]:
    """Cut one group's items ``idx`` (cameras ``cams``, aligned) into m = len // K chunks of
    K = ``instances`` items whose cameras are as mixed as the group's cameras allow: the items,
    listed camera by camera (shuffled inside each camera), are dealt to the m chunks in turn,
    so a camera with at least m items is in every chunk and a smaller one in as many chunks as
    it has items, once each. The len − m·K items left over (as in :func:`pk_batches`) come
    from the largest cameras, which are in every chunk anyway."""
    m = len(idx) // instances
    if m == 0:
        return []
    by_cam: dict[int, list[int]] = {}
    for i, c in zip(idx, cams):
        by_cam.setdefault(int(c), []).append(i)
    order = list(by_cam)
    order = [order[j] for j in rng.permutation(len(order))]
    for c in order:
        by_cam[c] = [by_cam[c][j] for j in rng.permutation(len(by_cam[c]))]
    for _ in range(len(idx) - m * instances):  # drop the surplus from the largest camera
        by_cam[max(order, key=lambda c: len(by_cam[c]))].pop()
    seq = [i for c in order for i in by_cam[c]]
    chunks = [seq[j::m] for j in range(m)]
    return [chunks[j] for j in rng.permutation(m)]


def pk_batches(items: Sequence, groups: Sequence[int], batch_size: int, instances: int,
               rng: np.random.Generator, camids: Sequence[int] | None = None) -> list[list]:
    """P×K batches: P = batch_size // K distinct groups, K items each (torchreid's
    RandomIdentitySampler over arbitrary labels). ``groups[i]`` is the group of ``items[i]``.
    Groups with fewer than K items are filled by drawing with replacement; with fewer than P
    groups, each batch holds all of them. With ``camids`` (the camera of each item) the K items
    of a group come from as many different cameras as it has (:func:`camera_mixed_chunks`)."""
    if instances < 1 or batch_size < instances:
        raise ConfigError(f"P×K sampling needs 1 <= instances ({instances}) <= batch_size "
                          f"({batch_size})")
    p = batch_size // instances
    by_group: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(int(g), []).append(i)
    chunks: dict[int, list[list[int]]] = {}
    for g in sorted(by_group):
        idx = by_group[g]
        if len(idx) < instances:
            idx = list(idx) + list(rng.choice(idx, instances - len(idx), replace=True))
        if camids is not None:
            chunks[g] = camera_mixed_chunks(idx, [camids[i] for i in idx], instances, rng)
            continue
        idx = [idx[i] for i in rng.permutation(len(idx))]
        chunks[g] = [idx[s:s + instances] for s in range(0, len(idx) - instances + 1, instances)]
    batches = []
    avail = [g for g in sorted(chunks) if chunks[g]]
    if not avail:
        raise ConfigError("P×K sampling found no group to sample (every item is an outlier)")
    # Fewer groups than P (a clustering that merged nearly everything, a tiny dataset): the
    # batches hold every group there is instead of failing mid-training.
    p = min(p, len(avail))
    while len(avail) >= p:
        chosen = rng.choice(len(avail), p, replace=False)
        batch = []
        for c in sorted(chosen):
            batch.extend(items[i] for i in chunks[avail[c]].pop())
        batches.append(batch)
        avail = [g for g in avail if chunks[g]]
    return batches


def camera_batches(items: Sequence, camids: Sequence[int], batch_size: int,
                   rng: np.random.Generator) -> list[list]:
    """Batches with the same number of items per camera (remainder to random cameras).
    Cameras that run out are reshuffled and reused; the epoch has ``len(items) // batch_size``
    batches (at least one)."""
    cams = sorted({int(c) for c in camids})
    queues: dict[int, list[int]] = {c: [] for c in cams}
    pools = {c: [i for i, k in enumerate(camids) if int(k) == c] for c in cams}

    def draw(c: int) -> int:
        if not queues[c]:
            queues[c] = [pools[c][i] for i in rng.permutation(len(pools[c]))]
        return queues[c].pop()

    batches = []
    for _ in range(max(1, len(items) // batch_size)):
        per = [batch_size // len(cams)] * len(cams)
        for j in rng.choice(len(cams), batch_size % len(cams), replace=False):
            per[j] += 1
        batches.append([items[draw(c)] for c, n in zip(cams, per) for _ in range(n)])
    return batches


def epoch_batches(sampler: str, num_tracklets: int, clips_per_tracklet: int, batch_size: int,
                  seed: int, epoch: int, groups: Sequence[int] | None = None,
                  camids: Sequence[int] | None = None, instances: int = 4,
                  tracklets: Sequence[int] | None = None, salt: int = 7919,
                  iters: int = 0) -> list[list]:
    """The batches of ``(tracklet, clip)`` items for one epoch — deterministic in (seed, epoch).

    ``groups[t]`` is the group of tracklet t (P×K sampling); tracklets whose group is −1 are
    left out by every sampler. ``tracklets`` restricts the epoch to those tracklet indices
    (e.g. one domain of a UDA list); ``salt`` separates the random streams of two samplers
    in one epoch. ``iters > 0``: exactly that many batches — further passes of the sampler
    (the same random stream, so each pass is drawn afresh) until full, the last cut short
    (the IterLoader of the SpCL and CALR code; CAP's code sizes its epoch by the samples)."""
    pool = range(num_tracklets) if tracklets is None else [int(t) for t in tracklets]
    if groups is not None:
        pool = [t for t in pool if int(groups[t]) >= 0]
    items = [(t, c) for t in pool for c in range(clips_per_tracklet)]
    if not items:
        raise ConfigError("no training item to sample: every tracklet is an outlier (group −1) "
                          "or the training list is empty")
    rng = np.random.default_rng([int(seed), int(epoch), int(salt)])
    if iters < 0:
        raise ConfigError(f"iters={iters}: expected 0 (one sampler pass) or a positive count")

    def one_pass() -> list[list]:
        if sampler == "random":
            return random_batches(items, batch_size, rng)
        if sampler == "pk":
            if groups is None:
                raise ValueError("pk sampler needs group labels")
            return pk_batches(items, [groups[t] for t, _ in items], batch_size, instances, rng)
        if sampler == "pk_cam":
            if groups is None or camids is None:
                raise ValueError("pk_cam sampler needs group labels and camera ids")
            return pk_batches(items, [groups[t] for t, _ in items], batch_size, instances, rng,
                              camids=[camids[t] for t, _ in items])
        if sampler == "camera":
            if camids is None:
                raise ValueError("camera sampler needs camera ids")
            return camera_batches(items, [camids[t] for t, _ in items], batch_size, rng)
        raise ConfigError(f"unknown sampler {sampler!r}; expected one of {list(SAMPLERS)}")

    batches = one_pass()
    if iters > 0:
        while batches and len(batches) < iters:  # (a sampler that yields nothing stops)
            batches += one_pass()
        batches = batches[:iters]
    return batches
