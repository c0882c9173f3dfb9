"""What SynthCams is generated from: the settings (:class:`SynthConfig`), the default
folders, the calibration knobs of the cameras (``CALIBRATION`` for style a, ``CALIBRATION_B``
for style b), the random streams and the record of one planned tracklet (:class:`TrackRecord`).
The package docstring (:mod:`reidlab.synth`) says what each setting does to the dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from reidlab.data.formats.mars import SYNTHCAMS_MARKER as MARKER  # noqa: F401 (public)
from reidlab.errors import ConfigError
from reidlab.synth.specs import TrackletSpec

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
    # radians: 0 = red (tungsten), 1.05 = yellow, 2.1 = green (fluorescent)
    "cast_angle": (-0.2, 2.2),
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
                raise ConfigError(f"gap_parts={self.gap_parts!r}: expected "
                                  "PART=LEVEL[,PART=LEVEL...] "
                                  f"with PART one of {', '.join(GAP_PARTS)} and LEVEL in [0, 1], "
                                  f"got {item!r}")
            levels[part] = level
        return levels

    def validate(self) -> None:
        self.part_levels()
        if self.style not in STYLES:
            raise ConfigError(f"style={self.style!r}: expected one of "
                              f"{', '.join(map(repr, STYLES))} (a = the default SynthCams "
                              "domain, b = the second domain for adaptation)")
        if self.ids < 4 or self.ids > 9998:
            raise ConfigError(f"ids={self.ids}: expected 4..9998 identities (half train, half "
                              "test)")
        if not 2 <= self.cameras <= 9:
            raise ConfigError(f"cameras={self.cameras}: expected 2..9 (MARS names hold one camera "
                              "digit)")
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
    spec: TrackletSpec
    names: list[str] = field(default_factory=list)
