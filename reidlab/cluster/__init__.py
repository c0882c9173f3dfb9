"""Pseudo labels for clustering-based unsupervised re-ID (SpCL / OpenUnReID style): exact faiss
kNN, the memory-bounded k-reciprocal Jaccard distance, DBSCAN pseudo labels (with strong
positive groups, e.g. the clips of one tracklet), cluster quality against ground truth and
CALR's pivot-based refinement of global clusters by per-camera ones (``refine``)."""

from reidlab.cluster.jaccard import jaccard_distance, jaccard_distance_dense, knn
from reidlab.cluster.pseudo_labels import (
    ClusterResult,
    cluster_pseudo_labels,
    dbscan_labels,
    renumber,
)
from reidlab.cluster.quality import cluster_quality, cluster_table, expansion, largest_clusters

__all__ = [
    "ClusterResult",
    "cluster_pseudo_labels",
    "cluster_quality",
    "cluster_table",
    "dbscan_labels",
    "expansion",
    "jaccard_distance",
    "jaccard_distance_dense",
    "knn",
    "largest_clusters",
    "renumber",
]
