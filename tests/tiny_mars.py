"""A tiny MARS-layout dataset with real (decodable) JPEG frames, for engine and CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image


def write_tiny_mars(root: Path, train_ids: int = 4, test_ids: int = 4, cameras: int = 3,
                    frames: tuple[int, int] = (3, 6), size: tuple[int, int] = (32, 16),
                    seed: int = 0) -> Path:
    """Each identity is seen by 2..``cameras`` cameras, one tracklet each, of a random number
    of frames in ``frames``. A frame is the identity's colour (top/bottom halves) plus a
    per-camera tint and noise. The first tracklet of every test identity is a query."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "info").mkdir(parents=True, exist_ok=True)
    h, w = size
    pid = 0
    for split, n_ids in (("train", train_ids), ("test", test_ids)):
        names, table, queries = [], [], []
        tint = rng.uniform(-60, 60, size=(cameras, 3))
        for _ in range(n_ids):
            pid += 1
            top, bottom = rng.uniform(40, 215, size=(2, 3))
            cams = sorted(rng.choice(cameras, rng.integers(min(2, cameras), cameras + 1), replace=False))
            for k, cam in enumerate(cams):
                n = int(rng.integers(frames[0], frames[1] + 1))
                if k == 0:
                    queries.append(len(table) + 1)
                start = len(names) + 1
                for f in range(n):
                    img = np.empty((h, w, 3))
                    img[: h // 2], img[h // 2:] = top, bottom
                    img += tint[cam] + rng.normal(0, 8, size=img.shape)
                    name = f"{pid:04d}C{cam + 1}T0001F{f + 1:03d}.jpg"
                    path = root / f"bbox_{split}" / f"{pid:04d}" / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=95)
                    names.append(name)
                table.append([start, len(names), pid, cam + 1])
        (root / "info" / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        key = f"track_{split}_info"
        scipy.io.savemat(root / "info" / f"tracks_{split}_info.mat", {key: np.array(table, np.int32)})
        if split == "test":
            scipy.io.savemat(root / "info" / "query_IDX.mat",
                             {"query_IDX": np.array(queries, np.uint16).reshape(1, -1)})
    return root
