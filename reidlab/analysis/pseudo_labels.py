"""The label store of clustering-based methods, read back for analysis (the Pseudo labels page).

A training run of a method that clusters (``cawcl``, ``pirid``, ``calr``) writes, at
every label update (``epoch`` = epochs completed when it ran, 0 = before the first one):

* a ``labels`` record in ``metrics.jsonl``: ``stage`` (default ``"global"``; CALR also logs
  ``"local"`` and ``"refined"`` at the same epoch), ``num_samples``, ``num_clusters``,
  ``outlier_fraction``, ``precision``, ``recall``, ``fscore``, ``nmi``, ``ari``,
  ``cameras_per_cluster``, ``expansion``, ``update_time`` (any may be null);
* ``labels/update_EEE.npz``: ``index``, ``clip``, ``label`` (−1 = outlier; ``label_<stage>``
  per labelling when there are several), ``pid`` (−1 unknown), ``camid`` (0-based), ``feat``
  (float16, L2-normalised) and ``frame`` (a representative frame path per sample).

Everything here is a pure function of those files or of arrays: no Streamlit, no training.
"""

from __future__ import annotations

import zipfile

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reidlab.engine.runs import METRICS, read_jsonl
from reidlab.errors import DatasetError

LABELS_DIR = "labels"
DEFAULT_STAGE = "global"
# numbers of a labels record, in the order the page offers them
QUALITY_KEYS = ("num_clusters", "outlier_fraction", "precision", "recall", "fscore", "nmi",
                "ari", "cameras_per_cluster", "expansion", "num_samples", "update_time")
QUALITY_NAMES = {"num_clusters": "clusters", "outlier_fraction": "outlier fraction",
                 "precision": "precision", "recall": "recall", "fscore": "F-score",
                 "nmi": "NMI", "ari": "ARI", "cameras_per_cluster": "cameras per cluster",
                 "expansion": "expansion", "num_samples": "samples",
                 "update_time": "update time (s)"}
# values in [0, 1] (plotted on a fixed 0..1 axis)
FRACTION_KEYS = ("outlier_fraction", "precision", "recall", "fscore", "nmi", "ari")
_UPDATE_RE = re.compile(r"^update_(\d+)\.npz$")
LABEL_FILES = f"{LABELS_DIR}/update_EEE.npz"  # the label store's files, as pages name them
_ARRAYS = ("index", "clip", "label", "pid", "camid", "feat", "frame")


def _path(run) -> Path:
    """A run folder from a :class:`~reidlab.engine.runs.Run` or a path."""
    return Path(getattr(run, "path", run))


# --------------------------------------------------------------------------- metrics records

def label_records(run) -> list[dict]:
    """The ``labels`` records of a run, ``stage`` filled in (default ``"global"``), ordered by
    (epoch, stage as first logged). A record logged again for the same (epoch, stage), e.g.
    after a resume, replaces the earlier one."""
    recs: dict[tuple[int, str], dict] = {}
    for r in read_jsonl(_path(run) / METRICS):
        if r.get("kind") != "labels" or not isinstance(r.get("epoch"), (int, float)):
            continue
        r = dict(r, stage=str(r.get("stage") or DEFAULT_STAGE), epoch=int(r["epoch"]))
        recs.pop((r["epoch"], r["stage"]), None)
        recs[(r["epoch"], r["stage"])] = r
    stages = list(dict.fromkeys(s for _, s in recs))
    return sorted(recs.values(), key=lambda r: (r["epoch"], stages.index(r["stage"])))


def stages_of(records) -> list[str]:
    """The stages of ``records`` in the order they first appear."""
    return list(dict.fromkeys(str(r.get("stage") or DEFAULT_STAGE) for r in records))


def quality_table(records, run: str | None = None) -> pd.DataFrame:
    """One row per label update and stage: epoch, stage and every quality number present
    (missing or null → NaN); ``run`` adds a first column naming the run."""
    rows = []
    for r in records:
        row = {"run": run} if run is not None else {}
        row.update(epoch=int(r["epoch"]), stage=str(r.get("stage") or DEFAULT_STAGE))
        for k in QUALITY_KEYS:
            v = r.get(k)
            row[k] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) \
                else np.nan
        rows.append(row)
    cols = (["run"] if run is not None else []) + ["epoch", "stage", *QUALITY_KEYS]
    df = pd.DataFrame(rows, columns=cols)
    return df.dropna(axis=1, how="all") if len(df) else df


