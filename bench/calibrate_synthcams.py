"""Calibrate SynthCams' camera gap with ImageNet-initialised features.

Generates (or reuses) a SynthCams dataset, extracts EfficientNet-Lite0 ImageNet features of every
test-split tracklet (global average pooling over the map, then the temporal mean over up to
``--max-frames`` frames), and measures

* a linear probe predicting the camera of held-out tracklets (held-out identities too),
* rank-1 of same-camera vs cross-camera retrieval,
* the standard query/gallery CMC/mAP (MARS official protocol: queries stay in the gallery),
* the same after a trivial alignment (subtracting each camera's mean feature), to show the gap is
  one that alignment can close,

and draws a t-SNE of the features coloured by camera (left) and identity (right).

    python bench/calibrate_synthcams.py                      # default dataset in data/synthcams
    python bench/calibrate_synthcams.py --root /tmp/sc --domain-gap 0.5 --tag gap0.5
    python bench/calibrate_synthcams.py --style b            # the second domain, data/synthcams_b

Writes bench/results/synthcams_calibration{_TAG}.json/.md and synthcams_tsne_imagenet{_TAG}.png.
With ``--style b`` the files are named synthcams_b_* instead, and the style-b test tracklets are
also compared with the style-a ones (``--compare-root``, same seed): a linear *domain probe*
(style a vs b, held-out identities) and each style's camera probe; synthcams_b_examples.png
shows style-a frames (left) beside style-b frames (right).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from benchlib import RESULTS, ROOT, md_header, stamp

from reidlab.analysis.domain_gap import camera_probe, same_vs_cross_camera_retrieval
from reidlab.data import load_dataset
from reidlab.data.images import read_frame
from reidlab.synth import STYLES, SynthConfig, ensure_default
from reidlab.eval import evaluate
from reidlab.eval.ranking import compute_distmat
from reidlab.models.backbones import build_backbone


@torch.no_grad()
def extract(tracklets, max_frames: int, batch: int = 64) -> np.ndarray:
    """ImageNet EfficientNet-Lite0 features: GAP over the map, temporal mean over frames."""
    net = build_backbone("effnet_lite0", pretrained=True, last_stride=1).eval()
    if not net.pretrained_loaded:
        raise SystemExit("effnet_lite0 ImageNet weights are not installed")
    mean = torch.tensor(net.input_norm[0]).view(1, 3, 1, 1)
    std = torch.tensor(net.input_norm[1]).view(1, 3, 1, 1)
    frames, owner = [], []
    for i, t in enumerate(tracklets):
        fr = list(t.frames)
        if len(fr) > max_frames:  # evenly spaced
            fr = [fr[j] for j in np.linspace(0, len(fr) - 1, max_frames).round().astype(int)]
        frames += fr
        owner += [i] * len(fr)
    owner = np.asarray(owner)
    out = np.zeros((len(tracklets), net.out_channels), dtype=np.float64)
    for s in range(0, len(frames), batch):
        imgs = np.stack([read_frame(p, (128, 64)) for p in frames[s:s + batch]])
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
        f = net((x - mean) / std)["map"].mean(dim=(2, 3)).numpy()
        np.add.at(out, owner[s:s + batch], f)
    out /= np.bincount(owner, minlength=len(tracklets))[:, None]
    return out.astype(np.float32)


def metrics(feats_all, pids, camids, qi, gi, seed) -> dict:
    """Every calibration number for one feature matrix (rows = unique test tracklets)."""
    people = pids > 0
    probe = camera_probe(feats_all[people], camids[people], groups=pids[people], seed=seed)
    probe_strat = camera_probe(feats_all[people], camids[people], seed=seed)
    svc = same_vs_cross_camera_retrieval(feats_all[people], pids[people], camids[people])
    d = compute_distmat(feats_all[qi], feats_all[gi])
    std = evaluate(d, pids[qi], pids[gi], camids[qi], camids[gi])
    return {
        "camera_probe_accuracy_heldout_ids": probe["accuracy"],
        "camera_probe_accuracy_heldout_tracklets": probe_strat["accuracy"],
        "camera_probe_chance": probe["chance"],
        "camera_probe_confusion": probe["confusion"].tolist(),
        **svc,
        "query_gallery": {k: std[k] for k in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP",
                                              "num_valid_queries", "num_skipped_queries")},
    }


def center_per_camera(x: np.ndarray, camids: np.ndarray) -> np.ndarray:
    out = x.copy()
    for c in np.unique(camids):
        out[camids == c] -= out[camids == c].mean(axis=0)
    return out


def tsne_png(emb: np.ndarray, camids: np.ndarray, pids: np.ndarray, path: Path, title: str) -> str:
    """Two scatter panels (by camera / by identity) with plotly + kaleido; PIL if that fails."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=2, subplot_titles=("coloured by camera", "coloured by identity"),
                            horizontal_spacing=0.06)
        cam_pal = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f", "#bcbd22"]
        for c in np.unique(camids):
            m = camids == c
            fig.add_trace(go.Scattergl(x=emb[m, 0], y=emb[m, 1], mode="markers", name=f"camera {c + 1}",
                                       marker=dict(size=5, color=cam_pal[int(c) % len(cam_pal)])), 1, 1)
        upids = np.unique(pids)
        rng = np.random.default_rng(0)
        hue = dict(zip(upids.tolist(), rng.permutation(len(upids)) / max(len(upids), 1)))
        cols = [f"hsl({int(360 * hue[p])},{70 if p > 0 else 0}%,{45 if p > 0 else 70}%)" for p in pids.tolist()]
        fig.add_trace(go.Scattergl(x=emb[:, 0], y=emb[:, 1], mode="markers", showlegend=False,
                                   marker=dict(size=5, color=cols), name="identity"), 1, 2)
        fig.update_layout(title=title, width=1400, height=680, template="plotly_white",
                          legend=dict(x=0.47, y=1.0), margin=dict(l=30, r=30, t=80, b=30))
        fig.update_xaxes(showticklabels=False)
        fig.update_yaxes(showticklabels=False)
        fig.write_image(str(path), scale=1)
        return "plotly+kaleido"
    except Exception as e:  # noqa: BLE001 - fall back to a plain PIL drawing
        print(f"plotly/kaleido export failed ({type(e).__name__}: {e}); drawing with PIL")
        import colorsys

        from PIL import Image, ImageDraw

        w, h = 700, 700
        img = Image.new("RGB", (2 * w, h + 40), "white")
        dr = ImageDraw.Draw(img)
        lo, hi = emb.min(0), emb.max(0)
        xy = (emb - lo) / np.maximum(hi - lo, 1e-9) * (w - 40) + 20
        upids = np.unique(pids)
        perm = np.random.default_rng(0).permutation(len(upids))
        hue = dict(zip(upids.tolist(), perm / max(len(upids), 1)))
        for panel in (0, 1):
            for (x, y), c, p in zip(xy, camids, pids):
                hh = (int(c) / (camids.max() + 1)) if panel == 0 else hue[int(p)]
                r, g, b = (int(255 * v) for v in colorsys.hsv_to_rgb(hh, 0.8, 0.85))
                x0, y0 = x + panel * w, y + 40
                dr.ellipse([x0 - 3, y0 - 3, x0 + 3, y0 + 3], fill=(r, g, b))
        dr.text((10, 10), title + " — left: camera, right: identity", fill="black")
        img.save(path)
        return "PIL"


