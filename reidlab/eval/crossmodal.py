"""Cross-modality protocols (infrared ↔ colour): gallery trials and their mean.

SYSU-MM01 (Wu et al., ICCV 2017) evaluates infrared queries against a gallery *sampled* from the
colour cameras, 10 times: in each trial, for every test identity and every gallery camera,
``shots`` random images (single-shot 1, multi-shot 10). Results are the mean over the trials.
The official rule also drops, for a query from camera 3, every gallery image of camera 2: the two
cameras are in the same room (the "cam 3 / cam 2" rule of the authors' evaluation and of the
open-source re-implementations). RegDB has one visible and one thermal camera and no junk: the
standard protocol with the whole test split.

A dataset with trials carries them in ``TrackletSet.meta``: ``"trials"`` (one list of gallery
indices per trial), ``"ignore"`` (a rule name from :data:`IGNORE_RULES` or None) and
``"protocol"`` (a name that says mode, shots and trial count). :func:`evaluate_trials` gives the
mean ± std over trials and every trial's numbers.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from reidlab.data.formats.splits import sample_gallery_trials  # noqa: F401  (re-exported)
from reidlab.errors import ConfigError

# rule name -> ignore(q_camids[rows], g_camids) -> bool mask; camids are 0-based (cam1 = 0)
IGNORE_RULES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sysu_cam3_cam2": lambda qc, gc: (qc[:, None] == 2) & (gc[None, :] == 1),
}


def evaluate_trials(distmat: np.ndarray, q_pids, g_pids, q_camids, g_camids,
                    trials: Sequence[Sequence[int]], ignore: str | None = None,
                    max_rank: int = 20) -> dict:
    """CMC / mAP / mINP of each trial's gallery (columns of ``distmat``) and their mean ± std.

    ``ignore`` names a rule of :data:`IGNORE_RULES`; None = the standard rule (same identity
    and same camera), which never fires across modalities. Returns the mean metrics (keys as
    :func:`reidlab.eval.evaluate`), ``"<metric>_std"``, ``"trials"`` (their count) and
    ``"per_trial"`` (a list of each trial's rank-1, mAP, mINP)."""
    from reidlab.eval.ranking import _rank_core, _std_fns, summarize

    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    if ignore is not None and ignore not in IGNORE_RULES:
        raise ConfigError(f"ignore rule {ignore!r}; expected one of {list(IGNORE_RULES)}")
    if not len(trials):
        raise ConfigError("evaluate_trials: no trial gallery given")
    results = []
    for cols in trials:
        cols = np.asarray(cols, dtype=np.int64)
        d = distmat[:, cols]
        gp, gc = g_pids[cols], g_camids[cols]
        match_fn, std_ignore = _std_fns(q_pids, gp, q_camids, gc)
        if ignore is None:
            ignore_fn = std_ignore
        else:
            rule = IGNORE_RULES[ignore]

            def ignore_fn(rows, gp=gp, gc=gc, rule=rule):
                return rule(q_camids[rows], gc)
        results.append(summarize(_rank_core(d, match_fn, ignore_fn), max_rank))
    out: dict = {"cmc": np.mean([r["cmc"] for r in results], axis=0)}
    for k in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP"):
        vals = np.array([r[k] for r in results], float)
        out[k] = float(vals.mean())
        out[f"{k}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
    out["num_valid_queries"] = int(np.mean([r["num_valid_queries"] for r in results]))
    out["num_skipped_queries"] = int(np.mean([r["num_skipped_queries"] for r in results]))
    out["trials"] = len(results)
    out["per_trial"] = [{"rank1": r["rank1"], "mAP": r["mAP"], "mINP": r["mINP"]}
                        for r in results]
    return out
