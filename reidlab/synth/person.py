"""Drawing one SynthCams person on a :class:`~reidlab.synth.canvas.Canvas`.

:func:`draw_person` poses the person (:class:`Pose`: where each joint is at this walk phase,
from this viewpoint) and then paints the parts back to front, one helper per part: legs and
shoes (:func:`draw_legs`), the far arm of a side view and backpack straps, a coat
(:func:`draw_coat`), the torso with its pattern (:func:`draw_torso`), a bag (:func:`draw_bag`),
a rolling suitcase (:func:`draw_suitcase`), the arms in front (:func:`draw_arm`), then neck,
head, hair and cap (:func:`draw_head`). Every part is a soft-edged ellipse, rectangle or
capsule, shaded like a cylinder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reidlab.synth.canvas import Band, Canvas
from reidlab.synth.specs import Person


@dataclass(frozen=True)
class Pose:
    """Where a person's parts are in one frame (pixels): the centre line ``cx``, the top of
    the head ``top``, height ``ph``, the viewpoint, the body's half shoulder width ``hw`` and the
    heights of neck, shoulders, hips, knees and feet at this walk phase."""

    view: str
    cx: float
    top: float
    ph: float
    side: bool  # a side view (left / right)
    facing: float  # sign of the walking direction on screen (side views)
    hw: float  # half shoulder width
    swing: float  # sin(walk phase)
    amp: float  # swing amplitude (fraction of leg length)
    shade: np.ndarray  # cylindrical shading, H×W
    bob: float
    y_neck: float
    y_sh: float
    y_hip: float
    y_knee: float
    y_foot: float
    leg_r: float
    arm_r: float
    arm_len: float


def pose(cv: Canvas, p: Person, view: str, cx: float, top: float, ph: float,
         phase: float) -> Pose:
    """The :class:`Pose` of person ``p`` standing at (cx, top), ``ph`` pixels tall, at walk
    ``phase``, seen from ``view``."""
    side = view in ("left", "right")
    facing = 1.0 if view == "right" else -1.0
    hw = 0.12 * ph * p.build_w * (0.62 if side else 1.0)
    swing = float(np.sin(phase))
    amp = 0.22 if side else 0.06

    shade = 1.0 - 0.35 * ((cv.xx - cx) / (1.6 * hw)) ** 2
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
    return Pose(view=view, cx=cx, top=top, ph=ph, side=side, facing=facing, hw=hw, swing=swing,
                amp=amp, shade=shade, bob=bob, y_neck=y_neck, y_sh=y_sh, y_hip=y_hip,
                y_knee=y_knee, y_foot=y_foot, leg_r=leg_r, arm_r=arm_r, arm_len=0.33 * ph)


def draw_person(cv: Canvas, p: Person, view: str, cx: float, top: float, ph: float,
                phase: float) -> None:
    """Draw one person standing at (cx, top) with height ``ph`` pixels at walk ``phase``."""
    q = pose(cv, p, view, cx, top, ph, phase)
    draw_legs(cv, p, q)
    if q.side:  # the far arm, behind the torso
        draw_arm(cv, p, q, cx, -q.swing, 0.8)
    if p.bag == "backpack" and view == "front":
        draw_backpack_straps(cv, p, q)
    if p.coat:
        draw_coat(cv, p, q)
    draw_torso(cv, p, q)
    draw_bag(cv, p, q)
    if p.suitcase != "none":
        draw_suitcase(cv, p, view, cx, q.hw + 0.6 * q.arm_r, ph, q.y_sh + q.arm_len, q.y_knee,
                      q.y_foot, q.facing)
    # the arms in front
    if q.side:
        draw_arm(cv, p, q, cx, q.swing)
    else:
        draw_arm(cv, p, q, cx - q.hw - 0.6 * q.arm_r, q.swing)
        draw_arm(cv, p, q, cx + q.hw + 0.6 * q.arm_r, -q.swing)
    draw_head(cv, p, q)


def draw_legs(cv: Canvas, p: Person, q: Pose) -> None:
    """Both legs (the back one first) in the person's legwear, with their shoes; a skirt over
    them."""
    cx, ph, side, facing, shade = q.cx, q.ph, q.side, q.facing, q.shade
    y_hip, y_knee, y_foot, leg_r = q.y_hip, q.y_knee, q.y_foot, q.leg_r
    hip_dx = 0.0 if side else 0.45 * q.hw
    leg_len = y_foot - y_hip
    for k in (0, 1):
        s = q.swing * (1 if k == 0 else -1)
        hx = cx + (0.0 if side else (-hip_dx if k == 0 else hip_dx))
        fx = hx + (facing if side else 1.0) * q.amp * leg_len * s
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
        cv.paint(cv.rect(y_foot - 0.02 * ph, y_foot + 0.04 * ph, sx0, sx1),
                 np.asarray(p.shoes) * dark)
    if p.legwear == "skirt":
        sk = cv.rect(y_hip - 0.02 * ph, y_knee + 0.02 * ph, cx - 1.1 * q.hw, cx + 1.1 * q.hw)
        # trapezoid: cut the top corners
        sk = sk * np.clip(1.0 - (np.abs(cv.xx - cx) - (0.8 * q.hw + 0.5 * (cv.yy - y_hip))),
                          0.0, 1.0)
        cv.paint(sk, p.legs, shade)


def draw_arm(cv: Canvas, p: Person, q: Pose, ax: float, s: float, dark: float = 1.0) -> None:
    """One arm hanging from the shoulder at ``ax``, swung by ``s``: sleeve (or skin), forearm
    and hand; ``dark`` shades the far arm of a side view."""
    side, ph, arm_len = q.side, q.ph, q.arm_len
    sleeve_col = p.torso if p.long_sleeves else p.skin
    hx = ax + (q.facing if side else 0.4 * np.sign(ax - q.cx)) * 0.25 * arm_len * s * \
        (1.0 if side else 0.3)
    ex = (ax + hx) / 2
    ey = q.y_sh + 0.5 * arm_len
    upper = cv.capsule(q.y_sh + 0.02 * ph, ax, ey, ex, q.arm_r)
    lower = cv.capsule(ey, ex, q.y_sh + arm_len, hx, q.arm_r * 0.9)
    cv.paint(upper, np.asarray(sleeve_col if not p.long_sleeves else p.torso) * dark, q.shade)
    cv.paint(lower, np.asarray(sleeve_col) * dark, q.shade)
    cv.paint(cv.ellipse(q.y_sh + arm_len + 0.01 * ph, hx, 0.022 * ph, 0.02 * ph),
             np.asarray(p.skin) * dark)


def draw_backpack_straps(cv: Canvas, p: Person, q: Pose) -> None:
    """A backpack seen from the front: its two straps only."""
    cx, ph, hw = q.cx, q.ph, q.hw
    for sx in (-0.55, 0.55):
        cv.paint(cv.rect(q.y_sh, q.y_sh + 0.16 * ph, cx + sx * hw - 0.012 * ph,
                         cx + sx * hw + 0.012 * ph), p.bag_color)


def draw_coat(cv: Canvas, p: Person, q: Pose) -> None:
    """A long coat: the torso colour reaches down to the knees, widening downwards."""
    cx, ph, hw = q.cx, q.ph, q.hw
    ct = cv.rect(q.y_hip - 0.04 * ph, q.y_knee + 0.04 * ph, cx - 1.15 * hw, cx + 1.15 * hw)
    ct = ct * np.clip(1.0 - (np.abs(cv.xx - cx) - (0.95 * hw + 0.25 * (cv.yy - q.y_hip))),
                      0.0, 1.0)
    cv.paint(ct, p.torso, q.shade)


def draw_torso(cv: Canvas, p: Person, q: Pose) -> None:
    """The torso, narrowing to the hips with rounded shoulders, and its pattern: stripes, or a
    logo on the front (seen off-centre from the side)."""
    cx, ph, hw, y_sh, y_hip, shade = q.cx, q.ph, q.hw, q.y_sh, q.y_hip, q.shade
    torso = cv.rect(y_sh, y_hip + 0.02 * ph, cx - hw, cx + hw)
    torso = torso * np.clip(1.0 - np.maximum(0, (np.abs(cv.xx - cx) - hw * (
        1 - 0.25 * (cv.yy - y_sh) / (y_hip - y_sh)))), 0, 1)
    sh_round = cv.ellipse(y_sh + 0.03 * ph, cx, 0.05 * ph, hw)
    torso = Band.maximum(torso, sh_round * (cv.yy >= y_sh - 0.04 * ph))
    cv.paint(torso, p.torso, shade)
    if p.pattern == "stripes":
        band = ((cv.yy - y_sh) / (0.045 * ph)) % 2.0
        stripe = torso * ((band < 1.0) & (cv.yy > y_sh + 0.02 * ph)).astype(np.float32)
        cv.paint(stripe, p.pattern_color, shade)
    elif p.pattern == "logo" and q.view == "front":
        ly = y_sh + 0.11 * ph
        cv.paint(cv.rect(ly - 0.05 * ph, ly + 0.05 * ph, cx - 0.5 * hw, cx + 0.5 * hw),
                 p.pattern_color, shade)
    elif p.pattern == "logo" and q.side:
        ly = y_sh + 0.11 * ph
        lx = cx + q.facing * 0.7 * hw
        cv.paint(cv.rect(ly - 0.05 * ph, ly + 0.05 * ph, lx - 0.25 * hw, lx + 0.25 * hw),
                 p.pattern_color, shade)


def bag_mask(cv: Canvas, p: Person, q: Pose) -> Band | None:
    """Where the person's bag shows in this view (None: no bag, or hidden behind the body)."""
    cx, ph, hw, view, facing = q.cx, q.ph, q.hw, q.view, q.facing
    by0, by1 = q.y_hip - 0.10 * ph, q.y_hip + 0.06 * ph
    if p.bag == "backpack":
        if view == "back":
            return cv.rect(q.y_sh + 0.03 * ph, q.y_hip - 0.02 * ph, cx - 0.8 * hw, cx + 0.8 * hw)
        if q.side:
            bx = cx - facing * 1.15 * hw
            return cv.rect(q.y_sh + 0.03 * ph, q.y_hip - 0.04 * ph, bx - 0.55 * hw,
                           bx + 0.55 * hw)
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


