"""Small helpers shared by the dataset readers: folder checks, layout hints, fast paths.

Readers never open images. They list folders (``os.scandir``) or read the dataset's own index
files, and check only what is cheap: that folders exist and that indexed files are where the
index says (first and last frame of a tracklet).
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from reidlab.data.tracklets import FramePaths
from reidlab.errors import DatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")

# folder names that identify the known layouts, used to say what was found instead
_LAYOUT_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MARS (bbox_train/, bbox_test/, info/)", ("bbox_train", "bbox_test")),
    ("Market-1501/DukeMTMC (bounding_box_train/, bounding_box_test/, query/)",
     ("bounding_box_train", "bounding_box_test")),
    ("MSMT17 (list_train.txt, list_query.txt, ...)", ("list_train.txt", "list_gallery.txt")),
    ("PRID-2011 (prid_2011/multi_shot/)", ("prid_2011",)),
    ("PRID-2011 (multi_shot/)", ("multi_shot",)),
    ("iLIDS-VID (i-LIDS-VID/sequences/)", ("i-LIDS-VID",)),
    ("iLIDS-VID (sequences/)", ("sequences",)),
    ("the generic folder layout (train/, query/, gallery/)", ("query", "gallery")),
)


def describe_layout(root: Path) -> str:
    """A short description of what ``root`` looks like, for error messages."""
    if not root.exists():
        return "no such folder"
    if not root.is_dir():
        return "a file, not a folder"
    try:
        entries = sorted(e.name for e in os.scandir(root))
    except OSError as err:  # pragma: no cover - permissions
        return f"an unreadable folder ({err.strerror})"
    present = set(entries)
    for desc, signs in _LAYOUT_SIGNS:
        if all(s in present for s in signs):
            return f"a {desc} layout"
    if not entries:
        return "an empty folder"
    shown = ", ".join(entries[:6]) + (", ..." if len(entries) > 6 else "")
    return f"a folder holding {shown}"


def require_dir(path: Path, expected: str, root: Path | None = None) -> Path:
    """Return ``path`` if it is a folder, else raise :class:`DatasetError` naming it.

    When ``root`` is given and the folder is missing, the error also says what ``root`` looks
    like (e.g. "a Market-1501 layout") so a dataset passed to the wrong reader is obvious.
    """
    if path.is_dir():
        return path
    if path.exists():
        raise DatasetError(path, expected, "a file, not a folder")
    found = "no such folder"
    if root is not None and root != path:
        found += f"; {root} is {describe_layout(root)}"
    raise DatasetError(path, expected, found)


def require_file(path: Path, expected: str, root: Path | None = None) -> Path:
    """Return ``path`` if it is a regular file, else raise :class:`DatasetError` naming it."""
    if path.is_file():
        return path
    found = "a folder, not a file" if path.exists() else "no such file"
    if root is not None and not path.exists():
        found += f"; {root} is {describe_layout(root)}"
    raise DatasetError(path, expected, found)


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders ``frame2`` before ``frame10`` (digit runs compare as numbers)."""
    parts = _DIGITS.split(name)
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts)


def list_dir(folder: Path, *, dirs: bool) -> list[str]:
    """Names of the sub-folders (``dirs=True``) or files of ``folder``, hidden entries skipped."""
    try:
        with os.scandir(folder) as it:
            return [e.name for e in it if not e.name.startswith(".") and e.is_dir() == dirs]
    except FileNotFoundError:
        raise DatasetError(folder, "a folder", "no such folder") from None
    except NotADirectoryError:
        raise DatasetError(folder, "a folder", "a file") from None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small objects.

    Building the ~1.1 M frame paths of MARS otherwise triggers hundreds of collections (and
    each one re-scans the paths already built). On exit, ``gc.freeze(); gc.unfreeze()`` moves
    every tracked object into the oldest generation without scanning it, so the first young
    collection afterwards does not traverse the new objects either (~0.5 s for MARS). None of
    them form reference cycles; reference counting frees them as usual. Cyclic garbage that
    happened to be young at that moment is merely collected later, at the next full collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def child_paths(folder: Path, names: Iterable[str]) -> FramePaths:
    """The paths ``folder / n`` for ``names`` (one path component each), built lazily on access
    (see :class:`reidlab.data.tracklets.FramePaths`)."""
    return FramePaths(folder, names)


def load_mat(path: Path, key: str, *, root: Path | None = None) -> np.ndarray:
    """Read array ``key`` from a MATLAB .mat file, with errors that name the file."""
    import scipy.io

    require_file(path, f"a MATLAB .mat file holding '{key}'", root)
    try:
        data = scipy.io.loadmat(str(path), variable_names=[key])
    except NotImplementedError:
        raise DatasetError(path, "a MATLAB v5 .mat file",
                           "MATLAB v7.3 (HDF5), not supported") from None
    except Exception as err:  # scipy raises ValueError/TypeError/OSError on garbage
        raise DatasetError(path, f"a MATLAB .mat file holding '{key}'",
                           f"unreadable ({err})") from None
    if key not in data:
        raise DatasetError(path, f"a variable named '{key}'", "no such variable")
    arr = np.asarray(data[key])
    if not np.issubdtype(arr.dtype, np.number):
        raise DatasetError(path, f"'{key}' to be a numeric array", f"dtype {arr.dtype}")
    return arr


def read_lines(path: Path, expected: str, root: Path | None = None) -> list[str]:
    """Non-empty, stripped lines of a text file."""
    require_file(path, expected, root)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise DatasetError(path, expected, "a binary file") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip()]
