"""The camera-domain gap of a run as the lab shows it: its numbers.

One recipe for the Domain gap page and ``python -m reidlab export`` (and anything else that
shows them), so the numbers on the page and in the exported figures of the same run are the
same (:mod:`reidlab.viz.gap_report` draws them):

- :func:`gap_numbers` — camera-probe accuracy (and its chance), silhouettes by camera and by
  identity and, for infrared ↔ colour data, the modality probe and the rank-1 inside each
  modality and across;
- :func:`pair_rank1` — rank-1 (%) per query × gallery camera pair: the run's own evaluation
  record (its diagonal is same-camera retrieval, own tracklet ignored), else recomputed from
  the features.
"""

from __future__ import annotations

import numpy as np

PROBE_CV = 3  # folds of the camera / modality probe (grouped by identity)


def gap_numbers(fs, cv: int = PROBE_CV) -> dict:
    """The gap numbers of one FeatureSet (query + gallery pooled, duplicates once)."""
    from reidlab.analysis.domain_gap import (camera_probe, pooled, pooled_keep,
                                             pooled_modality, silhouette)

    keep = pooled_keep(fs)
    feats, pids, camids = pooled(fs, keep)
    probe = camera_probe(feats, camids, groups=pids, cv=cv)
    out = {"camera probe acc.": probe["accuracy"], "chance": probe["chance"],
           "silhouette by camera": silhouette(feats, camids),
           "silhouette by identity": silhouette(feats, pids)}
    mods = pooled_modality(fs, keep)
    if len(np.unique(mods)) > 1:  # infrared ↔ colour data: the modality gap too
        from reidlab.analysis.modality import modality_retrieval

        out["modality probe acc."] = camera_probe(feats, mods, groups=pids, cv=cv)["accuracy"]
        # inside each modality and across: is it the gap, or a modality without identities?
        for name, r in modality_retrieval(feats, pids, camids, mods).items():
            out[f"{name} rank-1"] = r["rank1"]
    return out


def pair_rank1(run, which: str = "final") -> dict:
    """``{"rank1": C×C array in %, "cameras": [camid, ...], "source": "record"|"features"}``
    of a run's ``which`` model: its evaluation record's per-pair rank-1 when it has one, else
    computed from its features (in blocks, never the whole distance matrix)."""
    rec = [m for m in run.metrics("eval") if m.get("which") == which]
    if rec and rec[-1].get("pair_rank1") is not None:
        r, source = {"rank1": rec[-1]["pair_rank1"], "cameras": rec[-1]["cameras"]}, "record"
    else:
        from reidlab.eval.ranking import evaluate_arrays

        fs = run.features(which)
        r = evaluate_arrays(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                            fs.g_camids)["pairs"]
        source = "features"
    rank1 = 100.0 * np.asarray(r["rank1"], dtype=np.float64)
    return {"rank1": rank1, "cameras": [int(c) for c in r["cameras"]], "source": source}


__all__ = ["PROBE_CV", "gap_numbers", "pair_rank1"]
