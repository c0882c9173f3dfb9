"""What the ablation tables of bench/ share (table_cawcl, table_pirid, leaderboard): common
arguments, finished runs reused and unfinished ones resumed, rows appended across invocations
(one table over several sittings), mean ± std cells and the results header; and the helpers
other bench scripts import (the camera probe of a run, ``--set`` parsing, a mean ± std cell,
PADAL Table 2's row runner)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from benchlib import RESULTS, describe, git_rev, refuse_other_settings, stamp

from reidlab.analysis.domain_gap import camera_probe, pooled  # noqa: E402
from reidlab.engine.config import make_config  # noqa: E402
from reidlab.engine.runs import CHECKPOINT, Run  # noqa: E402
from reidlab.engine.trainer import train  # noqa: E402


def probe(run: Run, which: str) -> float:
    """The camera probe's accuracy on the features ``which`` (initial, final) of ``run``: a
    linear camera classifier on held-out identities (lower = less camera in them)."""
    fs = run.features(which)
    feats, pids, camids = pooled(fs)
    return float(camera_probe(feats, camids, groups=pids, pca_dim=128)["accuracy"])


def parse_set(items: list[str]) -> dict:
    """``["adv_loss=confusion", "lam=0.3"]`` → dict; values parsed as JSON when they are."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_row(name: str, over: dict, args, seed: int) -> dict:
    """A row of PADAL's Table 2 (bench/table2_padal.py; also alignment_diagnosis): the run of
    settings ``over`` (plus ``args``' preset, dataset, epochs, λ and ``--set``) for ``seed``
    in ``args.out``, trained or resumed unless finished, with its final and initial numbers,
    camera probes and per-camera-pair rank-1 matrices."""
    out = Path(args.out) / (name if seed == 0 else f"{name}_s{seed}")
    done = Run(out).status().get("state") == "finished" if out.exists() else False
    params = dict(dataset=args.dataset, seed=seed, epochs=args.epochs, lam=args.lam,
                  **args.overrides)
    cfg = make_config(args.preset, **{**params, **over})
    if done:  # a finished run is this row only when its settings are the row's
        refuse_other_settings(out, cfg)
    else:
        train(cfg, out, resume=(out / CHECKPOINT).is_file())
    run = Run(out)
    final = run.final_metrics()
    initial = next(m for m in run.metrics("eval") if m.get("which") == "initial")
    return {
        "row": name, **over, "seed": seed,
        "seconds": run_seconds(run),
        "rank1": final["rank1"], "rank5": final["rank5"], "rank20": final["rank20"],
        "mAP": final["mAP"], "protocol": final.get("protocol"),
        "initial_rank1": initial["rank1"], "initial_mAP": initial["mAP"],
        "probe_initial": probe(run, "initial"), "probe_final": probe(run, "final"),
        "pair_rank1_initial": initial["pair_rank1"], "pair_rank1_final": final["pair_rank1"],
    }


def mean_std(values: list[float]) -> str:
    """Fractions as one percent cell: the mean, ± the sample std when there are several."""
    a = 100 * np.array(values, dtype=float)
    return f"{a.mean():.1f}" if len(a) == 1 else f"{a.mean():.1f} ± {a.std(ddof=1):.1f}"


def add_common_args(ap: argparse.ArgumentParser, *, rows: list[str], out: str, name: str,
                    seeds: str = "0", method: str | None = None) -> None:
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", default=seeds)
    ap.add_argument("--rows", default=",".join(rows))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every row (repeatable)")
    ap.add_argument("--out", default=out)
    ap.add_argument("--name", default=name)
    ap.add_argument("--results", default=str(RESULTS))
    if method is not None:
        ap.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                        help=f"{method} option for every row (repeatable)")


def parse_common(ap: argparse.ArgumentParser, argv, known_rows) -> argparse.Namespace:
    """Parsed arguments with ``seeds`` (ints), ``overrides`` (``--set``) and ``names`` (the
    rows asked for, each checked against ``known_rows``)."""
    args = ap.parse_args(argv)
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    args.overrides = parse_set(args.set)
    args.options = parse_set(getattr(args, "opt", None) or [])
    args.names = [n for n in args.rows.split(",") if n]
    for n in args.names:
        if n not in known_rows:
            ap.error(f"unknown row {n!r}; expected one of {list(known_rows)}")
    if args.dataset == "data/synthcams":
        from reidlab.synth import ensure_default

        ensure_default(args.dataset)
    return args


def settings_differ(run: Run, cfg) -> dict:
    """{setting: (stored, wanted)} where the run in ``run`` was trained with other settings than
    ``cfg`` (``reidlab.engine.settings``: the seed and where/how fast a run computes do not
    count)."""
    from reidlab.engine.settings import settings_diff

    return settings_diff(run.config, cfg)


def train_or_reuse(out: Path, make_cfg: Callable) -> Run:
    """The run in ``out``: reused when finished with the same settings, resumed when a
    checkpoint is there, else trained from ``make_cfg()``. A finished run with other settings
    is an error naming them (a stale folder must never be counted as another row)."""
    from reidlab.engine.trainer import train

    out = Path(out)
    cfg = make_cfg()
    if out.exists() and Run(out).status().get("state") == "finished":
        refuse_other_settings(out, cfg)
        return Run(out)
    train(cfg, out, resume=(out / CHECKPOINT).is_file())
    return Run(out)


def run_seconds(run: Run) -> float | None:
    """The run's own duration (training and its evaluations, over all its sessions when it
    was resumed: ``Run.wall_seconds``), also when it was reused; None without timed records."""
    s = run.wall_seconds()
    return None if s is None else round(s, 1)


