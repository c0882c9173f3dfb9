"""Time the ``quick`` preset's parts on SynthCams and predict the length of a full quick run.

    python bench/bench_quick_preset.py [--dataset data/synthcams] [--method padal_mp]
        [--steps 8] [--eval-tracklets 64] [--full [--variant KEY=VALUE[,KEY=VALUE]] ...
        [--seeds 0,1]] [--name quick_preset] [--results bench/results]

Measures training throughput (images/s, forward+backward+step, after 2 warm-up steps) and
feature-extraction throughput, then predicts epochs × train images / train rate + 2 × eval
images / eval rate. ``--full`` also runs the whole quick preset and reports its wall time,
rank-1 and mAP; each ``--variant KEY=VALUE[,KEY=VALUE...]`` (repeatable: one variant per flag)
adds whole runs with those settings changed (e.g. ``--variant frames_per_clip=3``), so a
proposed preset change is measured against the preset by one run of one script. Every whole
run is a fresh Python process, as ``python -m reidlab train --preset quick`` is for a user
(imports, dataset reading and cold frame decoding included). With ``--seeds 0,1`` each setting
runs once per seed; the order of the settings rotates from seed to seed, so a machine that gets
busier slows all of them alike, and the table gives mean ± std and the paired rank-1 difference
to the preset.
Training and extraction are measured for NCHW and channels-last weights (the default since
``TrainConfig.channels_last``), alternating the two so that a busy machine slows both alike:
the before/after of that change in one run. Writes bench/results/quick_preset.{json,md} with
the command, machine and date.
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
from reidlab.methods import build_method


def parse_variant(item: str) -> dict:
    """One ``--variant`` (``KEY=VALUE[,KEY=VALUE...]``) → settings, values parsed as the
    tables' ``--set`` (JSON when they are), each KEY a TrainConfig setting."""
    from tablelib import parse_set

    from reidlab.engine.config import TrainConfig

    items = [x for x in item.split(",") if x]
    for one in items:
        key, sep, _ = one.partition("=")
        if not sep or key not in TrainConfig.__dataclass_fields__:
            raise SystemExit(f"--variant {item!r}: expected KEY=VALUE[,KEY=VALUE] with each KEY "
                             "a TrainConfig setting, such as frames_per_clip=3,eval_frames=4")
    return parse_set(items)


_CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
a = json.loads(sys.argv[1])
cfg = make_config("quick", dataset=a["dataset"], method=a["method"], seed=a["seed"],
                  **a["change"])
train(cfg, Path(a["out"]))
f = Run(Path(a["out"])).final_metrics()
print("RESULT " + json.dumps({"seconds": time.perf_counter() - t0, "rank1": f.get("rank1"),
      "mAP": f.get("mAP"), "settings": {k: getattr(cfg, k) for k in (
      "frames_per_clip", "eval_frames", "epochs", "batch_size", "clips_per_tracklet")}}))
"""


def full_run(args, change: dict, seed: int) -> dict:
    """One whole quick-preset run (``change`` applied) in a fresh Python process and a
    temporary folder: wall time of the process (imports and cold decoding included) and the
    final rank-1/mAP."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        payload = json.dumps({"dataset": args.dataset, "method": args.method, "seed": seed,
                              "change": change, "out": str(Path(tmp) / "run")})
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CHILD, payload], cwd=root,
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(root)})
        wall = time.perf_counter() - t
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise SystemExit(f"quick run {change} seed {seed} failed:\n{proc.stderr[-3000:]}")
    r = json.loads(line[len("RESULT "):])
    return {**r, "change": change, "seed": seed, "seconds": wall,
            "load_avg_1min_after": os.getloadavg()[0]}


