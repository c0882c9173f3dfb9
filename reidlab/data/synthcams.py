"""SynthCams: the embedded default dataset, a synthetic multi-camera video re-ID dataset.

``generate(out, cfg)`` writes it in the real MARS layout, so the MARS reader loads it
unchanged::

    bbox_train/<pid4>/<pid4>C<c>T<t4>F<f3>.jpg      bbox_test/...
    info/train_name.txt   info/test_name.txt         (one frame name per line)
    info/tracks_train_info.mat  (track_train_info: N×4 start,end,pid,cam; 1-based, inclusive)
    info/tracks_test_info.mat   (track_test_info)
    info/query_IDX.mat          (query_IDX: 1×Q, 1-based rows of the test table)

Train and test identities are disjoint. Each identity walks past a random subset (≥ 2) of the
cameras, with one or more tracklets per camera. Queries follow MARS: for each test identity one
query tracklet per camera it is queried from; the cameras are chosen so that every query keeps a
cross-camera match in the gallery even when the query tracks are removed from it (torchreid
protocol). A few distractor tracklets (pid 0) are added to the test gallery.

Same seed → byte-identical files: every tracklet draws from its own seeded generator, JPEGs
carry no metadata, and the MAT-file text header (which scipy stamps with the time) is fixed.

The drawing code is in :mod:`reidlab.data.synth_render`; ``python -m reidlab synth`` is the CLI.
A completion marker (``SYNTHCAMS_COMPLETE.json``) is written last: ``ensure_default`` regenerates a
folder without it (a killed generation is redone, never half-read).

``SynthConfig.style`` picks the domain: "a" (the default, outdoor-like street cameras) or "b", a
second domain for unsupervised domain adaptation (indoor/airport-like cameras: ``CALIBRATION_B``,
and other people: travellers in muted clothes, coats, rolling suitcases, drawn from another
random stream, so no style-b person is a style-a person even at the same seed).
``ensure_domain_b()`` writes it to ``data/synthcams_b``.

``SynthConfig.infrared`` makes the infrared ↔ colour SynthCams: six cameras of which cam3 and
cam6 are thermal (temperatures, one channel replicated to three, body warmer than the scene, no
clothing colour, their own sensor noise; :func:`reidlab.data.synth_render.thermal_person`), as
SYSU-MM01's 4 colour + 2 infrared, written in the real SYSU-MM01 layout
(``cam<c>/<pid4>/<img4>.jpg``, ``exp/{train,val,test}_id.txt``) so that the default path exercises
the SYSU-MM01 reader. Every person is seen by at least one infrared and one indoor colour camera
(cam1 or cam2); people are drawn from their own random stream. ``ensure_infrared()`` writes it
to ``data/synthcams_ir``. A thermal render keeps little of a person: 44 of the 100 default test
identities are told apart only by build (``synth_render.thermal_look``).
``SynthConfig.infrared_kind="nir"`` renders cam3 and cam6 as actively lit *near-infrared*
cameras instead — what SYSU-MM01's infrared cameras are: one grey level per garment from its
NIR reflectance (partly its luminance, partly a fixed function of its colour;
:func:`reidlab.data.synth_render.nir_person`), so identity survives without colour. Same people,
cameras and tracklets as the thermal one; ``ensure_infrared(kind="nir")`` or ``reidlab synth
--infrared --infrared-kind nir`` writes it to ``data/synthcams_nir``.

``SynthConfig.gap`` (in [0, 1]) is one knob for the whole camera gap: 1 (the default) is the
SynthCams above, frame for frame; 0 gives every camera the same scene, imaging, viewpoint habit
and framing, so that only the person (and per-tracklet chance) tells tracklets apart. Its four
parts (``GAP_PARTS``) can be set apart with ``gap_parts`` ("background=1,imaging=0"):
*background* — the scene drawn is a blend of the camera's own and camera 1's (the shared scene),
and the occlusion rate and occluder colour move to the cameras' common values; *imaging* — the
colour cast, gain, contrast, gamma, saturation, resolution loss, blur, noise and haze move to a
neutral camera (multiplied with the older ``domain_gap``, which scales the same things);
*viewpoint* — the probability of a camera's usual viewpoint moves from 0.85 to 0.25 (no habit);
*framing* — person size and position in the frame move to the cameras' mean. Every random draw
is made as at gap 1 and the values are then moved, so a gap level changes the cameras and
nothing else (same people, tracklets, viewpoints' random stream and file names).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
import types
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.io
from threadpoolctl import threadpool_limits

from reidlab.data import synth_render as R
from reidlab.data.formats.mars import SYNTHCAMS_MARKER as MARKER
from reidlab.errors import ConfigError

FORMAT_VERSION = 1
DEFAULT_ROOT = "data/synthcams"
DOMAIN_B_ROOT = "data/synthcams_b"
INFRARED_ROOT = "data/synthcams_ir"
NIR_ROOT = "data/synthcams_nir"
INFRARED_KINDS = ("thermal", "nir")
INFRARED_ROOTS = {"thermal": INFRARED_ROOT, "nir": NIR_ROOT}  # default folder of each kind
INFRARED_CAMS = (3, 6)  # 1-based, as SYSU-MM01's cam3 and cam6
GAP_PARTS = ("background", "imaging", "viewpoint", "framing")  # SynthConfig.gap's parts
STYLES = ("a", "b")
# random streams per style: (plan generator key, per-tracklet generator key). numpy's SeedSequence
# pads entropy with zeros, so the keys must differ in a non-trailing position: [seed, 0] and
# (seed, 1, i) for style a (as ever), [seed, 2] and (seed, 3, i) for style b.
STREAMS = {"a": (0, 1), "b": (2, 3), "ir": (4, 5)}
MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: reidlab SynthCams, deterministic header"

Progress = Callable[[int, int], None]

# Calibration knobs (see docs/synthcams.md and bench/calibrate_synthcams.py). Camera properties
# are spread evenly over [lo, hi] across the cameras; imaging ones are then scaled by domain_gap.
CALIBRATION: dict[str, tuple[float, float] | float] = {
    "scale": (0.78, 0.94),  # person height / frame height
    "build_w": (0.95, 1.35),  # person width factor
    "bg_value": (0.3, 0.8),
    "texture_contrast": (0.25, 0.55),
    "cast_strength": (0.12, 0.3),  # white-balance gain amplitude around 1
    "illum": (0.75, 1.2),
    "contrast": (0.75, 1.25),
    "gamma": (0.8, 1.25),
    "saturation": (0.65, 1.15),
    "downscale": (1.0, 2.0),
    "blur": (0.0, 0.8),
    "noise": (0.0, 0.035),
    "haze": (0.0, 0.1),
    "occlusion": (0.0, 0.2),
    "dominant_view": 0.85,  # probability of a camera's usual viewpoint
    "bg_shift": 12.0,  # per-tracklet background texture shift (pixels), within a camera
}

# Style b: an indoor / airport-like domain. Same meaning as CALIBRATION where the key is shared;
# compared with style a: smaller people (cameras mounted higher), bright low-saturation walls
# (panels, glass, tiles, signs, terrazzo) with an overhead-light gradient, warm-to-green
# (tungsten / fluorescent) casts instead of casts from the whole colour wheel, flat contrast,
# washed-out colour, lower resolution, more blur, noise and glare, more occlusion (crowds) and
# weaker viewpoint habits (people walk both ways past every camera).
CALIBRATION_B: dict[str, tuple[float, float] | float] = {
    "scale": (0.66, 0.82),
    "build_w": (0.9, 1.45),
    "build_h": (0.88, 1.1),
    "bg_value": (0.5, 0.86),
    "bg_hue": (0.05, 0.62),  # beige, sand, sage, teal, blue-grey walls (style a: the whole wheel)
    "bg_saturation": (0.03, 0.22),
    "texture_contrast": (0.2, 0.45),  # signage and windows: 0.6-0.9
    "cast_angle": (-0.2, 2.2),  # radians: 0 = red (tungsten), 1.05 = yellow, 2.1 = green (fluorescent)
    "cast_strength": (0.05, 0.2),
    "illum": (0.85, 1.2),
    "contrast": (0.6, 0.95),
    "gamma": (0.85, 1.35),
    "saturation": (0.45, 0.9),
    "downscale": (1.3, 2.2),
    "blur": (0.2, 1.0),
    "noise": (0.01, 0.05),
    "haze": (0.03, 0.14),
    "occlusion": (0.1, 0.35),
    "dominant_view": 0.6,
    "bg_shift": 16.0,
    "floor_level": (0.6, 0.78),
    "offset_y": (0.0, 0.08),  # people a little lower in the frame (camera looks down)
}


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. ``gap`` (0..1) is the whole camera gap: 1 = today's cameras, 0 = every
    camera the same scene, imaging, viewpoint habit and framing; ``gap_parts``
    ("background=1,imaging=0.5", parts of ``GAP_PARTS``) sets parts apart from ``gap`` (see the
    module docstring). ``domain_gap`` (older) scales how far each camera's imaging departs from
    a neutral camera (colour cast, gain, contrast, gamma, saturation, resolution, blur, noise);
    the imaging part's level multiplies it."""

    ids: int = 200
    cameras: int = 6
    frames: int = 8
    height: int = 128
    width: int = 64
    seed: int = 0
    distractors: int = 12
    max_tracklets_per_camera: int = 3
    domain_gap: float = 1.0
    jpeg_quality: int = 90
    workers: int = 2
    style: str = "a"  # "a": the default domain; "b": the second domain (indoor/airport-like)
    infrared: bool = False  # cam3, cam6 thermal; SYSU-MM01 layout (see the module docstring)
    infrared_kind: str = "thermal"  # with infrared: "thermal" or "nir" (near-infrared) cam3, cam6
    gap: float = 1.0  # the camera gap, 0 (none) .. 1 (the default SynthCams)
    gap_parts: str = ""  # per-part levels overriding gap: "background=1,imaging=0"

    def part_levels(self) -> dict[str, float]:
        """The level (0..1) of each camera-gap part (``GAP_PARTS``): ``gap`` unless
        ``gap_parts`` names it. ConfigError for a bad value."""
        try:
            gap = float(self.gap)
        except (TypeError, ValueError):
            gap = float("nan")
        if not 0.0 <= gap <= 1.0:
            raise ConfigError(f"gap={self.gap!r}: expected a number in [0, 1] (0 = no camera gap, "
                              "1 = the default SynthCams)")
        levels = dict.fromkeys(GAP_PARTS, gap)
        for item in filter(None, (x.strip() for x in str(self.gap_parts or "").split(","))):
            part, sep, value = item.partition("=")
            part = part.strip()
            try:
                level = float(value) if sep else float("nan")
            except ValueError:
                level = float("nan")
            if part not in GAP_PARTS or not 0.0 <= level <= 1.0:
                raise ConfigError(f"gap_parts={self.gap_parts!r}: expected PART=LEVEL[,PART=LEVEL...] "
                                  f"with PART one of {', '.join(GAP_PARTS)} and LEVEL in [0, 1], "
                                  f"got {item!r}")
            levels[part] = level
        return levels

    def validate(self) -> None:
        self.part_levels()
        if self.style not in STYLES:
            raise ConfigError(f"style={self.style!r}: expected one of {', '.join(map(repr, STYLES))} "
                              "(a = the default SynthCams domain, b = the second domain for adaptation)")
        if self.ids < 4 or self.ids > 9998:
            raise ConfigError(f"ids={self.ids}: expected 4..9998 identities (half train, half test)")
        if not 2 <= self.cameras <= 9:
            raise ConfigError(f"cameras={self.cameras}: expected 2..9 (MARS names hold one camera digit)")
        if not 1 <= self.frames <= 999:
            raise ConfigError(f"frames={self.frames}: expected 1..999 frames per tracklet")
        if self.height < 16 or self.width < 8:
            raise ConfigError(f"height×width={self.height}×{self.width}: expected at least 16×8")
        if self.distractors < 0 or self.max_tracklets_per_camera < 1:
            raise ConfigError("distractors must be >= 0 and max_tracklets_per_camera >= 1")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality={self.jpeg_quality}: expected 1..100")
        if self.infrared and self.cameras != 6:
            raise ConfigError(f"cameras={self.cameras} with infrared: expected 6 (SYSU-MM01's "
                              "cam1..cam6, cam3 and cam6 infrared)")
        if self.infrared_kind not in INFRARED_KINDS:
            raise ConfigError(f"infrared_kind={self.infrared_kind!r}: expected one of "
                              f"{', '.join(map(repr, INFRARED_KINDS))}")
        if self.infrared_kind != "thermal" and not self.infrared:
            raise ConfigError(f"infrared_kind={self.infrared_kind!r} needs infrared=True")
        if self.infrared and self.ids < 8:
            raise ConfigError(f"ids={self.ids} with infrared: expected at least 8 (train, val "
                              "and test people)")

    def identity(self) -> dict:
        """The fields that determine the dataset's content (not how fast it is written)."""
        d = asdict(self)
        d.pop("workers")
        if d["style"] == "a":  # style a predates the field: its identity (and marker) are unchanged
            d.pop("style")
        if not d["infrared"]:  # likewise
            d.pop("infrared")
        if d["infrared_kind"] == "thermal":  # likewise
            d.pop("infrared_kind")
        d.pop("gap")
        d.pop("gap_parts")
        levels = self.part_levels()
        if any(v != 1.0 for v in levels.values()):  # gap 1 predates the knob: identity unchanged
            d["gap_levels"] = levels  # the effective levels: equal datasets, equal identities
        d["format_version"] = FORMAT_VERSION
        return d


