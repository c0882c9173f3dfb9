"""Distances and the standard re-ID metrics (CMC, mAP, mINP), also per camera pair.

Protocol (Market-1501 / MARS as torchreid computes it): for each query, gallery items with the
same pid AND the same camera as the query are *junk* — removed from its ranking. Queries with no
remaining true match (same pid) are skipped and counted in ``num_skipped_queries``.

Tie handling: the ranking of a query is the *stable* ascending sort of its distance row, i.e.
equal distances are ordered by gallery index (``np.argsort(row, kind="stable")``). torchreid
calls ``np.argsort`` with its default (non-stable) quicksort, which orders ties arbitrarily; with
distinct distances the two agree exactly. Distances are compared as float32 (``-0.0`` == ``0.0``;
NaN is treated as +inf).

Vectorisation: no per-query Python loop and no argsort. Distances become order-preserving int32
keys, junk keys are pushed past every real key, each row is value-sorted once (``np.sort``, SIMD
fast), and the position of every true match in the junk-free ranking is found with a batched
``torch.searchsorted`` (plus a direct count where equal distances tie). Those positions are all
CMC, AP and INP need.
Queries are processed in chunks (default: about 4M distances per chunk) so memory stays
``O(chunk × Ng)``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from reidlab.errors import ConfigError

# ----------------------------------------------------------------------------------- distances


def compute_distmat(
    q: np.ndarray,
    g: np.ndarray,
    metric: str = "euclidean",
    backend: str = "torch",
    chunk: int = 1024,
    topk: int | None = None,
):
    """Distances between query rows ``q`` (Nq×D) and gallery rows ``g`` (Ng×D).

    ``metric``: ``"euclidean"`` (not squared; computed as ``|a|² + |b|² − 2a·b`` after centring
    on the gallery mean, so exact duplicates may be ~1e-3 apart rather than 0) or ``"cosine"``
    (``1 - cos``, rows L2-normalised).
    ``backend``: ``"torch"`` (exact, chunked over queries so memory is ``chunk × Ng``),
    ``"faiss"`` (``IndexFlatL2``/``IndexFlatIP``, exact) or ``"auto"`` (faiss when the
    gallery has more than 20000 rows and faiss imports, else torch).
    ``topk``: None → the full Nq×Ng float32 matrix; an int k → ``(dist, idx)`` of the k nearest
    gallery rows per query, ascending (faiss: its search; torch: chunked ``topk``).
    """
    q = np.ascontiguousarray(q, dtype=np.float32)
    g = np.ascontiguousarray(g, dtype=np.float32)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"compute_distmat: expected Nq×D and Ng×D arrays, got {q.shape} and {g.shape}")
    if metric not in ("euclidean", "cosine"):
        raise ConfigError(f"metric: expected 'euclidean' or 'cosine', got {metric!r}")
    if backend not in ("torch", "faiss", "auto"):
        raise ConfigError(f"backend: expected 'torch', 'faiss' or 'auto', got {backend!r}")
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    elif g.shape[0]:
        # |a|² + |b|² − 2a·b loses precision when the rows share a large common component
        # (e.g. non-negative CNN features); centring leaves distances unchanged and shrinks it.
        mu = g.mean(0, dtype=np.float64).astype(np.float32)
        q, g = q - mu, g - mu
    if topk is not None:
        topk = int(min(topk, g.shape[0]))
    if backend == "auto":
        backend = "torch"
        if g.shape[0] > 20000:
            try:
                import faiss  # noqa: F401

                backend = "faiss"
            except ImportError:
                pass
    if backend == "faiss":
        return _distmat_faiss(q, g, metric, topk)
    return _distmat_torch(q, g, metric, chunk, topk)


def _distmat_torch(q, g, metric, chunk, topk):
    gt = torch.from_numpy(g)
    g_sq = (gt * gt).sum(1)
    full = topk is None
    out = np.empty((q.shape[0], g.shape[0] if full else topk), dtype=np.float32)
    out_idx = None if full else np.empty(out.shape, dtype=np.int64)
    with torch.no_grad():
        for s in range(0, q.shape[0], max(1, chunk)):
            qt = torch.from_numpy(q[s:s + chunk])
            d = torch.from_numpy(out[s:s + chunk]) if full else None
            if metric == "cosine":  # 1 - q·g, written straight into the output
                d = torch.addmm(torch.ones(()), qt, gt.T, beta=1.0, alpha=-1.0, out=d)
            else:  # |q|² + |g|² − 2 q·g, clamped at 0, square root — in place
                d = torch.addmm(g_sq[None, :], qt, gt.T, beta=1.0, alpha=-2.0, out=d)
                d.add_((qt * qt).sum(1, keepdim=True)).clamp_(min=0.0).sqrt_()
            if not full:
                v, i = torch.topk(d, topk, dim=1, largest=False, sorted=True)
                out[s:s + chunk] = v.numpy()
                out_idx[s:s + chunk] = i.numpy()
    return out if full else (out, out_idx)


def _distmat_faiss(q, g, metric, topk):
    import faiss

    if topk is None:
        # Exact full matrix from faiss' brute-force kernel (squared L2 / inner products).
        if metric == "cosine":
            d = 1.0 - faiss.pairwise_distances(q, g, faiss.METRIC_INNER_PRODUCT)
        else:
            d = faiss.pairwise_distances(q, g)
            np.maximum(d, 0.0, out=d)
            np.sqrt(d, out=d)
        return np.ascontiguousarray(d, dtype=np.float32)
    index = faiss.IndexFlatIP(g.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(g.shape[1])
    index.add(g)
    v, i = index.search(q, topk)
    v = 1.0 - v if metric == "cosine" else np.sqrt(np.maximum(v, 0.0))
    return v.astype(np.float32), i.astype(np.int64)


# ------------------------------------------------------------------------------ core ranking


@dataclass
class PerQuery:
    """Per-query results of the vectorised core (rows of the distance matrix).

    ``valid``: the query has at least one true match left after removing junk.
    ``ap``/``inp``: NaN for invalid queries. ``first_pos``: 0-based position of the first true
    match in the junk-free ranking (-1 if invalid). ``num_matches``: true matches counted.
    """

    valid: np.ndarray
    ap: np.ndarray
    inp: np.ndarray
    first_pos: np.ndarray
    num_matches: np.ndarray


# ignore_fn(rows) -> bool mask (len(rows) × Ng) of gallery items to drop for those queries.
IgnoreFn = Callable[[slice], np.ndarray]


_THREADS = max(1, min(4, os.cpu_count() or 1))  # evaluation threads (chunks of queries)
_CHUNK_ELEMENTS = 1 << 22  # query rows per chunk × gallery size (≈ 50 MB of work arrays)
_SENTINEL = np.int32(0x7FFFFFFF)  # larger than every real key (NaN is mapped to +inf)


def _float_keys(d: np.ndarray) -> np.ndarray:
    """Monotone int32 keys of float32 distances (``-0.0`` == ``0.0``; NaN treated as +inf).

    Returns a fresh array (callers modify it). Non-negative floats already order like their
    int32 bit patterns; negative ones get their magnitude bits flipped.
    """
    d = np.asarray(d, dtype=np.float32) + np.float32(0.0)  # copy; -0.0 -> +0.0
    lo = d.min()
    if np.isnan(lo):
        d[np.isnan(d)] = np.inf
        lo = d.min()
    bits = d.view(np.int32)
    if lo < 0:
        bits ^= (bits >> 31) & np.int32(0x7FFFFFFF)
    return bits


def _rank_core(
    distmat: np.ndarray,
    match_fn: Callable[[slice], np.ndarray],
    ignore_fn: IgnoreFn,
    chunk: int | None = None,
    tie_chunk: int = 256,
) -> PerQuery:
    """Positions of the true matches in each junk-free ranking → AP, INP, first-match position.

    Ranking order: ascending (distance, gallery column) — a stable sort. Ignored items get a
    key above every real one, so after one value-only ``np.sort`` per row the position of a
    match with key ``k`` and column ``c`` is ``#{kept: key < k}`` (``searchsorted``) plus
    ``#{kept: key == k, column < c}`` (counted directly, only where such ties exist).
    """
    nq, ng = distmat.shape
    valid = np.zeros(nq, dtype=bool)
    ap = np.full(nq, np.nan)
    inp = np.full(nq, np.nan)
    first = np.full(nq, -1, dtype=np.int64)
    nmatch = np.zeros(nq, dtype=np.int64)
    if ng == 0 or nq == 0:
        return PerQuery(valid, ap, inp, first, nmatch)
    cols = np.arange(ng, dtype=np.int64)
    if not chunk:  # memory-bounded chunks, as many as a multiple of the threads
        n = -(-nq // max(1, _CHUNK_ELEMENTS // ng))
        n = -(-n // _THREADS) * _THREADS
        chunk = -(-nq // n)
    chunk = max(1, chunk)

    def block(s: int) -> None:  # rows s … s+chunk; writes only those rows of the outputs
        rows = slice(s, min(nq, s + chunk))
        b = rows.stop - rows.start
        ignore = np.asarray(ignore_fn(rows), dtype=bool)
        match = np.asarray(match_fn(rows), dtype=bool) & ~ignore
        m = match.sum(1)
        nmatch[rows] = m
        mmax = int(m.max())
        if mmax == 0:
            return
        keys = _float_keys(distmat[rows])
        np.putmask(keys, ignore, _SENTINEL)
        # Each query's match keys as sorted (key, column) int64 composites, padded at the end.
        r, c = np.nonzero(match)
        slot = np.arange(r.size) - np.repeat(np.cumsum(m) - m, m)
        mk = np.full((b, mmax), np.iinfo(np.int64).max, dtype=np.int64)
        mk[r, slot] = (keys[r, c].astype(np.int64) << 32) | c
        mk.sort(axis=1)
        mkey = (mk >> 32).astype(np.int32)
        mcol = mk & 0xFFFFFFFF
        srt = np.sort(keys, axis=1)
        srt = np.ascontiguousarray(srt)
        left = torch.searchsorted(torch.from_numpy(srt),
                                  torch.from_numpy(np.ascontiguousarray(mkey))).numpy()
        left = left.astype(np.int64)
        j = np.arange(mmax)[None, :]
        live = j < m[:, None]
        # a match's own key is in its row, so it is tied with another kept key exactly when
        # the next sorted key is equal to it
        nxt = np.take_along_axis(srt, np.minimum(left + 1, ng - 1), axis=1)
        tied = live & (left + 1 < ng) & (nxt == mkey)
        pos = left
        tq, tj = np.nonzero(tied)  # ties: count kept equal keys before c
        step = max(1, min(tie_chunk, _CHUNK_ELEMENTS // ng))
        for t in range(0, tq.size, step):
            qq, jj = tq[t:t + step], tj[t:t + step]
            eq = (keys[qq] == mkey[qq, jj][:, None]) & (cols[None, :] < mcol[qq, jj][:, None])
            pos[qq, jj] += eq.sum(1)
        ok = m > 0
        prec = np.where(live, (j + 1) / (pos + 1.0), 0.0)
        idx = np.flatnonzero(ok) + rows.start
        valid[idx] = True
        ap[idx] = prec.sum(1)[ok] / m[ok]
        first[idx] = pos[ok, 0]
        last = pos[np.arange(b), np.maximum(m - 1, 0)]
        inp[idx] = m[ok] / (last[ok] + 1.0)

    starts = range(0, nq, chunk)
    workers = min(len(starts), _THREADS)
    if workers > 1:  # numpy's sorts and comparisons and torch's search release the GIL
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(block, starts))
    else:
        for s in starts:
            block(s)
    return PerQuery(valid, ap, inp, first, nmatch)


def _std_fns(q_pids, g_pids, q_camids, g_camids):
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def match_fn(rows):
        return q_pids[rows, None] == g_pids[None, :]

    def ignore_fn(rows):
        return (q_pids[rows, None] == g_pids[None, :]) & (q_camids[rows, None] == g_camids[None, :])

    return match_fn, ignore_fn


def _check(distmat, q_pids, g_pids, q_camids, g_camids):
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat: expected a 2-D Nq×Ng array, got shape {distmat.shape}")
    _check_lengths(distmat.shape, q_pids, g_pids, q_camids, g_camids, "distmat")
    return distmat


def _check_lengths(shape, q_pids, g_pids, q_camids, g_camids, what):
    nq, ng = shape
    for name, arr, n in (("q_pids", q_pids, nq), ("g_pids", g_pids, ng),
                         ("q_camids", q_camids, nq), ("g_camids", g_camids, ng)):
        if len(arr) != n:
            raise ValueError(f"{name}: expected length {n} to match {what} {tuple(shape)}, "
                             f"got {len(arr)}")


def per_query(distmat, q_pids, g_pids, q_camids, g_camids, chunk: int | None = None) -> PerQuery:
    """Per-query AP / INP / first-match position under the standard protocol (vectorised)."""
    distmat = _check(distmat, q_pids, g_pids, q_camids, g_camids)
    match_fn, ignore_fn = _std_fns(q_pids, g_pids, q_camids, g_camids)
    return _rank_core(distmat, match_fn, ignore_fn, chunk)


def summarize(pq: PerQuery, max_rank: int = 20) -> dict:
    """Aggregate a :class:`PerQuery` into CMC / rank-k / mAP / mINP (NaN when nothing valid)."""
    v = pq.valid
    n = int(v.sum())
    if n:
        cmc = (pq.first_pos[v][:, None] <= np.arange(max_rank)[None, :]).mean(0)
        mAP, mINP = float(pq.ap[v].mean()), float(pq.inp[v].mean())
    else:
        cmc = np.full(max_rank, np.nan)
        mAP = mINP = float("nan")
    out = {"cmc": cmc.astype(np.float64)}
    for k in (1, 5, 10, 20):
        out[f"rank{k}"] = float(cmc[k - 1]) if k <= max_rank else float("nan")
    out.update(mAP=mAP, mINP=mINP, num_valid_queries=n, num_skipped_queries=int(v.size - n))
    return out


def evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20,
             chunk: int | None = None) -> dict:
    """CMC, mAP and mINP under the Market/MARS protocol (see module docstring).

    Returns ``{"cmc": array(max_rank), "rank1", "rank5", "rank10", "rank20", "mAP", "mINP",
    "num_valid_queries", "num_skipped_queries"}``; metrics are fractions in [0, 1] averaged over
    valid queries (rank-k beyond ``max_rank`` is NaN). ``cmc[k]`` is the fraction of valid
    queries whose first true match is within the top ``k+1`` of the junk-free ranking.
    """
    return summarize(per_query(distmat, q_pids, g_pids, q_camids, g_camids, chunk), max_rank)


def evaluate_by_camera_pair(distmat, q_pids, g_pids, q_camids, g_camids, q_tids=None,
                            g_tids=None, num_cams: int | None = None) -> dict:
    """rank-1 / mAP / count matrices (num_cams × num_cams) for every (query cam a, gallery cam b).

    Entry (a, b): queries from camera a ranked against the gallery restricted to camera b.
    * a ≠ b: the standard protocol (nothing is junk since no gallery item shares the camera).
    * a = b: the standard protocol would remove every same-pid item, so instead the *same-camera*
      retrieval is reported, ignoring only the query's own tracklet (same pid, camera and tid).
      This needs ``q_tids`` and ``g_tids``; without them the diagonal is NaN.
    ``count`` is the number of valid queries (those with a true match in camera b); rank1/mAP are
    NaN where it is 0. Also returns ``"cameras"``: the camera ids indexing the matrices.
    """
    distmat = _check(distmat, q_pids, g_pids, q_camids, g_camids)
    if num_cams is None:
        num_cams = int(max(np.max(q_camids, initial=-1), np.max(g_camids, initial=-1))) + 1
    return _pair_summary(_pair_per_query(distmat, q_pids, g_pids, q_camids, g_camids, q_tids,
                                         g_tids, num_cams), num_cams)


def _pair_per_query(distmat, q_pids, g_pids, q_camids, g_camids, q_tids, g_tids,
                    num_cams: int) -> dict[tuple[int, int], PerQuery]:
    """Per-query results of every camera pair (see :func:`evaluate_by_camera_pair`)."""
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    have_tids = q_tids is not None and g_tids is not None
    if have_tids:
        q_tids, g_tids = np.asarray(q_tids), np.asarray(g_tids)
    out = {}
    for a in range(num_cams):
        qi = np.flatnonzero(q_camids == a)
        if qi.size == 0:
            continue
        for b in range(num_cams):
            gi = np.flatnonzero(g_camids == b)
            if gi.size == 0 or (a == b and not have_tids):
                continue
            sub = distmat[np.ix_(qi, gi)]
            qp, gp = q_pids[qi], g_pids[gi]

            def match_fn(rows, qp=qp, gp=gp):
                return qp[rows, None] == gp[None, :]

            if a == b:
                qt, gt = q_tids[qi], g_tids[gi]

                def ignore_fn(rows, qp=qp, gp=gp, qt=qt, gt=gt):
                    return (qp[rows, None] == gp[None, :]) & (qt[rows, None] == gt[None, :])
            else:
                def ignore_fn(rows, n=gi.size):
                    return np.zeros((rows.stop - rows.start, n), dtype=bool)

            out[a, b] = _rank_core(sub, match_fn, ignore_fn)
    return out


def _pair_summary(pairs: dict[tuple[int, int], PerQuery], num_cams: int) -> dict:
    r1 = np.full((num_cams, num_cams), np.nan)
    mAP = np.full((num_cams, num_cams), np.nan)
    count = np.zeros((num_cams, num_cams), dtype=np.int64)
    for (a, b), pq in pairs.items():
        s = summarize(pq, max_rank=1)
        count[a, b] = s["num_valid_queries"]
        if count[a, b]:
            r1[a, b], mAP[a, b] = s["rank1"], s["mAP"]
    return {"rank1": r1, "mAP": mAP, "count": count, "cameras": np.arange(num_cams)}


def _concat(parts: list[PerQuery]) -> PerQuery:
    return PerQuery(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                      ("valid", "ap", "inp", "first_pos", "num_matches")))


def block_rows(ng: int, block_bytes: int = 1 << 28) -> int:
    """Query rows per block of float32 distances to ``ng`` gallery rows within ``block_bytes``
    (whole 1024-row chunks, at least one)."""
    return max(1024, (block_bytes // max(4 * ng, 1)) // 1024 * 1024)


def per_query_features(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids,
                       metric: str = "euclidean", block_bytes: int = 1 << 28) -> PerQuery:
    """:func:`per_query` from features, one block of query rows at a time (never more than
    ``block_bytes`` of distances; the same blocks as :func:`evaluate_arrays`)."""
    q_feat, g_feat = np.asarray(q_feat), np.asarray(g_feat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    _check_lengths((len(q_feat), len(g_feat)), q_pids, g_pids, q_camids, g_camids,
                   "the features")
    parts = []
    for blk, d in _distance_blocks(q_feat, g_feat, metric, block_bytes):
        parts.append(per_query(d, q_pids[blk], g_pids, q_camids[blk], g_camids))
        del d  # before the next block is computed
    return _concat(parts)


def _distance_blocks(q_feat, g_feat, metric: str, block_bytes: int):
    """``(rows, distances)`` of consecutive blocks of query rows (:func:`block_rows` of them);
    the generator keeps no reference, so a caller that drops each block before asking for the
    next holds one block's distances at a time."""
    rows = block_rows(len(g_feat), block_bytes)
    for s in range(0, max(len(q_feat), 1), rows):
        blk = slice(s, min(len(q_feat), s + rows))
        yield blk, compute_distmat(q_feat[blk], g_feat, metric=metric)


