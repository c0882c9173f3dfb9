"""``python -m reidlab eval --run runs/NAME [--which final|initial]``: metrics as JSON,
recomputed from the stored features (CMC, mAP, mINP, per camera pair, the protocol).

``--splits N --run runs/FOLDER``: the mean ± std over N runs found under FOLDER, one trained on
each split 0..N−1 of a dataset with random splits (CUHK01, VIPeR, CUHK03 classic, PRID-2011,
iLIDS-VID: reader option ``split``; RegDB: ``trial`` 1..N), the way SYSU-MM01's gallery trials
are averaged (``*_std``, ``per_split``)."""

from __future__ import annotations

import argparse
import json

from reidlab.engine.runs import Run, evaluate_feature_set
from reidlab.errors import DatasetError


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder, e.g. runs/NAME")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--which", choices=["final", "initial"], default="final",
                   help="features of the final (default) or the initial model")
    p.add_argument("--splits", type=int, metavar="N",
                   help="average N runs, one per split 0..N-1 (e.g. 10 for CUHK01/VIPeR, 20 "
                   "for CUHK03 classic): --run is the folder holding them, e.g. runs/viper with "
                   "runs/viper/split0 .. split9 trained with --data-opt split=K")


def evaluate_run(run: Run, which: str = "final") -> dict:
    """Metrics of a run's stored features. Same-camera retrieval (the diagonal of the camera
    pair matrix) needs the dataset's tracklet ids; without the dataset it is null."""
    fs = run.features(which)
    info = run.config
    q_tids = g_tids = None
    note = None
    try:
        data = run.dataset()
        q_tids = [data.query[i].tid for i in fs.q_index]
        g_tids = [data.gallery[i].tid for i in fs.g_index]
    except (DatasetError, OSError, ValueError, IndexError) as e:
        note = f"dataset not available ({e}); same-camera diagonal left empty"
    m = evaluate_feature_set(fs, info["dataset"].get("num_cameras"), info.get("protocol"),
                             q_tids, g_tids, meta=info["dataset"].get("meta"))
    out = {"run": str(run.path), "which": which, "method": info["config"].get("method"), **m}
    if note:
        out["note"] = note
    return out


SPLIT_METRICS = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")


def split_index(run: Run) -> int | None:
    """The 0-based split a run was trained on: its reader's ``split`` option (``trial`` − 1 for
    RegDB), or None for a dataset without splits."""
    d = run.config.get("dataset") or {}
    info = {**(d.get("meta") or {}), **(d.get("options") or {})}
    if info.get("split") is not None:
        return int(info["split"])
    if info.get("trial") is not None:
        return int(info["trial"]) - 1
    return None


def evaluate_splits(folder, n: int, which: str = "final") -> dict:
    """Mean ± std of the metrics of the N runs under ``folder`` trained on splits 0..N-1."""
    import numpy as np

    from reidlab.engine.runs import list_runs
    from reidlab.errors import ConfigError

    if n < 1:
        raise ConfigError(f"--splits: expected a number of splits >= 1, got {n}")
    if (folder / "config.json").is_file():
        raise ConfigError(f"--splits {n}: {folder} is one run; pass the folder that holds the "
                          f"runs of splits 0..{n - 1} (e.g. {folder.parent})")
    found: dict[int, list[Run]] = {}
    for r in list_runs(folder):
        k = split_index(r)
        if k is not None:
            found.setdefault(k, []).append(r)
    missing = [k for k in range(n) if k not in found]
    if missing:
        raise ConfigError(f"--splits {n}: {folder} holds no run of split(s) {missing[:10]} "
                          f"(found splits {sorted(found)}); train each with --data-opt split=K "
                          f"(regdb: trial=K+1) --out {folder}/splitK")
    twice = {k: [str(r.path) for r in found[k]] for k in range(n) if len(found[k]) > 1}
    if twice:
        k, paths = next(iter(twice.items()))
        raise ConfigError(f"--splits {n}: several runs of split {k} in {folder}: {paths}; "
                          "keep one per split")
    chosen = [found[k][0] for k in range(n)]
    kinds = {(r.config["dataset"].get("format"), str(r.config["dataset"].get("root")),
              r.config["config"].get("method")) for r in chosen}
    if len(kinds) > 1:
        raise ConfigError(f"--splits {n}: the runs in {folder} differ in dataset format, root or "
                          f"method: {sorted(kinds)}; average runs of one setting only")
    per = []
    for k, r in enumerate(chosen):
        if not r.has_features(which):
            raise ConfigError(f"--splits {n}: run {r.path} (split {k}) has no {which} features; "
                              f"finish it first (train --resume --out {r.path})")
        m = evaluate_run(r, which)
        per.append({"split": k, "run": str(r.path), "protocol": m.get("protocol"),
                    **{key: m.get(key) for key in SPLIT_METRICS}})
    out: dict = {"runs": str(folder), "which": which, "splits": n,
                 "method": chosen[0].config["config"].get("method"),
                 "format": chosen[0].config["dataset"].get("format")}
    for key in SPLIT_METRICS:
        vals = np.array([p[key] for p in per if p[key] is not None], float)
        out[key] = float(vals.mean()) if vals.size else None
        out[f"{key}_std"] = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    out["protocol"] = f"{per[0]['protocol']} (mean over {n} splits)"
    out["per_split"] = per
    return out


def run(args: argparse.Namespace) -> int:
    from reidlab.engine.runs import confine

    if args.splits is not None:
        res = evaluate_splits(confine(args.run, args.runs), args.splits, args.which)
    else:
        res = evaluate_run(Run(confine(args.run, args.runs)), args.which)
    print(json.dumps(res, indent=1))
    return 0
