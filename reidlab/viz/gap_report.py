"""The camera-domain gap of a run drawn as the lab shows it: the figures of the numbers that
:mod:`reidlab.analysis.gap_report` computes.

One recipe for the Domain gap page and ``python -m reidlab export`` (and anything else that
draws them), so a figure on the page and the exported figure of the same run are the same:

- :func:`stage_name` — what a run's model is called (before, after, no training);
- :func:`gap_figure` — the gap numbers as small multiples, one labelled axis per measure;
- :func:`pair_rank1_figure` / :func:`pair_rank1_panels` — rank-1 per camera pair as a heat
  map with the diagonal greyed, off the colour scale; several side by side with a difference.
"""

from __future__ import annotations

from collections.abc import Mapping

from reidlab.viz import camera_gap as F
from reidlab.viz.style import NO_TRAINING, STAGE_NAMES


def stage_name(untrained: bool, which: str) -> str:
    """What the lab calls a run's model: ``before`` (initial), ``after`` (final), or
    ``no training`` for a run that trained nothing (its before = after)."""
    return NO_TRAINING if untrained else STAGE_NAMES.get(which, which)


def gap_figure(numbers: Mapping[str, Mapping[str, float]], *, title: str, style=None,
               colours: Mapping[str, str] | None = None,
               patterns: Mapping[str, str] | None = None):
    """The gap-numbers figure: ``numbers`` maps a model's name ("before", "after", or
    "run: after" for two runs) to :func:`reidlab.analysis.gap_report.gap_numbers`; one panel
    per measure, chance drawn in the camera-probe panel."""
    chance = next((d.get("chance") for d in numbers.values() if d.get("chance") is not None),
                  None)
    bars = {w: {k: v for k, v in d.items() if k != "chance"} for w, d in numbers.items()}
    return F.gap_bars(bars, title=title, style=style, chance=chance, colours=colours,
                      patterns=patterns)


def cam_names(cameras) -> list[str]:
    """``cam 1``, ``cam 2``, ... for camera ids 0, 1, ..."""
    return [f"cam {int(c) + 1}" for c in cameras]


def pair_rank1_figure(pr: Mapping, *, title: str, style=None):
    """The rank-1-per-camera-pair heat map of one
    :func:`reidlab.analysis.gap_report.pair_rank1` result; the diagonal (same camera) greyed
    with its values written, off the colour scale."""
    return F.camera_pair_heatmap(pr["rank1"], cam_names=cam_names(pr["cameras"]), title=title,
                                 style=style, zmin=0.0, zmax=None, diagonal="grey")


def pair_rank1_panels(panels: Mapping[str, Mapping], *, title: str,
                      difference: tuple[str, str] | None = None, style=None):
    """Several :func:`reidlab.analysis.gap_report.pair_rank1` results side by side on one
    colour scale (two runs, or a run before and after), with ``difference=(a, b)`` a panel of
    b − a; the matrices must be of the same cameras."""
    cams = {tuple(p["cameras"]) for p in panels.values()}
    if len(cams) != 1:
        raise ValueError("camera-pair rank-1 of different cameras cannot share a figure: "
                         + "; ".join(f"{k}: cameras {list(v['cameras'])}"
                                     for k, v in panels.items()))
    return F.camera_pair_panels({k: v["rank1"] for k, v in panels.items()},
                                cam_names=cam_names(next(iter(cams))), title=title,
                                difference=difference, style=style)


__all__ = ["stage_name", "gap_figure", "cam_names", "pair_rank1_figure", "pair_rank1_panels"]
