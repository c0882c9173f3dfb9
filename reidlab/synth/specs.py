"""The parameters SynthCams draws from: a person's appearance (:class:`Person`), a camera
domain (:class:`Camera`), one tracklet to render (:class:`TrackletSpec`) and the vocabularies
they take values from. Plain frozen dataclasses, built from a seed by
:mod:`reidlab.synth.planning` and drawn by :mod:`reidlab.synth.render`.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

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
    # largest per-tracklet shift of the background texture (pixels at 128 rows)
    bg_shift: float = 12.0
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
