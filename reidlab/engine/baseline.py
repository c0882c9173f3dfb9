"""The "ImageNet init" baseline run: features of an ImageNet-initialised backbone, no training.

``ensure_baseline(data_root, runs_root)`` embeds the query and gallery tracklets with
EfficientNet-Lite0 (ImageNet weights, packaged) → GAP → temporal average, once, and stores them
as an ordinary run folder (``<runs>/_imagenet/``: config.json, status.json, metrics.jsonl with
an ``eval`` record, features/initial.npz and features/final.npz — the same features: the model
is the initial one). Every page can then treat it as a run, so the app shows the camera gap
before any training. A file lock keeps two tabs from computing it twice.

Speed (the app must be useful within a minute): each tracklet is embedded from
``BASELINE_EVAL_FRAMES`` = 4 evenly spaced frames (one clip), 32 tracklets per forward pass,
with ``torch`` using every core (``$OMP_NUM_THREADS`` when set) while it runs. On the default
SynthCams (937 query+gallery tracklets) this takes about the time measured in
``bench/results/app_startup.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from reidlab.atomic import file_lock
from reidlab.engine.config import TrainConfig
from reidlab.engine.runs import (CONFIG, METRICS, STAGES, STATUS, Run, clean_json,
                                 evaluate_feature_set, features_file, write_json_atomic)

BASELINE_PREFIX = "_imagenet"
BASELINE_LABEL = "ImageNet init"
DEFAULT_DATA = "data/synthcams"
BASELINE_EVAL_FRAMES = 4  # evenly spaced frames per tracklet (one clip of 4)
TRACKLETS_PER_BATCH = 32
Progress = Callable[[float, str], None]  # progress(fraction, message)


def compute_threads() -> int:
    """Threads for the baseline: ``$OMP_NUM_THREADS`` when set, else every core."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    return max(1, int(env)) if env.isdigit() else max(1, os.cpu_count() or 1)


def is_baseline(run_or_name) -> bool:
    name = getattr(run_or_name, "name", run_or_name)
    return str(name).startswith(BASELINE_PREFIX)


def trained_nothing(run) -> bool:
    """True for a run that trained nothing (the ImageNet init baseline, or ``epochs=0``): its
    settings (K, λ, clips) mean nothing and its "before" and "after" features are the same."""
    epochs = run.config.get("config", {}).get("epochs")
    return is_baseline(run) or (isinstance(epochs, int) and epochs == 0)


def baseline_name(data_root: str | Path, fmt: str = "mars", backbone: str = "effnet_lite0") -> str:
    """``_imagenet`` for the default dataset, ``_imagenet_<hash>`` for any other one."""
    root = Path(data_root).resolve()
    if root == Path(DEFAULT_DATA).resolve() and fmt == "mars" and backbone == "effnet_lite0":
        return BASELINE_PREFIX
    h = hashlib.sha1(f"{root}|{fmt}|{backbone}".encode()).hexdigest()[:8]
    return f"{BASELINE_PREFIX}_{h}"


def baseline_ready(data_root, runs_root, fmt: str = "mars", backbone: str = "effnet_lite0") -> bool:
    d = Path(runs_root) / baseline_name(data_root, fmt, backbone)
    try:
        return features_file(d, "final").is_file() and \
            json.loads((d / STATUS).read_text()).get("state") == "finished"
    except (OSError, ValueError):
        return False


def ensure_baseline(data_root: str | Path, runs_root: str | Path, *, fmt: str = "mars",
                    dataset_options: dict | None = None, backbone: str = "effnet_lite0",
                    progress: Progress | None = None, **cfg_overrides) -> Run:
    """The baseline run for ``data_root`` (computed on first call, then read from disk)."""
    runs_root = Path(runs_root)
    name = baseline_name(data_root, fmt, backbone)
    out = runs_root / name
    with file_lock(runs_root / f".{name}.lock", "a writable runs folder"):
        if baseline_ready(data_root, runs_root, fmt, backbone):
            return Run(out)
        if out.exists():
            shutil.rmtree(out)  # a half-written earlier attempt
        compute_baseline(data_root, out, fmt=fmt, dataset_options=dataset_options,
                         backbone=backbone, progress=progress, **cfg_overrides)
    return Run(out)


