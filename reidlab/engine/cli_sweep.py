"""``python -m reidlab sweep --param K --values 1,2,3 --base-out runs/sweepK [train options]``.

Trains one run per value, sequentially, into ``<base-out>/<param>=<value>`` (a finished run is
kept, an unfinished one resumed) and writes ``summary.csv`` and ``summary.md`` there.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from reidlab.engine.cli_train import FLAGS, add_train_options, config_from_args, tqdm_progress
from reidlab.engine.config import TrainConfig
from reidlab.engine.runs import Run, write_json_atomic
from reidlab.errors import ConfigError

COLUMNS = ["rank1", "rank5", "rank10", "rank20", "mAP", "mINP"]


def configure_parser(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    p.add_argument("--param", required=True, help="flag name (K, lam, clips, frames, epochs, "
                   "seed, method, parts, backbone, ...) or a TrainConfig field")
    p.add_argument("--values", required=True, help="comma-separated values, e.g. 1,2,3")
    p.add_argument("--base-out", required=True, dest="base_out", help="folder for the runs "
                   "(inside the runs folder, e.g. runs/sweepK)")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--no-progress", action="store_true")


def parse_values(param: str, values: str, method: str | None = None) -> tuple[str, list]:
    """The TrainConfig field (or option of ``method``) for ``param`` and the values converted
    to its type."""
    from reidlab.engine.config import option_field

    field = FLAGS.get(param, param)
    fields = {f.name: f for f in TrainConfig.__dataclass_fields__.values()}
    opt = option_field(method or TrainConfig.method, field)
    if field not in fields and opt is None:
        raise ConfigError(f"--param: expected one of {sorted(FLAGS)}, a TrainConfig field or "
                          f"an option of {method or TrainConfig.method}, got {param!r}")
    kind = type(getattr(TrainConfig(), field)) if field in fields else type(opt.default)
    raw = [v.strip() for v in values.split(",") if v.strip()]
    if not raw:
        raise ConfigError("--values: expected a comma-separated list, got nothing")
    try:
        conv = [kind(v) if kind in (int, float, str) else v for v in raw]
    except ValueError as e:
        raise ConfigError(f"--values for {param}: expected {kind.__name__} values, got {values!r}") from e
    return field, conv


def write_summary(base: Path, param: str, rows: list[dict]) -> None:
    header = [param, "run", "status"] + COLUMNS
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
    from reidlab.atomic import ensure_writable_dir
    from reidlab.engine.runs import confine

    base = ensure_writable_dir(confine(args.base_out, args.runs), "a writable folder for the "
                               "sweep's runs")
    rows = []
    for v in values:
        cfg = config_from_args(args, **{field: v})
        out = base / f"{args.param}={v}"
        state = Run(out).status().get("state") if (out / "config.json").is_file() else None
        if state != "finished":
            print(f"sweep: {args.param}={v} -> {out}")
            cb, bar = tqdm_progress(disable=args.no_progress)
            try:
                train(cfg, out, resume=state is not None, progress=cb)
            finally:
                bar.close()
        r = Run(out)
        m = r.final_metrics() or {}
        rows.append({args.param: v, "run": str(out), "status": r.status().get("state"),
                     **{k: m.get(k) for k in COLUMNS}})
        write_summary(base, args.param, rows)
    print((base / "summary.md").read_text())
    return 0
