"""Planning SynthCams from a seed: the people (:func:`sample_person`), the cameras
(:func:`sample_cameras`, with the camera-gap knob's levels), and every tracklet with its
frame names and split (:func:`plan`, :func:`plan_infrared`), before anything is drawn.

Every random draw is made in a fixed order from the seeded streams of ``config.STREAMS``: the
dataset (and so every file) depends on that order."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from typing import Callable

import numpy as np

from reidlab.synth.config import (CALIBRATION, CALIBRATION_B, GAP_PARTS, INFRARED_CAMS, STREAMS,
                                  SynthConfig, TrackRecord)
from reidlab.synth.specs import (BAGS, HAIR_STYLES, LEGWEAR, PATTERNS, TEXTURES, TEXTURES_B, VIEWS,
                                 Camera, Person, TrackletSpec, hsv)

# ----------------------------------------------------------------------------- sampling


def _rgb(rng: np.random.Generator, h: float, s: float, v: float) -> tuple[float, float, float]:
    return hsv(h + rng.normal(0, 0.01), s + rng.normal(0, 0.03), v + rng.normal(0, 0.03))


def sample_person(rng: np.random.Generator, style: str = "a") -> Person:
    """One identity's appearance: colours and part styles drawn independently."""
    if style == "b":
        return sample_person_b(rng)

    def cloth(dark_bias: float = 0.0):
        r = rng.random()
        if r < 0.22:  # achromatic: black / grey / white
            return hsv(0, rng.uniform(0, 0.08),
                       rng.choice([0.12, 0.45, 0.92]) + rng.normal(0, 0.05))
        return hsv(rng.random(), rng.uniform(0.45, 0.95), rng.uniform(0.35, 0.95) - dark_bias)

    skin_tones = [(0.08, 0.35, 0.95), (0.07, 0.45, 0.8), (0.06, 0.55, 0.6), (0.05, 0.6, 0.4),
                  (0.09, 0.3, 0.85)]
    skin = _rgb(rng, *skin_tones[rng.integers(len(skin_tones))])
    hair_tones = [(0.07, 0.6, 0.12), (0.08, 0.7, 0.3), (0.12, 0.6, 0.75), (0.0, 0.0, 0.6),
                  (0.04, 0.8, 0.5)]
    hair = _rgb(rng, *hair_tones[rng.choice(len(hair_tones), p=[0.4, 0.25, 0.15, 0.1, 0.1])])
    r = rng.random()
    if r < 0.5:
        legs = _rgb(rng, *[(0.6, 0.55, 0.45), (0.0, 0.0, 0.12), (0.1, 0.35, 0.65),
                           (0.0, 0.0, 0.45)][rng.integers(4)])
    else:
        legs = cloth(0.1)
    return Person(
        skin=skin,
        hair=hair,
        hair_style=str(rng.choice(HAIR_STYLES, p=[0.45, 0.3, 0.1, 0.15])),
        cap=cloth(),
        torso=cloth(),
        pattern=str(rng.choice(PATTERNS, p=[0.5, 0.25, 0.25])),
        pattern_color=cloth(),
        long_sleeves=bool(rng.random() < 0.55),
        legs=legs,
        legwear=str(rng.choice(LEGWEAR, p=[0.7, 0.18, 0.12])),
        shoes=_rgb(rng, *[(0, 0, 0.1), (0, 0, 0.9), (0.08, 0.6, 0.35),
                          (rng.random(), 0.7, 0.7)][rng.integers(4)]),
        bag=str(rng.choice(BAGS, p=[0.4, 0.15, 0.15, 0.3])),
        bag_color=cloth(),
        build_w=float(rng.uniform(*CALIBRATION["build_w"])),
        build_h=float(rng.uniform(0.9, 1.07)),
    )


