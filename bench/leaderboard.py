"""Every method of reidlab on SynthCams, between the lower and the upper bound: one table.

    python bench/leaderboard.py [--rows supervised,padal_id,...] [--seeds 0,1]
                                [--preset quick] [--epochs E] [--set key=value ...]
                                [--out runs/leaderboard] [--name leaderboard]

Rows: ``imagenet`` (the lower bound: the ImageNet-initialised model, read from the initial
evaluation of the ``supervised`` runs, so it needs no training of its own), ``supervised``
(the upper bound: true cross-camera identities, label-smoothed cross-entropy), and
``supervised_bot`` (the same plus BoT's batch-hard triplet, margin 0.3 — the method's default,
which on SynthCams at this budget falls far below the cross-entropy alone: see
docs/methods.md, "The supervised bound on SynthCams"), the PADAL methods
(``padal_id``, ``padal_m``, ``padal_mp`` K = 3 — GRL, the paper's objective — and
``padal_mp_conf``, the bounded confusion loss), ``cawcl`` (fully unsupervised), ``pirid``,
``calr`` and ``cap`` (camera-aware proxies, fully unsupervised), and the camera-debiased
label updates of the clustering methods (``*_debias``). Every row has the same preset, seeds
and dataset; the methods' own defaults (their papers') otherwise, with PIRID's intra-camera
stage cut to 3 of the quick preset's 8 epochs (see bench/table_pirid.py).

The rows after ``imagenet`` are declared by the methods themselves (``leaderboard_rows`` on
the method's class in ``reidlab/methods/``: its options, settings and supervision text), so a
new method's rows appear here without editing this file.

Columns: rank-1/5, mAP, mINP (the official MARS protocol), the camera probe (linear camera
classifier on held-out identities; lower = less camera in the features), cross-camera rank-1
(every tracklet against the tracklets of the other cameras), the same-camera neighbour share
(of each test tracklet's 30 nearest, the share from its own camera: ``reidlab.analysis.gap``),
the cluster F-score of the last
label update for methods that cluster, and the run's wall time. A finished run is reused, an
unfinished one resumed; rows are appended to bench/results/NAME.{json,md} one by one.

Each row records what its run was measured at beyond its settings fingerprint's description:
``frames_per_clip`` (T), the input size and ``extraction``, the precision of the feature
passes (float32, bfloat16, float16-amp: what the trainer used on that machine, from the
run's ``eval`` record). The table shows them as "T · input · extraction", and the line under it
says which rows share them: only those compare (rows appended over several sittings, on other
machines or at other ``--set``, do not).

    python bench/leaderboard.py --markdown-only   # rewrite NAME.md from NAME.json, no runs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tablelib import add_common_args, cell, parse_common, probe, run_dir, run_seconds, \
    run_table, train_or_reuse, write_markdown, write_results

from reidlab.analysis.domain_gap import pooled, same_vs_cross_camera_retrieval  # noqa: E402
from reidlab.analysis.gap import neighbour_shares  # noqa: E402
from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402

def rows() -> dict[str, dict]:
    """The table's rows, read from the registered methods when called: ``imagenet`` (the
    initial evaluation of the ``supervised`` runs), then every method's ``leaderboard_rows``
    (``reidlab.methods.base.LeaderboardRow``) in their order, each as ``{"method": ...,
    "options": ..., "config": ...}`` (the last two only when the row sets any)."""
    from reidlab.methods import leaderboard_rows

    out: dict[str, dict] = {"imagenet": {"from": "supervised"}}
    for method, row in leaderboard_rows():
        out[row.name] = {"method": method,
                     **({"options": dict(row.options)} if row.options else {}),
                     **({"config": dict(row.config)} if row.config else {})}
    return out


def kinds() -> dict[str, str]:
    """Each row's supervision text (the table's first column), read when called."""
    from reidlab.methods import leaderboard_rows

    return {"imagenet": "lower bound", **{row.name: row.kind for _, row in leaderboard_rows()}}


def __getattr__(name: str):
    """``leaderboard.ROWS`` and ``leaderboard.KIND``: :func:`rows` and :func:`kinds` now."""
    if name == "ROWS":
        return rows()
    if name == "KIND":
        return kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train_row(name: str, args, seed: int) -> Run:
    spec = rows()[name]
    return train_or_reuse(run_dir(args, name, seed), lambda: make_config(
        args.preset, dataset=args.dataset, seed=seed, epochs=args.epochs, method=spec["method"],
        options=dict(spec.get("options", {})), **{**spec.get("config", {}), **args.overrides}))


SETUP = "T · input · extraction"
# The ImageNet start (rank-1, mAP) of settings whose imagenet row is no longer in the table
# (the table holds one imagenet row, measured at the settings of its last invocation), and
# where it was measured. 2 · 128×64 · float32: the imagenet row written by
# `python bench/leaderboard.py --set frames_per_clip=2 ...` with the quick preset of
# 2026-12-02 (128×64, today's quick128), bench/results/leaderboard.json of git 383c297;
# bench/results/resolution_probe.md measures the same 1.1 / 2.9 for ImageNet at 128×64.
EARLIER_STARTS = {"2 · 128×64 · float32": (0.011363636363636364, 0.028838159987621473,
                                          "the imagenet row of git 383c297")}


def extraction_of(run: Run, ev: dict) -> str | None:
    """The precision of the run's feature passes: the ``eval`` record's ``extraction``; for a
    run from before records carried it, float32 where the run itself said so (its
    "eval_bf16 ignored ... features are float32" warning); else None (not recorded)."""
    if ev.get("extraction"):
        return ev["extraction"]
    if any(str(w.get("message", "")).startswith("eval_bf16 ignored")
           for w in run.metrics("warning")):
        return "float32"
    return None


def measured_at(run: Run) -> dict:
    """``frames_per_clip``, ``height`` and ``width`` of the run's config."""
    cfg = (run.config or {}).get("config", {})
    return {k: cfg.get(k) for k in ("frames_per_clip", "height", "width")}


