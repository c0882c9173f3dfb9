"""Where a dataset sits on the camera-gap axis: three numbers of its untrained features.

``gap_numbers(feats, pids, camids)`` (one row per tracklet; pure, same input same output):

* **same-camera neighbour share** — of each tracklet's ``k`` nearest neighbours (cosine, i.e.
  Euclidean on L2-normalised features, as the clustering methods see them; ``k`` = 30 as SpCL's
  k1, lowered to N − 1 on a tiny set), the share from its own camera, averaged over tracklets.
  ``chance_share`` is what neighbours drawn at random would give (the cameras' sizes). Near 1:
  the neighbourhoods a clustering starts from are camera-pure.
* **cross-camera same-identity share** — among the other cameras' tracklets, how often the
  nearest one is the same person (tracklets whose person is seen by another camera; the
  cross-camera rank-1 of the normalised features).
* **camera probe** — the cross-validated linear camera classifier of
  :func:`reidlab.analysis.domain_gap.camera_probe` on held-out identities.

Distractors and junk (pid ≤ 0) are left out. ``python -m reidlab gap DATASET`` computes them on
the ImageNet features of a dataset's query and gallery tracklets (the "ImageNet init" baseline
run of :mod:`reidlab.engine.baseline`, cached in ``--runs``; recomputed when the dataset folder
is newer than the cached features) so that any dataset, real or SynthCams at any
``--gap``, can be placed on the same axis (docs/synthcams.md, "The camera-gap knob").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from reidlab.errors import ConfigError, DatasetError

DEFAULT_K = 30  # SpCL's k1: the neighbourhood its k-reciprocal clustering starts from


def gap_numbers(feats, pids, camids, k: int = DEFAULT_K, seed: int = 0, probe_cv: int = 5,
                chunk: int = 1024) -> dict:
    """The three camera-gap numbers of tracklet features (see the module docstring).

    Returns ``{"n", "k", "cameras", "same_camera_neighbour_share", "chance_share",
    "per_camera_share": {cam: share}, "nearest_same_camera_share" (the same share for the
    nearest neighbour alone, k = 1), "cross_camera_identity_share", "cross_camera_queries",
    "camera_probe", "camera_probe_chance"}``. Distances are computed ``chunk`` rows at a time
    (never the whole N×N matrix)."""
    from reidlab.analysis.domain_gap import camera_probe

    out = neighbour_shares(feats, pids, camids, k, chunk)
    keep = np.asarray(pids) > 0
    probe = camera_probe(np.asarray(feats, dtype=np.float32)[keep], np.asarray(camids)[keep],
                         groups=np.asarray(pids)[keep], cv=probe_cv, seed=seed)
    return {**out, "camera_probe": float(probe["accuracy"]),
            "camera_probe_chance": float(probe["chance"])}


def neighbour_shares(feats, pids, camids, k: int = DEFAULT_K, chunk: int = 1024) -> dict:
    """:func:`gap_numbers` without the camera probe (the neighbour numbers only: fast)."""
    x = np.asarray(feats, dtype=np.float32)
    pids, camids = np.asarray(pids), np.asarray(camids)
    if x.ndim != 2 or not (len(x) == len(pids) == len(camids)):
        raise ValueError(f"neighbour_shares: expected N×D features with N pids and camids, got "
                         f"{x.shape}, {len(pids)}, {len(camids)}")
    keep = pids > 0
    x, pids, camids = x[keep], pids[keep], camids[keep]
    n = len(x)
    cams, cam_counts = np.unique(camids, return_counts=True)
    if n < 3 or cams.size < 2:
        raise ValueError(f"neighbour_shares: needs at least 3 tracklets of people (pid > 0) "
                         f"from at least 2 cameras, got {n} from {cams.size}")
    if k < 1:
        raise ValueError(f"neighbour_shares: k={k}, expected at least 1")
    k = min(int(k), n - 1)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    share = np.empty(n, dtype=np.float64)
    first_same = np.zeros(n, dtype=bool)
    hit = np.zeros(n, dtype=bool)
    valid = np.zeros(n, dtype=bool)
    for r0 in range(0, n, chunk):
        rows = np.arange(r0, min(n, r0 + chunk))
        d = 2.0 - 2.0 * (xn[rows] @ xn.T)  # squared Euclidean of unit vectors
        d[np.arange(len(rows)), rows] = np.inf  # never its own neighbour
        nn = np.argpartition(d, k - 1, axis=1)[:, :k]
        share[rows] = (camids[nn] == camids[rows, None]).mean(1)
        first_same[rows] = camids[np.argmin(d, axis=1)] == camids[rows]
        same_cam = camids[rows, None] == camids[None, :]
        d[same_cam] = np.inf
        nearest = np.argmin(d, axis=1)
        valid[rows] = ((pids[rows, None] == pids[None, :]) & ~same_cam).any(1)
        hit[rows] = pids[nearest] == pids[rows]
    size = dict(zip(cams.tolist(), cam_counts.tolist()))
    chance = np.array([(size[c] - 1) / (n - 1) for c in camids.tolist()]).mean()
    return {
        "n": int(n),
        "k": int(k),
        "cameras": int(cams.size),
        "same_camera_neighbour_share": float(share.mean()),
        "chance_share": float(chance),
        "per_camera_share": {int(c): float(share[camids == c].mean()) for c in cams},
        "nearest_same_camera_share": float(first_same.mean()),
        "cross_camera_identity_share": float(hit[valid].mean()) if valid.any() else float("nan"),
        "cross_camera_queries": int(valid.sum()),
    }


def gap_of_featureset(fs, **kw) -> dict:
    """:func:`gap_numbers` of a FeatureSet's pooled query + gallery tracklets (a gallery row
    that repeats a query row is counted once, :func:`reidlab.analysis.domain_gap.pooled`)."""
    from reidlab.analysis.domain_gap import pooled

    feats, pids, camids = pooled(fs)
    return gap_numbers(feats, pids, camids, **kw)


def _newest_mtime(root: Path) -> float:
    """The newest modification time of ``root`` and its direct entries (a regenerated
    SynthCams rewrites its marker and folders)."""
    times = [root.stat().st_mtime]
    times += [p.stat().st_mtime for p in root.iterdir()]
    return max(times)


def check_arguments(dataset, fmt: str, backbone: str, k: int) -> tuple[Path, str]:
    """The dataset folder and layout key, or a ReidlabError naming the bad argument."""
    from reidlab.data import dataset_names
    from reidlab.models.backbones import BACKBONE_NAMES

    key = str(fmt).lower().replace("-", "").replace("_", "")
    if key not in dataset_names():
        raise ConfigError(f"--format {fmt!r}: expected one of {', '.join(dataset_names())}")
    if backbone not in BACKBONE_NAMES:
        raise ConfigError(f"--backbone {backbone!r}: expected one of {', '.join(BACKBONE_NAMES)}")
    if int(k) < 1:
        raise ConfigError(f"--k {k}: expected a number of neighbours ≥ 1 (default {DEFAULT_K})")
    root = Path(dataset).expanduser()
    if not root.is_dir():
        raise DatasetError(root, f"a dataset folder in the {key} layout", "no such folder")
    return root, key


def dataset_gap(dataset: str | Path, fmt: str = "mars", runs: str | Path = "runs",
                backbone: str = "effnet_lite0", k: int = DEFAULT_K, seed: int = 0,
                progress=None) -> dict:
    """:func:`gap_numbers` of ``dataset``'s ImageNet features (the baseline run, computed once
    and cached in ``runs``; recomputed when the dataset is newer than the cached features).
    Checks the folder and format before anything is written."""
    from reidlab.engine.baseline import baseline_name, baseline_ready, ensure_baseline
    from reidlab.engine.runs import features_file

    root, key = check_arguments(dataset, fmt, backbone, k)
    cached = Path(runs) / baseline_name(root, key, backbone)
    feats = features_file(cached, "final")
    if feats.is_file() and feats.stat().st_mtime < _newest_mtime(root):
        shutil.rmtree(cached)  # features of an earlier dataset in this folder
    if not baseline_ready(root, runs, key, backbone):
        from reidlab.data import load_dataset

        load_dataset(key, root)  # a folder in another layout: its error before runs/ is written
    run = ensure_baseline(root, runs, fmt=key, backbone=backbone, progress=progress)
    try:
        out = gap_of_featureset(run.features("final"), k=k, seed=seed)
    except ValueError as e:
        raise DatasetError(root, "people seen by at least 2 cameras", str(e)) from None
    return {"dataset": str(root), "format": key, "backbone": backbone,
            "features": str(run.path), **out}


def describe(g: dict) -> str:
    """The numbers as ``python -m reidlab gap`` prints them."""
    lines = [(f"same-camera neighbour share (k={g['k']}):", g["same_camera_neighbour_share"],
              f"chance {g['chance_share']:.3f}"),
             ("nearest neighbour in the same camera:", g["nearest_same_camera_share"],
              "k = 1"),
             ("cross-camera same-identity share:", g["cross_camera_identity_share"],
              f"over {g['cross_camera_queries']} tracklets seen by another camera"),
             ("camera probe (linear, held-out people):", g["camera_probe"],
              f"chance {g['camera_probe_chance']:.3f}")]
    return "\n".join([f"{g['dataset']} ({g['format']}): {g['n']} tracklets of people, "
                      f"{g['cameras']} cameras; {g['backbone']} ImageNet features "
                      f"({g['features']})"]
                     + [f"{label:<41}{value:.3f}   ({note})" for label, value, note in lines])


# -- CLI: python -m reidlab gap DATASET --------------------------------------------------------


def configure_parser(p) -> None:
    p.add_argument("dataset", metavar="DATASET", help="dataset folder")
    p.add_argument("--format", default="mars", dest="fmt",
                   help="dataset layout (default %(default)s; e.g. mars, market1501, prid2011)")
    p.add_argument("--runs", default="runs",
                   help="where the ImageNet features are cached, as the baseline run "
                        "(default %(default)s)")
    p.add_argument("--backbone", default="effnet_lite0",
                   help="feature backbone (default %(default)s, ImageNet weights; tiny: a random "
                        "test network)")
    p.add_argument("--k", type=int, default=DEFAULT_K,
                   help="neighbours for the same-camera share (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="camera probe folds (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")


def run(args) -> int:
    from tqdm import tqdm

    bars: list = []  # opened at the first progress report: a bad argument is one line, no bar

    def progress(fraction: float, message: str) -> None:
        if not bars:
            bars.append(tqdm(total=100, desc="ImageNet features", unit="%"))
        bars[0].set_postfix_str(message, refresh=False)
        bars[0].update(round(100 * fraction) - bars[0].n)

    try:
        g = dataset_gap(args.dataset, args.fmt, args.runs, args.backbone, args.k, args.seed,
                        progress)
    finally:
        for bar in bars:
            bar.close()
    print(json.dumps(g, sort_keys=True) if args.json else describe(g))
    return 0