@dataclass
class TrackRecord:
    """One tracklet of the layout (before its frames are written)."""

    split: str  # "train" | "test"
    pid: int
    cam: int  # 1-based
    tnum: int  # 1-based tracklet number within (pid, cam)
    spec: R.TrackletSpec
    names: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- sampling


def _rgb(rng: np.random.Generator, h: float, s: float, v: float) -> tuple[float, float, float]:
    return R.hsv(h + rng.normal(0, 0.01), s + rng.normal(0, 0.03), v + rng.normal(0, 0.03))


def sample_person(rng: np.random.Generator, style: str = "a") -> R.Person:
    """One identity's appearance: colours and part styles drawn independently."""
    if style == "b":
        return sample_person_b(rng)

    def cloth(dark_bias: float = 0.0):
        r = rng.random()
        if r < 0.22:  # achromatic: black / grey / white
            return R.hsv(0, rng.uniform(0, 0.08), rng.choice([0.12, 0.45, 0.92]) + rng.normal(0, 0.05))
        return R.hsv(rng.random(), rng.uniform(0.45, 0.95), rng.uniform(0.35, 0.95) - dark_bias)

    skin_tones = [(0.08, 0.35, 0.95), (0.07, 0.45, 0.8), (0.06, 0.55, 0.6), (0.05, 0.6, 0.4), (0.09, 0.3, 0.85)]
    skin = _rgb(rng, *skin_tones[rng.integers(len(skin_tones))])
    hair_tones = [(0.07, 0.6, 0.12), (0.08, 0.7, 0.3), (0.12, 0.6, 0.75), (0.0, 0.0, 0.6), (0.04, 0.8, 0.5)]
    hair = _rgb(rng, *hair_tones[rng.choice(len(hair_tones), p=[0.4, 0.25, 0.15, 0.1, 0.1])])
    r = rng.random()
    if r < 0.5:
        legs = _rgb(rng, *[(0.6, 0.55, 0.45), (0.0, 0.0, 0.12), (0.1, 0.35, 0.65), (0.0, 0.0, 0.45)][rng.integers(4)])
    else:
        legs = cloth(0.1)
    return R.Person(
        skin=skin,
        hair=hair,
        hair_style=str(rng.choice(R.HAIR_STYLES, p=[0.45, 0.3, 0.1, 0.15])),
        cap=cloth(),
        torso=cloth(),
        pattern=str(rng.choice(R.PATTERNS, p=[0.5, 0.25, 0.25])),
        pattern_color=cloth(),
        long_sleeves=bool(rng.random() < 0.55),
        legs=legs,
        legwear=str(rng.choice(R.LEGWEAR, p=[0.7, 0.18, 0.12])),
        shoes=_rgb(rng, *[(0, 0, 0.1), (0, 0, 0.9), (0.08, 0.6, 0.35), (rng.random(), 0.7, 0.7)][rng.integers(4)]),
        bag=str(rng.choice(R.BAGS, p=[0.4, 0.15, 0.15, 0.3])),
        bag_color=cloth(),
        build_w=float(rng.uniform(*CALIBRATION["build_w"])),
        build_h=float(rng.uniform(0.9, 1.07)),
    )


