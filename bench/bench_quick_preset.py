"""Time the ``quick`` preset's parts on SynthCams and predict the length of a full quick run.

    python bench/bench_quick_preset.py [--dataset data/synthcams] [--method padal_mp]
        [--steps 8] [--eval-tracklets 64] [--full]

Measures training throughput (images/s, forward+backward+step, after 2 warm-up steps) and
feature-extraction throughput, then predicts epochs × train images / train rate + 2 × eval
images / eval rate. ``--full`` also runs the whole quick preset and reports the wall time.
Writes bench/results/quick_preset.{json,md} with the command, machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchlib import RESULTS, describe, stamp

from reidlab.data import load_dataset
from reidlab.data.loader import TrainClipDataset, embed_tracklets, train_loader
from reidlab.data.sampling import epoch_batches, eval_frame_indices
from reidlab.engine.config import make_config
from reidlab.engine.trainer import build_method, train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--method", default="padal_mp")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--eval-tracklets", type=int, default=64)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = make_config("quick", dataset=args.dataset, method=args.method)
    data = load_dataset(cfg.dataset_format, cfg.dataset)
    torch.manual_seed(0)
    method = build_method(cfg, data.train, data.num_cameras)
    opt = torch.optim.Adam(method.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ds = TrainClipDataset(data.train, cfg, method.net.input_norm)
    batches = epoch_batches(cfg.sampler, len(data.train), cfg.clips_per_tracklet, cfg.batch_size,
                            cfg.seed, 0)
    method.train()
    times, cpu, n_img = [], [], 0
    for i, batch in enumerate(train_loader(ds, batches[: args.steps + 2], 0)):
        t, c = time.perf_counter(), time.process_time()
        out = method.training_step(batch, 0)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            n_img += batch["clips"].shape[0] * batch["clips"].shape[1]
    # data loading measured separately (single process)
    t = time.perf_counter()
    for _ in zip(range(args.steps), train_loader(ds, batches[: args.steps], 0)):
        pass
    load_s = (time.perf_counter() - t) / args.steps
    step_s = float(np.mean(times))
    train_ips = n_img / (sum(times) + load_s * len(times))

    sub = data.query[: args.eval_tracklets]
    t, c = time.perf_counter(), time.process_time()
    method.eval()
    embed_tracklets(method.embed, sub, cfg, method.net.input_norm)
    eval_s = time.perf_counter() - t
    eval_cpu = time.process_time() - c
    eval_imgs = sum(eval_frame_indices(len(tr), cfg.frames_per_clip, cfg.eval_frames).size
                    for tr in sub)
    eval_ips = eval_imgs / eval_s

    imgs_per_epoch = len(batches) * cfg.batch_size * cfg.frames_per_clip
    all_eval = sum(eval_frame_indices(len(tr), cfg.frames_per_clip, cfg.eval_frames).size
                   for tr in data.query + data.gallery)
    predicted = cfg.epochs * imgs_per_epoch / train_ips + 2 * all_eval / eval_ips
    # CPU time is less sensitive to other processes than wall time: the prediction for an
    # otherwise idle machine divides the CPU seconds by the number of cores torch uses.
    ncores = min(torch.get_num_threads(), os.cpu_count() or 1)
    predicted_idle = (cfg.epochs * imgs_per_epoch * (sum(cpu) / n_img + load_s / cfg.batch_size
                      / cfg.frames_per_clip) + 2 * all_eval * eval_cpu / eval_imgs) / ncores
    res = {
        **stamp(),
        "dataset": {"root": args.dataset, "train_tracklets": len(data.train),
                    "query": len(data.query), "gallery": len(data.gallery)},
        "quick_preset": {k: getattr(cfg, k) for k in ("backbone", "height", "width", "epochs",
                                                      "batch_size", "frames_per_clip",
                                                      "clips_per_tracklet", "eval_frames")},
        "method": args.method,
        "train_step_s": step_s, "load_batch_s": load_s, "train_images_per_s": train_ips,
        "eval_images_per_s": eval_ips,
        "train_cpu_s_per_image": sum(cpu) / n_img, "eval_cpu_s_per_image": eval_cpu / eval_imgs,
        "load_avg_1min": os.getloadavg()[0], "train_images_per_epoch": imgs_per_epoch,
        "eval_images_per_evaluation": all_eval, "predicted_quick_run_s": predicted,
        "predicted_quick_run_idle_machine_s": predicted_idle,
    }
    if args.full:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            train(cfg, Path(tmp) / "run")
            res["measured_quick_run_s"] = time.perf_counter() - t
    out = RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "quick_preset.json").write_text(json.dumps(res, indent=1))
    md = ["# quick preset timing", "", f"`{res['command']}` — {res['date']}, "
          f"{describe(res['machine'])}", ""]
    md += [f"- {k}: {v}" for k, v in res.items() if k not in ("command", "date", "machine")]
    (out / "quick_preset.md").write_text("\n".join(md) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
