"""Query/gallery embeddings as stored in a run (``features/<which>.npz``).

``FeatureSet`` is the unit that evaluation, analysis and the app pages consume. ``q_index`` /
``g_index`` point into ``TrackletSet.query`` / ``.gallery`` of the dataset the run used, so a
page can show the frames of any row.
"""

from __future__ import annotations

import zipfile

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from reidlab.atomic import write_npz_atomic as _write_npz_atomic
from reidlab.errors import DatasetError


def write_npz_atomic(path: str | Path, arrays: dict) -> Path:
    """``np.savez`` of ``arrays`` written atomically (see :mod:`reidlab.atomic`)."""
    return _write_npz_atomic(path, arrays)


@dataclass
class FeatureSet:
    q_feat: np.ndarray  # Nq×D float32
    g_feat: np.ndarray  # Ng×D float32
    q_pids: np.ndarray  # Nq int64
    g_pids: np.ndarray
    q_camids: np.ndarray  # 0-based
    g_camids: np.ndarray
    q_index: np.ndarray  # row -> index into TrackletSet.query
    g_index: np.ndarray  # row -> index into TrackletSet.gallery
    q_modality: np.ndarray | None = None  # COLOUR 0 / INFRARED 1 per row (None: all colour)
    g_modality: np.ndarray | None = None

    def __post_init__(self) -> None:
        for side in ("q", "g"):
            if getattr(self, f"{side}_modality") is None:
                n = len(getattr(self, f"{side}_pids"))
                setattr(self, f"{side}_modality", np.zeros(n, np.int64))

    def save(self, path: str | Path) -> None:
        """Write atomically (temp file in the same folder, then rename)."""
        write_npz_atomic(path, {f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: str | Path) -> "FeatureSet":
        path = Path(path)
        if not path.is_file():
            raise DatasetError(path, "a features .npz file written by reidlab", "no such file")
        try:
            with np.load(path) as z:  # files from before modalities: all colour
                return cls(**{f.name: z[f.name] for f in fields(cls)
                              if f.name in z.files or not f.name.endswith("_modality")})
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise DatasetError(path, "a features .npz with keys " +
                               ", ".join(f.name for f in fields(cls)), str(e)) from e


def extraction_precision(device, autocast: bool) -> str:
    """The precision a feature pass with ``autocast`` on ``device`` computes in, as the run's
    ``eval`` and ``labels`` records name it: ``"float32"`` without autocast, else autocast's
    dtype on that device: ``"bfloat16"`` (CPU autocast, ``eval_bf16``), ``"float16-amp"``
    (CUDA AMP; ``"<dtype>-amp"`` for another CUDA autocast dtype). A property of the machine
    and the precision switches, not of the run's settings: it is not in the fingerprint, but
    numbers near the floor move with it."""
    if not autocast:
        return "float32"
    import torch

    kind = torch.device(device).type
    get = getattr(torch, "get_autocast_dtype", None)
    dtype = get(kind) if get is not None else (torch.bfloat16 if kind == "cpu"
                                               else torch.float16)
    name = str(dtype).removeprefix("torch.")
    return name if kind == "cpu" else f"{name}-amp"


def extract_features(model, query, gallery, cfg, progress=None, device="cpu",
                     input_norm=None, autocast: bool = False,
                     on_corrupt=None) -> FeatureSet:
    """Embed query and gallery tracklets with ``model`` → :class:`FeatureSet`.

    ``model`` is a :class:`reidlab.methods.base.Method` (its ``embed`` and ``net.input_norm``
    are used; it is put in eval mode and restored) or a callable mapping clips B×T×3×H×W to
    embeddings B×D (then ``input_norm=((mean3), (std3))`` is required). A tracklet's embedding
    is the mean over clips of ``cfg.frames_per_clip`` evenly spaced frames (all frames, or up
    to ``cfg.eval_frames``). Tracklets without any readable frame are left out (``q_index`` /
    ``g_index`` say which rows remain); unreadable frames are passed to ``on_corrupt(paths)``.
    ``progress(fraction, message)`` is called as tracklets are done.
    """
    from reidlab.data.loader import embed_tracklets

    if hasattr(model, "embed"):
        embed_fn = model.embed
        if input_norm is None:
            input_norm = model.net.input_norm
    else:
        embed_fn = model
    if input_norm is None:
        raise ValueError("extract_features needs input_norm when given a plain embed function")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total = len(query) + len(gallery)
    try:
        parts = []
        for name, items, offset in (("query", query, 0), ("gallery", gallery, len(query))):
            cb = None
            if progress is not None:
                cb = (lambda done, n, o=offset, s=name:
                      progress((o + done) / max(total, 1), f"features: {s} {done}/{n}"))
            e = embed_tracklets(embed_fn, items, cfg, input_norm, device=device, progress=cb,
                                autocast=autocast)
            if on_corrupt is not None and (e.corrupt or e.dropped):
                on_corrupt(name, e.corrupt, e.dropped)
            parts.append(e)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    q, g = parts
    return FeatureSet(q_feat=q.feat, g_feat=g.feat, q_pids=q.pids, g_pids=g.pids,
                      q_camids=q.camids, g_camids=g.camids, q_index=q.index, g_index=g.index,
                      q_modality=np.array([query[i].modality for i in q.index], np.int64),
                      g_modality=np.array([gallery[i].modality for i in g.index], np.int64))