# --------------------------------------------------------------------------- label files

def update_path(run, epoch: int) -> Path:
    return _path(run) / LABELS_DIR / f"update_{int(epoch):03d}.npz"


def label_updates(run) -> list[int]:
    """Epochs of the stored label files ``labels/update_EEE.npz``, ascending."""
    folder = _path(run) / LABELS_DIR
    if not folder.is_dir():
        return []
    found = (_UPDATE_RE.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def has_labels(run) -> bool:
    """Whether the run logged any label update (a record or a stored label file)."""
    return bool(label_updates(run)) or bool(label_records(run))


@dataclass
class LabelSnapshot:
    """One stored label update: arrays aligned by sample (see the module docstring)."""

    epoch: int
    index: np.ndarray
    clip: np.ndarray
    label: np.ndarray
    pid: np.ndarray
    camid: np.ndarray
    feat: np.ndarray
    frame: np.ndarray
    by_stage: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.label)

    @property
    def stages(self) -> list[str]:
        """Stages with their own labels in the file (``label_<stage>``); empty when only
        ``label`` is stored."""
        return list(self.by_stage)

    def labels(self, stage: str | None = None) -> np.ndarray:
        """The labels of ``stage`` (``label_<stage>``), or the final ``label``."""
        if stage is None or stage not in self.by_stage:
            return self.label
        return self.by_stage[stage]


