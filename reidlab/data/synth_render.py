"""Drawing code of SynthCams: people with part structure seen through camera domains.

Everything here is pure numpy on whole pixel grids (no per-pixel Python loops). A frame is
drawn in three steps:

1. ``camera_background`` — the camera's scene (base colour, gradient, texture), shifted a
   little per tracklet;
2. ``draw_person`` — head/hair, torso with pattern, arms, legs, shoes and bag as soft-edged
   ellipses, rectangles and capsules, posed by the walk phase and seen from a viewpoint
   (front / back / side: the logo is only on the front, a side bag only shows on its side,
   a backpack mostly from the back);
3. ``apply_camera`` — the camera's imaging: white balance (colour cast as per-channel gains,
   an invertible shift that keeps hue order), gain, contrast, gamma, saturation, resolution
   loss, blur and sensor noise.

The parameters are plain dataclasses built by :mod:`reidlab.data.synthcams` from a seed.
Style "b" (the second domain, indoor/airport-like) adds its own textures (``TEXTURES_B``) and
two person parts, a long coat and a rolling suitcase; their defaults draw nothing, so style "a"
renders exactly as before they existed.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter, gaussian_filter1d

VIEWS = ("front", "back", "left", "right")  # left/right: the person's side facing the camera
TEXTURES = ("tiles", "stripes", "noise", "bricks", "plain", "diagonal")
# style b (indoor / airport-like): wall panels, glass curtain wall, large tiles with grout lines,
# a wall with a sign band, fine terrazzo speckle, plain
TEXTURES_B = ("panels", "windows", "grid", "signage", "speckle", "plain")
HAIR_STYLES = ("short", "long", "bald", "cap")
PATTERNS = ("plain", "stripes", "logo")
BAGS = ("none", "left", "right", "backpack")
LEGWEAR = ("trousers", "shorts", "skirt")


@dataclass(frozen=True)
class Person:
    """Appearance of one identity (colours are RGB in [0, 1])."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str
    cap: tuple[float, float, float]
    torso: tuple[float, float, float]
    pattern: str
    pattern_color: tuple[float, float, float]
    long_sleeves: bool
    legs: tuple[float, float, float]
    legwear: str
    shoes: tuple[float, float, float]
    bag: str
    bag_color: tuple[float, float, float]
    build_w: float  # width factor (~0.8-1.25)
    build_h: float  # height factor (~0.9-1.08)
    # style-b parts (the defaults draw nothing)
    coat: bool = False  # the torso colour reaches down to the knees
    suitcase: str = "none"  # "none" | "left" | "right": a rolling suitcase pulled by that hand
    suitcase_color: tuple[float, float, float] = (0.2, 0.2, 0.2)


@dataclass(frozen=True)
class Camera:
    """One camera domain: scene, viewpoint habits, framing and imaging pipeline."""

    index: int
    bg_color: tuple[float, float, float]
    bg_color2: tuple[float, float, float]
    texture: str
    texture_period: float
    texture_contrast: float
    gradient: tuple[float, float]  # (vertical, horizontal) brightness slope across the frame
    floor_color: tuple[float, float, float]
    floor_level: float  # fraction of the height where the floor starts
    view_probs: tuple[float, float, float, float]  # over VIEWS
    scale: float  # person height / frame height
    offset_y: float  # fraction of the height
    offset_x: float  # fraction of the width
    gains: tuple[float, float, float]  # white balance x illumination
    offset: tuple[float, float, float]  # additive colour offset (haze / black level)
    contrast: float
    gamma: float
    saturation: float
    downscale: float  # 1 = full resolution; 2 = rendered at half resolution then upsampled
    blur: float  # gaussian sigma in pixels at 128x64
    noise: float  # gaussian sensor noise sigma (in [0, 1] units)
    occlusion_prob: float
    occluder_color: tuple[float, float, float]
    bg_shift: float = 12.0  # largest per-tracklet shift of the background texture (pixels at 128 rows)
    thermal: bool = False  # an infrared camera: renders temperature, one channel replicated
    nir: bool = False  # a near-infrared camera (SYSU-MM01's night cameras): NIR reflectance
    # the camera-gap knob's scene part (SynthConfig.gap): the background drawn is
    # scene_mix × this camera's scene + (1 − scene_mix) × scene_ref's (the shared scene)
    scene_mix: float = 1.0
    scene_ref: "Camera | None" = None