def examples_png(ts, path: Path, n_ids: int = 10) -> None:
    """A grid of example frames: rows = test identities, columns = cameras (blank: not seen)."""
    from PIL import Image

    by = {}
    for t in ts.gallery:
        if t.pid > 0:
            by.setdefault(t.pid, {}).setdefault(t.camid, t)
    pids = sorted(by, key=lambda p: (-len(by[p]), p))[:n_ids]
    h, w = 128, 64
    grid = np.full((len(pids) * h, ts.num_cameras * w, 3), 255, np.uint8)
    for i, p in enumerate(pids):
        for c, t in by[p].items():
            grid[i * h:(i + 1) * h, c * w:(c + 1) * w] = read_frame(t.frames[0], (h, w))
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)


def examples_pair_png(ts_a, ts_b, path: Path, n_ids: int = 8) -> None:
    """Style a (left block) beside style b (right block): rows = identities (different people in
    each block), columns = cameras; a white gap between the blocks."""
    from PIL import Image

    def block(ts):
        by = {}
        for t in ts.gallery:
            if t.pid > 0:
                by.setdefault(t.pid, {}).setdefault(t.camid, t)
        pids = sorted(by, key=lambda p: (-len(by[p]), p))[:n_ids]
        g = np.full((n_ids * 128, ts.num_cameras * 64, 3), 255, np.uint8)
        for i, p in enumerate(pids):
            for c, t in by[p].items():
                g[i * 128:(i + 1) * 128, c * 64:(c + 1) * 64] = read_frame(t.frames[0], (128, 64))
        return g

    a, b = block(ts_a), block(ts_b)
    h = max(a.shape[0], b.shape[0])
    grid = np.full((h, a.shape[1] + 24 + b.shape[1], 3), 255, np.uint8)
    grid[:a.shape[0], :a.shape[1]] = a
    grid[:b.shape[0], a.shape[1] + 24:] = b
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)


