"""The first label update of a clustering method under the camera-debiasing options, measured
without training.

    nice -n 10 python bench/debias_first_update.py [--dataset data/synthcams] [--preset quick]

Embeds what CAWCL's (and CALR's) first label update clusters — every training tracklet of the
dataset cut into 2 clips, 8 frames each, by the ImageNet-initialised network of the preset
(quick: EfficientNet-Lite0 at 96×48) — and clusters those features with
:func:`reidlab.cluster.debias.debiased_labels` (the clips of one tracklet are one group, as in
the methods) over the grid

    cam_norm ∈ {none, center, standardize} × neighbours ∈ {plain, balanced, cross}
    × k rule ∈ {fixed 30/6 (SpCL), fixed 15/4, auto} × eps ∈ {0.5, 0.6, 0.7}

then the auto rule's scale a ∈ {0.5, 0.75, 1, 1.5, 2} and SpCL's reliability criterion on the
best settings. For each: pairwise precision / recall / F against the true identities (used
only to measure), clusters, outliers, cameras per cluster, and the same-camera neighbour share
(k = 30) of the raw and of the normalised features and of the Jaccard candidate lists. Also
the same on whole tracklets (one sample per tracklet, no groups: PIRID-like units).

The features are cached in ``runs/debias_first_update/features_<preset>_<dataset>.npz``
(git-ignored; one file per dataset folder).
Writes bench/results/debias_first_update.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from benchlib import RESULTS, ROOT, md_header, stamp

CAM_NORMS = ("none", "center", "standardize")
NEIGHBOURS = ("plain", "balanced", "cross")
K_SETTINGS = (("fixed 30/6", "fixed", 30, 6), ("fixed 15/4", "fixed", 15, 4),
              ("auto", "auto", 30, 6))
EPS = (0.5, 0.6, 0.7)
K_SCALES = (0.5, 0.75, 1.0, 1.5, 2.0)


def features(dataset: str, preset: str, cache: Path) -> dict:
    """Clip-level features of CAWCL's first label update (and the tracklet of each clip)."""
    if cache.is_file():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    import dataclasses as dc

    import torch

    from reidlab.data.loader import embed_tracklets
    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import cpu_has_bf16, load_data
    from reidlab.methods import build_method

    cfg = make_config(preset, dataset=dataset, method="cawcl")
    data = load_data(cfg)
    torch.manual_seed(0)
    method = build_method(cfg, data.train, data.num_cameras).eval()
    samples = method.label_samples()
    ecfg = dc.replace(cfg, eval_frames=method.label_frames())
    autocast = bool(cfg.eval_bf16) and cpu_has_bf16()
    t0 = time.time()
    emb = embed_tracklets(method.embed, [s[2] for s in samples], ecfg, method.net.input_norm,
                          autocast=autocast)
    feat = emb.feat / np.maximum(np.linalg.norm(emb.feat, axis=1, keepdims=True), 1e-12)
    rows = np.asarray(emb.index)
    out = {"feat": feat.astype(np.float32),
           "tracklet": np.array([samples[i][0] for i in rows], np.int64),
           "clip": np.array([samples[i][1] for i in rows], np.int64),
           "pid": np.asarray(emb.pids, np.int64), "camid": np.asarray(emb.camids, np.int64),
           "seconds": np.float64(time.time() - t0)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def measure(feat, pid, cam, groups, **kw) -> dict:
    from reidlab.cluster.debias import debiased_labels
    from reidlab.cluster.quality import cluster_quality

    res = debiased_labels(feat, cam, groups=groups, **kw)
    q = cluster_quality(res.labels, pid, cam)
    keep = ("k1", "k2", "same_cam_share_raw", "same_cam_share", "candidate_same_cam_share",
            "reliability_dropped")
    return {"precision": q["precision"], "recall": q["recall"], "fscore": q["fscore"],
            "ari": q["ari"], "clusters": q["num_clusters"], "outliers": q["outlier_fraction"],
            "cameras_per_cluster": q["cameras_per_cluster"], "time_s": res.time_s,
            **{k: res.info[k] for k in keep if k in res.info}}


def grid(feat, pid, cam, groups, eps_list=EPS, share=True) -> list[dict]:
    rows = []
    shares: dict = {}
    for cn in CAM_NORMS:
        for nb in NEIGHBOURS:
            for name, rule, k1, k2 in K_SETTINGS:
                for eps in eps_list:
                    m = measure(feat, pid, cam, groups, cam_norm=cn, neighbours=nb, k_rule=rule,
                                k1=k1, k2=k2, eps=eps, share_k=30 if cn not in shares else 0)
                    if "same_cam_share" in m:
                        shares[cn] = (m["same_cam_share_raw"], m["same_cam_share"])
                    m["same_cam_share_raw"], m["same_cam_share"] = shares[cn]
                    rows.append({"cam_norm": cn, "neighbours": nb, "k": name, "eps": eps, **m})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/synthcams")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--out", default=str(RESULTS / "debias_first_update"))
    args = ap.parse_args(argv)
    if not (Path(args.dataset) / "info").is_dir() and not Path(args.dataset).is_dir():
        raise SystemExit(f"{args.dataset}: expected a dataset folder (python -m reidlab synth "
                         "--out data/synthcams --if-missing)")
    st = stamp(argv)
    # one cache per dataset folder and preset (another dataset never reads this one's)
    slug = "_".join(Path(args.dataset).resolve().parts[-2:])
    cache = ROOT / "runs" / "debias_first_update" / f"features_{args.preset}_{slug}.npz"
    z = features(args.dataset, args.preset, cache)
    feat, pid, cam, trk = z["feat"], z["pid"], z["camid"], z["tracklet"]
    # clips: the tracklet is the group (CAWCL's / CALR's clip_positives)
    clips = grid(feat, pid, cam, trk)
    best = max(clips, key=lambda r: r["fscore"])
    scale_rows = []
    for cn in CAM_NORMS:
        for nb in NEIGHBOURS:
            for a in K_SCALES:
                for eps in EPS:
                    m = measure(feat, pid, cam, trk, cam_norm=cn, neighbours=nb, k_rule="auto",
                                k_scale=a, eps=eps, share_k=0)
                    scale_rows.append({"cam_norm": cn, "neighbours": nb, "k_scale": a,
                                       "eps": eps, **m})
    rel_rows = []
    top = sorted(clips, key=lambda r: -r["fscore"])[:5]
    base = [r for r in clips if r["cam_norm"] == "none" and r["neighbours"] == "plain"
            and r["k"] == "fixed 30/6" and r["eps"] == 0.6]
    for r in base + top:
        k1, k2, rule = ((30, 6, "fixed") if r["k"] == "fixed 30/6" else
                        (15, 4, "fixed") if r["k"] == "fixed 15/4" else (30, 6, "auto"))
        for rel in (False, True):
            m = measure(feat, pid, cam, trk, cam_norm=r["cam_norm"], neighbours=r["neighbours"],
                        k_rule=rule, k1=k1, k2=k2, eps=r["eps"], reliability=rel, share_k=0)
            rel_rows.append({"cam_norm": r["cam_norm"], "neighbours": r["neighbours"],
                             "k": r["k"], "eps": r["eps"], "reliability": rel, **m})
    # whole tracklets (one sample each, no groups): the mean of a tracklet's clip features
    ut, inv = np.unique(trk, return_inverse=True)
    tf = np.zeros((ut.size, feat.shape[1]), np.float64)
    np.add.at(tf, inv.ravel(), feat)
    tf = (tf / np.linalg.norm(tf, axis=1, keepdims=True)).astype(np.float32)
    first = np.unique(inv.ravel(), return_index=True)[1]
    tracklets = grid(tf, pid[first], cam[first], None, eps_list=(0.6,))
    out = {**st, "dataset": args.dataset, "preset": args.preset,
           "samples": int(len(feat)), "tracklets": int(ut.size),
           "identities": int(np.unique(pid).size), "cameras": int(np.unique(cam).size),
           "feature_seconds": float(z["seconds"]), "clips": clips, "best": best,
           "auto_scale": scale_rows, "reliability": rel_rows, "whole_tracklets": tracklets}
    Path(args.out + ".json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    Path(args.out + ".md").write_text(to_markdown(out))
    print(to_markdown(out))
    return 0


def _f(v, nd=3):
    return "—" if v is None else f"{v:.{nd}f}"


def _table(rows, keys) -> list[str]:
    head = [k for k, _ in keys] + ["P", "R", "F", "clusters", "outliers", "cams/cluster",
                                   "same-cam share (raw → normalised)", "candidates same-cam"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(
            [str(fn(r)) for _, fn in keys]
            + [_f(r["precision"]), _f(r["recall"]), f"**{_f(r['fscore'])}**",
               str(r["clusters"]), _f(r["outliers"], 2), _f(r["cameras_per_cluster"], 2),
               f"{_f(r.get('same_cam_share_raw'), 2)} → {_f(r.get('same_cam_share'), 2)}",
               _f(r.get("candidate_same_cam_share"), 2)]) + " |")
    return lines


def to_markdown(r: dict) -> str:
    lines = ["# The first label update under the camera-debiasing options", "",
             *md_header(r), "",
             f"Dataset `{r['dataset']}`, preset `{r['preset']}` (ImageNet-initialised network, "
             f"no training): {r['samples']} clips of {r['tracklets']} training tracklets, "
             f"{r['identities']} identities, {r['cameras']} cameras; the clips of a tracklet "
             "are one group (as in CAWCL and CALR). P / R / F: pairwise precision, recall, "
             "F-score against the true identities (measurement only). Same-camera share: the "
             "fraction of each sample's 30 nearest neighbours from its own camera (raw "
             "features → after cam_norm); candidates: of the k1 Jaccard candidate lists.", ""]
    b = r["best"]
    base = next(x for x in r["clips"] if x["cam_norm"] == "none" and x["neighbours"] == "plain"
                and x["k"] == "fixed 30/6" and x["eps"] == 0.6)
    lines += [f"Today's clustering (none / plain / 30,6 / eps 0.6): F {base['fscore']:.3f}, "
              f"P {base['precision']:.3f}, {base['cameras_per_cluster'] or 0:.2f} cameras per "
              f"cluster. Best of the grid: {b['cam_norm']} / {b['neighbours']} / {b['k']} "
              f"(k1 {b.get('k1')}, k2 {b.get('k2')}) / eps {b['eps']}: F {b['fscore']:.3f}, "
              f"P {b['precision']:.3f}, {b['cameras_per_cluster'] or 0:.2f} cameras per "
              "cluster.", "", "## Clips, the whole grid", ""]
    keys = [("cam_norm", lambda x: x["cam_norm"]), ("neighbours", lambda x: x["neighbours"]),
            ("k1/k2", lambda x: f"{x['k']} ({x.get('k1')}/{x.get('k2')})"),
            ("eps", lambda x: x["eps"])]
    lines += _table(r["clips"], keys)
    lines += ["", "## The auto rule's scale a (k1 = clamp(round(a · clips per tracklet · "
              "cameras), 4, 30), k2 = max(2, round(k1/5)))", ""]
    lines += _table(r["auto_scale"], [("cam_norm", lambda x: x["cam_norm"]),
                                      ("neighbours", lambda x: x["neighbours"]),
                                      ("a", lambda x: x["k_scale"]),
                                      ("k1/k2", lambda x: f"{x.get('k1')}/{x.get('k2')}"),
                                      ("eps", lambda x: x["eps"])])
    lines += ["", "## SpCL's reliability criterion (today's setting and the five best)", ""]
    lines += _table(r["reliability"], keys + [("reliability", lambda x: x["reliability"]),
                                              ("dropped", lambda x: x.get(
                                                  "reliability_dropped", "—"))])
    lines += ["", "## Whole tracklets (mean clip feature, no groups; eps 0.6)", ""]
    lines += _table(r["whole_tracklets"], keys)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
