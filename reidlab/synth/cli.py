"""``python -m reidlab synth``: write a SynthCams dataset (see :mod:`reidlab.synth`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from reidlab.synth.config import (DEFAULT_ROOT, DOMAIN_B_ROOT, GAP_PARTS, INFRARED_KINDS,
                                  INFRARED_ROOT, MARKER, NIR_ROOT, SynthConfig)
from reidlab.synth.writing import default_out, generate, is_complete


def configure_parser(p: argparse.ArgumentParser) -> None:
    d = SynthConfig()
    p.add_argument("--out", default=None,
                   help=f"output folder (default {DEFAULT_ROOT}; with --style b {DOMAIN_B_ROOT}; "
                        f"with a camera gap below 1, e.g. {DEFAULT_ROOT}_gap0.5)")
    p.add_argument("--style", default=d.style,
                   help="domain: a = the default SynthCams (outdoor-like), b = a second domain "
                        "with its own "
                        "cameras and people (indoor/airport-like), e.g. a source for adaptation "
                        "(default %(default)s)")
    p.add_argument("--ids", type=int, default=d.ids,
                   help="identities, half train half test (default %(default)s)")
    p.add_argument("--cameras", type=int, default=d.cameras,
                   help="cameras, 2..9 (default %(default)s)")
    p.add_argument("--frames", type=int, default=d.frames,
                   help="frames per tracklet (default %(default)s)")
    p.add_argument("--height", type=int, default=d.height,
                   help="frame height (default %(default)s)")
    p.add_argument("--width", type=int, default=d.width, help="frame width (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--distractors", type=int, default=d.distractors,
                   help="pid-0 gallery tracklets (default %(default)s)")
    p.add_argument("--domain-gap", type=float, default=d.domain_gap,
                   help="camera imaging gap scale (default %(default)s)")
    p.add_argument("--gap", type=float, default=d.gap,
                   help="the whole camera gap, 0 (every camera the same scene, imaging, viewpoint "
                        "habit and framing) .. 1 (the default SynthCams) (default %(default)s)")
    p.add_argument("--gap-parts", default=d.gap_parts, metavar="PART=LEVEL[,...]",
                   help=f"levels of single parts of the camera gap, overriding --gap; parts: "
                        f"{', '.join(GAP_PARTS)} (e.g. background=1,imaging=0)")
    p.add_argument("--workers", type=int, default=d.workers, help="processes (default %(default)s)")
    p.add_argument("--infrared", action="store_true",
                   help="the infrared ↔ colour SynthCams: cam3, cam6 thermal, written in the "
                        f"SYSU-MM01 layout (default out {INFRARED_ROOT}; no distractors)")
    p.add_argument("--infrared-kind", choices=INFRARED_KINDS, default=d.infrared_kind,
                   help="with --infrared: thermal cam3, cam6 (default), or nir: actively lit "
                        f"near-infrared ones as SYSU-MM01's (default out {NIR_ROOT})")
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing when a finished dataset with these settings is already there")


def run(args: argparse.Namespace) -> int:
    cfg = SynthConfig(ids=args.ids, cameras=args.cameras, frames=args.frames, height=args.height,
                      width=args.width, seed=args.seed, distractors=args.distractors,
                      domain_gap=args.domain_gap, workers=args.workers, style=args.style,
                      infrared=args.infrared, infrared_kind=args.infrared_kind,
                      gap=args.gap, gap_parts=args.gap_parts)
    if cfg.infrared:
        cfg = dataclasses.replace(cfg, distractors=0)  # SYSU-MM01 has none
    cfg.validate()
    out = args.out or default_out(cfg)
    if args.if_missing and is_complete(Path(out), cfg):
        print(f"{out}: SynthCams (style {cfg.style}) already there (delete it or drop "
              "--if-missing to rebuild)")
        return 0
    from tqdm import tqdm

    t0 = time.perf_counter()
    with tqdm(desc="SynthCams", unit="tracklet") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        out = generate(out, cfg, progress)
    counts = json.loads((out / MARKER).read_text())["counts"]
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s: {counts}")
    return 0
