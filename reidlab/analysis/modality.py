"""The modality gap stage by stage (the infrared paper's Fig. 3).

``stage_correlation`` asks how correlated the same person's features are across modalities at
each backbone stage: for pairs (an infrared image, a colour image) of one person it takes the
average-pooled output of each stage and their Pearson correlation, averaged over the pairs —
next to the same number for pairs of *different* people, the level a stage gives anyway. The
paper's hypothesis, that shallow features share more across modalities than deep ones, shows as
a same-person correlation that falls with depth; what a method buys shows as the gap between
the two curves.

``stage_features`` embeds images into the pooled outputs of the four stages with any reidlab
model: ``xmodal_adv`` (its two streams, each image through its own modality's) or a method
whose ``net`` is a ``ReIDNet`` (one stream).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from reidlab.data.tracklets import COLOUR, INFRARED, Tracklet


@torch.no_grad()
def stage_features(method, tracklets: Sequence[Tracklet], cfg, device="cpu",
                   batch: int = 32) -> list[np.ndarray]:
    """Per stage 1–4, an N×C_j array of each tracklet's pooled stage output (mean over its
    evenly spaced frames, as evaluation takes them). ``method``: a method (its ``net``) or a
    network itself (e.g. an ImageNet-initialised ``ReIDNet``)."""
    from reidlab.data.loader import EvalTrackletDataset, collate_tracklets

    net = getattr(method, "net", method)
    was = method.training
    method.eval()
    ds = EvalTrackletDataset(list(tracklets), cfg, net.input_norm)
    outs: list[list[np.ndarray]] = [[], [], [], []]
    try:
        for s in range(0, len(ds), batch):
            b = collate_tracklets([ds[i] for i in range(s, min(len(ds), s + batch))])
            clips = b["clips"].to(device)
            out = net(clips, b["modality"].to(device)) if hasattr(net, "shared") else net(clips)
            if "g" in out:
                gs = out["g"]
            else:
                gs = [x.mean((2, 3)) for x in out["stages"]] + [out["map"].mean((2, 3))]
            owner = b["owner"].numpy()
            for j, g in enumerate(gs):
                g = g.float().cpu().numpy()
                per = np.zeros((owner.max() + 1, g.shape[1]), np.float64)
                np.add.at(per, owner, g)
                per /= np.bincount(owner)[:, None]
                outs[j].append(per.astype(np.float32))
    finally:
        method.train(was)
    return [np.concatenate(o) for o in outs]


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(den, 1e-12)


def cross_modal_pairs(pids: Sequence[int], modality: Sequence[int], max_pairs: int = 500,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(same-person, different-person) index pairs (infrared row, colour row), at most
    ``max_pairs`` each, drawn with ``seed``; the different-person pairs keep the infrared rows
    of the same-person ones."""
    pids, modality = np.asarray(pids), np.asarray(modality)
    rng = np.random.default_rng(seed)
    ir = np.flatnonzero(modality == INFRARED)
    col = np.flatnonzero(modality == COLOUR)
    same = [(i, j) for i in ir for j in col[pids[col] == pids[i]]]
    if len(same) > max_pairs:
        same = [same[k] for k in rng.choice(len(same), max_pairs, replace=False)]
    diff = []
    for i, _ in same:
        others = col[pids[col] != pids[i]]
        if others.size:
            diff.append((i, int(rng.choice(others))))
    return np.asarray(same, np.int64).reshape(-1, 2), np.asarray(diff, np.int64).reshape(-1, 2)


def stage_correlation(stage_feats: Sequence[np.ndarray], pids, modality, max_pairs: int = 500,
                      seed: int = 0) -> dict:
    """Mean Pearson correlation of infrared/colour pairs per stage: ``{"stage": [1..4],
    "same_person": [...], "different_person": [...], "pairs": n}`` (NaN without pairs)."""
    same, diff = cross_modal_pairs(pids, modality, max_pairs, seed)
    out = {"stage": list(range(1, len(stage_feats) + 1)), "same_person": [],
           "different_person": [], "pairs": int(len(same))}
    for f in stage_feats:
        for key, pairs in (("same_person", same), ("different_person", diff)):
            out[key].append(float(_pearson_rows(f[pairs[:, 0]], f[pairs[:, 1]]).mean())
                            if len(pairs) else float("nan"))
    return out


