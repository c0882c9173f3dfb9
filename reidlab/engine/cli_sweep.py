"""``python -m reidlab sweep --param K --values 1,2,3 --base-out runs/sweepK [train options]``.

Trains one run per value (and per seed with ``--seeds``), sequentially, into
``<base-out>/<param>=<value>[_s<seed>]`` and writes ``summary.csv`` and ``summary.md`` there. A
finished run with the same settings is kept and an unfinished one resumed; a run with other
settings in the folder stops the sweep before anything trains, naming the settings.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from reidlab.engine.cli_train import (SPECIAL, add_train_options, config_from_args, flag_names,
                                      tqdm_progress)
from reidlab.engine.config import TrainConfig
from reidlab.engine.runs import Run, write_json_atomic
from reidlab.engine.settings import diff_line, settings_diff
from reidlab.errors import ConfigError
from reidlab.schema import coerce

COLUMNS = ["rank1", "rank5", "rank10", "rank20", "mAP", "mINP"]


def configure_parser(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    p.add_argument("--param", required=True, help="flag name (K, lam, clips, frames, epochs, "
                   "seed, method, parts, backbone, ...) or a TrainConfig field")
    p.add_argument("--values", required=True, help="comma-separated values, e.g. 1,2,3")
    p.add_argument("--seeds", help="comma-separated seeds: each value trained once per seed "
                   "(runs <param>=<value>_s<seed>; default: one run with --seed)")
    p.add_argument("--base-out", required=True, dest="base_out", help="folder for the runs "
                   "(inside the runs folder, e.g. runs/sweepK)")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--no-progress", action="store_true")


def parse_values(param: str, values: str, method: str | None = None) -> tuple[str, list]:
    """The TrainConfig field (or option of ``method``) for ``param`` — a flag name without
    dashes (``clips``), a field name (``clips_per_tracklet``) or a method option (``K``) —
    and the values read as its declared type (choices checked)."""
    from reidlab.engine.config import option_field

    names = flag_names()
    field = names.get(param.replace("-", "_"), param)
    fields = TrainConfig.__dataclass_fields__
    method = method or TrainConfig.method
    f = fields.get(field) if field in fields and field not in SPECIAL else \
        option_field(method, field)
    if f is None:
        raise ConfigError(f"--param: expected a setting ({', '.join(sorted(names))}) or an "
                          f"option of {method}, got {param!r}")
    raw = [v.strip() for v in values.split(",") if v.strip()]
    if not raw:
        raise ConfigError("--values: expected a comma-separated list, got nothing")
    owner = "--values for" if field in fields else f"--values for {method} option"
    conv = [coerce(owner, f, v) for v in raw]
    return field, conv


def parse_seeds(text: str | None) -> list[int | None]:
    """``--seeds 0,1,2`` → [0, 1, 2]; none given → [None] (the --seed flag or its default)."""
    if not text:
        return [None]
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise ConfigError(f"--seeds: expected comma-separated integers, e.g. 0,1, got {text!r}")
    return seeds


def write_summary(base: Path, param: str, rows: list[dict]) -> None:
    header = [param, "seed", "run", "status"] + COLUMNS
    with open(base / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in header})

    def fmt(v):
        return f"{100 * v:.1f}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(r.get(k)) if k in COLUMNS else str(r.get(k)) for k in header)
              + " |" for r in rows]
    (base / "summary.md").write_text("Metrics in %.\n\n" + "\n".join(lines) + "\n")
    write_json_atomic(base / "summary.json", {"param": param, "rows": rows})


def run(args: argparse.Namespace) -> int:
    from reidlab.engine.trainer import train

    field, values = parse_values(args.param, args.values, getattr(args, "method", None))
    seeds = parse_seeds(getattr(args, "seeds", None))
    from reidlab.atomic import ensure_writable_dir
    from reidlab.engine.runs import confine

    # every run's settings first: a bad value, or a finished run in the folder with other
    # settings, stops the sweep before anything trains
    plan = []
    for v in values:
        for seed in seeds:
            over = {field: v} if seed is None else {field: v, "seed": seed}
            cfg = config_from_args(args, **over)
            name = f"{args.param}={v}" + ("" if seed is None else f"_s{seed}")
            plan.append((v, seed, cfg, name))
    base = ensure_writable_dir(confine(args.base_out, args.runs), "a writable folder for the "
                               "sweep's runs")
    for v, seed, cfg, name in plan:
        out = base / name
        if (out / "config.json").is_file():
            diff = settings_diff(Run(out).config, cfg)
            if diff:
                raise ConfigError(f"{out} holds a run with other settings ({diff_line(diff)}); "
                                  "delete it or choose another --base-out")
    rows = []
    for v, seed, cfg, name in plan:
        out = base / name
        state = Run(out).status().get("state") if (out / "config.json").is_file() else None
        if state != "finished":
            print(f"sweep: {args.param}={v}" + ("" if seed is None else f" seed {seed}")
                  + f" -> {out}")
            cb, bar = tqdm_progress(disable=args.no_progress)
            try:
                train(cfg, out, resume=state is not None, progress=cb)
            finally:
                bar.close()
        else:
            print(f"sweep: {out} finished with these settings: kept")
        r = Run(out)
        m = r.final_metrics() or {}
        rows.append({args.param: v, "seed": cfg.seed, "run": str(out),
                     "status": r.status().get("state"), **{k: m.get(k) for k in COLUMNS}})
        write_summary(base, args.param, rows)
    print((base / "summary.md").read_text())
    return 0