def load_test_split(root):
    """The test tracklets of a SynthCams folder: (dataset, gallery, query rows, pids, camids)."""
    ts = load_dataset("mars", root)  # official protocol: the query tracks are in the gallery
    # unique test tracklets = the gallery (it contains the queries); queries index into it
    gallery = list(ts.gallery)
    key = {t.frames: i for i, t in enumerate(gallery)}
    qi = np.asarray([key[t.frames] for t in ts.query])
    pids = np.asarray([t.pid for t in gallery])
    camids = np.asarray([t.camid for t in gallery])
    return ts, gallery, qi, pids, camids


def domain_probe(feats_a, pids_a, feats_b, pids_b, seed) -> dict:
    """Linear probe style a vs style b on the test tracklets of both (distractors left out):
    folds hold out whole identities (GroupKFold) and, second number, random tracklets."""
    x = np.concatenate([feats_a[pids_a > 0], feats_b[pids_b > 0]])
    y = np.r_[np.zeros((pids_a > 0).sum(), int), np.ones((pids_b > 0).sum(), int)]
    groups = np.r_[pids_a[pids_a > 0], pids_b[pids_b > 0] + 100_000]
    held_ids = camera_probe(x, y, groups=groups, seed=seed)
    held_tr = camera_probe(x, y, seed=seed)
    return {"accuracy_heldout_ids": held_ids["accuracy"], "accuracy_heldout_tracklets": held_tr["accuracy"],
            "chance": held_ids["chance"], "per_style_accuracy": {"a": held_ids["per_camera_accuracy"][0],
                                                                 "b": held_ids["per_camera_accuracy"][1]},
            "n": {"a": int((pids_a > 0).sum()), "b": int((pids_b > 0).sum())}, "folds": held_ids["folds"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", choices=STYLES, default="a",
                    help="SynthCams style to calibrate; b also measures the a-vs-b domain gap (default a)")
    ap.add_argument("--root", default=None, help="dataset folder (default data/synthcams, style b: data/synthcams_b)")
    ap.add_argument("--compare-root", default=str(ROOT / "data" / "synthcams"),
                    help="style b: the style-a dataset of the domain probe (generated if missing; default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domain-gap", type=float, default=SynthConfig().domain_gap)
    ap.add_argument("--max-frames", type=int, default=8)
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    cfg = SynthConfig(seed=args.seed, domain_gap=args.domain_gap, style=args.style)
    b_style = args.style == "b"
    root = args.root or str(ROOT / "data" / ("synthcams_b" if b_style else "synthcams"))
    t0 = time.perf_counter()
    root = ensure_default(root, cfg)
    if b_style:
        root_a = ensure_default(args.compare_root, SynthConfig(seed=args.seed, domain_gap=args.domain_gap))
    t_gen = time.perf_counter() - t0
    ts, gallery, qi, pids, camids = load_test_split(root)
    gi = np.arange(len(gallery))

    t0 = time.perf_counter()
    feats = extract(gallery, args.max_frames)
    t_feat = time.perf_counter() - t0
    res_raw = metrics(feats, pids, camids, qi, gi, args.seed)
    res_cent = metrics(center_per_camera(feats, camids), pids, camids, qi, gi, args.seed)
    domain = None
    if b_style:
        t0 = time.perf_counter()
        ts_a, gallery_a, qi_a, pids_a, camids_a = load_test_split(root_a)
        feats_a = extract(gallery_a, args.max_frames)
        t_feat += time.perf_counter() - t0
        res_a = metrics(feats_a, pids_a, camids_a, qi_a, np.arange(len(gallery_a)), args.seed)
        marker_a = json.loads((Path(root_a) / "SYNTHCAMS_COMPLETE.json").read_text())
        domain = {
            "style_a_dataset": {"root": str(root_a), "config": marker_a["config"], "counts": marker_a["counts"]},
            "domain_probe": domain_probe(feats_a, pids_a, feats, pids, args.seed),
            "style_a_imagenet": {k: v for k, v in res_a.items() if k != "camera_probe_confusion"},
        }

    from reidlab.analysis.embedding import embed_2d

    t0 = time.perf_counter()
    people = pids > 0
    emb = embed_2d(feats[people], "tsne", seed=args.seed, use_cache=False)
    t_tsne = time.perf_counter() - t0
    sfx = f"_{args.tag}" if args.tag else ""
    name = "synthcams_b" if b_style else "synthcams"  # file name prefix
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{name}_tsne_imagenet{sfx}.png"
    renderer = tsne_png(emb, camids[people], pids[people], png,
                        f"SynthCams{' style b' if b_style else ''} test tracklets, ImageNet EfficientNet-Lite0 features (t-SNE, "
                        f"{int(people.sum())} tracklets, {len(np.unique(pids[people]))} ids)")

    ex_png = out / f"{name}_examples{sfx}.png"
    if b_style:
        examples_pair_png(ts_a, ts, ex_png)
    else:
        examples_png(ts, ex_png)
    marker = json.loads((Path(root) / "SYNTHCAMS_COMPLETE.json").read_text())
    st = stamp(argv, __file__)
    st["machine"]["device"] = "cpu"  # extract() runs the backbone on the CPU
    result = {
        **st,
        "dataset": {"root": str(root), "config": marker["config"], "counts": marker["counts"],
                    "protocol": ts.meta.get("protocol", "official")},
        "features": {"backbone": "effnet_lite0 (ImageNet, packaged weights)", "last_stride": 1,
                     "pooling": "global average over the map, mean over frames",
                     "max_frames": args.max_frames, "dim": int(feats.shape[1])},
        "imagenet": res_raw,
        "imagenet_camera_centred": res_cent,
        "tsne_png": png.name,
        "examples_png": ex_png.name,
        **({"domain_gap_a_vs_b": domain} if domain else {}),
        "tsne_renderer": renderer,
        "seconds": {"generate_or_reuse": round(t_gen, 1), "features": round(t_feat, 1), "tsne": round(t_tsne, 1)},
    }
    (out / f"{name}_calibration{sfx}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{name}_calibration{sfx}.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


def to_markdown(r: dict) -> str:
    a, b = r["imagenet"], r["imagenet_camera_centred"]
    c = r["dataset"]["counts"]
    rows = [
        ("linear camera probe, held-out identities (target ≥ 0.9)", "camera_probe_accuracy_heldout_ids"),
        ("linear camera probe, held-out tracklets", "camera_probe_accuracy_heldout_tracklets"),
        ("probe chance (majority camera)", "camera_probe_chance"),
        ("same-camera rank-1", "same_camera_rank1"),
        ("cross-camera rank-1", "cross_camera_rank1"),
        ("same − cross rank-1", "rank1_gap"),
        ("same-camera mAP", "same_camera_mAP"),
        ("cross-camera mAP", "cross_camera_mAP"),
    ]
    style = r["dataset"]["config"].get("style", "a")
    lines = [
        f"# SynthCams{' style ' + style if style != 'a' else ''} calibration (ImageNet features)",
        "",
        *md_header(r),
        f"Dataset: {r['dataset']['root']} — config {json.dumps(r['dataset']['config'])}  ",
        f"Counts: {json.dumps(c)}  ",
        f"Features: {r['features']['backbone']}, {r['features']['pooling']} (≤ {r['features']['max_frames']} frames), "
        f"dim {r['features']['dim']}, on the {r['machine']['device']}. Evaluation protocol: MARS {r['dataset']['protocol']} (queries kept in the gallery).",
        "",
        "| measure | ImageNet features | after per-camera mean centring |",
        "|---|---|---|",
    ]
    for name, k in rows:
        lines.append(f"| {name} | {a[k]:.3f} | {b[k]:.3f} |")
    for k in ("rank1", "rank5", "mAP", "mINP"):
        lines.append(f"| query/gallery {k} | {a['query_gallery'][k]:.3f} | {b['query_gallery'][k]:.3f} |")
    lines += ["", f"Valid queries: {a['query_gallery']['num_valid_queries']} "
              f"(skipped {a['query_gallery']['num_skipped_queries']}). Same-/cross-camera queries: "
              f"{a['same_camera_queries']} / {a['cross_camera_queries']}.",
              "", f"t-SNE: `{r['tsne_png']}` ({r['tsne_renderer']}); examples: `{r.get('examples_png', '')}`; "
              f"timings (s): {json.dumps(r['seconds'])}", ""]
    d = r.get("domain_gap_a_vs_b")
    if d:
        p, ra = d["domain_probe"], d["style_a_imagenet"]
        lines += [
            "## Domain gap: style a vs style b (same seed)",
            "",
            f"Style-a dataset: {d['style_a_dataset']['root']} — config {json.dumps(d['style_a_dataset']['config'])}  ",
            f"Domain probe: the same linear probe (standardise → logistic regression, 5-fold CV) predicting "
            f"the style of a test tracklet ({p['n']['a']} style-a + {p['n']['b']} style-b tracklets, distractors "
            "left out).",
            "",
            "| measure | style a | style b |",
            "|---|---|---|",
            f"| domain probe a vs b, held-out identities | {p['accuracy_heldout_ids']:.3f} (chance {p['chance']:.3f}) | |",
            f"| domain probe a vs b, held-out tracklets | {p['accuracy_heldout_tracklets']:.3f} | |",
            f"| domain probe recall per style | {p['per_style_accuracy']['a']:.3f} | {p['per_style_accuracy']['b']:.3f} |",
        ]
        for name, k in rows[:5]:
            lines.append(f"| {name} | {ra[k]:.3f} | {a[k]:.3f} |")
        lines.append(f"| query/gallery rank-1 | {ra['query_gallery']['rank1']:.3f} | {a['query_gallery']['rank1']:.3f} |")
        lines.append(f"| query/gallery mAP | {ra['query_gallery']['mAP']:.3f} | {a['query_gallery']['mAP']:.3f} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
