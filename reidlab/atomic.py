"""Atomic file writing — the one helper every run-store, feature, cache and export file uses.

A writer writes to a temp file in the destination folder, which is renamed over the target
only once complete (``os.replace`` is atomic on POSIX), so a reader never sees a half-written
file and a kill or a full disk (ENOSPC) leaves the previous version intact. Temp files get the
usual permissions of a new file (``mkstemp`` makes them 0600).
"""

from __future__ import annotations

import contextlib
import errno
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
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in DISK_FULL:
            from reidlab.errors import DiskFullError

            raise DiskFullError(path) from e
        raise


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def ensure_writable_dir(path: str | Path, expected: str = "a writable folder") -> Path:
    """Create ``path`` (and its parents) and check that a file can be written in it; a
    :class:`~reidlab.errors.RunStoreError` naming the folder (a file in the way, permission
    denied, read-only file system) or a :class:`~reidlab.errors.DiskFullError` otherwise."""
    from reidlab.errors import DiskFullError, RunStoreError

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        if e.errno in DISK_FULL:
            raise DiskFullError(path) from None
        if path.exists() and not path.is_dir():
            found = "a file, not a folder"
        else:
            blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
            found = (f"{blocker} is a file, not a folder" if blocker is not None else
                     f"{e.strerror or e} ({errno.errorcode.get(e.errno, e.errno)})")
        raise RunStoreError(path, expected, found) from None
    return path


@contextlib.contextmanager
def file_lock(path: str | Path, expected: str = "a writable folder") -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on the file ``path`` (created empty if missing, in a
    folder checked by :func:`ensure_writable_dir` with ``expected`` in its error) for the
    block: one process at a time, across processes and threads with their own open file."""
    import fcntl

    path = Path(path)
    ensure_writable_dir(path.parent, expected)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_temp_file(path: str | Path) -> bool:
    """A temp file of :func:`atomic_path` (``.<name>.<random>.tmp``)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(".tmp")


def remove_temp_files(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Remove the temp files that interrupted writes (a kill) left in ``folder``; only call it
    on a folder whose writer is this process. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")
    gone = []
    for p in found:
        if p.is_file() and is_temp_file(p):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


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


class _WriteErrors:
    """A binary file that remembers the ``OSError`` of a failed write: ``torch.save`` turns
    it into a ``RuntimeError`` ("unexpected pos ...") that no longer says the disk is full."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self) -> None:
        self.fh.flush()


_open = open  # the file opener of save_torch_atomic (tests replace it to simulate a full disk)


def save_torch_atomic(obj, path: str | Path) -> Path:
    import torch

    with atomic_path(path) as tmp:
        with _open(tmp, "wb") as fh:
            out = _WriteErrors(fh)
            try:
                torch.save(obj, out)
            except RuntimeError as e:
                if out.error is not None:
                    raise out.error from e
                raise
    return Path(path)