def sample_person_b(rng: np.random.Generator) -> R.Person:
    """A style-b identity (travellers): more black/grey/white and muted navy, brown and olive
    clothes, mostly long sleeves and trousers, coats, backpacks and rolling suitcases, a wider
    range of builds."""
    earth = [(0.6, 0.64), (0.05, 0.11), (0.22, 0.36), (0.95, 1.0)]  # navy, brown/tan, olive, burgundy

    def cloth(dark_bias: float = 0.0):
        r = rng.random()
        if r < 0.38:  # achromatic
            return R.hsv(0, rng.uniform(0, 0.06), rng.choice([0.1, 0.3, 0.55, 0.9]) + rng.normal(0, 0.04))
        if r < 0.8:  # muted earth tones
            lo, hi = earth[rng.integers(len(earth))]
            return R.hsv(rng.uniform(lo, hi), rng.uniform(0.3, 0.75), rng.uniform(0.25, 0.75) - dark_bias)
        return R.hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.45, 0.95) - dark_bias)  # a bright one

    skin_tones = [(0.08, 0.35, 0.95), (0.07, 0.45, 0.8), (0.06, 0.55, 0.6), (0.05, 0.6, 0.4), (0.09, 0.3, 0.85)]
    skin = _rgb(rng, *skin_tones[rng.choice(len(skin_tones), p=[0.15, 0.25, 0.25, 0.2, 0.15])])
    hair_tones = [(0.07, 0.6, 0.12), (0.08, 0.7, 0.3), (0.12, 0.6, 0.75), (0.0, 0.0, 0.6), (0.04, 0.8, 0.5)]
    hair = _rgb(rng, *hair_tones[rng.choice(len(hair_tones), p=[0.45, 0.2, 0.1, 0.2, 0.05])])
    legs = cloth(0.15)
    coat = bool(rng.random() < 0.3)
    return R.Person(
        skin=skin,
        hair=hair,
        hair_style=str(rng.choice(R.HAIR_STYLES, p=[0.4, 0.25, 0.15, 0.2])),
        cap=cloth(),
        torso=cloth(),
        pattern=str(rng.choice(R.PATTERNS, p=[0.65, 0.1, 0.25])),
        pattern_color=cloth(),
        long_sleeves=bool(coat or rng.random() < 0.8),
        legs=legs,
        legwear=str(rng.choice(R.LEGWEAR, p=[0.85, 0.04, 0.11])),
        shoes=_rgb(rng, *[(0, 0, 0.1), (0, 0, 0.9), (0.08, 0.6, 0.3), (0, 0, 0.4)][rng.integers(4)]),
        bag=str(rng.choice(R.BAGS, p=[0.3, 0.15, 0.15, 0.4])),
        bag_color=cloth(),
        build_w=float(rng.uniform(*CALIBRATION_B["build_w"])),
        build_h=float(rng.uniform(*CALIBRATION_B["build_h"])),
        coat=coat,
        suitcase=str(rng.choice(("none", "left", "right"), p=[0.6, 0.2, 0.2])),
        suitcase_color=cloth(),
    )