def modality_distance_sets(feats, pids, camids, modality, max_pairs: int = 50_000,
                           max_rows: int = 3000, seed: int = 0) -> dict[str, dict]:
    """Same- vs different-person Euclidean distances per modality pair — ``"colour ↔
    colour"``, ``"infrared ↔ infrared"``, ``"infrared ↔ colour"`` — over the tracklets given
    (e.g. :func:`reidlab.analysis.domain_gap.pooled` query + gallery), pairs of one camera left
    out (same-camera matches are junk in the protocols). At most ``max_rows`` tracklets (a
    seeded subsample) and ``max_pairs`` pairs per set. Pairs present only: a colour-only
    dataset gives one panel."""
    from reidlab.data.tracklets import MODALITY_NAMES
    from reidlab.eval.ranking import compute_distmat

    feats = np.asarray(feats, np.float32)
    pids, camids, modality = (np.asarray(a) for a in (pids, camids, modality))
    rng = np.random.default_rng(seed)
    if len(feats) > max_rows:
        keep = np.sort(rng.choice(len(feats), max_rows, replace=False))
        feats, pids, camids, modality = feats[keep], pids[keep], camids[keep], modality[keep]
    d = compute_distmat(feats, feats)
    i, j = np.triu_indices(len(feats), k=1)
    other_cam = camids[i] != camids[j]
    same = pids[i] == pids[j]
    out = {}
    for a, b in ((COLOUR, COLOUR), (INFRARED, INFRARED), (INFRARED, COLOUR)):
        pair = ((modality[i] == a) & (modality[j] == b)) | ((modality[i] == b) & (modality[j] == a))
        name = f"{MODALITY_NAMES[a]} ↔ {MODALITY_NAMES[b]}"
        sets = {}
        for key, m in (("same", pair & other_cam & same), ("diff", pair & other_cam & ~same)):
            idx = np.flatnonzero(m)
            if len(idx) > max_pairs:
                idx = rng.choice(idx, max_pairs, replace=False)
            sets[key] = d[i[idx], j[idx]].astype(np.float32)
        if len(sets["same"]) or len(sets["diff"]):
            out[name] = sets
    return out


def modality_retrieval(feats, pids, camids, modality) -> dict[str, dict]:
    """Retrieval inside each modality and across, over the tracklets given (e.g.
    :func:`reidlab.analysis.domain_gap.pooled` query + gallery): ``"colour → colour"`` and
    ``"infrared → infrared"`` (every tracklet of the modality against the others, across
    cameras: the protocols' junk rule leaves a query's own camera out), ``"infrared →
    colour"`` (infrared queries, colour gallery: one gallery of every colour tracklet, not the
    SYSU-MM01 protocol's sampled trials). Each: ``{"rank1", "mAP", "queries"}`` (queries with
    a true match). A set without two cameras, or without queries that have a match, is left
    out: a colour-only dataset gives colour → colour alone. If a model matches people inside
    each modality but not across, the modality gap holds it back; if it fails inside one,
    that modality's features have not learnt the identities (the infrared SynthCams' thermal
    kind: docs/methods.md)."""
    from reidlab.data.tracklets import MODALITY_NAMES
    from reidlab.eval.ranking import evaluate_arrays

    feats = np.asarray(feats, np.float32)
    pids, camids, modality = (np.asarray(a) for a in (pids, camids, modality))
    out = {}
    for a, b in ((COLOUR, COLOUR), (INFRARED, INFRARED), (INFRARED, COLOUR)):
        q, g = np.flatnonzero(modality == a), np.flatnonzero(modality == b)
        if len(q) == 0 or len(g) == 0 or len(np.unique(np.concatenate([camids[q],
                                                                         camids[g]]))) < 2:
            continue
        r = evaluate_arrays(feats[q], feats[g], pids[q], pids[g], camids[q], camids[g],
                            pairs=False)
        if r["num_valid_queries"]:
            out[f"{MODALITY_NAMES[a]} → {MODALITY_NAMES[b]}"] = {
                "rank1": float(r["rank1"]), "mAP": float(r["mAP"]),
                "queries": int(r["num_valid_queries"])}
    return out