def load_update(run, epoch: int) -> LabelSnapshot:
    """Read ``labels/update_EEE.npz``; a missing file, a missing array or arrays of different
    lengths raise :class:`~reidlab.errors.DatasetError` naming the file."""
    path = update_path(run, epoch)
    expected = f"a label file with arrays {', '.join(_ARRAYS)} of one length (written by " \
               "reidlab train for a clustering method)"
    if not path.is_file():
        raise DatasetError(path, expected, "no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(path, expected, f"{type(e).__name__}: {e}") from e
    missing = [k for k in _ARRAYS if k not in arrays]
    if missing:
        raise DatasetError(path, expected, f"missing {', '.join(missing)}")
    n = len(arrays["label"])
    bad = {k: len(arrays[k]) for k in _ARRAYS if len(arrays[k]) != n}
    if bad or arrays["feat"].ndim != 2:
        raise DatasetError(path, expected, f"{n} labels but lengths {bad}, feat shape "
                           f"{arrays['feat'].shape}")
    by_stage = {k[len("label_"):]: np.asarray(v, np.int64) for k, v in arrays.items()
                if k.startswith("label_") and len(v) == n}
    return LabelSnapshot(
        epoch=int(epoch), index=np.asarray(arrays["index"], np.int64),
        clip=np.asarray(arrays["clip"], np.int64), label=np.asarray(arrays["label"], np.int64),
        pid=np.asarray(arrays["pid"], np.int64), camid=np.asarray(arrays["camid"], np.int64),
        feat=np.asarray(arrays["feat"]), frame=np.asarray(arrays["frame"]).astype(str),
        by_stage=by_stage)


# --------------------------------------------------------------------------- clusters

CLUSTER_COLUMNS = ["label", "size", "num_cameras", "num_ids", "majority_pid", "purity",
                   "cameras"]


def cluster_table(labels, pids, camids) -> pd.DataFrame:
    """One row per cluster (label ≥ 0; outliers are no cluster), largest first (ties: lower
    label first): ``label``, ``size``, ``num_cameras``, ``num_ids`` (distinct known
    identities), ``majority_pid`` (most frequent known identity; −1 when none is known),
    ``purity`` (its share of the members with a known identity; NaN when none is known) and
    ``cameras`` (the cameras, 1-based, e.g. "1 3 4")."""
    labels = np.asarray(labels, np.int64)
    pids = np.asarray(pids, np.int64)
    camids = np.asarray(camids, np.int64)
    if not (len(labels) == len(pids) == len(camids)):
        raise ValueError(f"cluster_table: {len(labels)} labels, {len(pids)} pids and "
                         f"{len(camids)} camids should have one length")
    keep = labels >= 0
    df = pd.DataFrame({"label": labels[keep], "pid": pids[keep], "camid": camids[keep]})
    if df.empty:
        return pd.DataFrame(columns=CLUSTER_COLUMNS)
    rows = []
    for lab, g in df.groupby("label", sort=True):
        known = g["pid"][g["pid"] >= 0]
        counts = known.value_counts()
        if len(counts):
            top = counts.max()
            majority = int(min(p for p, c in counts.items() if c == top))  # ties: lower pid
            purity = float(top / len(known))
        else:
            majority, purity = -1, float("nan")
        cams = sorted(int(c) for c in g["camid"].unique())
        rows.append({"label": int(lab), "size": len(g), "num_cameras": len(cams),
                     "num_ids": int(known.nunique()), "majority_pid": majority,
                     "purity": purity, "cameras": " ".join(str(c + 1) for c in cams)})
    out = pd.DataFrame(rows, columns=CLUSTER_COLUMNS)
    return out.sort_values(["size", "label"], ascending=[False, True], kind="stable") \
        .reset_index(drop=True)


def largest_clusters(labels, pids, camids, top: int = 10) -> list[dict]:
    """The ``top`` largest clusters as dicts with keys label, size, num_cameras, num_ids,
    majority_pid, purity: the same as ``reidlab.cluster.quality.largest_clusters`` when every
    identity is known (there, an unknown identity −1 counts as one more identity)."""
    t = cluster_table(labels, pids, camids).head(top)
    return [{k: r[k] for k in ("label", "size", "num_cameras", "num_ids", "majority_pid",
                               "purity")} for r in t.to_dict("records")]


def widest_clusters(table: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The clusters spanning the most cameras (ties: larger first, then lower label)."""
    return table.sort_values(["num_cameras", "size", "label"], ascending=[False, False, True],
                             kind="stable").head(top).reset_index(drop=True)


def impure_clusters(table: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The largest clusters that mix identities (purity < 1), largest first (ties: the less
    pure first, then the lower label)."""
    t = table[table["purity"] < 1.0]
    return t.sort_values(["size", "purity", "label"], ascending=[False, True, True],
                         kind="stable").head(top).reset_index(drop=True)


def cluster_members(labels, pids, camids, label: int, n: int = 8) -> np.ndarray:
    """Up to ``n`` sample rows of cluster ``label`` that show its spread: one member of each
    (camera, identity) group in turn — identities alternating (most frequent first), each
    identity's cameras by group size — so a strip of thumbnails sees every identity and
    camera of the cluster before it repeats one. Deterministic."""
    labels, pids, camids = (np.asarray(a, np.int64) for a in (labels, pids, camids))
    rows = np.flatnonzero(labels == int(label))
    groups: dict[tuple[int, int], list[int]] = {}
    for r in rows:
        groups.setdefault((int(pids[r]), int(camids[r])), []).append(int(r))
    by_pid: dict[int, list[list[int]]] = {}
    for (p, _), g in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0])):
        by_pid.setdefault(p, []).append(g)
    ids = sorted(by_pid.values(), key=lambda gs: (-sum(map(len, gs)), gs[0][0]))
    order = [gs[j] for j in range(max((len(gs) for gs in ids), default=0)) for gs in ids
             if j < len(gs)]
    out: list[int] = []
    depth = 0
    while len(out) < n and any(depth < len(g) for g in order):
        out += [g[depth] for g in order if depth < len(g)][:n - len(out)]
        depth += 1
    return np.asarray(out, np.int64)