def _imaging_spreads(K: dict, spread: Callable[[float, float], np.ndarray]) -> dict:
    """The imaging-pipeline properties of every camera, each spread over the cameras (drawn in
    this order: the random stream, and so every dataset, depends on it)."""
    return {k: spread(*K[k]) for k in ("illum", "contrast", "gamma", "saturation", "downscale",
                                       "blur", "noise", "haze", "occlusion")}


def _camera_imaging(K: dict, pipe: dict, i: int, cast_angle: float, cast_strength: float,
                    dominant_view: str, gap: float, haze_tint: tuple[float, float, float],
                    view_level: float = 1.0) -> dict:
    """Camera ``i``'s imaging keywords of ``R.Camera`` (no random draws): colour-cast gains,
    tone curve, resolution, blur, noise, occlusion, view habit and the haze offset, tinted per
    channel by the style's ``haze_tint``. ``view_level`` (the camera-gap knob's viewpoint part)
    moves the usual view's probability from ``K["dominant_view"]`` (1) to 1/4 (0: no habit)."""
    s = cast_strength * gap
    gains = tuple(float(pipe["illum"][i] ** gap * (1.0 + s * np.cos(cast_angle - k * 2 * np.pi
                                                                     / 3))) for k in range(3))
    dom = K["dominant_view"] if view_level == 1.0 else \
        0.25 + (K["dominant_view"] - 0.25) * view_level
    vp = np.full(4, (1.0 - dom) / 3)
    vp[R.VIEWS.index(dominant_view)] = dom
    return {
        "view_probs": tuple(float(x) for x in vp),
        "gains": gains,
        "offset": tuple(float(pipe["haze"][i]) * gap * t for t in haze_tint),
        **{k: float(1.0 + (pipe[k][i] - 1.0) * gap)
           for k in ("contrast", "gamma", "saturation", "downscale")},
        "blur": float(pipe["blur"][i] * gap),
        "noise": float(pipe["noise"][i] * gap),
        "occlusion_prob": float(pipe["occlusion"][i]),
    }


def _apply_levels(cams: list[R.Camera], levels: dict[str, float], K: dict,
                  offset_y_mid: float) -> list[R.Camera]:
    """The camera-gap knob's background and framing parts on cameras drawn at full gap (the
    imaging and viewpoint parts act in ``_camera_imaging``). Background level b: each camera's
    scene is drawn blended with camera 1's (``scene_mix`` = b; camera 1's is the shared scene),
    its occlusion rate moves to the middle of ``K["occlusion"]`` and its occluder colour to
    camera 1's. Framing level f: person scale, horizontal and vertical offset move to the middle
    of their ranges. Level 1 returns the cameras untouched."""
    b, f = levels["background"], levels["framing"]
    if b == 1.0 and f == 1.0:
        return cams
    ref = cams[0]
    occ_mid = (K["occlusion"][0] + K["occlusion"][1]) / 2
    scale_mid = (K["scale"][0] + K["scale"][1]) / 2
    out = []
    for c in cams:
        kw: dict = {}
        if b < 1.0:
            kw.update(occlusion_prob=float(occ_mid + (c.occlusion_prob - occ_mid) * b),
                      occluder_color=tuple(float(r + (x - r) * b) for x, r in
                                           zip(c.occluder_color, ref.occluder_color)))
            if c.index != ref.index:
                kw.update(scene_mix=float(b), scene_ref=ref)
        if f < 1.0:
            kw.update(scale=float(scale_mid + (c.scale - scale_mid) * f),
                      offset_x=float(c.offset_x * f),
                      offset_y=float(offset_y_mid + (c.offset_y - offset_y_mid) * f))
        out.append(dataclasses.replace(c, **kw))
    return out


def _full_levels(levels: dict[str, float] | None) -> dict[str, float]:
    return {**dict.fromkeys(GAP_PARTS, 1.0), **(levels or {})}


def camera_record(cam: R.Camera) -> dict:
    """A camera as the completion marker stores it: the camera-gap knob's scene fields only
    where they act (so a gap-1 marker is byte for byte the one written before the knob)."""
    d = asdict(cam)
    if cam.scene_ref is None and cam.scene_mix == 1.0:
        d.pop("scene_ref")
        d.pop("scene_mix")
    else:
        d["scene_ref"] = None if cam.scene_ref is None else cam.scene_ref.index
    return d


