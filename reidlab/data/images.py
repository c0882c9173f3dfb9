"""Reading frames from disk: one function, strict about broken files.

PIL by default may hand back a partly decoded image for a truncated file when
``ImageFile.LOAD_TRUNCATED_IMAGES`` is set somewhere; ``read_frame`` forces a full, strict
decode so a truncated or unreadable frame always raises :class:`CorruptFrameError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from reidlab.errors import CorruptFrameError

_EXPECTED = "a decodable image file (jpg/png)"


def read_frame(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode ``path`` into an RGB uint8 array H×W×3, resized to ``size=(H, W)`` if given.

    Raises :class:`CorruptFrameError` naming the path for a missing, unreadable or truncated file.
    """
    path = Path(path)
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # never accept a half-decoded frame
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except FileNotFoundError as e:
        raise CorruptFrameError(path, _EXPECTED, "no such file") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptFrameError(path, _EXPECTED, f"{type(e).__name__}: {e}") from e
    if size is not None:
        h, w = int(size[0]), int(size[1])
        if rgb.size != (w, h):
            rgb = rgb.resize((w, h), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)