def sample_points(n: int, cap: int = 2000, seed: int = 0) -> np.ndarray:
    """Rows to plot: all ``n`` when ``n ≤ cap``, else ``cap`` rows drawn without replacement
    with a fixed seed (sorted)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


__all__ = [
    "QUALITY_KEYS", "QUALITY_NAMES", "FRACTION_KEYS", "LabelSnapshot", "label_records",
    "stages_of", "quality_table", "update_path", "label_updates", "has_labels", "load_update",
    "cluster_table", "largest_clusters", "widest_clusters", "impure_clusters",
    "cluster_members", "sample_points",
]


# --------------------------------------------------------------------------- prototype links

LINK_COLUMNS = ["prototype", "num_ids", "num_cameras", "ids", "right_pairs", "pairs",
                "majority_pid", "correct"]


def prototype_links(local, prototype, pids, camids) -> pd.DataFrame:
    """Which camera-local IDs a prototype method (PIRID) merged, right or wrong.

    ``local`` (one camera-local ID slot per sample), ``prototype`` (its prototype, −1 =
    dropped), ``pids`` (ground truth) and ``camids`` are aligned by sample. One row per
    prototype, most IDs first: ``num_ids`` (ID slots linked), ``num_cameras``, ``ids`` (each
    slot as "camera:pid", cameras 1-based), ``right_pairs`` of ``pairs`` (linked slot pairs
    that are one person), ``majority_pid`` and ``correct`` (every slot one person)."""
    local, prototype, pids, camids = (np.asarray(a, np.int64)
                                      for a in (local, prototype, pids, camids))
    if not (len(local) == len(prototype) == len(pids) == len(camids)):
        raise ValueError("prototype_links: local, prototype, pids and camids should have one "
                         "length")
    slots = pd.DataFrame({"slot": local, "proto": prototype, "pid": pids, "cam": camids}) \
        .drop_duplicates("slot")
    slots = slots[slots["proto"] >= 0]
    rows = []
    for p, g in slots.groupby("proto", sort=True):
        counts = g["pid"].value_counts()
        pairs = len(g) * (len(g) - 1) // 2
        right = int(sum(c * (c - 1) // 2 for c in counts))
        top = counts.max()
        g = g.sort_values(["pid", "cam"])
        rows.append({"prototype": int(p), "num_ids": len(g),
                     "num_cameras": int(g["cam"].nunique()),
                     "ids": " ".join(f"{c + 1}:{q}" for c, q in zip(g["cam"], g["pid"])),
                     "right_pairs": right, "pairs": pairs,
                     "majority_pid": int(min(q for q, c in counts.items() if c == top)),
                     "correct": bool(len(counts) == 1)})
    out = pd.DataFrame(rows, columns=LINK_COLUMNS)
    return out.sort_values(["num_ids", "prototype"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- CALR refinement

REFINE_STAGES = ("local", "global", "refined")
REFINE_KEYS = ("refine_conflicts", "refine_removed", "refine_spared", "refine_removed_total",
               "refine_removed_other_id", "refine_removed_other_id_fraction")


def refinement_summary(records, epoch: int) -> tuple[pd.DataFrame, dict] | None:
    """CALR's update at ``epoch``, inspectable: one row per stage (local → global → refined:
    clusters, outliers, precision, recall, F-score, expansion, cameras per cluster) and the
    refinement step's numbers (members in conflict with their pivot's local cluster, removed,
    spared by the self-paced draw, removed in all, how many removed were really another person,
    and the precision / F-score change from global to refined). None if the update has no
    local, global and refined stages."""
    recs = {str(r.get("stage") or DEFAULT_STAGE): r for r in records
            if int(r.get("epoch", -1)) == int(epoch)}
    if not set(REFINE_STAGES) <= set(recs):
        return None
    keys = ("num_clusters", "outlier_fraction", "precision", "recall", "fscore", "expansion",
            "cameras_per_cluster")
    table = pd.DataFrame([{"stage": s, **{k: recs[s].get(k) for k in keys}}
                          for s in REFINE_STAGES]).set_index("stage")
    table = table.apply(pd.to_numeric, errors="coerce").dropna(axis=1, how="all")
    ref = recs["refined"]
    step = {k: ref.get(k) for k in REFINE_KEYS if ref.get(k) is not None}
    for k in ("precision", "fscore"):
        g, r = recs["global"].get(k), ref.get(k)
        if isinstance(g, (int, float)) and isinstance(r, (int, float)):
            step[f"{k}_change"] = float(r) - float(g)
    return table, step