def sample_cameras(n: int, rng: np.random.Generator, gap: float = 1.0, style: str = "a",
                   levels: dict[str, float] | None = None) -> list[R.Camera]:
    """``n`` camera domains spread over the space of scenes and imaging pipelines.

    Each property is spread evenly over the cameras (then shuffled) so that no two cameras
    look alike, whatever the seed. ``gap`` (``SynthConfig.domain_gap``) scales the imaging
    departures from neutral. ``levels``: the camera-gap knob's part levels
    (``SynthConfig.part_levels()``; default all 1 = no change). ``style`` "b" draws the
    indoor/airport-like cameras of ``CALIBRATION_B``.
    """
    levels = _full_levels(levels)
    if style == "b":
        return sample_cameras_b(n, rng, gap, levels)

    K = CALIBRATION

    def spread(lo: float, hi: float) -> np.ndarray:
        v = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
        return rng.permutation(v)

    hue0 = rng.random()
    bg_hues = (hue0 + np.arange(n) / n) % 1.0
    bg_vals = spread(*K["bg_value"])
    textures = [R.TEXTURES[i] for i in rng.permutation(len(R.TEXTURES))]
    dominant = rng.permutation([R.VIEWS[i % 4] for i in range(max(n, 4))])[:n]
    scales = spread(*K["scale"])
    cast_angle = rng.random() * 2 * np.pi + np.arange(n) * 2 * np.pi / n
    cast_angle = rng.permutation(cast_angle)
    cast_strength = spread(*K["cast_strength"])
    pipe = _imaging_spreads(K, spread)
    cams = []
    for i in range(n):
        hb = float(bg_hues[i])
        imaging = _camera_imaging(K, pipe, i, float(cast_angle[i]), float(cast_strength[i]),
                                  dominant[i], gap * levels["imaging"], (0.9, 1.0, 1.1),
                                  levels["viewpoint"])
        cams.append(
            R.Camera(
                index=i,
                bg_color=R.hsv(hb, rng.uniform(0.2, 0.55), bg_vals[i]),
                bg_color2=R.hsv(hb + rng.uniform(-0.08, 0.08), rng.uniform(0.1, 0.5), bg_vals[i] * rng.uniform(0.5, 0.8)),
                texture=textures[i % len(textures)],
                texture_period=float(rng.uniform(10, 28)),
                texture_contrast=float(rng.uniform(*K["texture_contrast"])),
                gradient=(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.4, 0.4))),
                floor_color=R.hsv(hb + 0.5, rng.uniform(0.05, 0.3), rng.uniform(0.25, 0.7)),
                floor_level=float(rng.uniform(0.72, 0.9)),
                scale=float(scales[i]),
                offset_y=float(rng.uniform(-0.04, 0.04)),
                offset_x=float(rng.uniform(-0.08, 0.08)),
                **imaging,
                occluder_color=R.hsv(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.2, 0.7)),
                bg_shift=float(K["bg_shift"]),
            )
        )
    return _apply_levels(cams, levels, K, 0.0)


def sample_cameras_b(n: int, rng: np.random.Generator, gap: float = 1.0,
                     levels: dict[str, float] | None = None) -> list[R.Camera]:
    """Style-b cameras (see ``CALIBRATION_B``), spread over the cameras like style a's."""
    levels = _full_levels(levels)
    K = CALIBRATION_B

    def spread(lo: float, hi: float) -> np.ndarray:
        v = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
        return rng.permutation(v)

    bg_hues = spread(*K["bg_hue"])
    bg_vals = spread(*K["bg_value"])
    bg_sats = spread(*K["bg_saturation"])
    textures = [R.TEXTURES_B[i] for i in rng.permutation(len(R.TEXTURES_B))]
    habits = ("front", "back", "front", "back", "left", "right")  # corridors: mostly towards/away
    dominant = rng.permutation([habits[i % len(habits)] for i in range(max(n, len(habits)))])[:n]
    scales = spread(*K["scale"])
    cast_angle = spread(*K["cast_angle"])
    cast_strength = spread(*K["cast_strength"])
    pipe = _imaging_spreads(K, spread)
    floor = spread(*K["floor_level"])
    cams = []
    for i in range(n):
        hb = float(bg_hues[i])
        imaging = _camera_imaging(K, pipe, i, float(cast_angle[i]), float(cast_strength[i]),
                                  dominant[i], gap * levels["imaging"], (1.05, 1.0, 0.9),
                                  levels["viewpoint"])
        tex = textures[i % len(textures)]
        if tex == "signage":  # a saturated sign colour: yellow, blue, green or red
            c2 = R.hsv(float(rng.choice([0.14, 0.6, 0.38, 0.0])), rng.uniform(0.6, 0.9), rng.uniform(0.5, 0.9))
            tc = float(rng.uniform(0.6, 0.9))
        elif tex == "windows":  # dark mullions between bright panes
            c2 = R.hsv(hb, rng.uniform(0.0, 0.2), rng.uniform(0.1, 0.3))
            tc = float(rng.uniform(0.6, 0.9))
        else:
            c2 = R.hsv(hb + rng.uniform(-0.05, 0.05), rng.uniform(0.0, 0.3), bg_vals[i] * rng.uniform(0.55, 0.85))
            tc = float(rng.uniform(*K["texture_contrast"]))
        cams.append(
            R.Camera(
                index=i,
                bg_color=R.hsv(hb, float(bg_sats[i]), bg_vals[i]),
                bg_color2=c2,
                texture=tex,
                texture_period=float(rng.uniform(14, 36)),
                texture_contrast=tc,
                gradient=(float(rng.uniform(-0.6, -0.1)), float(rng.uniform(-0.25, 0.25))),  # lit from above
                floor_color=R.hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.45, 0.85)),
                floor_level=float(floor[i]),
                scale=float(scales[i]),
                offset_y=float(rng.uniform(*K["offset_y"])),
                offset_x=float(rng.uniform(-0.1, 0.1)),
                **imaging,
                occluder_color=R.hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.6)),
                bg_shift=float(K["bg_shift"]),
            )
        )
    return _apply_levels(cams, levels, K, sum(K["offset_y"]) / 2)


def choose_queries(tracks_by_cam: dict[int, int], rng: np.random.Generator) -> list[int]:
    """Cameras to query one identity from (``tracks_by_cam``: camera -> number of tracklets).

    Greedy over a random camera order: a camera is added only if every chosen query still has a
    gallery tracklet in another camera once all query tracklets are taken out of the gallery.
    """
    cams = [int(c) for c in rng.permutation(sorted(tracks_by_cam))]
    chosen: list[int] = []
    for c in cams:
        trial = chosen + [c]
        left = {k: n - (k in trial) for k, n in tracks_by_cam.items()}
        if all(any(left[k] > 0 for k in left if k != q) for q in trial):
            chosen = trial
    return sorted(chosen)


