"""Atomic file writing — the one helper every run-store, feature, cache and export file uses.

A writer writes to a temp file in the destination folder, which is renamed over the target
only once complete (``os.replace`` is atomic on POSIX), so a reader never sees a half-written
file and a kill or a full disk (ENOSPC) leaves the previous version intact. Temp files get the
usual permissions of a new file (``mkstemp`` makes them 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator


def make_readable(path: str | Path) -> None:
    """Give a temp file (mkstemp makes 0600) the usual permissions of a new file."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temp path next to ``path``; on success it replaces ``path``, on any error it
    is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode())


def write_json_atomic_plain(path: str | Path, obj, indent: int | None = 1) -> Path:
    """``json.dump`` of ``obj`` (no cleaning; see ``engine.runs.write_json_atomic``)."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, allow_nan=False))


def write_npz_atomic(path: str | Path, arrays: dict) -> Path:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


def write_npy_atomic(path: str | Path, array) -> Path:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
    return Path(path)


def save_torch_atomic(obj, path: str | Path) -> Path:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)
