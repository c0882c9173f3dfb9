"""The camera-gap sweep: the leaderboard's methods on SynthCams at several camera-gap levels.

    python bench/gap_sweep.py [--levels 0,0.33,0.67,1] [--rows imagenet,supervised,...]
        [--seeds 0,1] [--preset quick] [--epochs E] [--set key=value ...]
        [--synth key=value ...] [--data data] [--out runs/gap_sweep] [--name gap_sweep]
    python bench/gap_sweep.py --gap-only [--levels ...] [--levels-name gap_levels]

For each level g, SynthCams with ``SynthConfig(gap=g)`` is generated once into
``DATA/synthcams_gap{g}`` (gap 1 with no ``--synth`` is the default ``data/synthcams``, the same
frames), its gap numbers are measured on ImageNet features (``reidlab.analysis.gap``: the
same-camera neighbour share, the cross-camera same-identity share, the camera probe), then every
row of ``bench/leaderboard.py`` (a method's ``leaderboard_rows``: a new method's rows are picked
up here) is trained on it
with each seed — a finished run is reused only when its settings match
(``tablelib.train_or_reuse``), an unfinished one resumed. Each result row holds ``row``,
``gap``, ``seed``, ``rank1``, ``mAP``, the cluster F-score of the first and of the last label
update (methods that cluster) and the run's wall time. Writes bench/results/NAME.{json,md,png}
after every run (rows of earlier invocations that are not re-run are kept): the figure is rank-1
against the gap, one line per method, mean ± std over the seeds.

``--gap-only`` trains nothing: it generates each level's dataset, measures its gap numbers and
writes bench/results/LEVELS_NAME.{json,md} — the axis on which ``python -m reidlab gap DATASET``
places any other dataset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchlib import RESULTS, describe, git_rev, stamp, write_plot
from tablelib import mean_std, parse_set, run_seconds, train_or_reuse

from reidlab import synth as S  # noqa: E402

DEFAULT_LEVELS = "0,0.33,0.67,1"


def parse_levels(text: str) -> list[float]:
    try:
        levels = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or any(not 0.0 <= g <= 1.0 for g in levels) or len(set(levels)) < len(levels):
        raise SystemExit(f"--levels {text!r}: expected distinct gap levels in [0, 1] such as "
                         f"{DEFAULT_LEVELS}")
    return sorted(levels)


def synth_config(gap: float, synth: dict) -> S.SynthConfig:
    names = {f for f in S.SynthConfig.__dataclass_fields__}
    bad = sorted(set(synth) - names - {"gap"}) + (["gap"] if "gap" in synth else [])
    if bad:
        raise SystemExit(f"--synth {bad[0]}: expected a SynthConfig field other than gap "
                         f"({', '.join(sorted(names - {'gap'}))})")
    cfg = S.SynthConfig(**{**synth, "gap": gap})
    try:
        cfg.validate()
    except S.ConfigError as e:
        raise SystemExit(f"--synth: {e}") from None
    return cfg


def level_root(data: str, gap: float, synth: dict) -> Path:
    """``data/synthcams`` for the default gap-1 dataset (the same frames), else
    ``DATA/synthcams_gap{g}``."""
    if gap == 1.0 and not synth and Path(data) == Path("data"):
        return Path(S.DEFAULT_ROOT)
    return Path(data) / f"synthcams_gap{gap:g}"


def ensure_level(data: str, gap: float, synth: dict) -> Path:
    """Generate the level's SynthCams unless a finished copy with this config is there."""
    cfg = synth_config(gap, synth)
    root = level_root(data, gap, synth)
    if not S.is_complete(root, cfg):
        print(f"== generating {root} (gap {gap:g})", flush=True)
    return S.ensure_default(root, cfg)


def measure_level(root: Path, gap: float, runs: str, backbone: str) -> dict:
    """The level's gap numbers (ImageNet features cached in ``runs``) and the time they took."""
    from reidlab.analysis.gap import dataset_gap

    t = time.perf_counter()
    g = dataset_gap(root, "mars", runs, backbone)
    return {"gap": gap, "dataset": str(root), **{k: v for k, v in g.items() if k != "dataset"},
            "seconds": round(time.perf_counter() - t, 1)}


def method_rows() -> dict[str, dict]:
    """The leaderboard's rows (``bench/leaderboard.py``'s :func:`rows`), read when called."""
    import leaderboard

    return leaderboard.rows()


def labels_fscore(run, first: bool) -> float | None:
    labels = [r for r in run.metrics("labels") if r.get("fscore") is not None
              and r.get("stage") in (None, "global", "refined", "prototype")]
    if not labels:
        return None
    return labels[0 if first else -1]["fscore"]