def sample_person_b(rng: np.random.Generator) -> Person:
    """A style-b identity (travellers): more black/grey/white and muted navy, brown and olive
    clothes, mostly long sleeves and trousers, coats, backpacks and rolling suitcases, a wider
    range of builds."""
    # navy, brown/tan, olive, burgundy
    earth = [(0.6, 0.64), (0.05, 0.11), (0.22, 0.36), (0.95, 1.0)]

    def cloth(dark_bias: float = 0.0):
        r = rng.random()
        if r < 0.38:  # achromatic
            return hsv(0, rng.uniform(0, 0.06),
                       rng.choice([0.1, 0.3, 0.55, 0.9]) + rng.normal(0, 0.04))
        if r < 0.8:  # muted earth tones
            lo, hi = earth[rng.integers(len(earth))]
            return hsv(rng.uniform(lo, hi), rng.uniform(0.3, 0.75),
                       rng.uniform(0.25, 0.75) - dark_bias)
        # a bright one
        return hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.45, 0.95) - dark_bias)

    skin_tones = [(0.08, 0.35, 0.95), (0.07, 0.45, 0.8), (0.06, 0.55, 0.6), (0.05, 0.6, 0.4),
                  (0.09, 0.3, 0.85)]
    skin = _rgb(rng, *skin_tones[rng.choice(len(skin_tones), p=[0.15, 0.25, 0.25, 0.2, 0.15])])
    hair_tones = [(0.07, 0.6, 0.12), (0.08, 0.7, 0.3), (0.12, 0.6, 0.75), (0.0, 0.0, 0.6),
                  (0.04, 0.8, 0.5)]
    hair = _rgb(rng, *hair_tones[rng.choice(len(hair_tones), p=[0.45, 0.2, 0.1, 0.2, 0.05])])
    legs = cloth(0.15)
    coat = bool(rng.random() < 0.3)
    return Person(
        skin=skin,
        hair=hair,
        hair_style=str(rng.choice(HAIR_STYLES, p=[0.4, 0.25, 0.15, 0.2])),
        cap=cloth(),
        torso=cloth(),
        pattern=str(rng.choice(PATTERNS, p=[0.65, 0.1, 0.25])),
        pattern_color=cloth(),
        long_sleeves=bool(coat or rng.random() < 0.8),
        legs=legs,
        legwear=str(rng.choice(LEGWEAR, p=[0.85, 0.04, 0.11])),
        shoes=_rgb(rng, *[(0, 0, 0.1), (0, 0, 0.9), (0.08, 0.6, 0.3),
                          (0, 0, 0.4)][rng.integers(4)]),
        bag=str(rng.choice(BAGS, p=[0.3, 0.15, 0.15, 0.4])),
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
    """Camera ``i``'s imaging keywords of ``Camera`` (no random draws): colour-cast gains,
    tone curve, resolution, blur, noise, occlusion, view habit and the haze offset, tinted per
    channel by the style's ``haze_tint``. ``view_level`` (the camera-gap knob's viewpoint part)
    moves the usual view's probability from ``K["dominant_view"]`` (1) to 1/4 (0: no habit)."""
    s = cast_strength * gap
    gains = tuple(float(pipe["illum"][i] ** gap * (1.0 + s * np.cos(cast_angle - k * 2 * np.pi
                                                                     / 3))) for k in range(3))
    dom = K["dominant_view"] if view_level == 1.0 else \
        0.25 + (K["dominant_view"] - 0.25) * view_level
    vp = np.full(4, (1.0 - dom) / 3)
    vp[VIEWS.index(dominant_view)] = dom
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


def _apply_levels(cams: list[Camera], levels: dict[str, float], K: dict,
                  offset_y_mid: float) -> list[Camera]:
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


def camera_record(cam: Camera) -> dict:
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
                   levels: dict[str, float] | None = None) -> list[Camera]:
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
    textures = [TEXTURES[i] for i in rng.permutation(len(TEXTURES))]
    dominant = rng.permutation([VIEWS[i % 4] for i in range(max(n, 4))])[:n]
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
            Camera(
                index=i,
                bg_color=hsv(hb, rng.uniform(0.2, 0.55), bg_vals[i]),
                bg_color2=hsv(hb + rng.uniform(-0.08, 0.08), rng.uniform(0.1, 0.5),
                              bg_vals[i] * rng.uniform(0.5, 0.8)),
                texture=textures[i % len(textures)],
                texture_period=float(rng.uniform(10, 28)),
                texture_contrast=float(rng.uniform(*K["texture_contrast"])),
                gradient=(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.4, 0.4))),
                floor_color=hsv(hb + 0.5, rng.uniform(0.05, 0.3), rng.uniform(0.25, 0.7)),
                floor_level=float(rng.uniform(0.72, 0.9)),
                scale=float(scales[i]),
                offset_y=float(rng.uniform(-0.04, 0.04)),
                offset_x=float(rng.uniform(-0.08, 0.08)),
                **imaging,
                occluder_color=hsv(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.2, 0.7)),
                bg_shift=float(K["bg_shift"]),
            )
        )
    return _apply_levels(cams, levels, K, 0.0)


