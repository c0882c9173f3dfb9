"""Why the infrared ↔ colour rows stay low on SynthCams: within- vs cross-modality retrieval.

    python bench/xmodal_diagnosis.py [--runs runs/table_xmodal8] [--name xmodal_diagnosis]

Reads finished ``xmodal_adv`` runs (each sub-folder of ``--runs`` with final features, as
``bench/table_xmodal.py`` leaves them) and, from their saved features alone (no training), puts
the protocol's infrared → colour rank-1 next to retrieval *inside* one modality: colour →
colour across the colour cameras and infrared → infrared across the two infrared cameras (same
test identities, the evaluation protocol's junk rule: same person and camera left out). If a
model matches a person well inside each modality but not across, the modality gap is what holds
it back; if it fails inside a modality too, the features have not learnt the identities and an
alignment loss has nothing to align. The training record adds why: identity accuracy and the
share of batch-hard triplets already satisfied (``trip_prec``: the hardest positive nearer than
the hardest negative) over the last epoch.
For an infrared SynthCams it also counts how many test identities infrared can tell apart at
all (their ``thermal_look``). Writes bench/results/NAME.{json,md} with the command, machine and
date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from benchlib import RESULTS, ROOT, md_header, stamp

from reidlab.engine.runs import Run


def within(fs) -> dict:
    """Colour → colour and infrared → infrared rank-1 / mAP of one FeatureSet's tracklets
    (query + gallery pooled; :func:`reidlab.analysis.modality.modality_retrieval`)."""
    from reidlab.analysis.domain_gap import pooled, pooled_keep, pooled_modality
    from reidlab.analysis.modality import modality_retrieval

    keep = pooled_keep(fs)
    feats, pids, camids = pooled(fs, keep)
    r = modality_retrieval(feats, pids, camids, pooled_modality(fs, keep))
    return {"colour_to_colour": r.get("colour → colour"),
            "infrared_to_infrared": r.get("infrared → infrared")}


def last_epoch(run: Run) -> dict:
    steps = run.metrics("step")
    if not steps:
        return {}
    last = max(s["epoch"] for s in steps)
    rows = [s for s in steps if s["epoch"] == last]
    out = {"epoch": last}
    for k in ("id_acc", "trip_prec", "disc_acc"):
        v = [s["metrics"][k] for s in rows if k in s.get("metrics", {})]
        if v:
            out[k] = float(np.mean(v))
    return out


def diagnose(path: Path) -> dict | None:
    run = Run(path)
    if not run.has_features("final"):
        return None
    cfg = run.config
    out = {"run": path.name, "options": cfg["config"].get("options", {}), "seed": cfg.get("seed")}
    final = run.final_metrics()
    for which in ("initial", "final"):
        if not run.has_features(which):
            continue
        out[which] = within(run.features(which))
    if final:
        out["final"]["infrared_to_colour"] = {"rank1": final["rank1"], "mAP": final["mAP"]}
    out["training"] = last_epoch(run)
    return out


def infrared_looks(root: Path) -> dict | None:
    """For an infrared SynthCams: how many of the test identities an infrared camera can tell
    apart at all — their :func:`~reidlab.synth.render.thermal_look` (what a thermal render
    keeps besides build), from the generator's plan (no rendering). None for other data,
    near-infrared SynthCams included (its grey levels keep the clothes)."""
    import collections
    import dataclasses

    from reidlab import synth as S
    from reidlab.synth import render as R

    marker = root / "SYNTHCAMS_COMPLETE.json"
    if not marker.is_file():
        return None
    conf = json.loads(marker.read_text()).get("config", {})
    if not conf.get("infrared") or conf.get("infrared_kind", "thermal") != "thermal":
        return None
    names = {f.name for f in dataclasses.fields(S.SynthConfig)}
    _, records = S.plan_infrared(S.SynthConfig(**{k: v for k, v in conf.items() if k in names}))
    people = {r.pid: r.spec.person for r in records if r.split == "test"}
    looks = collections.Counter(R.thermal_look(p) for p in people.values())
    return {"test_ids": len(people), "distinct_looks": len(looks),
            "ids_sharing_their_look": sum(n for n in looks.values() if n > 1),
            "mean_lookalikes": float(np.mean([looks[R.thermal_look(p)] - 1
                                              for p in people.values()]))}


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/table_xmodal8",
                    help="folder whose sub-folders are xmodal_adv runs (runs/table_xmodal8)")
    ap.add_argument("--name", default="xmodal_diagnosis")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    root = Path(args.runs)
    if not root.is_absolute():
        root = ROOT / root
    if not root.is_dir():
        raise SystemExit(f"--runs {root}: no such folder (run bench/table_xmodal.py first)")
    rows = [d for d in (diagnose(p) for p in sorted(root.iterdir()) if p.is_dir()) if d]
    if not rows:
        raise SystemExit(f"--runs {root}: no finished run with final features")
    data_root = (Run(root / rows[0]["run"]).config.get("dataset") or {}).get("root")
    looks = None
    if data_root:
        data_root = Path(data_root)
        looks = infrared_looks(data_root if data_root.is_absolute() else ROOT / data_root)
    st = stamp(argv, __file__)
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"{args.name}.json").write_text(json.dumps(
        {"meta": {**st, "runs": str(args.runs)}, "infrared_looks": looks, "rows": rows},
        indent=2) + "\n")

    def cell(d, k):
        return "—" if not d or not d.get(k) else f"{pct(d[k]['rank1'])} / {pct(d[k]['mAP'])}"

    md = ["# Infrared ↔ colour: retrieval inside each modality and across", "",
          *md_header(st), "",
          "From the saved features of finished `xmodal_adv` runs (no training). Rank-1 / mAP; "
          "colour → colour across the 4 colour cameras, infrared → infrared across the 2 "
          "infrared cameras, infrared → colour the SYSU-MM01 protocol's (mean of its 10 "
          "trials). Training: the last epoch's means.", "",
          "| run | colour → colour init → final | infrared → infrared init → final | "
          "infrared → colour final | id acc | trip_prec |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        i, f, t = r.get("initial", {}), r["final"], r["training"]
        md.append(f"| {r['run']} | {cell(i, 'colour_to_colour')} → {cell(f, 'colour_to_colour')} "
                  f"| {cell(i, 'infrared_to_infrared')} → {cell(f, 'infrared_to_infrared')} | "
                  f"{cell(f, 'infrared_to_colour')} | {pct(t.get('id_acc'))} | "
                  f"{pct(t.get('trip_prec'))} |")
    if looks:
        md += ["", f"What infrared keeps of the {looks['test_ids']} test identities (their "
               "`thermal_look`: hair style or cap, sleeves, legwear, bag, coat, suitcase; "
               f"colours and patterns vanish): {looks['distinct_looks']} distinct looks; "
               f"{looks['ids_sharing_their_look']} identities share theirs with another test "
               f"identity (on average {looks['mean_lookalikes']:.1f} look-alikes each), told "
               "apart in infrared only by build."]
    (res / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