def run_one(name: str, gap: float, seed: int, root: Path, args) -> dict:
    from reidlab.engine.config import make_config

    rows = method_rows()
    spec = rows[name]
    src = spec.get("from")
    if src and getattr(args, "initial_from", None):
        src = args.initial_from
    train_name = src or name
    tspec = rows[train_name]
    out = Path(args.out) / f"gap{gap:g}" / (train_name if seed == 0 else f"{train_name}_s{seed}")
    run = train_or_reuse(out, lambda: make_config(
        args.preset, dataset=str(root), seed=seed, epochs=args.epochs, method=tspec["method"],
        options=dict(tspec.get("options", {})), **{**tspec.get("config", {}), **args.overrides}))
    which = "initial" if src else "final"
    ev = next(m for m in run.metrics("eval") if m.get("which") == which)
    # where the method's first stage ends (PIRID: the intra-camera stage), when it has one
    st = None if src else next((m for m in run.metrics("eval") if m.get("which") == "stage"),
                               None)
    return {"row": name, "gap": gap, "seed": seed, "method": None if src else tspec["method"],
            "rank1": ev["rank1"], "mAP": ev["mAP"],
            "stage": st.get("stage") if st else None,
            "rank1_stage": st["rank1"] if st else None, "mAP_stage": st["mAP"] if st else None,
            "fscore_first": None if src else labels_fscore(run, True),
            "fscore_last": None if src else labels_fscore(run, False),
            "seconds": None if src else run_seconds(run),
            "run": str(run.path)}


def levels_markdown(levels: list[dict], st: dict, title: str) -> list[str]:
    lines = [f"# {title}", "", f"Command: `{st['command']}`  ",
             f"Machine: {describe(st['machine'])}  ", f"Date: {st['date']} (git {git_rev()})", "",
             "ImageNet features (EfficientNet-Lite0 unless named) of each level's query and "
             "gallery tracklets, `python -m reidlab gap DATASET`: the share of each tracklet's "
             "k nearest neighbours (cosine) from its own camera (chance: the cameras' sizes), "
             "how often the nearest tracklet of the other cameras is the same person, and the "
             "linear camera probe on held-out people. Seconds: generation and features, or only "
             "the numbers where the features were cached already.", "",
             "| gap | dataset | same-camera neighbour share (k) | chance | nearest in the same "
             "camera (k = 1) | cross-camera same-identity share | camera probe | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for lv in levels:
        lines.append(f"| {lv['gap']:g} | `{lv['dataset']}` | "
                     f"{lv['same_camera_neighbour_share']:.3f} ({lv['k']}) | "
                     f"{lv['chance_share']:.3f} | {lv['nearest_same_camera_share']:.3f} | "
                     f"{lv['cross_camera_identity_share']:.3f} | "
                     f"{lv['camera_probe']:.3f} | {lv['seconds']:.0f} |")
    return lines


def write_levels(levels: list[dict], args, argv) -> None:
    st = stamp(argv, __file__)
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"{args.levels_name}.json").write_text(json.dumps(
        {**st, "git": git_rev(), "synth": args.synth, "levels": levels}, indent=1) + "\n")
    (res / f"{args.levels_name}.md").write_text(
        "\n".join(levels_markdown(levels, st, "SynthCams camera-gap levels")) + "\n")