@dataclass(frozen=True)
class TrackletSpec:
    """Everything a worker needs to render and write one tracklet."""

    person: Person
    camera: Camera
    view: str
    paths: tuple[str, ...]
    seed: tuple[int, ...]
    height: int
    width: int
    jpeg_quality: int


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return (r, g, b)


# ----------------------------------------------------------------------------- primitives


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
            return Band(r0, self.m[r0 - self.r0:r1 - self.r0] * other.m[r0 - other.r0:r1 - other.r0], self.h)
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


# ----------------------------------------------------------------------------- background


def camera_background(cam: Camera, h: int, w: int, shift: tuple[float, float]) -> np.ndarray:
    """The camera's scene: textured wall/backdrop, a floor band and a brightness gradient."""
    yy = np.arange(h, dtype=np.float32)[:, None] / h
    xx = np.arange(w, dtype=np.float32)[None, :] / w
    sy, sx = shift
    p = cam.texture_period
    py = (yy * h + sy) / (p * h / 128.0)
    px = (xx * w + sx) / (p * h / 128.0)
    if cam.texture == "tiles":
        t = ((np.floor(py) + np.floor(px)) % 2).astype(np.float32)
    elif cam.texture == "stripes":
        t = (0.5 + 0.5 * np.sin(2 * np.pi * py)) * np.ones_like(px)
    elif cam.texture == "bricks":
        row = np.floor(py * 2)
        t = (((px + 0.5 * (row % 2)) % 1.0) < 0.08) | ((py * 2) % 1.0 < 0.12)
        t = t.astype(np.float32)
    elif cam.texture == "diagonal":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (py + px) * 0.7)
    elif cam.texture in TEXTURES_B:
        t = _texture_b(cam, py, px, h, w, sy, sx)
    elif cam.texture == "noise":
        # smooth value noise from a fixed per-camera lattice (shift moves the window)
        rng = np.random.default_rng(1000 + cam.index)
        lat = rng.random((h // 4 + 8, w // 4 + 8)).astype(np.float32)
        iy = np.clip(((yy[:, 0] * h + sy) / 4).astype(int) + 2, 0, lat.shape[0] - 1)
        ix = np.clip(((xx[0] * w + sx) / 4).astype(int) + 2, 0, lat.shape[1] - 1)
        t = gaussian_filter(lat, 1.0)[np.ix_(iy, ix)]
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    else:  # plain
        t = np.zeros((h, w), dtype=np.float32)
    t = np.broadcast_to(t, (h, w)).astype(np.float32) * cam.texture_contrast
    c1 = np.asarray(cam.bg_color, np.float32)
    c2 = np.asarray(cam.bg_color2, np.float32)
    img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    floor = yy[:, 0] >= cam.floor_level
    img[floor] = img[floor] * 0.35 + np.asarray(cam.floor_color, np.float32) * 0.65
    gy, gx = cam.gradient
    img *= (1.0 + gy * (yy - 0.5) + gx * (xx - 0.5))[..., None]
    return img.astype(np.float32)


def scene_background(cam: Camera, h: int, w: int, shift: tuple[float, float]) -> np.ndarray:
    """The background a tracklet of ``cam`` is drawn on: its scene, blended with
    ``cam.scene_ref``'s by the camera-gap knob's scene part (``scene_mix`` < 1)."""
    bg = camera_background(cam, h, w, shift)
    if cam.scene_ref is not None and cam.scene_mix < 1.0:
        ref = camera_background(cam.scene_ref, h, w, shift)
        bg = np.float32(cam.scene_mix) * bg + np.float32(1.0 - cam.scene_mix) * ref
    return bg


def _texture_b(cam: Camera, py: np.ndarray, px: np.ndarray, h: int, w: int, sy: float, sx: float) -> np.ndarray:
    """Style-b textures in [0, 1] (1 = ``bg_color2``); ``py``/``px`` are in texture periods."""
    if cam.texture == "panels":  # tall wall panels, alternately lighter, with dark seams
        q = px * 0.6
        return 0.35 * (np.floor(q) % 2) + 0.65 * ((q % 1.0) < 0.06) * np.ones_like(py)
    if cam.texture == "windows":  # glass curtain wall: bright panes, mullions, a sky gradient
        mull = ((px * 0.8) % 1.0 < 0.1) | ((py * 0.5) % 1.0 < 0.06)
        return np.where(mull, 1.0, 0.25 * (py / max(float(py.max()), 1e-6)))
    if cam.texture == "grid":  # large tiles with thin grout lines
        return (((px * 0.7) % 1.0 < 0.07) | ((py * 0.7) % 1.0 < 0.07)).astype(np.float32)
    if cam.texture == "signage":  # a plain wall with a sign band across the upper part
        yy = py * (cam.texture_period * h / 128.0) / h  # back to a fraction of the height
        band = (yy > 0.12) & (yy < 0.26)
        return np.where(band, 1.0, 0.0) * np.ones_like(px)
    if cam.texture == "speckle":  # terrazzo: fine value noise from a fixed per-camera lattice
        rng = np.random.default_rng(2000 + cam.index)
        lat = rng.random((h + 40, w + 40)).astype(np.float32)
        iy = np.clip((np.arange(h) + sy).astype(int), 0, lat.shape[0] - 1)
        ix = np.clip((np.arange(w) + sx).astype(int), 0, lat.shape[1] - 1)
        t = gaussian_filter(lat, 0.7)[np.ix_(iy, ix)]
        return (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return np.zeros((h, w), dtype=np.float32)  # plain


# ----------------------------------------------------------------------------- person


def draw_person(cv: Canvas, p: Person, view: str, cx: float, top: float, ph: float, phase: float) -> None:
    """Draw one person standing at (cx, top) with height ``ph`` pixels at walk ``phase``."""
    side = view in ("left", "right")
    facing = 1.0 if view == "right" else -1.0  # sign of the walking direction on screen (side views)
    hw = 0.12 * ph * p.build_w * (0.62 if side else 1.0)  # half shoulder width
    swing = float(np.sin(phase))
    amp = 0.22 if side else 0.06  # swing amplitude (fraction of leg length)

    shade = 1.0 - 0.35 * ((cv.xx - cx) / (1.6 * hw)) ** 2  # cylindrical shading
    shade = np.broadcast_to(np.clip(shade, 0.55, 1.0), (cv.h, cv.w))

    y_neck = top + 0.135 * ph
    y_sh = top + 0.16 * ph
    y_hip = top + 0.50 * ph
    y_knee = top + 0.72 * ph
    y_foot = top + 0.95 * ph
    leg_r = 0.045 * ph * p.build_w
    arm_r = 0.032 * ph * p.build_w
    bob = 0.01 * ph * abs(swing)
    y_neck -= bob
    y_sh -= bob
    y_hip -= bob

    def bag_mask():
        by0, by1 = y_hip - 0.10 * ph, y_hip + 0.06 * ph
        if p.bag == "backpack":
            if view == "back":
                return cv.rect(y_sh + 0.03 * ph, y_hip - 0.02 * ph, cx - 0.8 * hw, cx + 0.8 * hw)
            if side:
                bx = cx - facing * 1.15 * hw
                return cv.rect(y_sh + 0.03 * ph, y_hip - 0.04 * ph, bx - 0.55 * hw, bx + 0.55 * hw)
            return None
        if p.bag in ("left", "right"):
            # the person's left is on screen right in a front view, on screen left in a back view
            if view == "front":
                sx = 1.0 if p.bag == "left" else -1.0
            elif view == "back":
                sx = -1.0 if p.bag == "left" else 1.0
            else:
                if view != p.bag:
                    return None  # hidden behind the body
                sx = 0.3 * facing
            bx = cx + sx * 1.25 * hw
            return cv.rect(by0, by1, bx - 0.09 * ph, bx + 0.09 * ph)
        return None

    # ---- legs and shoes (back leg first)
    hip_dx = 0.0 if side else 0.45 * hw
    leg_len = y_foot - y_hip
    for k, sgn in ((0, -1.0), (1, 1.0)):
        s = swing * (1 if k == 0 else -1)
        hx = cx + (0.0 if side else (-hip_dx if k == 0 else hip_dx))
        fx = hx + (facing if side else 1.0) * amp * leg_len * s
        kx = (hx + fx) / 2 + (facing * 0.03 * leg_len if side else 0.0)
        dark = 0.85 if (side and k == 0) else 1.0
        col = np.asarray(p.legs) * dark
        skin = np.asarray(p.skin) * dark
        if p.legwear == "shorts":
            cv.paint(cv.capsule(y_hip, hx, y_knee - 0.04 * ph, kx, leg_r), col, shade)
            cv.paint(cv.capsule(y_knee - 0.04 * ph, kx, y_foot, fx, leg_r * 0.8), skin, shade)
        elif p.legwear == "skirt":
            cv.paint(cv.capsule(y_knee, kx, y_foot, fx, leg_r * 0.8), skin, shade)
        else:
            cv.paint(cv.capsule(y_hip, hx, y_knee, kx, leg_r), col, shade)
            cv.paint(cv.capsule(y_knee, kx, y_foot, fx, leg_r * 0.92), col, shade)
        sh_len = 0.06 * ph if side else 0.035 * ph
        sx0 = fx - (0.02 * ph if not side else (0.02 * ph if facing > 0 else sh_len))
        sx1 = sx0 + (sh_len if side else 0.04 * ph + 0.02 * ph)
        cv.paint(cv.rect(y_foot - 0.02 * ph, y_foot + 0.04 * ph, sx0, sx1), np.asarray(p.shoes) * dark)
    if p.legwear == "skirt":
        sk = cv.rect(y_hip - 0.02 * ph, y_knee + 0.02 * ph, cx - 1.1 * hw, cx + 1.1 * hw)
        # trapezoid: cut the top corners
        sk = sk * np.clip(1.0 - (np.abs(cv.xx - cx) - (0.8 * hw + 0.5 * (cv.yy - y_hip))), 0.0, 1.0)
        cv.paint(sk, p.legs, shade)

    # ---- far arm (side view) behind the torso
    arm_len = 0.33 * ph
    sleeve_col = p.torso if p.long_sleeves else p.skin

    def arm(ax, s, dark=1.0):
        hx = ax + (facing if side else 0.4 * np.sign(ax - cx)) * 0.25 * arm_len * s * (1.0 if side else 0.3)
        ex = (ax + hx) / 2
        ey = y_sh + 0.5 * arm_len
        upper = cv.capsule(y_sh + 0.02 * ph, ax, ey, ex, arm_r)
        lower = cv.capsule(ey, ex, y_sh + arm_len, hx, arm_r * 0.9)
        cv.paint(upper, np.asarray(sleeve_col if not p.long_sleeves else p.torso) * dark, shade)
        cv.paint(lower, np.asarray(sleeve_col) * dark, shade)
        cv.paint(cv.ellipse(y_sh + arm_len + 0.01 * ph, hx, 0.022 * ph, 0.02 * ph), np.asarray(p.skin) * dark)

    if side:
        arm(cx, -swing, 0.8)
    if p.bag == "backpack" and view == "front":
        # straps only
        for sx in (-0.55, 0.55):
            cv.paint(cv.rect(y_sh, y_sh + 0.16 * ph, cx + sx * hw - 0.012 * ph, cx + sx * hw + 0.012 * ph), p.bag_color)

    if p.coat:
        ct = cv.rect(y_hip - 0.04 * ph, y_knee + 0.04 * ph, cx - 1.15 * hw, cx + 1.15 * hw)
        ct = ct * np.clip(1.0 - (np.abs(cv.xx - cx) - (0.95 * hw + 0.25 * (cv.yy - y_hip))), 0.0, 1.0)
        cv.paint(ct, p.torso, shade)

    # ---- torso
    torso = cv.rect(y_sh, y_hip + 0.02 * ph, cx - hw, cx + hw)
    torso = torso * np.clip(1.0 - np.maximum(0, (np.abs(cv.xx - cx) - hw * (1 - 0.25 * (cv.yy - y_sh) / (y_hip - y_sh)))), 0, 1)
    sh_round = cv.ellipse(y_sh + 0.03 * ph, cx, 0.05 * ph, hw)
    torso = Band.maximum(torso, sh_round * (cv.yy >= y_sh - 0.04 * ph))
    cv.paint(torso, p.torso, shade)
    if p.pattern == "stripes":
        band = ((cv.yy - y_sh) / (0.045 * ph)) % 2.0
        stripe = torso * ((band < 1.0) & (cv.yy > y_sh + 0.02 * ph)).astype(np.float32)
        cv.paint(stripe, p.pattern_color, shade)
    elif p.pattern == "logo" and view == "front":
        ly = y_sh + 0.11 * ph
        cv.paint(cv.rect(ly - 0.05 * ph, ly + 0.05 * ph, cx - 0.5 * hw, cx + 0.5 * hw), p.pattern_color, shade)
    elif p.pattern == "logo" and side:
        ly = y_sh + 0.11 * ph
        lx = cx + facing * 0.7 * hw
        cv.paint(cv.rect(ly - 0.05 * ph, ly + 0.05 * ph, lx - 0.25 * hw, lx + 0.25 * hw), p.pattern_color, shade)
    b = bag_mask()
    if b is not None:
        cv.paint(b, p.bag_color, shade)
        if p.bag in ("left", "right") and view in ("front", "back"):
            # strap across the chest, from the far shoulder down to the bag's side
            sgn = 1.0 if (p.bag == "left") == (view == "front") else -1.0
            strap = cv.capsule(y_sh + 0.01 * ph, cx - 0.7 * hw * sgn, y_hip - 0.08 * ph, cx + 1.2 * hw * sgn,
                               0.012 * ph)
            cv.paint(strap, np.asarray(p.bag_color) * 0.8)

    if p.suitcase != "none":
        _suitcase(cv, p, view, cx, hw + 0.6 * arm_r, ph, y_sh + arm_len, y_knee, y_foot, facing)

    # ---- arms in front
    if side:
        arm(cx, swing)
    else:
        arm(cx - hw - 0.6 * arm_r, swing)
        arm(cx + hw + 0.6 * arm_r, -swing)

    # ---- neck, head, hair
    cv.paint(cv.rect(y_neck - 0.02 * ph, y_sh + 0.01 * ph, cx - 0.03 * ph, cx + 0.03 * ph), p.skin)
    hcy, hry, hrx = top + 0.07 * ph - bob, 0.068 * ph, 0.052 * ph * (0.95 + 0.1 * p.build_w)
    hcx = cx + (facing * 0.01 * ph if side else 0.0)
    head = cv.ellipse(hcy, hcx, hry, hrx)
    if p.hair_style == "long":
        hl = cv.rect(hcy - 0.02 * ph, hcy + 0.13 * ph, hcx - 1.1 * hrx, hcx + 1.1 * hrx)
        if side:
            hl = hl * (cv.xx * facing < (hcx + 0.2 * hrx) * facing)
        cv.paint(hl, p.hair)
    cv.paint(head, p.skin)
    if view == "back" and p.hair_style != "bald":
        cv.paint(head * (cv.yy < hcy + 0.8 * hry), p.hair)
    elif p.hair_style in ("short", "long"):
        cap_m = cv.ellipse(hcy - 0.3 * hry, hcx, 0.85 * hry, 1.05 * hrx) * (cv.yy < hcy - 0.1 * hry)
        if side:
            back = cv.ellipse(hcy, hcx - facing * 0.4 * hrx, 0.9 * hry, 0.75 * hrx)
            cap_m = Band.maximum(cap_m, back * (cv.yy < hcy + 0.5 * hry))
        cv.paint(cap_m, p.hair)
    if p.hair_style == "cap":
        cv.paint(cv.ellipse(hcy - 0.45 * hry, hcx, 0.65 * hry, 1.08 * hrx) * (cv.yy < hcy - 0.2 * hry), p.cap)
        if view == "front":
            cv.paint(cv.rect(hcy - 0.3 * hry, hcy - 0.15 * hry, hcx - 1.2 * hrx, hcx + 1.2 * hrx), np.asarray(p.cap) * 0.8)
        elif side:
            vx = hcx + facing * 1.2 * hrx
            cv.paint(cv.rect(hcy - 0.3 * hry, hcy - 0.15 * hry, vx - 0.6 * hrx, vx + 0.6 * hrx), np.asarray(p.cap) * 0.8)


def _suitcase(cv: Canvas, p: Person, view: str, cx: float, hand_dx: float, ph: float, y_hand: float,
              y_knee: float, y_foot: float, facing: float) -> None:
    """A rolling suitcase held by one hand (``hand_dx`` from the body's centre line): hanging
    from the hand in front/back views, trailing behind in side views; a handle up to the hand
    and two small wheels."""
    col = np.asarray(p.suitcase_color)
    if view in ("left", "right"):
        bw = 0.09 * ph
        bx = cx - facing * 0.2 * ph
        hx = cx - facing * 0.06 * ph
    else:
        # the person's left hand is on screen right in a front view, on screen left in a back view
        sx = (1.0 if p.suitcase == "left" else -1.0) * (1.0 if view == "front" else -1.0)
        bw = 0.065 * ph
        hx = cx + sx * hand_dx
        bx = hx + sx * 0.6 * bw
    top = y_knee - 0.06 * ph
    cv.paint(cv.capsule(top, bx, y_hand, hx, 0.008 * ph), col * 0.5)
    cv.paint(cv.rect(top, y_foot, bx - bw, bx + bw), col)
    cv.paint(cv.rect(top + 0.3 * (y_foot - top), top + 0.34 * (y_foot - top), bx - bw, bx + bw), col * 0.7)
    for wx in (bx - 0.7 * bw, bx + 0.7 * bw):
        cv.paint(cv.ellipse(y_foot + 0.01 * ph, wx, 0.015 * ph, 0.015 * ph), (0.08, 0.08, 0.08))


# ----------------------------------------------------------------------------- camera imaging


def colour_matrix(cam: Camera, illum: float) -> tuple[np.ndarray, np.ndarray]:
    """The camera's linear colour stage as ``x @ M + b``: white balance × illumination gains,
    additive haze, saturation (mix with the grey level) and contrast around 0.5."""
    g = np.diag(np.asarray(cam.gains, np.float64) * illum)
    grey = np.full((3, 3), 1.0 / 3.0)
    sat = cam.saturation * np.eye(3) + (1.0 - cam.saturation) * grey
    m = g @ sat * cam.contrast
    b = (np.asarray(cam.offset, np.float64) @ sat) * cam.contrast + 0.5 * (1.0 - cam.contrast)
    return m.astype(np.float32), b.astype(np.float32)


_OPERATORS: dict[tuple, np.ndarray] = {}


def spatial_operator(n: int, downscale: float, blur: float) -> np.ndarray:
    """n×n matrix of the camera's linear optics along one image axis: anti-alias filter,
    resample to ``n / downscale`` samples and back (resolution loss), then gaussian blur."""
    key = (n, round(downscale, 6), round(blur, 6))
    op = _OPERATORS.get(key)
    if op is None:
        x = np.eye(n)
        if downscale > 1.0:
            k = max(2, int(round(n / downscale)))
            x = gaussian_filter1d(x, downscale / 2.5, axis=0)
            x = _resample(x, (np.arange(k) + 0.5) * n / k - 0.5, 0)
            x = _resample(x, (np.arange(n) + 0.5) * k / n - 0.5, 0)
        if blur > 0:
            x = gaussian_filter1d(x, blur, axis=0)
        op = _OPERATORS[key] = np.ascontiguousarray(x, dtype=np.float32)
    return op


def apply_camera(img: np.ndarray, cam: Camera, rng: np.random.Generator, illum: float) -> np.ndarray:
    """Camera pipeline on float images T×H×W×3 in [0, 1] (all frames of a tracklet): colour
    stage, clipping, gamma, optics (resolution loss + blur), sensor noise; returns uint8."""
    t, h, w, _ = img.shape
    m, b = colour_matrix(cam, illum)
    x = img.reshape(-1, 3) @ m + b
    np.clip(x, 0.0, 1.0, out=x)
    x **= np.float32(cam.gamma)
    x = x.reshape(t, h, w, 3)
    if cam.downscale > 1.0 or cam.blur > 0:
        ay = spatial_operator(h, cam.downscale, cam.blur * h / 128.0)
        ax = spatial_operator(w, cam.downscale, cam.blur * h / 128.0)
        x = (ay @ x.reshape(t, h, w * 3)).reshape(t * h, w, 3)
        x = (ax @ x).reshape(t, h, w, 3)
    if cam.noise > 0:
        x += np.float32(cam.noise) * rng.standard_normal(size=x.shape, dtype=np.float32)
    x *= np.float32(255.0)
    x += np.float32(0.5)
    np.clip(x, 0.0, 255.0, out=x)
    return x.astype(np.uint8)


def _resample(x: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``x`` along ``axis`` at fractional indices ``pos``."""
    n = x.shape[axis]
    pos = np.clip(pos, 0, n - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = len(pos)
    t = (pos - i0).reshape(shape)
    return np.take(x, i0, axis=axis) * (1 - t) + np.take(x, i1, axis=axis) * t


# ----------------------------------------------------------------------------- infrared


def _warm(v: float) -> tuple[float, float, float]:
    return (v, v, v)


def thermal_person(p: Person) -> Person:
    """The person as a thermal camera sees them: temperatures, not colours. Exposed skin is the
    warmest, clothes over the body warm, hair and caps less, shoes and carried things cool;
    clothing colours and patterns vanish (a pattern has the torso's temperature). What is left of
    the identity is shape: build, hair style, cap, sleeves (bare arms are warm), legwear, bag,
    coat, suitcase."""
    return replace(p, skin=_warm(0.96), hair=_warm(0.6), cap=_warm(0.52), torso=_warm(0.76),
                   pattern_color=_warm(0.76), legs=_warm(0.68), shoes=_warm(0.48),
                   bag_color=_warm(0.34), suitcase_color=_warm(0.28))


def thermal_look(p: Person) -> tuple:
    """What of a person's appearance a thermal camera keeps, besides build: the part styles
    :func:`thermal_person` leaves (hair style or cap, sleeves, legwear, bag, coat, suitcase).
    People with the same look and build render the same infrared images: colours and clothing
    patterns never matter there (a test renders it)."""
    return (p.hair_style, p.long_sleeves, p.legwear, p.bag, p.coat, p.suitcase)


def thermal_background(bg: np.ndarray) -> np.ndarray:
    """A cool scene: the visible background's structure survives only as faint temperature
    differences (luminance squeezed into [0.12, 0.36], smoothed)."""
    lum = bg @ np.asarray([0.299, 0.587, 0.114], np.float32)
    lum = gaussian_filter(lum, 1.2)
    lo, hi = float(lum.min()), float(lum.max())
    t = (lum - lo) / max(hi - lo, 1e-6)
    return np.repeat((0.12 + 0.24 * t)[..., None], 3, axis=2).astype(np.float32)


def apply_thermal(img: np.ndarray, cam: Camera, rng: np.random.Generator,
                  stripes: bool = True) -> np.ndarray:
    """The infrared pipeline on T×H×W×3 temperature (or NIR grey) images: one channel, the
    camera's contrast and gamma, stronger blur than its colour cameras, its own noise
    (fixed-pattern column stripes of a thermal sensor, per camera — ``stripes`` — plus temporal
    gaussian noise); replicated to 3 channels, as SYSU-MM01's infrared images are stored."""
    t, h, w, _ = img.shape
    x = img[..., :1].copy()
    x = (x - 0.5) * np.float32(cam.contrast) + 0.5
    np.clip(x, 0.0, 1.0, out=x)
    x **= np.float32(cam.gamma)
    blur = (cam.blur + 0.8) * h / 128.0
    ay = spatial_operator(h, max(cam.downscale, 1.5), blur)
    ax = spatial_operator(w, max(cam.downscale, 1.5), blur)
    x = (ay @ x.reshape(t, h, w)).reshape(t * h, w, 1)
    x = (ax @ x).reshape(t, h, w, 1)
    if stripes:
        col = np.random.default_rng(7000 + cam.index).normal(0, 0.035, size=w).astype(np.float32)
        x += col[None, None, :, None]
    x += np.float32(max(cam.noise, 0.01) * 1.5) * rng.standard_normal(size=x.shape,
                                                                       dtype=np.float32)
    x *= np.float32(255.0)
    x += np.float32(0.5)
    np.clip(x, 0.0, 255.0, out=x)
    return np.repeat(x.astype(np.uint8), 3, axis=3)


def nir_reflectance(c: tuple[float, float, float]) -> float:
    """A surface's near-infrared reflectance from its visible colour: part its luminance (dark
    cloth tends to stay dark), part a fixed pseudo-random function of the colour (many dyes are
    transparent in NIR, so cloth of similar colours can look very different). The same colour
    always gives the same grey, so a garment keeps its grey level across NIR cameras and
    tracklets; the mapping from colour is only partly predictable, as on real NIR images."""
    r, g, b = (float(v) for v in c)
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    u = float(np.modf(np.abs(np.sin(12.9898 * r + 78.233 * g + 37.719 * b)) * 43758.5453)[0])
    return 0.12 + 0.8 * (0.5 * lum + 0.5 * u)


def nir_person(p: Person) -> Person:
    """The person as an actively lit near-infrared camera sees them (SYSU-MM01's infrared
    cameras are of this kind, not thermal): one grey level per surface from
    :func:`nir_reflectance`, skin bright (skin reflects NIR strongly). Unlike a thermal render,
    garments and patterns keep distinct grey levels, so identity survives — without colour."""
    def g(c):
        return _warm(nir_reflectance(c))

    return replace(p, skin=_warm(0.82), hair=g(p.hair), cap=g(p.cap), torso=g(p.torso),
                   pattern_color=g(p.pattern_color), legs=g(p.legs), shoes=g(p.shoes),
                   bag_color=g(p.bag_color), suitcase_color=g(p.suitcase_color))


def nir_background(bg: np.ndarray) -> np.ndarray:
    """The scene under the camera's NIR illuminator: its luminance, dimmer (the light falls off
    with distance)."""
    lum = bg @ np.asarray([0.299, 0.587, 0.114], np.float32)
    return np.repeat((0.08 + 0.6 * lum)[..., None], 3, axis=2).astype(np.float32)


# ----------------------------------------------------------------------------- tracklet


def render_tracklet(spec: TrackletSpec) -> list[np.ndarray]:
    """Render every frame of one tracklet as uint8 H×W×3 arrays."""
    rng = np.random.default_rng(list(spec.seed))
    cam, p = spec.camera, spec.person
    h, w = spec.height, spec.width
    shift = (float(rng.uniform(0, cam.bg_shift)), float(rng.uniform(0, cam.bg_shift)))
    bg = scene_background(cam, h, w, shift)
    if cam.thermal:
        p, bg = thermal_person(p), thermal_background(bg)
    elif cam.nir:
        p, bg = nir_person(p), nir_background(bg)
    illum = float(rng.uniform(0.92, 1.08))
    ph0 = cam.scale * p.build_h * h * float(rng.uniform(0.95, 1.05))
    cx0 = w * (0.5 + cam.offset_x) + float(rng.normal(0, 0.03 * w))
    top0 = (h - ph0) / 2 + cam.offset_y * h + float(rng.normal(0, 0.02 * h))
    phase0 = float(rng.uniform(0, 2 * np.pi))
    step = float(rng.uniform(0.6, 1.0))
    occl = None
    if rng.random() < cam.occlusion_prob:
        kind = int(rng.integers(0, 2))
        if kind == 0:  # a pole / another pedestrian edge at a side
            ox = float(rng.uniform(0.15, 0.85)) * w
            occl = ("pole", ox, float(rng.uniform(0.08, 0.16)) * w, float(rng.uniform(-0.6, 0.6)))
        else:  # something low in front of the legs (bench, car bonnet)
            occl = ("low", float(rng.uniform(0.62, 0.8)) * h, 0.0, 0.0)
    occluder = (_warm(0.22) if cam.thermal  # things are cool in thermal IR
                else _warm(nir_reflectance(cam.occluder_color)) if cam.nir else cam.occluder_color)
    canvas = np.empty((len(spec.paths), h, w, 3), dtype=np.float32)
    for t in range(len(spec.paths)):
        cv = Canvas(bg.copy())
        cx = cx0 + float(rng.normal(0, 0.012 * w))
        top = top0 + float(rng.normal(0, 0.008 * h))
        draw_person(cv, p, spec.view, cx, top, ph0, phase0 + step * t)
        if occl is not None:
            if occl[0] == "pole":
                ox = occl[1] + occl[3] * t
                cv.paint(cv.rect(-1, h + 1, ox - occl[2] / 2, ox + occl[2] / 2), occluder,
                         np.broadcast_to(1.0 - 0.3 * cv.yy / h, (h, w)))
            else:
                cv.paint(cv.rect(occl[1], h + 1, -1, w + 1), occluder,
                         np.broadcast_to(1.0 - 0.3 * (cv.xx / w), (h, w)))
        canvas[t] = cv.img
    if cam.thermal or cam.nir:
        return list(apply_thermal(canvas, cam, rng, stripes=cam.thermal))
    return list(apply_camera(canvas, cam, rng, illum))
