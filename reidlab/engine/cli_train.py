"""``python -m reidlab train``: train a method and write a run store (see ``docs/training.md``).

``add_train_options`` / ``config_from_args`` are shared with ``python -m reidlab sweep``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from reidlab.engine.config import TrainConfig, make_config
from reidlab.errors import ConfigError, DatasetError
from reidlab.schema import (allowed_types, choices_of, coerce, default_of, flag_of, guess_value,
                            parse_kv, parse_kv_list)

OPT_PREFIX = "opt__"  # argparse dest of a method option flag
# TrainConfig fields with flags of their own shape (paths checked, KEY=VALUE lists)
SPECIAL = ("dataset", "dataset_options", "source", "source_options", "options")


def setting_fields() -> list[dataclasses.Field]:
    """The TrainConfig fields that get a generated flag (all but :data:`SPECIAL`)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in SPECIAL]


def flag_names() -> dict[str, str]:
    """Every name a setting is known by on the command line (its flag without dashes, its
    field name) → the TrainConfig field: ``clips`` → ``clips_per_tracklet``."""
    out = {}
    for f in setting_fields():
        out[f.name] = f.name
        out[flag_of(f).lstrip("-").replace("-", "_")] = f.name
    return out


def method_option_flags() -> dict[str, list]:
    """Flag name → the option fields (of every method's Options) it sets; a name shared by
    several methods' options is one flag."""
    from reidlab.methods import METHODS

    flags: dict[str, list] = {}
    for name in sorted(METHODS):
        cls = METHODS[name].Options
        for f in dataclasses.fields(cls) if cls is not None else []:
            flags.setdefault(f.name, []).append((name, f))
    return flags


