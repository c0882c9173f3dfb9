"""The camera-domain gap of a run as the lab shows it: its numbers and its two figures.

One recipe for the Domain gap page and ``python -m reidlab export`` (and anything else that
draws them), so a figure on the page and the exported figure of the same run are the same:

- :func:`gap_numbers` — camera-probe accuracy (and its chance), silhouettes by camera and by
  identity and, for infrared ↔ colour data, the modality probe and the rank-1 inside each
  modality and across;
- :func:`pair_rank1` — rank-1 (%) per query × gallery camera pair: the run's own evaluation
  record (its diagonal is same-camera retrieval, own tracklet ignored), else recomputed from
  the features;
- :func:`gap_figure` / :func:`pair_rank1_figure` — the figures of those numbers (small
  multiples with one labelled axis per measure; the heat map with the diagonal greyed, off
  the colour scale).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

PROBE_CV = 3  # folds of the camera / modality probe (grouped by identity)


def stage_name(untrained: bool, which: str) -> str:
    """What the lab calls a run's model: ``before`` (initial), ``after`` (final), or
    ``no training`` for a run that trained nothing (its before = after)."""
    from reidlab.viz.figures import NO_TRAINING, STAGE_NAMES

    return NO_TRAINING if untrained else STAGE_NAMES.get(which, which)


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


def gap_figure(numbers: Mapping[str, Mapping[str, float]], *, title: str, style=None,
               colours: Mapping[str, str] | None = None,
               patterns: Mapping[str, str] | None = None):
    """The gap-numbers figure: ``numbers`` maps a model's name ("before", "after", or
    "run: after" for two runs) to :func:`gap_numbers`; one panel per measure, chance drawn
    in the camera-probe panel."""
    from reidlab.viz import figures as F

    chance = next((d.get("chance") for d in numbers.values() if d.get("chance") is not None),
                  None)
    bars = {w: {k: v for k, v in d.items() if k != "chance"} for w, d in numbers.items()}
    return F.gap_bars(bars, title=title, style=style, chance=chance, colours=colours,
                      patterns=patterns)


def cam_names(cameras) -> list[str]:
    return [f"cam {int(c) + 1}" for c in cameras]


def pair_rank1_figure(pr: Mapping, *, title: str, style=None):
    """The rank-1-per-camera-pair heat map of one :func:`pair_rank1` result; the diagonal
    (same camera) greyed with its values written, off the colour scale."""
    from reidlab.viz import figures as F

    return F.camera_pair_heatmap(pr["rank1"], cam_names=cam_names(pr["cameras"]), title=title,
                                 style=style, zmin=0.0, zmax=None, diagonal="grey")


def pair_rank1_panels(panels: Mapping[str, Mapping], *, title: str,
                      difference: tuple[str, str] | None = None, style=None):
    """Several :func:`pair_rank1` results side by side on one colour scale (two runs, or a run
    before and after), with ``difference=(a, b)`` a panel of b − a; the matrices must be of
    the same cameras."""
    from reidlab.viz import figures as F

    cams = {tuple(p["cameras"]) for p in panels.values()}
    if len(cams) != 1:
        raise ValueError("camera-pair rank-1 of different cameras cannot share a figure: "
                         + "; ".join(f"{k}: cameras {list(v['cameras'])}"
                                     for k, v in panels.items()))
    return F.camera_pair_panels({k: v["rank1"] for k, v in panels.items()},
                                cam_names=cam_names(next(iter(cams))), title=title,
                                difference=difference, style=style)


__all__ = ["PROBE_CV", "stage_name", "gap_numbers", "pair_rank1", "gap_figure",
           "pair_rank1_figure", "pair_rank1_panels", "cam_names"]
