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

from reidlab.engine.config import PRESETS, TrainConfig, make_config
from reidlab.errors import ConfigError, DatasetError

# CLI flag -> TrainConfig field
FLAGS = {
    "method": "method", "K": "K", "parts": "parts", "lam": "lam", "clips": "clips_per_tracklet",
    "frames": "frames_per_clip", "epochs": "epochs", "backbone": "backbone",
    "batch_size": "batch_size", "seed": "seed", "device": "device", "eval_every": "eval_every",
    "workers": "num_workers", "sampler": "sampler", "lr": "lr", "eval_frames": "eval_frames",
    "fragment_rate": "fragment_rate", "format": "dataset_format", "lam_schedule": "lam_schedule",
    "adv_loss": "adv_loss", "steps_per_epoch": "steps_per_epoch",
    "last_stride": "last_stride", "freeze_stages": "freeze_stages",
    "disc_lr_mult": "disc_lr_mult", "pretrained": "pretrained",
    "partial_domains": "partial_domains", "clip_mode": "clip_mode",
    "num_instances": "num_instances", "lr_step": "lr_step", "lr_gamma": "lr_gamma",
    "warmup_epochs": "warmup_epochs", "channels_last": "channels_last",
    "eval_bf16": "eval_bf16",
    "source_format": "source_format",
}
OPT_PREFIX = "opt__"  # argparse dest of a method option flag


def method_option_flags() -> dict[str, list]:
    """Flag name → the option fields (of every method's Options) it sets; a name shared by
    several methods' options is one flag."""
    import dataclasses

    from reidlab.methods import METHODS

    flags: dict[str, list] = {}
    for name in sorted(METHODS):
        cls = METHODS[name].Options
        for f in dataclasses.fields(cls) if cls is not None else []:
            flags.setdefault(f.name, []).append((name, f))
    return flags


