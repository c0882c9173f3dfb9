"""Query/gallery embeddings as stored in a run (``features/<which>.npz``).

``FeatureSet`` is the unit that evaluation, analysis and the app pages consume. ``q_index`` /
``g_index`` point into ``TrackletSet.query`` / ``.gallery`` of the dataset the run used, so a
page can show the frames of any row.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from reidlab.errors import DatasetError


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

    def save(self, path: str | Path) -> None:
        """Write atomically (temp file in the same folder, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **{f.name: getattr(self, f.name) for f in fields(self)})
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> "FeatureSet":
        path = Path(path)
        if not path.is_file():
            raise DatasetError(path, "a features .npz file written by reidlab", "no such file")
        try:
            with np.load(path) as z:
                return cls(**{f.name: z[f.name] for f in fields(cls)})
        except (KeyError, ValueError, OSError) as e:
            raise DatasetError(path, "a features .npz with keys " +
                               ", ".join(f.name for f in fields(cls)), str(e)) from e