def compute_baseline(data_root: str | Path, out: str | Path, *, fmt: str = "mars",
                     dataset_options: dict | None = None, backbone: str = "effnet_lite0",
                     progress: Progress | None = None, **cfg_overrides) -> Path:
    """Embed ``data_root``'s query/gallery with an ImageNet backbone into run folder ``out``.
    ``cfg_overrides`` go to the stored TrainConfig (default ``eval_frames=4``,
    ``frames_per_clip=4``); ``threads`` (default :func:`compute_threads`) is torch's thread
    count while embedding (restored after)."""
    import numpy as np
    import torch

    from reidlab.data import load_dataset
    from reidlab.data.loader import embed_tracklets
    from reidlab.eval.features import FeatureSet
    from reidlab.models.backbones import build_backbone

    threads = int(cfg_overrides.pop("threads", 0) or compute_threads())
    per_batch = int(cfg_overrides.pop("tracklets_per_batch", TRACKLETS_PER_BATCH))
    cfg_overrides.setdefault("eval_frames", BASELINE_EVAL_FRAMES)
    cfg_overrides.setdefault("frames_per_clip", min(4, cfg_overrides["eval_frames"] or 4))

    out = Path(out)
    t0 = time.time()
    report = progress or (lambda f, m: None)
    report(0.0, "loading dataset")
    data = load_dataset(fmt, data_root, **(dataset_options or {}))
    cfg = TrainConfig(dataset=str(data_root), dataset_format=fmt,
                      dataset_options=dict(dataset_options or {}), backbone=backbone,
                      pretrained=True, epochs=0, method="imagenet_init", **cfg_overrides)
    net = build_backbone(backbone, pretrained=True, last_stride=cfg.last_stride).eval()
    if cfg.channels_last:  # NHWC: 2-3x faster convolutions on CPU
        net = net.to(memory_format=torch.channels_last)

    def embed(clips: torch.Tensor) -> torch.Tensor:  # B×T×3×H×W -> B×C: GAP, then mean over T
        b, t = clips.shape[:2]
        x = net(clips.flatten(0, 1))["map"].mean((2, 3))
        return x.view(b, t, -1).mean(1)

    report(0.02, "loading the ImageNet backbone")
    total = max(1, len(data.query) + len(data.gallery))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        parts = []
        for split, items, offset in (("query", data.query, 0),
                                     ("gallery", data.gallery, len(data.query))):
            parts.append(embed_tracklets(
                embed, items, cfg, net.input_norm, tracklets_per_batch=per_batch,
                progress=lambda done, n, o=offset, s=split: report(
                    0.02 + 0.9 * (o + done) / total, f"ImageNet features: {s} {done}/{n}")))
    finally:
        torch.set_num_threads(before)
    q, g = parts
    fs = FeatureSet(q_feat=q.feat, g_feat=g.feat, q_pids=q.pids, g_pids=g.pids,
                    q_camids=q.camids, g_camids=g.camids, q_index=q.index, g_index=g.index,
                    q_modality=np.array([data.query[i].modality for i in q.index], np.int64),
                    g_modality=np.array([data.gallery[i].modality for i in g.index], np.int64))
    report(0.93, "evaluating")
    q_tids = [data.query[i].tid for i in fs.q_index]
    g_tids = [data.gallery[i].tid for i in fs.g_index]
    metrics = evaluate_feature_set(fs, data.num_cameras, data.meta.get("protocol"), q_tids,
                                   g_tids, meta=data.meta)
    out.mkdir(parents=True, exist_ok=True)
    for which in STAGES:  # the same features: the model trained nothing
        fs.save(features_file(out, which))
    write_json_atomic(out / CONFIG, {
        "config": cfg.to_dict(),
        "dataset": {"format": fmt, "root": str(Path(data_root).resolve()),
                    "options": dict(dataset_options or {}), "name": data.name,
                    "num_cameras": data.num_cameras, "summary": data.summary(),
                    "meta": clean_json(data.meta)},
        "label": BASELINE_LABEL, "seed": 0, "protocol": data.meta.get("protocol"),
        "created": t0,
    })
    with open(out / METRICS, "w") as fh:
        for which in ("initial", "final"):
            fh.write(json.dumps(clean_json({"kind": "eval", "which": which, "epoch": 0,
                                            "step": 0, "extraction": "float32",  # no autocast
                                            **metrics})) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    write_json_atomic(out / STATUS, {"state": "finished", "progress": 1.0,
                                     "message": f"{BASELINE_LABEL} features in "
                                                f"{time.time() - t0:.0f} s",
                                     "updated": time.time(), "started": t0})
    report(1.0, "done")
    return out


def metrics_text(m: dict) -> str:
    """Final metrics as people read them, in percent as the app shows them:
    ``rank-1 1.1%, mAP 2.9% (official protocol)`` (as the trainer prints its result)."""
    def pct(key: str) -> str:
        v = m.get(key)
        return "n/a" if not isinstance(v, (int, float)) else f"{100 * v:.1f}%"

    protocol = f" ({m['protocol']} protocol)" if m.get("protocol") else ""
    return f"rank-1 {pct('rank1')}, mAP {pct('mAP')}{protocol}"


# -- CLI: python -m reidlab baseline ------------------------------------------------------


def configure_parser(p) -> None:
    p.add_argument("--dataset", default=DEFAULT_DATA, help="dataset root (default %(default)s)")
    p.add_argument("--format", default="mars", dest="fmt", help="dataset layout (default mars)")
    p.add_argument("--runs", default="runs", help="run-store root (default %(default)s)")
    p.add_argument("--backbone", default="effnet_lite0")


def run(args) -> int:
    from tqdm import tqdm

    with tqdm(total=100, desc="ImageNet baseline", unit="%") as bar:
        def progress(fraction: float, message: str) -> None:
            bar.set_postfix_str(message, refresh=False)
            bar.update(round(100 * fraction) - bar.n)

        r = ensure_baseline(args.dataset, args.runs, fmt=args.fmt, backbone=args.backbone,
                            progress=progress)
    m = r.final_metrics() or {}
    print(f"{r.path}: {BASELINE_LABEL} features ready ({metrics_text(m)})")
    return 0
