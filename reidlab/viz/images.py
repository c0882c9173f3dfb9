"""Image utilities for the figures: arrays to uint8, PNG data URIs and back, resizing,
borders, greying out, thumbnail strips, and the ``go.Image`` trace the image figures use.

Images (thumbnails, frames, masks) are embedded as PNG data URIs in ``go.Image(source=...)``
traces: compact in the browser and rendered faithfully by kaleido.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

def to_uint8(img: np.ndarray) -> np.ndarray:
    """H×W×3 (or H×W) image as uint8; floats are taken in [0, 1]."""
    a = np.asarray(img)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an H×W×3 image, got shape {a.shape}")
    a = a[:, :, :3]
    if a.dtype != np.uint8:
        a = np.clip(np.asarray(a, dtype=np.float64) * (255.0 if a.max() <= 1.0 else 1.0), 0, 255)
        a = np.round(a).astype(np.uint8)
    return a


def png_data_uri(img: np.ndarray) -> str:
    """Encode an image as a ``data:image/png;base64,...`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def decode_data_uri(uri: str) -> np.ndarray:
    """Inverse of :func:`png_data_uri` (used by tests and the app)."""
    from PIL import Image

    head, _, data = uri.partition(",")
    if not head.startswith("data:image/png;base64"):
        raise ValueError("expected a PNG data URI")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(to_uint8(img)).resize((width, height), Image.BILINEAR))


def add_border(img: np.ndarray, rgb: Sequence[int], width: int = 3) -> np.ndarray:
    """Pad an image with a solid border of colour ``rgb``."""
    a = to_uint8(img)
    out = np.empty((a.shape[0] + 2 * width, a.shape[1] + 2 * width, 3), np.uint8)
    out[:] = np.asarray(rgb, np.uint8)
    out[width:width + a.shape[0], width:width + a.shape[1]] = a
    return out


def grey_out(img: np.ndarray, amount: float = 0.65) -> np.ndarray:
    """Wash an image out towards light grey (for same-camera junk)."""
    a = to_uint8(img).astype(np.float64)
    g = a.mean(axis=2, keepdims=True)
    out = (1 - amount) * g + amount * 220.0
    return np.repeat(out, 3, axis=2).round().astype(np.uint8)


def image_trace(img: np.ndarray, name: str = "") -> go.Image:
    return go.Image(source=png_data_uri(img), name=name, hoverinfo="skip")


def hide_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False)


def image_strip(images: Sequence[np.ndarray], *, height: int = 64, width: int = 32,
                pad: int = 2, borders: Sequence[Sequence[int] | None] | None = None,
                background: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """A row of thumbnails (each resized to ``height`` × ``width``, optionally framed in the
    RGB colour of ``borders[i]``) as one H×W×3 uint8 image, e.g. for an image table cell."""
    if len(images) == 0:
        raise ValueError("no images for the strip")
    b = 2 if borders is not None else 0
    cell_h, cell_w = height + 2 * b, width + 2 * b
    out = np.empty((cell_h + 2 * pad, len(images) * (cell_w + pad) + pad, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    for i, img in enumerate(images):
        t = resize(img, height, width)
        if b and borders[i] is not None:
            t = add_border(t, borders[i], b)
        x = pad + i * (cell_w + pad)
        out[pad + (cell_h - t.shape[0]) // 2:pad + (cell_h - t.shape[0]) // 2 + t.shape[0],
            x + (cell_w - t.shape[1]) // 2:x + (cell_w - t.shape[1]) // 2 + t.shape[1]] = t
    return out


__all__ = [
    "to_uint8", "png_data_uri", "decode_data_uri", "resize", "add_border", "grey_out",
    "image_trace", "hide_axes", "image_strip",
]