def sample_cameras_b(n: int, rng: np.random.Generator, gap: float = 1.0,
                     levels: dict[str, float] | None = None) -> list[Camera]:
    """Style-b cameras (see ``CALIBRATION_B``), spread over the cameras like style a's."""
    levels = _full_levels(levels)
    K = CALIBRATION_B

    def spread(lo: float, hi: float) -> np.ndarray:
        v = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
        return rng.permutation(v)

    bg_hues = spread(*K["bg_hue"])
    bg_vals = spread(*K["bg_value"])
    bg_sats = spread(*K["bg_saturation"])
    textures = [TEXTURES_B[i] for i in rng.permutation(len(TEXTURES_B))]
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
            c2 = hsv(float(rng.choice([0.14, 0.6, 0.38, 0.0])), rng.uniform(0.6, 0.9),
                     rng.uniform(0.5, 0.9))
            tc = float(rng.uniform(0.6, 0.9))
        elif tex == "windows":  # dark mullions between bright panes
            c2 = hsv(hb, rng.uniform(0.0, 0.2), rng.uniform(0.1, 0.3))
            tc = float(rng.uniform(0.6, 0.9))
        else:
            c2 = hsv(hb + rng.uniform(-0.05, 0.05), rng.uniform(0.0, 0.3),
                     bg_vals[i] * rng.uniform(0.55, 0.85))
            tc = float(rng.uniform(*K["texture_contrast"]))
        cams.append(
            Camera(
                index=i,
                bg_color=hsv(hb, float(bg_sats[i]), bg_vals[i]),
                bg_color2=c2,
                texture=tex,
                texture_period=float(rng.uniform(14, 36)),
                texture_contrast=tc,
                # lit from above
                gradient=(float(rng.uniform(-0.6, -0.1)), float(rng.uniform(-0.25, 0.25))),
                floor_color=hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.45, 0.85)),
                floor_level=float(floor[i]),
                scale=float(scales[i]),
                offset_y=float(rng.uniform(*K["offset_y"])),
                offset_x=float(rng.uniform(-0.1, 0.1)),
                **imaging,
                occluder_color=hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.6)),
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


def plan(cfg: SynthConfig) -> tuple[list[Camera], list[TrackRecord], list[int]]:
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

    def make(split: str, pid: int, cam: int, tnum: int, person: Person) -> TrackRecord:
        nonlocal counter
        c = cams[cam - 1]
        view = str(rng.choice(VIEWS, p=np.asarray(c.view_probs) / sum(c.view_probs)))
        folder = "bbox_train" if split == "train" else "bbox_test"
        names = [f"{pid:04d}C{cam}T{tnum:04d}F{f:03d}.jpg" for f in range(1, cfg.frames + 1)]
        paths = tuple(f"{folder}/{pid:04d}/{n}" for n in names)
        spec = TrackletSpec(person, c, view, paths, (cfg.seed, track_key, counter), cfg.height,
                            cfg.width, cfg.jpeg_quality)
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


def plan_infrared(cfg: SynthConfig) -> tuple[list[Camera], list[TrackRecord]]:
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
                view = str(rng.choice(VIEWS, p=np.asarray(c.view_probs) / sum(c.view_probs)))
                names = [f"{image + f:04d}.jpg" for f in range(1, cfg.frames + 1)]
                image += cfg.frames
                paths = tuple(f"cam{cam}/{pid:04d}/{n}" for n in names)
                spec = TrackletSpec(person, c, view, paths, (cfg.seed, track_key, len(records)),
                                      cfg.height, cfg.width, cfg.jpeg_quality)
                records.append(TrackRecord(split_of[pid], pid, cam, tnum, spec, names))
    assert all(colour)  # the colour cameras are the others
    return cams, records
