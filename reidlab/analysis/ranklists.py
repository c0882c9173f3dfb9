"""Rank lists of single queries and the queries that fail worst (the app's rank-list page).

Order and protocol are those of :func:`reidlab.eval.evaluate`: ascending distance, ties by
gallery index; gallery items with the query's pid AND camera are *junk* — shown, not counted.

Two forms: from a full distance matrix (``rank_list``, ``worst_queries``), and from features
(``rank_list_features``, ``worst_queries_features``), which never hold the Nq×Ng matrix — a rank
list needs only its query's row of distances (one Ng-vector), and the worst-first order needs
only per-query AP and first-match positions, computed block by block as the evaluation does.
The app uses the feature form, so a MARS-size or larger run (20k × 100k: an 8 GB matrix) is
browsed in memory bounded by the blocks.
"""

from __future__ import annotations

import numpy as np

from reidlab.eval.ranking import compute_distmat, per_query, per_query_features


def rank_list(distmat, q_pids, g_pids, q_camids, g_camids, qi: int, k: int = 10,
              include_junk: bool = True) -> list[dict]:
    """The top-``k`` counted gallery items of query row ``qi``, nearest first.

    Each entry: ``{"gallery_row", "distance", "match", "junk", "rank"}`` where ``match`` = same
    pid (and not junk), ``junk`` = same pid and same camera, and ``rank`` is the 1-based
    position in the junk-free ranking (None for junk). With ``include_junk`` the junk items
    that fall among the top ``k`` are listed in place (they do not use up any of the ``k``).
    """
    distmat = np.asarray(distmat)
    if not 0 <= qi < distmat.shape[0]:
        raise IndexError(f"rank_list: query row {qi} out of range 0..{distmat.shape[0] - 1}")
    return _rank_row(distmat[qi], np.asarray(q_pids)[qi], np.asarray(q_camids)[qi], g_pids,
                     g_camids, k, include_junk)


def rank_list_features(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids, qi: int,
                       k: int = 10, include_junk: bool = True,
                       metric: str = "euclidean") -> list[dict]:
    """:func:`rank_list` of query row ``qi`` from features: only that query's distances to the
    gallery are computed (memory O(Ng)), with the same centring as the full matrix."""
    q_feat = np.asarray(q_feat)
    if not 0 <= qi < len(q_feat):
        raise IndexError(f"rank_list: query row {qi} out of range 0..{len(q_feat) - 1}")
    d = np.asarray(compute_distmat(q_feat[qi:qi + 1], g_feat, metric=metric))[0]
    return _rank_row(d, np.asarray(q_pids)[qi], np.asarray(q_camids)[qi], g_pids, g_camids,
                     k, include_junk)


def query_summary(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids, qi: int,
                  metric: str = "euclidean") -> dict:
    """How query row ``qi`` fares under the protocol (junk not counted), from its one row of
    distances: ``{"first_match_rank": 1-based rank of its first true match (None without
    one), "ap": average precision (NaN without a match), "matches": true matches in the
    gallery}`` — the numbers of :func:`reidlab.eval.ranking.per_query` for that row."""
    from reidlab.eval.ranking import per_query

    q_feat = np.asarray(q_feat)
    if not 0 <= qi < len(q_feat):
        raise IndexError(f"query_summary: query row {qi} out of range 0..{len(q_feat) - 1}")
    d = np.asarray(compute_distmat(q_feat[qi:qi + 1], g_feat, metric=metric))
    pq = per_query(d, np.asarray(q_pids)[qi:qi + 1], g_pids, np.asarray(q_camids)[qi:qi + 1],
                   g_camids)
    valid = bool(pq.valid[0])
    return {"first_match_rank": int(pq.first_pos[0]) + 1 if valid else None,
            "ap": float(pq.ap[0]) if valid else float("nan"),
            "matches": int(pq.num_matches[0])}


def _rank_row(d, q_pid, q_camid, g_pids, g_camids, k: int, include_junk: bool) -> list[dict]:
    d = np.asarray(d).astype(np.float32)
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    order = np.argsort(np.where(np.isnan(d), np.inf, d + np.float32(0.0)), kind="stable")
    same = g_pids[order] == q_pid
    junk = same & (g_camids[order] == q_camid)
    out, counted = [], 0
    for j, s, jk in zip(order.tolist(), same.tolist(), junk.tolist()):
        if counted >= k:
            break
        if jk and not include_junk:
            continue
        if not jk:
            counted += 1
        out.append({"gallery_row": j, "distance": float(d[j]), "match": bool(s and not jk),
                    "junk": bool(jk), "rank": None if jk else counted})
    return out


def per_query_ap(distmat, q_pids, g_pids, q_camids, g_camids) -> np.ndarray:
    """Average precision of every query row (vectorised); NaN where it has no valid match."""
    return per_query(distmat, q_pids, g_pids, q_camids, g_camids).ap


def worst_queries(distmat, q_pids, g_pids, q_camids, g_camids, n: int = 10,
                  by: str = "ap") -> np.ndarray:
    """Rows of the ``n`` worst valid queries.

    ``by="ap"``: ascending AP (ties: later first match first, then row). ``by="first_match"``:
    descending position of the first true match (ties: lower AP first, then row). Queries
    without a valid match are never listed.
    """
    _check_by(by)
    return _worst(per_query(distmat, q_pids, g_pids, q_camids, g_camids), n, by)


def worst_queries_features(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids, n: int = 10,
                           by: str = "ap", metric: str = "euclidean",
                           block_bytes: int = 1 << 28) -> np.ndarray:
    """:func:`worst_queries` from features, the distances computed one block of query rows at
    a time (at most ``block_bytes`` of them held)."""
    _check_by(by)
    return _worst(per_query_features(q_feat, g_feat, q_pids, g_pids, q_camids, g_camids,
                                     metric=metric, block_bytes=block_bytes), n, by)


def _check_by(by: str) -> None:
    """Checked before any distance is computed."""
    if by not in ("ap", "first_match"):
        raise ValueError(f"worst_queries: by must be 'ap' or 'first_match', got {by!r}")


def _worst(pq, n: int, by: str) -> np.ndarray:
    rows = np.flatnonzero(pq.valid)
    ap, first = pq.ap[rows], pq.first_pos[rows]
    keys = (rows, -first, ap) if by == "ap" else (rows, ap, -first)
    return rows[np.lexsort(keys)][:n]
