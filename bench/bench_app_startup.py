"""How long from nothing to a useful Domain-gap page on the default SynthCams?

Phases, each cold (fresh process state for the dataset; a fresh runs folder for the
baseline): dataset load → ImageNet-init baseline features (``ensure_baseline``) → pooled
features → PCA → camera probe; then the Domain gap page itself under Streamlit's AppTest with
an empty runs folder (what a first visitor waits for). Baseline variants compare all frames
per tracklet with the chosen 4, and 1 vs all threads.

    python bench/bench_app_startup.py [--data /tmp/sc_default] [--quick]

Writes bench/results/app_startup.{json,md}. ``--data`` must be a SynthCams folder written by
``python -m reidlab synth`` with its defaults (generated there when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, md_header, stamp


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def baseline_variant(data: Path, **kw) -> dict:
    """Cold ensure_baseline in a temp runs folder; returns seconds and metrics."""
    from reidlab.engine.baseline import ensure_baseline

    with tempfile.TemporaryDirectory() as tmp:
        run, sec = timed(lambda: ensure_baseline(data, tmp, **kw))
        m = run.final_metrics()
        fs = run.features("final")
        return {"seconds": round(sec, 2), "rank1": m["rank1"], "mAP": m["mAP"],
                "tracklets": int(len(fs.q_pids) + len(fs.g_pids)),
                "eval_frames": run.config["config"]["eval_frames"]}


def page_run(data: Path, runs: Path) -> dict:
    """The Domain gap page under AppTest with an empty runs folder (computes the baseline)."""
    from streamlit.testing.v1 import AppTest

    os.environ["REIDLAB_DATA"], os.environ["REIDLAB_RUNS"] = str(data), str(runs)
    at = AppTest.from_file(str(ROOT / "pages" / "3_Domain_gap.py"), default_timeout=600)
    t = time.perf_counter()
    at.run()
    sec = time.perf_counter() - t
    charts = len(at.get("plotly_chart"))
    return {"seconds": round(sec, 2), "charts": charts,
            "errors": [e.value for e in at.error] + [str(e.value) for e in at.exception]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/sc_default")
    ap.add_argument("--quick", action="store_true", help="skip the slower baseline variants")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "info").is_dir():
        subprocess.run([sys.executable, "-m", "reidlab", "synth", "--out", str(data)],
                       cwd=ROOT, check=True)

    import numpy as np

    from reidlab.analysis.domain_gap import camera_probe, pooled
    from reidlab.analysis.embedding import embed_2d
    from reidlab.data import load_dataset
    from reidlab.engine.baseline import compute_threads

    res: dict = {**stamp(), "baseline_threads": compute_threads(),
                 "data": str(data)}
    ds, sec = timed(lambda: load_dataset("mars", data))
    s = ds.summary()
    res["dataset"] = {"load_seconds": round(sec, 2), "cameras": ds.num_cameras,
                      "query": s["query"]["tracklets"], "gallery": s["gallery"]["tracklets"],
                      "frames_per_tracklet": round(s["query"]["frames"] / s["query"]["tracklets"], 1)}

    variants = {"chosen: 4 frames, all threads": {}}
    if not args.quick:
        variants["all frames, all threads"] = {"eval_frames": 0, "frames_per_clip": 4}
        variants["4 frames, 1 thread"] = {"threads": 1}
    res["baseline"] = {k: baseline_variant(data, **kw) for k, kw in variants.items()}

    with tempfile.TemporaryDirectory() as tmp:
        from reidlab.engine.baseline import ensure_baseline

        run = ensure_baseline(data, tmp)
        feats, pids, camids = pooled(run.features("final"))
        _, t_pca = timed(lambda: embed_2d(feats, method="pca", use_cache=False))
        probe, t_probe = timed(lambda: camera_probe(feats, camids, groups=pids, cv=3))
    res["pca_seconds"] = round(t_pca, 3)
    res["camera_probe"] = {"seconds": round(t_probe, 2), "accuracy": probe["accuracy"],
                           "chance": float(np.bincount(camids).max() / len(camids))}

    with tempfile.TemporaryDirectory() as tmp:
        res["domain_gap_page_cold"] = page_run(data, Path(tmp))
        res["domain_gap_page_warm"] = page_run(data, Path(tmp))

    chosen = res["baseline"]["chosen: 4 frames, all threads"]["seconds"]
    res["time_to_useful_page_seconds"] = res["domain_gap_page_cold"]["seconds"]
    res["phases_total_seconds"] = round(res["dataset"]["load_seconds"] + chosen + t_pca +
                                        t_probe, 2)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "app_startup.json").write_text(json.dumps(res, indent=1))
    lines = [
        "# App start-up: nothing → useful Domain gap page (default SynthCams)", "",
        *md_header(res), "",
        f"Dataset `{data}`: {res['dataset']['cameras']} cameras, {res['dataset']['query']} "
        f"query + {res['dataset']['gallery']} gallery tracklets, "
        f"{res['dataset']['frames_per_tracklet']} frames each.", "",
        "| phase | seconds |", "|---|---|",
        f"| dataset load | {res['dataset']['load_seconds']} |"]
    for k, v in res["baseline"].items():
        lines.append(f"| ImageNet baseline ({k}; rank-1 {100 * v['rank1']:.1f}%, mAP "
                     f"{100 * v['mAP']:.1f}%) | {v['seconds']} |")
    lines += [f"| PCA of {len(feats)} pooled features | {res['pca_seconds']} |",
              f"| camera probe (3-fold, accuracy {probe['accuracy']:.2f}, chance "
              f"{res['camera_probe']['chance']:.2f}) | {res['camera_probe']['seconds']} |",
              f"| **Domain gap page, cold** (AppTest, empty runs folder: baseline + PCA + "
              f"probes + figures; {res['domain_gap_page_cold']['charts']} charts) | "
              f"**{res['domain_gap_page_cold']['seconds']}** |",
              f"| Domain gap page, warm (baseline on disk) | "
              f"{res['domain_gap_page_warm']['seconds']} |", ""]
    (out / "app_startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
