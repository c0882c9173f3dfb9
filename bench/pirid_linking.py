"""Why PIRID's prototype links fail on SynthCams: the ID features it links, measured.

    python bench/pirid_linking.py [--run runs/table_pirid/pirid] [--update 3]

Reads a PIRID run's stored label update (``labels/update_EEE.npz``: every training sample's
feature and camera-local ID at the first inter-camera update), rebuilds one ID feature per
camera-local ID (the mean of its samples, ℓ2-normalised — what the ID memory holds), and asks:
is an ID's nearest other ID the same person, or an ID of the same camera? Then it links the IDs
with the k-reciprocal Jaccard distance + DBSCAN over a grid of k1 and eps (the paper: eps 0.6;
SpCL's k1 30), also with the ``cross_camera_only`` option and on camera-centred ID features,
and reports the prototypes, the IDs linked and the link precision (the share of
linked ID pairs that are one person). Writes bench/results/pirid_linking.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from benchlib import RESULTS, md_header, stamp



def link_precision(labels: np.ndarray, pids: np.ndarray) -> tuple[float, int, int]:
    same = total = 0
    for c in np.unique(labels[labels >= 0]):
        p = pids[labels == c]
        n = len(p)
        total += n * (n - 1) // 2
        _, cnt = np.unique(p, return_counts=True)
        same += int((cnt * (cnt - 1) // 2).sum())
    return (same / total if total else float("nan"),
            int(len(np.unique(labels[labels >= 0]))), int((labels >= 0).sum()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/table_pirid/pirid")
    ap.add_argument("--update", type=int, default=3, help="epochs completed at the update")
    ap.add_argument("--k1", default="30,15,8,4")
    ap.add_argument("--eps", default="0.6,0.5,0.4")
    ap.add_argument("--out", default=str(RESULTS / "pirid_linking"))
    args = ap.parse_args(argv)
    path = Path(args.run) / "labels" / f"update_{args.update:03d}.npz"
    if not path.is_file():
        raise SystemExit(f"{path}: expected a PIRID label update (train the run first: "
                         "python bench/table_pirid.py --rows pirid)")
    z = np.load(path)
    f, loc, pid, cam = z["feat"].astype(np.float32), z["label_local"], z["pid"], z["camid"]
    ids = np.unique(loc[loc >= 0])
    slots = np.stack([f[loc == i].mean(0) for i in ids])
    slots /= np.linalg.norm(slots, axis=1, keepdims=True)
    spid = np.array([np.bincount(pid[loc == i]).argmax() for i in ids])
    scam = np.array([cam[loc == i][0] for i in ids])
    sim = slots @ slots.T
    np.fill_diagonal(sim, -np.inf)
    nn = sim.argmax(1)
    other = sim.copy()
    other[scam[:, None] == scam[None, :]] = -np.inf  # the nearest ID of another camera
    nn_other = other.argmax(1)
    found = {"ids": int(len(ids)), "persons": int(len(np.unique(spid))),
             "nn_same_person": float((spid[nn] == spid).mean()),
             "nn_same_camera": float((scam[nn] == scam).mean()),
             "nn_other_camera_same_person": float((spid[nn_other] == spid).mean())}
    from reidlab.methods.pirid import link_prototypes

    centred = slots.copy()  # each camera's mean ID feature removed
    for c in np.unique(scam):
        centred[scam == c] -= centred[scam == c].mean(0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    grid = []
    for mode, x, xcam in (("paper", slots, False), ("cross_camera_only", slots, True),
                          ("camera_centred", centred, False)):
        for k1 in (int(k) for k in args.k1.split(",")):
            for eps in (float(e) for e in args.eps.split(",")):
                lab = link_prototypes(x, scam, k1=k1, k2=min(6, k1), eps=eps,
                                      cross_camera_only=xcam)
                prec, protos, linked = link_precision(np.asarray(lab), spid)
                grid.append({"mode": mode, "k1": k1, "eps": eps, "prototypes": protos,
                             "linked_ids": linked, "link_precision": prec})
    st = stamp(argv, __file__)
    out = {**st, "run": args.run, "update": args.update, **found, "grid": grid}
    p = Path(args.out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    chance = 1.0 / max(found["persons"], 1)
    md = ["# PIRID's ID features and their links on SynthCams", "", *md_header(st),
          f"Run {args.run}, label update after {args.update} epochs (the first inter-camera "
          f"update): {found['ids']} camera-local IDs of {found['persons']} people.", "",
          f"- nearest other ID is the same person: {100 * found['nn_same_person']:.1f} % "
          f"(chance ≈ {100 * chance:.1f} %)",
          f"- nearest other ID is in the same camera: {100 * found['nn_same_camera']:.1f} %",
          f"- nearest ID of another camera is the same person: "
          f"{100 * found['nn_other_camera_same_person']:.1f} %", "",
          "Linking: `paper` = the method's k-reciprocal Jaccard + DBSCAN over all ID "
          "features; `cross_camera_only` = the option that keeps two IDs of one camera apart; "
          "`camera_centred` = each camera's mean ID feature removed first (not in the paper).",
          "", "| linking | k1 | eps | prototypes | IDs linked | link precision |",
          "|---|---|---|---|---|---|"]
    md += [f"| {g['mode']} | {g['k1']} | {g['eps']} | {g['prototypes']} | {g['linked_ids']} | "
           f"{g['link_precision']:.3f} |" for g in grid]
    p.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
