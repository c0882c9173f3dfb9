"""``python -m reidlab eval --run runs/NAME [--which final|initial]``: metrics as JSON,
recomputed from the stored features (CMC, mAP, mINP, per camera pair, the protocol)."""

from __future__ import annotations

import argparse
import json

from reidlab.engine.runs import Run, evaluate_features
from reidlab.errors import DatasetError


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder, e.g. runs/NAME")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--which", choices=["final", "initial"], default="final",
                   help="features of the final (default) or the initial model")


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
    m = evaluate_features(fs, info["dataset"].get("num_cameras"), info.get("protocol"),
                          q_tids, g_tids, meta=info["dataset"].get("meta"))
    out = {"run": str(run.path), "which": which, "method": info["config"].get("method"), **m}
    if note:
        out["note"] = note
    return out


def run(args: argparse.Namespace) -> int:
    from reidlab.engine.runs import confine

    print(json.dumps(evaluate_run(Run(confine(args.run, args.runs)), args.which), indent=1))
    return 0