def summarise(runs: list[dict], base: list[dict] | None) -> dict:
    """Mean ± std over seeds, and the paired rank-1 difference to the preset's runs."""
    out = {"settings": runs[0]["settings"], "change": runs[0]["change"], "runs": runs}
    for k in ("seconds", "rank1", "mAP"):
        v = np.array([r[k] for r in runs], dtype=float)
        out[f"{k}_mean"], out[f"{k}_std"] = float(v.mean()), float(v.std())
    if base is not None:
        by_seed = {r["seed"]: r["rank1"] for r in base}
        d = np.array([r["rank1"] - by_seed[r["seed"]] for r in runs])
        out["rank1_delta_mean"], out["rank1_delta_std"] = float(d.mean()), float(d.std())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--method", default="padal_mp")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--eval-tracklets", type=int, default=64)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--variant", "--before", action="append", default=[],
                    metavar="KEY=VALUE[,KEY=VALUE]",
                    help="with --full: also run the preset with these settings changed (one "
                    "variant per flag; --before is its first name, kept so recorded commands "
                    "still run)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the full runs (one)")
    ap.add_argument("--seeds", default="0", help="seeds of the full runs, e.g. 0,1")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--name", default="quick_preset",
                    help="results file stem in bench/results (default quick_preset)")
    ap.add_argument("--results", default=str(RESULTS), help="results folder")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = make_config("quick", dataset=args.dataset, method=args.method)
    data = load_dataset(cfg.dataset_format, cfg.dataset)
    batches = epoch_batches(cfg.sampler, len(data.train), cfg.clips_per_tracklet, cfg.batch_size,
                            cfg.seed, 0)
    formats = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
    models = {}
    for name, fmt in formats.items():
        torch.manual_seed(0)
        m = build_method(cfg, data.train, data.num_cameras).to(memory_format=fmt)
        models[name] = (m, torch.optim.Adam(m.parameters(), lr=cfg.lr,  # as the trainer
                                            weight_decay=cfg.weight_decay, fused=True))
        m.train()
    ds = TrainClipDataset(data.train, cfg, models["nchw"][0].net.input_norm)
    per = {n: {"times": [], "cpu": [], "n_img": 0} for n in formats}
    for i, batch in enumerate(train_loader(ds, batches[: args.steps + 2], 0)):
        for name in (formats if i % 2 == 0 else list(formats)[::-1]):  # alternate the order
            m, o = models[name]
            t, c = time.perf_counter(), time.process_time()
            out = m.training_step(batch, 0)
            o.zero_grad()
            out.loss.backward()
            o.step()
            if i >= 2:
                per[name]["times"].append(time.perf_counter() - t)
                per[name]["cpu"].append(time.process_time() - c)
                per[name]["n_img"] += batch["clips"].shape[0] * batch["clips"].shape[1]
    speed = {n: {"train_step_s": float(np.mean(v["times"])),
                 "train_images_per_s": v["n_img"] / sum(v["times"])} for n, v in per.items()}
    chosen = "channels_last" if cfg.channels_last else "nchw"
    times, cpu, n_img = per[chosen]["times"], per[chosen]["cpu"], per[chosen]["n_img"]
    # data loading measured separately (single process)
    t = time.perf_counter()
    for _ in zip(range(args.steps), train_loader(ds, batches[: args.steps], 0)):
        pass
    load_s = (time.perf_counter() - t) / args.steps
    step_s = float(np.mean(times))
    train_ips = n_img / (sum(times) + load_s * len(times))

    sub = data.query[: args.eval_tracklets]
    for name in formats:  # extraction, both formats (the chosen one last)
        m = models[name][0].eval()
        t, c = time.perf_counter(), time.process_time()
        embed_tracklets(m.embed, sub, cfg, m.net.input_norm)
        speed[name]["extract_s"] = time.perf_counter() - t
        speed[name]["extract_cpu_s"] = time.process_time() - c
    eval_s, eval_cpu = speed[chosen]["extract_s"], speed[chosen]["extract_cpu_s"]
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
        "memory_format": chosen, "by_memory_format": speed,
        "channels_last_speedup_train": speed["nchw"]["train_step_s"]
        / speed["channels_last"]["train_step_s"],
        "channels_last_speedup_extract": speed["nchw"]["extract_s"]
        / speed["channels_last"]["extract_s"],
        "train_step_s": step_s, "load_batch_s": load_s, "train_images_per_s": train_ips,
        "eval_images_per_s": eval_ips,
        "train_cpu_s_per_image": sum(cpu) / n_img, "eval_cpu_s_per_image": eval_cpu / eval_imgs,
        "load_avg_1min": os.getloadavg()[0], "train_images_per_epoch": imgs_per_epoch,
        "eval_images_per_evaluation": all_eval, "predicted_quick_run_s": predicted,
        "predicted_quick_run_idle_machine_s": predicted_idle,
    }
    if args.full:
        seeds = [args.seed] if args.seed is not None else \
            [int(x) for x in args.seeds.split(",") if x]
        settings = [("preset", {})] + [(",".join(v.split(",")), parse_variant(v))
                                       for v in args.variant]
        got: dict[str, list] = {tag: [] for tag, _ in settings}
        for i, seed in enumerate(seeds):
            k = i % len(settings)
            for tag, change in settings[k:] + settings[:k]:  # the order rotates per seed
                got[tag].append(full_run(args, change, seed))
                print(tag, got[tag][-1], flush=True)
        res["full_runs"] = {tag: summarise(runs, None if tag == "preset" else got["preset"])
                            for tag, runs in got.items()}
        res["measured_quick_run_s"] = res["full_runs"]["preset"]["seconds_mean"]
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(res, indent=1))
    md = ["# quick preset timing", "", f"`{res['command']}` — {res['date']}, "
          f"{describe(res['machine'])}", ""]
    md += [f"- {k}: {v}" for k, v in res.items()
           if k not in ("command", "date", "machine", "full_runs")]
    if "full_runs" in res:
        md += ["", "## Whole quick runs (each a fresh process; mean ± std over seeds)", "",
               "| setting | T | eval frames | epochs | seeds | seconds | rank-1 | mAP | "
               "paired Δ rank-1 |", "|---|---|---|---|---|---|---|---|---|"]
        for tag, f in res["full_runs"].items():
            st = f["settings"]
            delta = (f"{100 * f['rank1_delta_mean']:+.1f} ± {100 * f['rank1_delta_std']:.1f}"
                     if "rank1_delta_mean" in f else "—")
            md.append(f"| {tag} | {st['frames_per_clip']} | {st['eval_frames']} | "
                      f"{st['epochs']} | {', '.join(str(r['seed']) for r in f['runs'])} | "
                      f"{f['seconds_mean']:.0f} ± {f['seconds_std']:.0f} | "
                      f"{100 * f['rank1_mean']:.1f} ± {100 * f['rank1_std']:.1f} | "
                      f"{100 * f['mAP_mean']:.1f} ± {100 * f['mAP_std']:.1f} | {delta} |")
        md += ["", "Per run: " + "; ".join(
            f"{tag} seed {r['seed']}: {r['seconds']:.0f} s, rank-1 {100 * r['rank1']:.1f}, "
            f"load after {r['load_avg_1min_after']:.1f}"
            for tag, f in res["full_runs"].items() for r in f["runs"])]
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