def run_dir(args, name: str, seed: int) -> Path:
    return Path(args.out) / (name if seed == 0 else f"{name}_s{seed}")


def with_fingerprint(row: dict, folder: Path) -> dict:
    """The row with its run's settings fingerprint and a short description of the settings
    (``reidlab.engine.settings``): rows are averaged over seeds only within one fingerprint."""
    if (Path(folder) / "config.json").is_file():
        from reidlab.engine.settings import describe

        run = Run(folder)
        row = {**row, "fingerprint": run.fingerprint(), "settings": describe(run.config)}
    return row


def groups_of(rows: list[dict], name: str) -> list[list[dict]]:
    """The rows of table row ``name`` grouped by settings fingerprint and by the precision of
    their feature passes (``extraction``, where rows record it: a property of the machine
    that the fingerprint leaves out); rows from before fingerprints were stored form one group
    of their own; in order of appearance."""
    out: dict = {}
    for r in rows:
        if r["row"] == name:
            out.setdefault((r.get("fingerprint"), r.get("extraction")), []).append(r)
    return list(out.values())


def group_tag(rs: list[dict]) -> str:
    """A group of :func:`groups_of` as the table names it: its fingerprint ("older" without
    one), and its extraction where rows record one."""
    return " · ".join(x for x in (rs[0].get("fingerprint") or "older", rs[0].get("extraction"))
                      if x)


def run_table(args, run_row: Callable, write: Callable, show: tuple[str, ...]) -> None:
    """Every (seed, row) asked for, seed-major; rows of earlier invocations that are not re-run
    now are kept; the results are rewritten after every row."""
    started = time.time()
    rows = []
    prev = Path(args.results) / f"{args.name}.json"
    if prev.is_file():
        rows = [r for r in json.loads(prev.read_text())["rows"]
                if not (r["row"] in args.names and r["seed"] in args.seeds)]
    for seed in args.seeds:
        for name in args.names:
            print(f"== {name} seed {seed}", flush=True)
            rows.append(with_fingerprint(run_row(name, args, seed), run_dir(args, name, seed)))
            write(rows, args, started)
            print(json.dumps({k: rows[-1].get(k) for k in ("row", "seed", *show)}), flush=True)


def cell(rows: list[dict], key: str, percent: bool = True) -> str:
    """Mean ± std (sample) of ``key`` over ``rows`` (× 100 when ``percent``); "—" if none."""
    vals = [r[key] for r in rows if r.get(key) is not None]
    if not vals:
        return "—"
    if percent:
        return mean_std(vals)
    a = np.array(vals, float)
    return f"{a.mean():.0f}" if len(a) == 1 else f"{a.mean():.0f} ± {a.std(ddof=1):.0f}"


def write_results(args, title: str, rows: list[dict], order: list[str], started: float,
                  settings: dict, explain: str, columns: list[str],
                  line: Callable[[str, list[dict]], list], footer: list[str] = ()) -> None:
    """``NAME.json`` (meta + rows) and ``NAME.md`` (:func:`write_markdown` of the same meta
    and rows): the header (command, machine, date, git, protocol, seeds, settings),
    ``explain``, then one table line per row name in ``order`` (``line(name, its rows)`` gives
    the cells after the name and the seed count), then ``footer``."""
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    seeds = sorted({r["seed"] for r in rows})
    meta = {**stamp(), "git": git_rev(), "preset": args.preset, "epochs": args.epochs,
            "seeds": seeds, "settings": settings, "dataset": args.dataset,
            "wall_s": round(time.time() - started, 1)}
    (res / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    write_markdown(res / f"{args.name}.md", meta, rows, title, order, explain, columns, line,
                   footer, layout=getattr(args, "layout", "MARS"))


def write_markdown(path: Path, meta: dict, rows: list[dict], title: str, order: list[str],
                   explain: str, columns: list[str], line: Callable[[str, list[dict]], list],
                   footer: list[str] = (), layout: str = "MARS") -> None:
    """The ``.md`` of a results file, from its ``meta`` and ``rows`` alone (so a table can be
    rewritten from its ``.json`` without running anything)."""
    rows = sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"]))
    seeds = sorted({r["seed"] for r in rows})
    settings = meta.get("settings") or {}
    shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "none"
    protocol = next((r.get("protocol") for r in rows if r.get("protocol")), "?")
    lines = [f"# {title} ({meta['preset']} preset)", "",
             f"Command (the last; rows of earlier invocations are kept): `{meta['command']}`  ",
             f"Machine: {describe(meta['machine'])}  ",
             f"Date: {meta['date']} (git {meta['git']}), total {meta['wall_s']} s  ",
             f"Protocol: {protocol} ({layout} layout); "
             f"dataset {meta['dataset']}; seeds "
             f"{', '.join(map(str, seeds))}; settings: {shown}", "", explain, "",
             "| row | seeds | " + " | ".join(columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    split = []
    for n in [n for n in order if any(r["row"] == n for r in rows)]:
        groups = groups_of(rows, n)
        for rs in groups:  # seeds are averaged only over runs of equal settings
            label = n if len(groups) == 1 else f"{n} [{group_tag(rs)}]"
            lines.append(f"| {label} | {len(rs)} | " + " | ".join(str(c) for c in line(n, rs))
                         + " |")
        if len(groups) > 1:
            split.append(f"- {n}: runs of different settings, not averaged: " + "; ".join(
                f"[{group_tag(rs)}] {rs[0].get('settings') or 'settings not recorded'}"
                for rs in groups))
    if split:
        lines += ["", "Rows whose runs differ in settings (each line its own group):", *split]
    Path(path).write_text("\n".join([*lines, *footer]) + "\n")
