"""Rank lists of single queries and the queries that fail worst (the app's rank-list page).

Order and protocol are those of :func:`reidlab.eval.evaluate`: ascending distance, ties by
gallery index; gallery items with the query's pid AND camera are *junk* — shown, not counted.
"""

from __future__ import annotations

import numpy as np

from reidlab.eval.ranking import per_query


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
    d = distmat[qi].astype(np.float32)
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    order = np.argsort(np.where(np.isnan(d), np.inf, d + np.float32(0.0)), kind="stable")
    same = g_pids[order] == q_pids[qi]
    junk = same & (g_camids[order] == q_camids[qi])
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
    pq = per_query(distmat, q_pids, g_pids, q_camids, g_camids)
    rows = np.flatnonzero(pq.valid)
    ap, first = pq.ap[rows], pq.first_pos[rows]
    if by == "ap":
        order = np.lexsort((rows, -first, ap))
    elif by == "first_match":
        order = np.lexsort((rows, ap, -first))
    else:
        raise ValueError(f"worst_queries: by must be 'ap' or 'first_match', got {by!r}")
    return rows[order][:n]
