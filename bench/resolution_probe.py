"""What a lower input resolution costs before any training: ImageNet features of a dataset at
several sizes, and the gap numbers of each.

    python bench/resolution_probe.py [--dataset data/synthcams] [--sizes 128x64,96x48,80x40]
        [--eval-frames 8] [--name resolution_probe]

For each size, EfficientNet-Lite0's ImageNet features of the query and gallery tracklets
(``reidlab.engine.baseline.compute_baseline``: global average pooling, mean over
``--eval-frames`` frames) and their ``gap_summary``: same-camera and cross-camera rank-1 (pooled
tracklets), the linear camera probe, the standard rank-1 / mAP. It backs the quick preset's
96×48 (docs/training.md, "Lower resolution"): if identity cues were lost at a smaller size, the
same-camera and cross-camera rank-1 of untrained features would fall. Writes
bench/results/NAME.{json,md} with the command, machine and date.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchlib import RESULTS, md_header, stamp

from reidlab.analysis.domain_gap import gap_summary
from reidlab.engine.baseline import compute_baseline
from reidlab.engine.runs import Run


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        h, sep, w = item.strip().partition("x")
        if not sep or not h.isdigit() or not w.isdigit():
            raise SystemExit(f"--sizes {text!r}: expected HEIGHTxWIDTH[,HEIGHTxWIDTH...], "
                             "such as 128x64,96x48")
        out.append((int(h), int(w)))
    return out


def probe(dataset: str, height: int, width: int, eval_frames: int) -> dict:
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = compute_baseline(dataset, Path(tmp) / "run", height=height, width=width,
                               eval_frames=eval_frames)
        g = gap_summary(Run(out).features("final"))
    sv, ev = g["same_vs_cross"], g["evaluation"]
    return {"height": height, "width": width, "seconds": time.perf_counter() - t,
            "same_camera_rank1": sv["same_camera_rank1"],
            "cross_camera_rank1": sv["cross_camera_rank1"],
            "camera_probe": g["camera_probe"]["accuracy"],
            "rank1": ev["rank1"], "mAP": ev["mAP"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--sizes", default="128x64,96x48,80x40")
    ap.add_argument("--eval-frames", type=int, default=8)
    ap.add_argument("--name", default="resolution_probe")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    if not Path(args.dataset).is_dir():
        raise SystemExit(f"{args.dataset}: expected a dataset folder (python -m reidlab synth)")
    sizes = parse_sizes(args.sizes)
    rows = []
    for h, w in sizes:
        rows.append(probe(args.dataset, h, w, args.eval_frames))
        print(json.dumps(rows[-1]), flush=True)
    st = stamp(argv, __file__)
    res = {**st, "dataset": args.dataset, "eval_frames": args.eval_frames, "rows": rows}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# ImageNet features at several input sizes", "", *md_header(st),
          f"Dataset: `{args.dataset}`; EfficientNet-Lite0 ImageNet weights, mean over "
          f"{args.eval_frames} frames; pooled query + gallery tracklets for the same/cross-camera "
          "rank-1 and the camera probe.", "",
          "| size | same-camera rank-1 | cross-camera rank-1 | camera probe | rank-1 | mAP | "
          "seconds |", "|---|---|---|---|---|---|---|"]
    md += [f"| {r['height']}×{r['width']} | {100 * r['same_camera_rank1']:.1f} | "
           f"{100 * r['cross_camera_rank1']:.1f} | {r['camera_probe']:.3f} | "
           f"{100 * r['rank1']:.1f} | {100 * r['mAP']:.1f} | {r['seconds']:.0f} |" for r in rows]
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
