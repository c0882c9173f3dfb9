"""Benchmark: training and feature-extraction throughput of a re-ID network on the GPU.

    python bench/bench_gpu.py                       # ResNet-50, 256×128, AMP, channels-last
    python bench/bench_gpu.py --compile             # also torch.compile (measured separately)
    python bench/bench_gpu.py --device cpu --backbone tiny --height 64 --width 32 --steps 2
    python bench/bench_gpu.py --decode-frames 4096  # also JPEG decoding: host vs device

The step is reidlab's: ``ReIDNet`` (backbone + BN-neck) with a linear identity classifier,
label-smoothed cross-entropy + batch-hard triplet (the supervised bound's loss) over P×K
batches, Adam. Inputs are random tensors already on the device, so this measures the model,
not decoding (see bench_mars_loader.py / the DataLoader for that). Images/s are counted after
``--warmup`` steps, with the device synchronised. The GPU's name goes into the results; the
goal on an H100 is ≥ 3000 training images/s. A benchmark, never a test dependency: without a
GPU it says so (or runs on the CPU when asked with ``--device cpu``).
``--decode-frames N`` also times the decoding of N JPEG frames (MARS-sized 256×128, written to
a temporary folder) into normalised clips at the model's size, as feature extraction does it:
on the host (PIL in ``--workers`` DataLoader processes, frame cache off) and on the device
(``decode_on_device``: torchvision's batched ``decode_jpeg``, nvJPEG on a GPU), without a model.
Writes bench/results/gpu_throughput.{json,md} (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from benchlib import RESULTS, md_header, stamp

from reidlab.engine.config import TrainConfig
from reidlab.losses.metric import batch_hard_triplet
from reidlab.models.reid_net import build_net


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args, device: torch.device, compile_model: bool) -> dict:
    torch.manual_seed(0)
    net = build_net(TrainConfig(backbone=args.backbone, pretrained=False, last_stride=1)
                    ).to(device)
    head = nn.Linear(net.out_channels, args.ids, bias=False).to(device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=3e-4)
    amp = args.amp and device.type == "cuda"
    dtype = torch.bfloat16 if args.amp_dtype == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and dtype == torch.float16)
    model = torch.compile(net) if compile_model else net
    b = args.batch
    x = torch.randn(b, 3, args.height, args.width, device=device).contiguous(memory_format=fmt)
    y = torch.arange(b, device=device) // args.instances % args.ids

    def train_step():
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            out = model(x)
            logits = head(out["feat"])
            loss = (F.cross_entropy(logits.float(), y, label_smoothing=0.1)
                    + batch_hard_triplet(out["feat_pre"].float(), y, margin=0.3)[0])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    net.train()
    for _ in range(args.warmup):
        train_step()
    sync(device)
    t = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    sync(device)
    train_s = time.perf_counter() - t
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    net.eval()
    xe = torch.randn(args.eval_batch, 3, args.height, args.width,
                     device=device).contiguous(memory_format=fmt)
    with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=amp):
        for _ in range(args.warmup):
            model(xe)
        sync(device)
        t = time.perf_counter()
        for _ in range(args.steps):
            model(xe)
        sync(device)
    eval_s = time.perf_counter() - t
    return {"compile": compile_model,
            "train_images_per_s": args.steps * b / train_s,
            "extract_images_per_s": args.steps * args.eval_batch / eval_s,
            "train_step_ms": 1000 * train_s / args.steps,
            "peak_memory_gb": (torch.cuda.max_memory_allocated(device) / 2**30
                               if device.type == "cuda" else None)}


def measure_decode(args, device: torch.device) -> dict:
    """Frames/s of JPEG → normalised clips, host (PIL, workers) vs device (decode_jpeg)."""
    import tempfile
    import types

    import numpy as np
    from PIL import Image

    from reidlab.data import loader
    from reidlab.data.tracklets import Tracklet

    loader._FRAME_CACHE = loader.FrameCache(0)  # decode every time
    rng = np.random.default_rng(0)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        base = np.linspace(30, 220, 256 * 128 * 3).reshape(256, 128, 3)
        for i in range(args.decode_frames):
            img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
            paths.append(Path(tmp) / f"{i:06d}.jpg")
            Image.fromarray(img).save(paths[-1], quality=90)
        tracklets = [Tracklet(tuple(paths[i:i + 8]), 1, 0, i) for i in range(0, len(paths), 8)]
        cfg = types.SimpleNamespace(frames_per_clip=4, eval_frames=8, height=args.height,
                                    width=args.width, num_workers=args.workers)
        norm = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        for decode in ("host", "device"):
            sync(device)
            t = time.perf_counter()
            loader.embed_tracklets(lambda clips: clips.flatten(2).mean(-1), tracklets, cfg, norm,
                                   device=device, decode=decode, tracklets_per_batch=32)
            sync(device)
            out[f"{decode}_frames_per_s"] = len(paths) / (time.perf_counter() - t)
    out.update(frames=len(paths), workers=args.workers)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--backbone", default="resnet50")
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256, help="P×K images per step")
    ap.add_argument("--instances", type=int, default=4, help="K")
    ap.add_argument("--ids", type=int, default=751)
    ap.add_argument("--eval-batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-amp", dest="amp", action="store_false")
    ap.add_argument("--amp-dtype", choices=["bf16", "fp16"], default="bf16")
    ap.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile")
    ap.add_argument("--goal", type=float, default=3000.0, help="training images/s to reach")
    ap.add_argument("--decode-frames", type=int, default=0,
                    help="also time decoding this many JPEG frames, host vs device (0: skip)")
    ap.add_argument("--workers", type=int, default=4, help="host decoding processes")
    ap.add_argument("--out", default=str(RESULTS / "gpu_throughput"))
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU on this machine: nothing measured (use --device cpu to try the "
              "script itself)")
        return 0
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    rows = [measure(args, device, False)]
    if args.compile:
        rows.append(measure(args, device, True))
    decode = measure_decode(args, device) if args.decode_frames else None
    st = stamp(argv, __file__)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    best = max(r["train_images_per_s"] for r in rows)
    out = {**st, "gpu": gpu, "device": str(device), "settings": {
        k: getattr(args, k) for k in ("backbone", "height", "width", "batch", "instances",
                                      "eval_batch", "steps", "warmup", "amp", "amp_dtype",
                                      "channels_last")},
        "rows": rows, "goal_train_images_per_s": args.goal, "goal_met": best >= args.goal,
        "decode": decode}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    s = out["settings"]
    md = ["# Training and extraction throughput", "", *md_header(st),
          f"Device: {gpu or device}. {s['backbone']} at {s['height']}×{s['width']}, batch "
          f"{s['batch']} (K={s['instances']}), AMP {s['amp_dtype'] if s['amp'] else 'off'}, "
          f"channels-last {s['channels_last']}; {s['steps']} timed steps after {s['warmup']}.",
          "", "| torch.compile | train images/s | step ms | extract images/s | peak GB |",
          "|---|---|---|---|---|"]
    for r in rows:
        peak = "—" if r["peak_memory_gb"] is None else f"{r['peak_memory_gb']:.1f}"
        md.append(f"| {r['compile']} | {r['train_images_per_s']:.0f} | "
                  f"{r['train_step_ms']:.1f} | {r['extract_images_per_s']:.0f} | {peak} |")
    md += ["", f"Goal ≥ {args.goal:.0f} training images/s: "
           f"{'met' if out['goal_met'] else 'missed'} (best {best:.0f}).", ""]
    if decode:
        md += [f"JPEG decoding into clips ({decode['frames']} frames of 256×128 → "
               f"{s['height']}×{s['width']}, no model): host (PIL, {decode['workers']} workers) "
               f"{decode['host_frames_per_s']:.0f} frames/s, device (decode_jpeg) "
               f"{decode['device_frames_per_s']:.0f} frames/s.", ""]
    path.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
