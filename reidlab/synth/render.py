"""Rendering SynthCams: people with part structure seen through camera domains.

Everything here is pure numpy on whole pixel grids (no per-pixel Python loops). A frame is
drawn in three steps:

1. :func:`camera_background` — the camera's scene (base colour, gradient, texture), shifted a
   little per tracklet;
2. :func:`reidlab.synth.person.draw_person` — head/hair, torso with pattern, arms, legs, shoes
   and bag as soft-edged ellipses, rectangles and capsules (:mod:`reidlab.synth.canvas`), posed
   by the walk phase and seen from a viewpoint (front / back / side: the logo is only on the
   front, a side bag only shows on its side, a backpack mostly from the back);
3. :func:`apply_camera` — the camera's imaging: white balance (colour cast as per-channel gains,
   an invertible shift that keeps hue order), gain, contrast, gamma, saturation, resolution
   loss, blur and sensor noise.

Thermal and near-infrared cameras replace the person's colours (:func:`thermal_person`,
:func:`nir_person`), the scene (:func:`thermal_background`, :func:`nir_background`) and the
imaging (:func:`apply_thermal`). The parameters are the dataclasses of
:mod:`reidlab.synth.specs`, built by :mod:`reidlab.synth.planning` from a seed. Style "b" (the
second domain, indoor/airport-like) adds its own textures (``TEXTURES_B``) and two person
parts, a long coat and a rolling suitcase; their defaults draw nothing, so style "a" renders
exactly as before they existed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.ndimage import gaussian_filter, gaussian_filter1d

from reidlab.synth.canvas import Canvas
from reidlab.synth.person import draw_person
from reidlab.synth.specs import TEXTURES_B, Camera, Person, TrackletSpec


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


def _texture_b(cam: Camera, py: np.ndarray, px: np.ndarray, h: int, w: int, sy: float,
               sx: float) -> np.ndarray:
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


def apply_camera(img: np.ndarray, cam: Camera, rng: np.random.Generator,
                 illum: float) -> np.ndarray:
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