def write_sweep(rows: list[dict], levels: list[dict], args, argv, started: float) -> None:
    from reidlab.viz.gap_sweep import gap_sweep_figure

    order = list(method_rows())
    rows = sorted(rows, key=lambda r: (order.index(r["row"]) if r["row"] in order else 99,
                                       r["gap"], r["seed"]))
    st = stamp(argv, __file__)
    meta = {**st, "git": git_rev(), "preset": args.preset, "epochs": args.epochs,
            "seeds": sorted({r["seed"] for r in rows}), "settings": args.overrides,
            "synth": args.synth, "wall_s": round(time.time() - started, 1)}
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"{args.name}.json").write_text(
        json.dumps({"meta": meta, "levels": levels, "rows": rows}, indent=1) + "\n")
    gaps = sorted({r["gap"] for r in rows})
    names = [n for n in order if any(r["row"] == n for r in rows)]

    def cellf(rs: list[dict], key: str) -> str:
        vals = [r[key] for r in rs if r.get(key) is not None]
        return mean_std(vals) if vals else "—"

    md = levels_markdown(levels, st, f"Camera-gap sweep on SynthCams ({args.preset} preset)")
    md += ["", f"Seeds {', '.join(map(str, meta['seeds']))}; settings: "
               f"{', '.join(f'{k}={v}' for k, v in args.overrides.items()) or 'none'}; "
               f"total {meta['wall_s']} s. Mean ± std over the seeds (percent).", ""]
    sections = [("rank1", "rank-1"), ("mAP", "mAP"),
                ("fscore_first", "cluster F of the first label update")]
    if any(r.get("rank1_stage") is not None for r in rows):
        sections.append(("rank1_stage", "rank-1 where the first stage ends (PIRID: the "
                                        "intra-camera stage; the same run's final rank-1 above)"))
    for key, title in sections:
        md += [f"## {title}", "", "| row | " + " | ".join(f"gap {g:g}" for g in gaps) + " |",
               "|---|" + "---|" * len(gaps)]
        for n in names:
            if key == "rank1_stage" and not any(r.get(key) is not None for r in rows
                                                if r["row"] == n):
                continue
            md.append(f"| {n} | " + " | ".join(
                cellf([r for r in rows if r["row"] == n and r["gap"] == g], key)
                for g in gaps) + " |")
        md.append("")
    md.append(f"![rank-1 vs camera gap]({args.name}.png)")
    (res / f"{args.name}.md").write_text("\n".join(md) + "\n")
    fig = gap_sweep_figure(rows, "rank1", levels)
    write_plot(fig, res / f"{args.name}.png", "Rank-1 vs camera gap (mean ± std over seeds)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default=DEFAULT_LEVELS, help="gap levels (default %(default)s)")
    ap.add_argument("--rows", default=None,
                    help="rows of bench/leaderboard.py (default: all of them)")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--preset", default="quick", help="training preset (test: the tiny one)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every run (repeatable)")
    ap.add_argument("--synth", action="append", default=[], metavar="KEY=VALUE",
                    help="SynthConfig field for every level, e.g. ids=60 (repeatable)")
    ap.add_argument("--data", default="data", help="where the levels' datasets go")
    ap.add_argument("--out", default="runs/gap_sweep", help="run folders (and cached features)")
    ap.add_argument("--gap-backbone", default="effnet_lite0",
                    help="backbone of the gap numbers' features (default %(default)s)")
    ap.add_argument("--initial-from", default=None, metavar="ROW",
                    help="read the imagenet row (the initial evaluation, before any training) "
                         "from this row's run instead of the leaderboard's (supervised), so the "
                         "sweep does not train a row only for its first evaluation; every run "
                         "starts from the same ImageNet model, and rows whose network adds "
                         "parts or a camera-specific neck are refused")
    ap.add_argument("--gap-only", action="store_true",
                    help="only generate the levels and measure their gap numbers")
    ap.add_argument("--name", default="gap_sweep")
    ap.add_argument("--levels-name", default="gap_levels")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    gaps = parse_levels(args.levels)
    args.synth = parse_set(args.synth)
    args.overrides = parse_set(args.set)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    known = method_rows()
    names = list(known) if args.rows is None else [n for n in args.rows.split(",") if n]
    for n in names:
        if n not in known:
            ap.error(f"--rows: unknown row {n!r}; expected rows of bench/leaderboard.py: "
                     f"{', '.join(known)}")
    from reidlab.methods import METHODS

    for n in names:
        spec = known[known[n].get("from", n)]
        if spec["method"] not in METHODS:
            ap.error(f"row {n!r}: method {spec['method']!r} is not in this version of reidlab")
    if args.initial_from is not None:
        spec = known.get(args.initial_from)
        if spec is None or "from" in spec:
            ap.error(f"--initial-from: expected a trained row of bench/leaderboard.py, not "
                     f"{args.initial_from!r}")
        if METHODS[spec["method"]].uses_parts or spec.get("config", {}).get("camera_bn"):
            ap.error(f"--initial-from {args.initial_from}: its network is not the plain "
                     "ImageNet model (parts or a camera-specific neck); choose a row without")
    for g in gaps:
        synth_config(g, args.synth)  # every level's config checked before anything is written

    started = time.time()
    levels = []
    for g in gaps:
        root = ensure_level(args.data, g, args.synth)
        levels.append(measure_level(root, g, args.out, args.gap_backbone))
        print(json.dumps({k: levels[-1][k] for k in ("gap", "same_camera_neighbour_share",
                                                      "cross_camera_identity_share",
                                                      "camera_probe")}), flush=True)
    if args.gap_only:
        write_levels(levels, args, argv)
        print((Path(args.results) / f"{args.levels_name}.md").read_text())
        return 0
    rows = []
    prev = Path(args.results) / f"{args.name}.json"
    if prev.is_file():  # rows (and levels) of earlier invocations that are not re-run are kept
        try:
            old = json.loads(prev.read_text())
            rows = [r for r in old["rows"]
                    if not (r["row"] in names and r["gap"] in gaps and r["seed"] in seeds)]
            levels = sorted([lv for lv in old.get("levels", []) if lv["gap"] not in gaps]
                            + levels, key=lambda lv: lv["gap"])
        except (ValueError, KeyError, TypeError):
            raise SystemExit(f"{prev}: expected an earlier sweep's results (rows with row, gap, "
                             "seed); move it away or choose another --name") from None
    root_of = {lv["gap"]: Path(lv["dataset"]) for lv in levels}
    for seed in seeds:
        for g in gaps:
            for n in names:
                print(f"== {n} gap {g:g} seed {seed}", flush=True)
                rows.append(run_one(n, g, seed, root_of[g], args))
                write_sweep(rows, levels, args, argv, started)
                print(json.dumps({k: rows[-1][k] for k in ("row", "gap", "seed", "rank1",
                                                            "mAP", "fscore_first")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
