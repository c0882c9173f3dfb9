"""The drawing primitives of SynthCams: soft masks that only touch the rows they cover
(:class:`Band`) and a float image with coordinate grids that composites them (:class:`Canvas`:
rectangles, ellipses, capsules). Pure numpy on whole pixel grids, no per-pixel Python loops.
"""

from __future__ import annotations

import numpy as np


class Band:
    """A soft mask that is zero outside the rows ``r0 .. r0+len(m)``: drawing a part only
    touches the rows it covers. Multiplying by a full-frame array (H×W, H×1 or 1×W) or another
    band gives a band; ``Band.maximum`` is the union of two masks."""

    __array_ufunc__ = None  # make ``ndarray * Band`` call Band.__rmul__
    __slots__ = ("r0", "m", "h")

    def __init__(self, r0: int, m: np.ndarray, h: int):
        self.r0, self.m, self.h = r0, m, h

    @property
    def r1(self) -> int:
        return self.r0 + self.m.shape[0]

    def _rows(self, x):
        if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[0] == self.h:
            return x[self.r0:self.r1]
        return x

    def __mul__(self, other):
        if isinstance(other, Band):
            r0, r1 = max(self.r0, other.r0), min(self.r1, other.r1)
            if r1 <= r0:
                return Band(r0, self.m[:0], self.h)
            return Band(r0, self.m[r0 - self.r0:r1 - self.r0]
                        * other.m[r0 - other.r0:r1 - other.r0], self.h)
        return Band(self.r0, self.m * self._rows(other), self.h)

    __rmul__ = __mul__

    @staticmethod
    def maximum(a: "Band", b: "Band") -> "Band":
        if a.m.shape[0] == 0:
            return b
        if b.m.shape[0] == 0:
            return a
        r0, r1 = min(a.r0, b.r0), max(a.r1, b.r1)
        out = np.zeros((r1 - r0, a.m.shape[1]), dtype=np.float32)
        out[a.r0 - r0:a.r1 - r0] = a.m
        np.maximum(out[b.r0 - r0:b.r1 - r0], b.m, out=out[b.r0 - r0:b.r1 - r0])
        return Band(r0, out, a.h)


class Canvas:
    """A float32 H×W×3 image plus coordinate grids, with soft-mask compositing."""

    def __init__(self, image: np.ndarray):
        self.img = image
        h, w = image.shape[:2]
        self.h, self.w = h, w
        self.yy = np.arange(h, dtype=np.float32)[:, None] + 0.5
        self.xx = np.arange(w, dtype=np.float32)[None, :] + 0.5

    def _rows(self, lo: float, hi: float) -> tuple[int, int]:
        r0 = min(max(int(np.floor(lo)) - 1, 0), self.h)
        return r0, max(min(int(np.ceil(hi)) + 1, self.h), r0)

    def paint(self, mask: Band, color, shade: np.ndarray | None = None) -> None:
        if mask.m.shape[0] == 0:
            return
        col = np.asarray(color, dtype=np.float32)
        r0, r1 = mask.r0, mask.r1
        m = mask.m[:, :, None].astype(np.float32, copy=False)
        sub = self.img[r0:r1]
        if shade is not None:
            target = shade[r0:r1, :, None].astype(np.float32, copy=False) * col
        else:
            target = col
        sub += m * (target - sub)

    def rect(self, y0, y1, x0, x1) -> Band:
        y0, y1, x0, x1 = float(y0), float(y1), float(x0), float(x1)
        r0, r1 = self._rows(y0, y1)
        yy = self.yy[r0:r1]
        d = np.minimum(np.minimum(yy - y0, y1 - yy), np.minimum(self.xx - x0, x1 - self.xx))
        return Band(r0, np.clip(d + 0.5, 0.0, 1.0), self.h)

    def ellipse(self, cy, cx, ry, rx) -> Band:
        cy, cx, ry, rx = float(cy), float(cx), float(ry), float(rx)
        r0, r1 = self._rows(cy - ry, cy + ry)
        r = np.sqrt(((self.yy[r0:r1] - cy) / ry) ** 2 + ((self.xx - cx) / rx) ** 2)
        return Band(r0, np.clip((1.0 - r) * min(ry, rx) + 0.5, 0.0, 1.0), self.h)

    def capsule(self, y0, x0, y1, x1, radius) -> Band:
        """Soft mask of the points within ``radius`` of the segment (y0,x0)-(y1,x1)."""
        y0, x0, y1, x1, radius = float(y0), float(x0), float(y1), float(x1), float(radius)
        r0, r1 = self._rows(min(y0, y1) - radius, max(y0, y1) + radius)
        yy = self.yy[r0:r1]
        dy, dx = y1 - y0, x1 - x0
        ln2 = max(dy * dy + dx * dx, 1e-6)
        t = np.clip(((yy - y0) * dy + (self.xx - x0) * dx) / ln2, 0.0, 1.0)
        d = np.sqrt((yy - y0 - t * dy) ** 2 + (self.xx - x0 - t * dx) ** 2)
        return Band(r0, np.clip(radius - d + 0.5, 0.0, 1.0), self.h)
