"""Analysis of features: the camera-domain gap, 2-D embeddings and rank lists.

Heavy libraries (openTSNE, umap-learn, scikit-learn) are imported inside the functions.
"""

from reidlab.analysis.domain_gap import (
    DistanceSampler,
    camera_probe,
    distance_distributions,
    gap_summary,
    pooled,
    same_vs_cross_camera_retrieval,
    silhouette,
)
from reidlab.analysis.embedding import embed_2d
from reidlab.analysis.ranklists import per_query_ap, rank_list, worst_queries

__all__ = [
    "DistanceSampler",
    "camera_probe",
    "distance_distributions",
    "embed_2d",
    "gap_summary",
    "per_query_ap",
    "pooled",
    "rank_list",
    "same_vs_cross_camera_retrieval",
    "silhouette",
    "worst_queries",
]