def draw_bag(cv: Canvas, p: Person, q: Pose) -> None:
    """The bag (:func:`bag_mask`) and, for a side bag seen from the front or back, its strap
    across the chest."""
    b = bag_mask(cv, p, q)
    if b is None:
        return
    cv.paint(b, p.bag_color, q.shade)
    if p.bag in ("left", "right") and q.view in ("front", "back"):
        # strap across the chest, from the far shoulder down to the bag's side
        cx, ph, hw = q.cx, q.ph, q.hw
        sgn = 1.0 if (p.bag == "left") == (q.view == "front") else -1.0
        strap = cv.capsule(q.y_sh + 0.01 * ph, cx - 0.7 * hw * sgn, q.y_hip - 0.08 * ph,
                           cx + 1.2 * hw * sgn, 0.012 * ph)
        cv.paint(strap, np.asarray(p.bag_color) * 0.8)


def draw_suitcase(cv: Canvas, p: Person, view: str, cx: float, hand_dx: float, ph: float,
                  y_hand: float, y_knee: float, y_foot: float, facing: float) -> None:
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
    cv.paint(cv.rect(top + 0.3 * (y_foot - top), top + 0.34 * (y_foot - top), bx - bw, bx + bw),
             col * 0.7)
    for wx in (bx - 0.7 * bw, bx + 0.7 * bw):
        cv.paint(cv.ellipse(y_foot + 0.01 * ph, wx, 0.015 * ph, 0.015 * ph), (0.08, 0.08, 0.08))