def setup_of(r: dict) -> str:
    """A row's "T · input · extraction", e.g. ``4 · 96×48 · float32`` (``?`` for what the
    row does not record; ``not recorded`` for an unknown extraction)."""
    size = f"{r['height']}×{r['width']}" if r.get("height") and r.get("width") else "?"
    return f"{r.get('frames_per_clip') or '?'} · {size} · {r.get('extraction') or 'not recorded'}"


def measure(run: Run, which: str) -> dict:
    ev = next(m for m in run.metrics("eval") if m.get("which") == which)
    feats, pids, camids = pooled(run.features(which))
    keep = pids > 0  # distractors out, as the calibration does
    cross = same_vs_cross_camera_retrieval(feats[keep], pids[keep], camids[keep])
    share = neighbour_shares(feats, pids, camids)["same_camera_neighbour_share"]
    return {"rank1": ev["rank1"], "rank5": ev["rank5"], "mAP": ev["mAP"],
            "mINP": ev.get("mINP"), "protocol": ev.get("protocol"),
            "probe": probe(run, which), "cross_rank1": cross["cross_camera_rank1"],
            "same_cam_share": share,
            "seconds": run_seconds(run) if which == "final" else None,
            **measured_at(run), "extraction": extraction_of(run, ev)}


def run_row(name: str, args, seed: int) -> dict:
    spec = rows()[name]
    if "from" in spec:  # the initial evaluation of another row's run
        run = train_row(spec["from"], args, seed)
        return {"row": name, "seed": seed, **measure(run, "initial"), "seconds": None,
                "fscore": None, "fscore_first": None, "clustered_same_cam": None}
    run = train_row(name, args, seed)
    labels = [r for r in run.metrics("labels")
              if r.get("stage") in (None, "global", "refined", "prototype")]
    return {"row": name, "seed": seed, "method": spec["method"],
            "options": spec.get("options", {}), **measure(run, "final"),
            "fscore": labels[-1].get("fscore") if labels else None,
            "fscore_first": labels[0].get("fscore") if labels else None,
            # the first update's clustered features: their same-camera neighbour share
            "clustered_same_cam": labels[0].get("same_cam_share") if labels else None}


def line(name: str, rs: list[dict]) -> list:
    secs = [r["seconds"] for r in rs if r.get("seconds")]
    return [kinds()[name], " / ".join(dict.fromkeys(setup_of(r) for r in rs)),
            cell(rs, "rank1"), cell(rs, "rank5"), cell(rs, "mAP"), cell(rs, "mINP"),
            cell(rs, "probe"), cell(rs, "cross_rank1"), cell(rs, "same_cam_share"),
            cell(rs, "clustered_same_cam"), cell(rs, "fscore_first"), cell(rs, "fscore"),
            f"{np.mean(secs):.0f}" if secs else "—"]