def _arg_type(owner: str, f: dataclasses.Field):
    """argparse ``type`` of a field: its own parser, or a conversion to its declared type
    (a bad value is argparse's one-line error naming the flag)."""
    def conv(text: str):
        try:
            return coerce(owner, f, text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: " + str(e).split(": ", 1)[-1]) from None
    conv.__name__ = next((t.__name__ for t in allowed_types(f) if t is not type(None)), "value")
    return conv


def _default_text(f: dataclasses.Field) -> str:
    d = default_of(f)
    return "" if d is None or d == {} else f" (default {d})"


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Every TrainConfig field and every method option as a flag, generated from the schema
    (help, choices, flag names); ``--opt``/``--data-opt``/``--source-opt`` KEY=VALUE lists."""
    p.add_argument("--dataset", help=TrainConfig.__dataclass_fields__["dataset"].metadata["help"])
    p.add_argument("--data-opt", action="append", default=[], metavar="KEY=VALUE",
                   help=TrainConfig.__dataclass_fields__["dataset_options"].metadata["help"]
                   + " (repeatable; docs/datasets.md)")
    p.add_argument("--protocol", choices=["official", "torchreid"],
                   help="MARS gallery protocol (default official); the same as --data-opt "
                   "protocol=...")
    p.add_argument("--source", help=TrainConfig.__dataclass_fields__["source"].metadata["help"])
    p.add_argument("--source-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a reader option of --source (repeatable)")
    g = p.add_argument_group("training settings (TrainConfig)")
    for f in setting_fields():
        flag = flag_of(f)
        help_ = f.metadata.get("help", "")
        choices = choices_of(f)
        if bool in allowed_types(f):
            g.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{help_} (default {'on' if default_of(f) else 'off'})")
            continue
        g.add_argument(flag, dest=f.name, type=_arg_type("setting", f), default=None,
                       choices=choices, metavar=None if choices else f.name.upper(),
                       help=f"{help_}{_default_text(f)}")
    p.add_argument("--opt", action="append", type=_parse_opt, default=[], metavar="KEY=VALUE",
                   help="a method option (see the method's flags below); repeatable")
    taken = {a.dest for a in p._actions} | {s for a in p._actions for s in a.option_strings}
    groups: dict[str, argparse._ArgumentGroup] = {}
    for opt, owners in method_option_flags().items():
        flag = "--" + opt.replace("_", "-")
        if flag in taken:
            continue  # still settable with --opt
        method, f = owners[0]
        methods = "/".join(m for m, _ in owners)
        grp = groups.get(methods) or groups.setdefault(
            methods, p.add_argument_group(f"{methods} options"))
        # a name shared by methods: every method's default, and any method's choice (each
        # method validates its own values)
        defaults = {m: default_of(x) for m, x in owners}
        shown = (f"default {default_of(f)}" if len({repr(v) for v in defaults.values()}) == 1
                 else "default " + ", ".join(f"{m} {v}" for m, v in defaults.items()))
        choices = [c for _, x in owners for c in choices_of(x) or ()]
        choices = list(dict.fromkeys(choices)) if all(choices_of(x) for _, x in owners) else None
        grp.add_argument(flag, dest=OPT_PREFIX + opt, choices=choices,
                         type=_option_type(owners),
                         metavar=None if choices else type(default_of(f)).__name__.upper()
                         if default_of(f) is not None else "VALUE",
                         help=f"{f.metadata.get('help', '')} ({shown})")


def _option_type(owners: list):
    """argparse ``type`` of a method option flag: the text read as the option's declared type
    (the first method whose option accepts it; each method checks its own value later)."""
    def conv(text: str):
        error = None
        for method, f in owners:
            try:
                return coerce(f"{method} option", f, text)
            except ConfigError as e:
                error = error or e
        msg = str(error).split(": ", 1)[-1]
        raise argparse.ArgumentTypeError(msg if repr(text) in msg else f"{text!r}: {msg}")
    f = owners[0][1]
    conv.__name__ = next((t.__name__ for t in allowed_types(f) if t is not type(None)), "value")
    return conv


def _parse_opt(text: str) -> tuple[str, str]:
    try:
        return parse_kv(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def configure_parser(p: argparse.ArgumentParser) -> None:
    add_train_options(p)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--out", required=True, help="run folder inside the runs folder, e.g. "
                   "runs/NAME")
    p.add_argument("--runs", help="the runs folder that run paths must lie in (default "
                   "$REIDLAB_RUNS, else runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def resolve_dataset(args: argparse.Namespace) -> str:
    """The dataset root: ``--dataset`` (must exist) or the default SynthCams (generated)."""
    if args.dataset:
        root = Path(args.dataset).expanduser()
        if not root.is_dir():
            raise DatasetError(root, "a dataset folder (see --format)", "no such folder")
        return str(root)
    from reidlab import synth

    print(f"using the default SynthCams dataset at {synth.DEFAULT_ROOT}")
    return str(synth.ensure_default(synth.DEFAULT_ROOT))


def explicit_settings(args: argparse.Namespace) -> dict:
    """The settings given on the command line (None: not given), method options under
    ``options``, reader options under ``dataset_options``/``source_options``."""
    values = {f.name: getattr(args, f.name, None) for f in setting_fields()}
    options = {k[len(OPT_PREFIX):]: v for k, v in vars(args).items()
               if k.startswith(OPT_PREFIX) and v is not None}
    options.update(dict(getattr(args, "opt", None) or []))
    if options:
        values["options"] = options
    data = {k: guess_value(v) for k, v in parse_kv_list(getattr(args, "data_opt", None) or [],
                                                        "--data-opt").items()}
    if getattr(args, "protocol", None):
        data["protocol"] = args.protocol
    if data:
        values["dataset_options"] = data
    src = {k: guess_value(v) for k, v in parse_kv_list(getattr(args, "source_opt", None) or [],
                                                       "--source-opt").items()}
    if src:
        values["source_options"] = src
    if getattr(args, "dataset", None):
        values["dataset"] = args.dataset
    if getattr(args, "source", None):
        values["source"] = args.source
    return {k: v for k, v in values.items() if v is not None}


def config_from_args(args: argparse.Namespace, **override) -> TrainConfig:
    """A TrainConfig from ``--preset`` plus the explicit flags (and ``override``). The
    settings are checked first (a bad value is an error before anything is read or
    written), then the dataset folders."""
    values = {**explicit_settings(args), **override}
    preset = values.pop("preset", None)
    make_config(preset, **{**values, "dataset": values.get("dataset") or "data/synthcams"})
    if values.get("source"):
        src = Path(values["source"]).expanduser()
        if not src.is_dir():
            raise DatasetError(src, "a source dataset folder (see --source-format)",
                               "no such folder")
        values["source"] = str(src)
    if "dataset" not in override:
        values["dataset"] = resolve_dataset(args)
    return make_config(preset, **values)


def tqdm_progress(disable: bool = False):
    """A ``progress(fraction, message)`` callback drawing a tqdm bar; returns (callback, bar)."""
    from tqdm import tqdm

    bar = tqdm(total=1000, unit="‰", disable=disable, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def cb(fraction: float, message: str) -> None:
        bar.n = int(round(1000 * fraction))
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    return cb, bar


def run(args: argparse.Namespace) -> int:
    from reidlab.engine.runs import confine

    out = confine(args.out, args.runs)
    stored = out / "config.json"
    if args.resume and stored.is_file():
        from reidlab.engine.runs import read_run_config, train_config_of

        base = train_config_of(read_run_config(out), stored).to_dict()
        asked = explicit_settings(args)  # flags given with --resume must match the run
        asked_preset = asked.pop("preset", None)
        if asked_preset is not None:  # a preset's sizes count as asked too (the method's
            # own settings above them, as make_config has it)
            from reidlab.engine.config import PRESETS, method_config_defaults

            method = asked.get("method", base["method"])
            asked = {**PRESETS[asked_preset], **method_config_defaults(method), **asked}
        base["options"] = {**base["options"], **asked.pop("options", {})}
        preset = base.pop("preset")
        cfg = make_config(None, **{**base, **asked})  # the trainer refuses other settings
        cfg.preset = preset
    else:
        cfg = config_from_args(args)
    from reidlab.engine.trainer import train

    from reidlab.engine.distributed import Dist

    dist = Dist.from_env()  # under torchrun: rank 0 shows progress and the result
    cb, bar = tqdm_progress(disable=args.no_progress or not dist.is_main)
    try:
        train(cfg, out, resume=args.resume, progress=cb)
    finally:
        bar.close()
    from reidlab.engine.runs import Run

    r = Run(out)
    rc = 0 if r.status().get("state") in ("finished", "cancelled") else 1
    if dist.is_main:
        print(json.dumps({"run": str(out), "status": r.status().get("state"),
                          "final": _headline(r.final_metrics())}, indent=1))
    if dist.enabled:  # a process can abort in its exit handlers after leaving the group
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


def _headline(m: dict | None) -> dict | None:
    if m is None:
        return None
    return {k: m.get(k) for k in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP", "protocol")}