def draw_head(cv: Canvas, p: Person, q: Pose) -> None:
    """Neck, head and hair (long hair behind the head; the back of the head all hair), and a
    cap with its visor in front / side views."""
    cx, ph, side, facing, view = q.cx, q.ph, q.side, q.facing, q.view
    cv.paint(cv.rect(q.y_neck - 0.02 * ph, q.y_sh + 0.01 * ph, cx - 0.03 * ph, cx + 0.03 * ph),
             p.skin)
    hcy, hry, hrx = q.top + 0.07 * ph - q.bob, 0.068 * ph, 0.052 * ph * (0.95 + 0.1 * p.build_w)
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
        cv.paint(cv.ellipse(hcy - 0.45 * hry, hcx, 0.65 * hry, 1.08 * hrx)
                 * (cv.yy < hcy - 0.2 * hry), p.cap)
        visor = np.asarray(p.cap) * 0.8
        if view == "front":
            cv.paint(cv.rect(hcy - 0.3 * hry, hcy - 0.15 * hry, hcx - 1.2 * hrx, hcx + 1.2 * hrx),
                     visor)
        elif side:
            vx = hcx + facing * 1.2 * hrx
            cv.paint(cv.rect(hcy - 0.3 * hry, hcy - 0.15 * hry, vx - 0.6 * hrx, vx + 0.6 * hrx),
                     visor)