def plan(cfg: SynthConfig) -> tuple[list[R.Camera], list[TrackRecord], list[int]]:
    """Decide every tracklet (identity, camera, viewpoint, file names) and the queries.

    Returns the cameras, the tracklet records (train then test, in name-file order) and the
    0-based indices (into the test records) of the query tracklets.
    """
    cfg.validate()
    plan_key, track_key = STREAMS[cfg.style]
    rng = np.random.default_rng([cfg.seed, plan_key])
    cams = sample_cameras(cfg.cameras, rng, cfg.domain_gap, cfg.style, cfg.part_levels())
    pids = rng.permutation(np.arange(1, cfg.ids + 1))
    n_train = cfg.ids // 2
    split_of = {int(p): ("train" if i < n_train else "test") for i, p in enumerate(pids)}
    records: list[TrackRecord] = []
    test_tracks_by_pid: dict[int, dict[int, int]] = {}
    counter = 0

    def make(split: str, pid: int, cam: int, tnum: int, person: R.Person) -> TrackRecord:
        nonlocal counter
        c = cams[cam - 1]
        view = str(rng.choice(R.VIEWS, p=np.asarray(c.view_probs) / sum(c.view_probs)))
        folder = "bbox_train" if split == "train" else "bbox_test"
        names = [f"{pid:04d}C{cam}T{tnum:04d}F{f:03d}.jpg" for f in range(1, cfg.frames + 1)]
        paths = tuple(f"{folder}/{pid:04d}/{n}" for n in names)
        spec = R.TrackletSpec(person, c, view, paths, (cfg.seed, track_key, counter), cfg.height, cfg.width, cfg.jpeg_quality)
        counter += 1
        return TrackRecord(split, pid, cam, tnum, spec, names)

    for pid in range(1, cfg.ids + 1):
        person = sample_person(rng, cfg.style)
        k = int(rng.integers(2, cfg.cameras + 1))
        cam_set = sorted(int(c) + 1 for c in rng.choice(cfg.cameras, size=k, replace=False))
        per_cam = {}
        for cam in cam_set:
            n = 1 + int(rng.binomial(cfg.max_tracklets_per_camera - 1, 0.2))
            per_cam[cam] = n
            for t in range(1, n + 1):
                records.append(make(split_of[pid], pid, cam, t, person))
        if split_of[pid] == "test":
            test_tracks_by_pid[pid] = per_cam
    # distractors: pid 0, one camera each, test gallery only
    dis_count: dict[int, int] = {}
    distractors = []
    for _ in range(cfg.distractors):
        cam = int(rng.integers(1, cfg.cameras + 1))
        dis_count[cam] = dis_count.get(cam, 0) + 1
        distractors.append(make("test", 0, cam, dis_count[cam], sample_person(rng, cfg.style)))
    train = [r for r in records if r.split == "train"]
    test = distractors + [r for r in records if r.split == "test"]
    train.sort(key=lambda r: (r.pid, r.cam, r.tnum))
    test.sort(key=lambda r: (r.pid, r.cam, r.tnum))
    query_rows = []
    for pid in sorted(test_tracks_by_pid):
        qcams = set(choose_queries(test_tracks_by_pid[pid], rng))
        for i, r in enumerate(test):
            if r.pid == pid and r.cam in qcams and r.tnum == 1:
                query_rows.append(i)
    return cams, train + test, sorted(query_rows)


def plan_infrared(cfg: SynthConfig) -> tuple[list[R.Camera], list[TrackRecord]]:
    """The infrared SynthCams: cameras (cam3, cam6 thermal or near-infrared) and every tracklet,
    its images named in the SYSU-MM01 layout. Splits: half the people test, a quarter of the
    rest val."""
    import dataclasses

    cfg.validate()
    plan_key, track_key = STREAMS["ir"]
    rng = np.random.default_rng([cfg.seed, plan_key])
    cams = sample_cameras(cfg.cameras, rng, cfg.domain_gap, cfg.style, cfg.part_levels())
    kind = {"thermal": {"thermal": True}, "nir": {"nir": True}}[cfg.infrared_kind]
    cams = [dataclasses.replace(c, **kind) if c.index + 1 in INFRARED_CAMS else c for c in cams]
    pids = [int(p) for p in rng.permutation(np.arange(1, cfg.ids + 1))]
    n_test = cfg.ids // 2
    n_val = max(1, (cfg.ids - n_test) // 4)
    split_of = {p: "test" for p in pids[:n_test]}
    split_of.update({p: "val" for p in pids[n_test:n_test + n_val]})
    split_of.update({p: "train" for p in pids[n_test + n_val:]})
    colour = [c for c in range(1, cfg.cameras + 1) if c not in INFRARED_CAMS]
    records: list[TrackRecord] = []
    for pid in range(1, cfg.ids + 1):
        person = sample_person(rng, cfg.style)
        cam_set = {int(c) for c in range(1, cfg.cameras + 1) if rng.random() < 0.5}
        if not cam_set & set(INFRARED_CAMS):
            cam_set.add(int(rng.choice(INFRARED_CAMS)))
        if not cam_set & {1, 2}:  # indoor search needs an indoor colour camera
            cam_set.add(int(rng.choice([1, 2])))
        for cam in sorted(cam_set):
            c = cams[cam - 1]
            n = 1 + int(rng.binomial(cfg.max_tracklets_per_camera - 1, 0.2))
            image = 0
            for tnum in range(1, n + 1):
                view = str(rng.choice(R.VIEWS, p=np.asarray(c.view_probs) / sum(c.view_probs)))
                names = [f"{image + f:04d}.jpg" for f in range(1, cfg.frames + 1)]
                image += cfg.frames
                paths = tuple(f"cam{cam}/{pid:04d}/{n}" for n in names)
                spec = R.TrackletSpec(person, c, view, paths, (cfg.seed, track_key, len(records)),
                                      cfg.height, cfg.width, cfg.jpeg_quality)
                records.append(TrackRecord(split_of[pid], pid, cam, tnum, spec, names))
    assert all(colour)  # the colour cameras are the others
    return cams, records


# ----------------------------------------------------------------------------- writing


def _single_threaded() -> None:
    threadpool_limits(1)


@contextmanager
def _workers_skip_main():
    """Start worker processes without re-running the caller's ``__main__``.

    A spawned (or forkserver) child first re-runs ``sys.modules["__main__"].__file__``. Streamlit,
    and its AppTest, replace ``__main__`` by the page being run; a page run bare in a worker fails
    (or re-renders the app). Our workers need nothing from ``__main__``, so hide it meanwhile.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield  # ``python -m ...``: children import it by name, which is harmless
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _render_and_write(args: tuple[str, R.TrackletSpec]) -> int:
    from PIL import Image

    root, spec = args
    frames = R.render_tracklet(spec)
    for arr, rel in zip(frames, spec.paths):
        path = Path(root) / rel
        buf = io.BytesIO()
        Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=spec.jpeg_quality, optimize=False, subsampling=0)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, buf.getvalue())
        finally:
            os.close(fd)
    return len(frames)


def write_mat(path: Path, key: str, array: np.ndarray) -> None:
    """``scipy.io.savemat`` with a fixed text header (scipy stamps it with the time)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {key: array}, format="5", do_compression=False, oned_as="row")
    data = bytearray(buf.getvalue())
    header = MAT_HEADER.ljust(116, b" ")
    data[:116] = header[:116]
    path.write_bytes(bytes(data))