def evaluate_arrays(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids, q_tids=None,
                    g_tids=None, num_cams: int | None = None, metric: str = "euclidean",
                    max_rank: int = 20, block_bytes: int = 1 << 28,
                    pairs: bool = True, on_block=None) -> dict:
    """:func:`evaluate` (and, with ``pairs``, :func:`evaluate_by_camera_pair` under
    ``"pairs"``) from features, never holding more than ``block_bytes`` of distances: the
    queries go in blocks of whole 1024-row distance chunks, so every number is the one the
    full matrix gives (20k × 100k in 400 MB blocks instead of an 8 GB matrix).
    ``on_block(rows, distances)``: also called with each block (a slice of query rows and
    their distances) before it is dropped, so other views of the distances — the gap
    analysis's sampled pairs (``reidlab.analysis.domain_gap.DistanceSampler``) — come from
    this one pass."""
    q_feat, g_feat = np.asarray(q_feat), np.asarray(g_feat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    nq, ng = len(q_feat), len(g_feat)
    if q_feat.ndim != 2 or g_feat.ndim != 2:
        raise ValueError(f"features: expected Nq×D and Ng×D arrays, got {q_feat.shape} and "
                         f"{g_feat.shape}")
    _check_lengths((nq, ng), q_pids, g_pids, q_camids, g_camids, "the features")
    if num_cams is None:
        num_cams = int(max(np.max(q_camids, initial=-1), np.max(g_camids, initial=-1))) + 1
    main, by_pair = [], {}
    for blk, d in _distance_blocks(q_feat, g_feat, metric, block_bytes):
        main.append(per_query(d, q_pids[blk], g_pids, q_camids[blk], g_camids))
        if on_block is not None:
            on_block(blk, d)
        if pairs:
            qt = None if q_tids is None else np.asarray(q_tids)[blk]
            for k, pq in _pair_per_query(d, q_pids[blk], g_pids, q_camids[blk], g_camids, qt,
                                         g_tids, num_cams).items():
                by_pair.setdefault(k, []).append(pq)
        del d
    out = summarize(_concat(main), max_rank)
    if pairs:
        out["pairs"] = _pair_summary({k: _concat(v) for k, v in by_pair.items()}, num_cams)
    return out