def parse_opt(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip().replace("-", "_"), v.strip()


def camera_groups(text: str) -> list[list[int]]:
    """``"1,2,3;4,5,6"`` (1-based cameras, ';' between discriminators) -> [[0,1,2],[3,4,5]]."""
    try:
        groups = [[int(c) - 1 for c in part.split(",") if c.strip()]
                  for part in text.split(";") if part.strip()]
    except ValueError:
        groups = []
    if not groups or any(len(g) < 2 or min(g) < 0 for g in groups):
        raise argparse.ArgumentTypeError(
            f"expected camera groups like '1,2,3;4,5,6' (1-based, >= 2 cameras each), got {text!r}")
    return groups


def add_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="dataset root folder (default: SynthCams at data/synthcams, "
                   "generated on first use)")
    p.add_argument("--format", help="dataset layout: mars (default), prid2011, ilidsvid, "
                   "market1501, dukemtmc, msmt17, folder, sysumm01, regdb")
    p.add_argument("--data-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="a reader option (repeatable), e.g. sysumm01: mode=indoor shots=10; "
                   "regdb: trial=3 direction=t2v; prid2011: split=2 (docs/datasets.md)")
    p.add_argument("--protocol", choices=["official", "torchreid"],
                   help="MARS gallery protocol (default official)")
    p.add_argument("--method", help="padal_id | padal_a | padal_m | padal_mp | padal_ap | ...")
    p.add_argument("--K", type=int, help="number of parts of the PAM")
    p.add_argument("--parts", choices=["kmeans", "strict"], help="PAM part masks")
    p.add_argument("--lam", type=float, help="adversarial weight λ")
    p.add_argument("--lam-schedule", choices=["constant", "dann"], dest="lam_schedule",
                   help="λ constant, or ramped up as in DANN")
    p.add_argument("--adv-loss", choices=["grl", "confusion"], dest="adv_loss",
                   help="features' adversarial loss: grl (reversed camera cross-entropy, the "
                   "paper) or confusion (cross-entropy to the uniform camera distribution)")
    p.add_argument("--disc-lr-mult", type=float, dest="disc_lr_mult",
                   help="discriminators learn at lr × this (default 1)")
    p.add_argument("--partial-domains", type=camera_groups, dest="partial_domains",
                   metavar="GROUPS", help="partial-domain study (padal_m/padal_mp): one "
                   "discriminator per camera group, e.g. '1,2,3;4,5,6'")
    p.add_argument("--clips", type=int, help="clips per tracklet per epoch")
    p.add_argument("--frames", type=int, help="frames per clip")
    p.add_argument("--epochs", type=int)
    p.add_argument("--backbone", help="effnet_lite0 | resnet18 | resnet50 | tiny")
    p.add_argument("--no-pretrained", dest="pretrained", action="store_const", const=False,
                   help="random initialisation instead of ImageNet weights")
    p.add_argument("--last-stride", type=int, choices=[1, 2], dest="last_stride",
                   help="stride of the backbone's last stage (1 keeps 8x4 maps at 128x64)")
    p.add_argument("--freeze-stages", type=int, choices=[0, 1, 2, 3], dest="freeze_stages",
                   help="freeze the backbone's first N stages (ImageNet weights and BatchNorm "
                        "statistics kept; a faster step on CPU)")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="clips per batch")
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-step", type=int, dest="lr_step", help="epochs between lr decays")
    p.add_argument("--lr-gamma", type=float, dest="lr_gamma", help="lr decay factor")
    p.add_argument("--warmup-epochs", type=int, dest="warmup_epochs",
                   help="linear lr warm-up over the first epochs (0: none)")
    p.add_argument("--sampler", choices=["random", "pk", "camera"])
    p.add_argument("--num-instances", type=int, dest="num_instances",
                   help="the K of P×K sampling: items per group in a batch (PAM parts: --K)")
    p.add_argument("--eval-every", type=int, dest="eval_every", help="epochs between evaluations")
    p.add_argument("--steps-per-epoch", type=int, dest="steps_per_epoch",
                   help="at most this many batches per epoch (0: all): matches the step budget "
                   "of settings whose epochs differ in length (e.g. --clips 1 vs 4)")
    p.add_argument("--eval-frames", type=int, dest="eval_frames",
                   help="frames per tracklet for features (0: all)")
    p.add_argument("--fragment-rate", type=float, dest="fragment_rate",
                   help="ID-fragment study: this fraction of train tracklets is split in two "
                   "pseudo IDs")
    p.add_argument("--workers", type=int, help="data loader processes")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-channels-last", dest="channels_last", action="store_const", const=False,
                   help="keep NCHW weights (channels-last is 2-3x faster on CPU; default on)")
    p.add_argument("--eval-bf16", dest="eval_bf16", action="store_const", const=True,
                   help="CPU feature extraction (evaluations, label updates) under bfloat16 "
                   "autocast: faster on CPUs with AVX-512-BF16/AMX, features within a cosine "
                   "of 0.997 of float32 (default off; on in the quick preset; skipped with a "
                   "warning on CPUs without native bfloat16)")
    p.add_argument("--no-eval-bf16", dest="eval_bf16", action="store_const", const=False,
                   help="float32 feature extraction where a preset turns --eval-bf16 on")
    p.add_argument("--decode-on-device", dest="decode_on_device", action="store_const",
                   const=True, help="feature extraction decodes JPEG frames on the GPU "
                   "(torchvision nvJPEG; resized there with antialiasing) instead of in the "
                   "data-loading processes (default off; no effect on CPU)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="quick (CPU, ~4 min on SynthCams: 96×48, bf16 extraction), quick128 (the "
                   "quick preset before 2026-12-03: 128×64, ~7.5 min), paper, test")
    p.add_argument("--seed", type=int)
    p.add_argument("--clip-mode", choices=["interleaved", "segments"], dest="clip_mode",
                   help="how the clips of a tracklet differ: interleaved (each spans the "
                   "tracklet) or segments (successive parts, CAWCL)")
    p.add_argument("--source", help="domain adaptation: a labelled source dataset folder "
                   "trained beside the target (cawcl)")
    p.add_argument("--source-format", dest="source_format",
                   help="layout of --source (default mars)")
    p.add_argument("--opt", action="append", type=parse_opt, default=[], metavar="KEY=VALUE",
                   help="a method option (see the method's flags below); repeatable")
    taken = {a.dest for a in p._actions} | {s for a in p._actions for s in a.option_strings}
    groups: dict[str, argparse._ArgumentGroup] = {}
    for opt, owners in method_option_flags().items():
        flag = "--" + opt.replace("_", "-")
        if flag in taken:
            continue  # still settable with --opt
        method, f = owners[0]
        methods = "/".join(m for m, _ in owners)
        g = groups.get(methods) or groups.setdefault(
            methods, p.add_argument_group(f"{methods} options"))
        default = f.default if f.default is not dataclasses.MISSING else None
        # a name shared by methods: every method's default, and any method's choice (each
        # method validates its own values)
        defaults = {m: (x.default if x.default is not dataclasses.MISSING else None)
                    for m, x in owners}
        shown = (f"default {default}" if len({repr(v) for v in defaults.values()}) == 1 else
                 "default " + ", ".join(f"{m} {v}" for m, v in defaults.items()))
        choices = [c for _, x in owners for c in x.metadata.get("choices") or ()]
        choices = list(dict.fromkeys(choices)) if all(
            x.metadata.get("choices") for _, x in owners) else None
        g.add_argument(flag, dest=OPT_PREFIX + opt, metavar=None if choices else
                       type(default).__name__.upper() if default is not None else "VALUE",
                       choices=choices, help=f"{f.metadata.get('help', '')} ({shown})")


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
    from reidlab.data import synthcams

    print(f"using the default SynthCams dataset at {synthcams.DEFAULT_ROOT}")
    return str(synthcams.ensure_default(synthcams.DEFAULT_ROOT))


def config_from_args(args: argparse.Namespace, **override) -> TrainConfig:
    """A TrainConfig from ``--preset`` plus the explicit flags (and ``override``)."""
    values = {field: getattr(args, flag, None) for flag, field in FLAGS.items()}
    options = {k[len(OPT_PREFIX):]: v for k, v in vars(args).items()
               if k.startswith(OPT_PREFIX) and v is not None}
    options.update(dict(getattr(args, "opt", None) or []))
    if options:
        values["options"] = options
    if getattr(args, "source", None):
        src = Path(args.source).expanduser()
        if not src.is_dir():
            raise DatasetError(src, "a source dataset folder (see --source-format)",
                               "no such folder")
        values["source"] = str(src)
    values.update(override)
    options = {}
    for item in getattr(args, "data_opt", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--data-opt {item!r}: expected KEY=VALUE")
        options[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    if getattr(args, "protocol", None):
        options["protocol"] = args.protocol
    if options:
        values["dataset_options"] = options
    values["dataset"] = resolve_dataset(args) if "dataset" not in override else override["dataset"]
    return make_config(args.preset, **values)


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

        cfg = train_config_of(read_run_config(out), stored)
        if args.epochs is not None:
            cfg.epochs = args.epochs
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