def _table(records: list[TrackRecord]) -> tuple[list[str], np.ndarray]:
    names, rows, start = [], [], 1
    for r in records:
        names.extend(r.names)
        rows.append((start, start + len(r.names) - 1, r.pid, r.cam))
        start += len(r.names)
    return names, np.asarray(rows, dtype=np.int32).reshape(-1, 4)


def _render_all(out: Path, records: list[TrackRecord], cfg: SynthConfig,
                progress: Progress | None) -> None:
    """Render and write every record's frames (worker processes when ``cfg.workers`` > 1)."""
    jobs = [(str(out), r.spec) for r in records]
    total = len(jobs)
    done = 0
    if progress:
        progress(0, total)
    if cfg.workers > 1 and total >= 8:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        with ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_single_threaded) as pool:
            with _workers_skip_main():  # the workers start while the jobs are submitted
                results = pool.map(_render_and_write, jobs, chunksize=8)
            for _ in results:  # a dead worker raises BrokenProcessPool, never hangs
                done += 1
                if progress:
                    progress(done, total)
    else:
        with threadpool_limits(1):  # multi-threaded BLAS on tiny matrices is 100× slower
            for job in jobs:
                _render_and_write(job)
                done += 1
                if progress:
                    progress(done, total)


def generate_infrared(out: Path, cfg: SynthConfig, progress: Progress | None = None) -> Path:
    """Write the infrared SynthCams (``cfg.infrared``) in the SYSU-MM01 layout."""
    cams, records = plan_infrared(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    for sub in [f"cam{c}" for c in range(1, 10)] + ["exp"]:
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for c in range(1, cfg.cameras + 1):
        (out / f"cam{c}").mkdir()
    for d in sorted({str(Path(p).parent) for r in records for p in r.spec.paths}):
        (out / d).mkdir(parents=True, exist_ok=True)
    _render_all(out, records, cfg, progress)
    (out / "exp").mkdir()
    ids = {s: sorted({r.pid for r in records if r.split == s}) for s in ("train", "val", "test")}
    for split, pids in ids.items():
        (out / "exp" / f"{split}_id.txt").write_text(",".join(map(str, pids)) + "\n")
    counts = {f"{s}_ids": len(v) for s, v in ids.items()}
    counts.update(tracklets=len(records), frames=sum(len(r.names) for r in records),
                  infrared_frames=sum(len(r.names) for r in records if r.cam in INFRARED_CAMS))
    marker = {"config": cfg.identity(), "counts": counts, "layout": "sysumm01",
              "cameras": [camera_record(c) for c in cams]}
    (out / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return out


def generate(out: str | Path, cfg: SynthConfig = SynthConfig(), progress: Progress | None = None) -> Path:
    """Write SynthCams for ``cfg`` into ``out`` (MARS layout) and return ``out``.

    Any previous SynthCams content of ``out`` (marker, bbox_train, bbox_test, info) is removed
    first; other files in ``out`` are left alone. The marker file is written last.
    """
    out = Path(out)
    if cfg.infrared:
        return generate_infrared(out, cfg, progress)
    cams, records, query_rows = plan(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    for sub in ("bbox_train", "bbox_test", "info"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for d in sorted({str(Path(p).parent) for r in records for p in r.spec.paths}):
        (out / d).mkdir(parents=True, exist_ok=True)
    (out / "info").mkdir()

    _render_all(out, records, cfg, progress)
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    for split, recs, key in (("train", train, "track_train_info"), ("test", test, "track_test_info")):
        names, table = _table(recs)
        (out / "info" / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        write_mat(out / "info" / f"tracks_{split}_info.mat", key, table)
    write_mat(out / "info" / "query_IDX.mat", "query_IDX", np.asarray(query_rows, dtype=np.int32)[None, :] + 1)

    counts = {
        "train_tracklets": len(train),
        "train_ids": len({r.pid for r in train}),
        "test_tracklets": len(test),
        "test_ids": len({r.pid for r in test if r.pid > 0}),
        "distractor_tracklets": sum(r.pid == 0 for r in test),
        "queries": len(query_rows),
        "frames": sum(len(r.names) for r in records),
    }
    marker = {
        "config": cfg.identity(),
        "counts": counts,
        "cameras": [camera_record(c) for c in cams],
    }
    (out / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return out


def is_complete(root: str | Path, cfg: SynthConfig | None = None) -> bool:
    """True if ``root`` holds a finished SynthCams (for ``cfg``, if given)."""
    m = Path(root) / MARKER
    if not m.is_file():
        return False
    if cfg is None:
        return True
    try:
        return json.loads(m.read_text()).get("config") == json.loads(json.dumps(cfg.identity()))
    except (OSError, ValueError):
        return False


def ensure_default(root: str | Path = DEFAULT_ROOT, cfg: SynthConfig = SynthConfig(),
                   progress: Progress | None = None) -> Path:
    """Return ``root``, generating SynthCams there first unless a finished copy for ``cfg``
    is already present (a folder without the completion marker is regenerated)."""
    root = Path(root)
    if not is_complete(root, cfg):
        generate(root, cfg, progress)
    return root


def ensure_domain_b(root: str | Path = DOMAIN_B_ROOT, cfg: SynthConfig | None = None,
                    progress: Progress | None = None) -> Path:
    """``ensure_default`` for the second domain: return ``root`` (default ``data/synthcams_b``),
    generating style-b SynthCams there first unless a finished copy for ``cfg`` (default
    ``SynthConfig(style="b")``) is present. A labelled source for domain adaptation."""
    cfg = SynthConfig(style="b") if cfg is None else cfg
    if cfg.style != "b":
        raise ConfigError(f"ensure_domain_b: cfg.style={cfg.style!r}, expected 'b' (use ensure_default for 'a')")
    return ensure_default(root, cfg, progress)


# ----------------------------------------------------------------------------- CLI


def ensure_infrared(root: str | Path | None = None, cfg: SynthConfig | None = None,
                    progress: Progress | None = None, kind: str = "thermal") -> Path:
    """``ensure_default`` for the infrared ↔ colour SynthCams (SYSU-MM01 layout): without
    ``cfg``, the default one of ``kind`` ("thermal" or "nir"); without ``root``, that kind's
    folder (``INFRARED_ROOTS``: data/synthcams_ir, data/synthcams_nir)."""
    cfg = SynthConfig(infrared=True, distractors=0, infrared_kind=kind) if cfg is None else cfg
    if not cfg.infrared:
        raise ConfigError("ensure_infrared: cfg.infrared is False (use ensure_default)")
    cfg.validate()
    return ensure_default(INFRARED_ROOTS[cfg.infrared_kind] if root is None else root, cfg,
                          progress)


def default_out(cfg: SynthConfig) -> str:
    """The CLI's folder for ``cfg`` without ``--out``: the style's or infrared kind's default
    root, with ``_gap{g}`` (and the parts named) appended when the camera gap is below 1 — a
    smaller gap never overwrites the default dataset."""
    root = (INFRARED_ROOTS[cfg.infrared_kind] if cfg.infrared else
            DOMAIN_B_ROOT if cfg.style == "b" else DEFAULT_ROOT)
    if all(v == 1.0 for v in cfg.part_levels().values()):
        return root
    parts = "".join(f"_{p}{v:g}" for p, v in cfg.part_levels().items() if v != cfg.gap)
    return f"{root}_gap{cfg.gap:g}{parts}"


def configure_parser(p: argparse.ArgumentParser) -> None:
    d = SynthConfig()
    p.add_argument("--out", default=None,
                   help=f"output folder (default {DEFAULT_ROOT}; with --style b {DOMAIN_B_ROOT}; "
                        f"with a camera gap below 1, e.g. {DEFAULT_ROOT}_gap0.5)")
    p.add_argument("--style", default=d.style,
                   help="domain: a = the default SynthCams (outdoor-like), b = a second domain with its own "
                        "cameras and people (indoor/airport-like), e.g. a source for adaptation "
                        "(default %(default)s)")
    p.add_argument("--ids", type=int, default=d.ids, help="identities, half train half test (default %(default)s)")
    p.add_argument("--cameras", type=int, default=d.cameras, help="cameras, 2..9 (default %(default)s)")
    p.add_argument("--frames", type=int, default=d.frames, help="frames per tracklet (default %(default)s)")
    p.add_argument("--height", type=int, default=d.height, help="frame height (default %(default)s)")
    p.add_argument("--width", type=int, default=d.width, help="frame width (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--distractors", type=int, default=d.distractors, help="pid-0 gallery tracklets (default %(default)s)")
    p.add_argument("--domain-gap", type=float, default=d.domain_gap, help="camera imaging gap scale (default %(default)s)")
    p.add_argument("--gap", type=float, default=d.gap,
                   help="the whole camera gap, 0 (every camera the same scene, imaging, viewpoint "
                        "habit and framing) .. 1 (the default SynthCams) (default %(default)s)")
    p.add_argument("--gap-parts", default=d.gap_parts, metavar="PART=LEVEL[,...]",
                   help=f"levels of single parts of the camera gap, overriding --gap; parts: "
                        f"{', '.join(GAP_PARTS)} (e.g. background=1,imaging=0)")
    p.add_argument("--workers", type=int, default=d.workers, help="processes (default %(default)s)")
    p.add_argument("--infrared", action="store_true",
                   help="the infrared ↔ colour SynthCams: cam3, cam6 thermal, written in the "
                        f"SYSU-MM01 layout (default out {INFRARED_ROOT}; no distractors)")
    p.add_argument("--infrared-kind", choices=INFRARED_KINDS, default=d.infrared_kind,
                   help="with --infrared: thermal cam3, cam6 (default), or nir: actively lit "
                        f"near-infrared ones as SYSU-MM01's (default out {NIR_ROOT})")
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing when a finished dataset with these settings is already there")


def run(args: argparse.Namespace) -> int:
    cfg = SynthConfig(ids=args.ids, cameras=args.cameras, frames=args.frames, height=args.height,
                      width=args.width, seed=args.seed, distractors=args.distractors,
                      domain_gap=args.domain_gap, workers=args.workers, style=args.style,
                      infrared=args.infrared, infrared_kind=args.infrared_kind,
                      gap=args.gap, gap_parts=args.gap_parts)
    if cfg.infrared:
        cfg = dataclasses.replace(cfg, distractors=0)  # SYSU-MM01 has none
    cfg.validate()
    out = args.out or default_out(cfg)
    if args.if_missing and is_complete(Path(out), cfg):
        print(f"{out}: SynthCams (style {cfg.style}) already there (delete it or drop --if-missing to rebuild)")
        return 0
    from tqdm import tqdm

    t0 = time.perf_counter()
    with tqdm(desc="SynthCams", unit="tracklet") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        out = generate(out, cfg, progress)
    counts = json.loads((out / MARKER).read_text())["counts"]
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s: {counts}")
    return 0