def comparable(results: list[dict]) -> str:
    """The line under the table: which rows share "T · input · extraction" (only they
    compare), each group with its ImageNet start."""
    order = list(rows())
    groups: dict[str, list[str]] = {}
    for r in sorted(results, key=lambda r: (order.index(r["row"]), r["seed"])):
        names = groups.setdefault(setup_of(r), [])
        if r["row"] not in names:
            names.append(r["row"])
    parts = []
    for setup, names in groups.items():
        start = [r for r in results if r["row"] == "imagenet" and setup_of(r) == setup]
        if start:
            r1, m = (100 * np.mean([r[k] for r in start]) for k in ("rank1", "mAP"))
            note = f"imagenet is their start: {r1:.1f} / {m:.1f} rank-1 / mAP"
        elif setup in EARLIER_STARTS:
            r1, m, where = EARLIER_STARTS[setup]
            note = f"their ImageNet start: {100 * r1:.1f} / {100 * m:.1f} rank-1 / mAP, {where}"
        else:
            note = "their ImageNet start is not in this table"
        parts.append(f"**{setup}**: {', '.join(names)} ({note})")
    return ("Only rows of equal " + SETUP + " compare (T: frames per training clip; input: the "
            "frames' size; extraction: the precision of the feature passes, which the settings "
            "fingerprint leaves out). " + "; ".join(parts) + ".")


EXPLAIN = (
    "Mean ± standard deviation over the seeds. T · input · extraction: frames per training "
    "clip, input size, and the precision the run's feature passes were computed in (the "
    "machine's: eval_bf16 asks for bfloat16, a CPU without native bfloat16 computes float32). "
    "Camera probe: linear camera classifier on "
    "held-out identities (lower = less camera in the features). Cross-camera rank-1: every "
    "test tracklet against the tracklets of the other cameras. Same-camera share: of each "
    "test tracklet's 30 nearest (cosine), the share from its own camera (python -m reidlab "
    "gap; chance about 17 %). Clustered same-camera share: the same share among the "
    "features the first label update clustered (after any camera normalisation). Cluster "
    "F: pairwise F-score of the first and of the last label update (methods that cluster).")
COLUMNS = ["supervision", SETUP, "rank-1", "rank-5", "mAP", "mINP", "camera probe",
           "cross-camera rank-1", "same-camera share", "clustered same-camera share",
           "first cluster F", "last cluster F", "run (s)"]
TITLE = "Leaderboard on SynthCams"


def write(results: list[dict], args, started: float) -> None:
    write_results(args, TITLE, results, list(rows()), started, args.overrides, EXPLAIN, COLUMNS,
                  line, footer=["", comparable(results)])


def write_from_json(path: str | Path) -> Path:
    """Rewrite the ``.md`` beside the leaderboard's ``.json`` from its meta and rows as they
    are (no run is trained, read or resumed); returns the ``.md``'s path."""
    path = Path(path)
    d = json.loads(path.read_text())
    md = path.with_suffix(".md")
    write_markdown(md, d["meta"], d["rows"], TITLE, list(rows()), EXPLAIN, COLUMNS, line,
                   footer=["", comparable(d["rows"])])
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    table = rows()
    add_common_args(ap, rows=list(table), out="runs/leaderboard", name="leaderboard",
                    seeds="0,1")
    ap.add_argument("--markdown-only", action="store_true",
                    help="rewrite RESULTS/NAME.md from RESULTS/NAME.json and exit (no runs)")
    if "--markdown-only" in (sys.argv[1:] if argv is None else argv):
        args = ap.parse_args(argv)
        print(write_from_json(Path(args.results) / f"{args.name}.json"))
        return 0
    args = parse_common(ap, argv, table)
    from reidlab.methods import METHODS

    for name in args.names:
        method = table[name].get("method")
        if method is not None and method not in METHODS:
            ap.error(f"row {name!r}: method {method!r} is not in this version of reidlab")
    run_table(args, run_row, write, ("rank1", "mAP", "probe", "cross_rank1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
