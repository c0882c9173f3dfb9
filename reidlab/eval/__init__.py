"""Evaluation: features of a run (``features``) and ranking metrics (``ranking``)."""

from reidlab.eval.features import FeatureSet
from reidlab.eval.ranking import (
    PerQuery,
    compute_distmat,
    evaluate,
    evaluate_arrays,
    evaluate_by_camera_pair,
    per_query,
    summarize,
)

__all__ = [
    "FeatureSet",
    "PerQuery",
    "compute_distmat",
    "evaluate",
    "evaluate_arrays",
    "evaluate_by_camera_pair",
    "per_query",
    "summarize",
]
