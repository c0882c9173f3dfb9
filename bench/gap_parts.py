"""Which part of SynthCams' camera gap drives the same-camera neighbour share?

    nice -n 10 python bench/gap_parts.py [--synth ids=60 --synth frames=4 ...] [--seeds 0]
        [--data data/gap_parts] [--runs runs/gap_parts] [--name gap_parts]

Small SynthCams variants (default 60 identities, 4 frames per tracklet, so that each costs about a
minute): no gap (gap 0), each part of the gap alone at its full level (background, imaging,
viewpoint, framing; the others at 0), every part but one, and the full gap (gap 1). Each
variant's gap numbers on ImageNet features (``reidlab.analysis.gap``: same-camera neighbour
share of the k = 30 nearest, cross-camera same-identity share, camera probe) go to
bench/results/NAME.{json,md}; ``--seeds`` repeats every variant with other dataset seeds (other
people and cameras).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from benchlib import RESULTS, describe, git_rev, stamp
from gap_sweep import measure_level
from tablelib import parse_set

from reidlab import synth as S  # noqa: E402

SMALL = {"ids": 60, "frames": 4}


def variants() -> dict[str, str]:
    """name -> gap_parts at gap 0 (the parts named are at level 1, the others at 0)."""
    out = {"none": ""}
    out.update({f"only {p}": f"{p}=1" for p in S.GAP_PARTS})
    out.update({f"all but {p}": ",".join(f"{q}=1" for q in S.GAP_PARTS if q != p)
                for p in S.GAP_PARTS})
    out["all"] = ",".join(f"{q}=1" for q in S.GAP_PARTS)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth", action="append", default=[], metavar="KEY=VALUE",
                    help=f"SynthConfig field for every variant (default {SMALL})")
    ap.add_argument("--seeds", default="0", help="dataset seeds (default %(default)s)")
    ap.add_argument("--variants", default=None,
                    help=f"comma-separated subset of: {', '.join(variants())}")
    ap.add_argument("--data", default="data/gap_parts")
    ap.add_argument("--runs", default="runs/gap_parts", help="cached ImageNet features")
    ap.add_argument("--backbone", default="effnet_lite0")
    ap.add_argument("--name", default="gap_parts")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    synth = {**SMALL, **parse_set(args.synth)}
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    allv = variants()
    names = list(allv) if args.variants is None else [v.strip() for v in args.variants.split(",")]
    for n in names:
        if n not in allv:
            ap.error(f"--variants: unknown variant {n!r}; expected some of {', '.join(allv)}")
    cfgs = {}
    for seed in seeds:
        for n in names:
            cfg = S.SynthConfig(**{**synth, "seed": seed, "gap": 0.0, "gap_parts": allv[n]})
            try:
                cfg.validate()
            except S.ConfigError as e:
                raise SystemExit(f"--synth: {e}") from None
            cfgs[seed, n] = cfg
    rows = []
    for (seed, n), cfg in cfgs.items():
        root = Path(args.data) / f"s{seed}_{n.replace(' ', '_')}"
        S.ensure_default(root, cfg)
        lv = measure_level(root, 0.0, args.runs, args.backbone)
        lv.pop("gap")
        rows.append({"variant": n, "seed": seed, "gap_parts": allv[n], **lv})
        print(json.dumps({k: rows[-1][k] for k in ("variant", "seed",
                                                    "same_camera_neighbour_share",
                                                    "cross_camera_identity_share",
                                                    "camera_probe", "seconds")}), flush=True)
    st = stamp(argv, __file__)
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"{args.name}.json").write_text(json.dumps(
        {**st, "git": git_rev(), "synth": synth, "rows": rows}, indent=1) + "\n")
    keys = ("same_camera_neighbour_share", "chance_share", "nearest_same_camera_share",
            "cross_camera_identity_share", "camera_probe")

    def cell(rs, k):
        a = np.array([r[k] for r in rs], float)
        return f"{a.mean():.3f}" if len(a) == 1 else f"{a.mean():.3f} ± {a.std(ddof=1):.3f}"

    md = ["# Which part of the camera gap drives the same-camera neighbour share", "",
          f"Command: `{st['command']}`  ", f"Machine: {describe(st['machine'])}  ",
          f"Date: {st['date']} (git {git_rev()})  ",
          f"SynthCams: {json.dumps(synth)}, seeds {', '.join(map(str, seeds))}; "
          f"{args.backbone} ImageNet features of the query and gallery tracklets "
          "(`python -m reidlab gap`).", "",
          "Each variant is `SynthConfig(gap=0, gap_parts=...)`: the parts named are at their "
          "full (default) level, the others at 0 (every camera the same).", "",
          "| variant | gap_parts | same-camera neighbour share (k=30) | chance | nearest in "
          "the same camera (k=1) | cross-camera same-identity share | camera probe |",
          "|---|---|---|---|---|---|---|"]
    for n in names:
        rs = [r for r in rows if r["variant"] == n]
        md.append(f"| {n} | `{allv[n] or 'gap=0'}` | " + " | ".join(cell(rs, k) for k in keys)
                  + " |")
    (res / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
