"""A kinematic runner, filmed by a virtual phone, producing a real ``Track``.

The model is a 33-landmark BlazePose skeleton with Winter / Drillis-Contini segment lengths,
running on a treadmill (the pelvis stays put, the stance foot is carried back at belt speed):

- legs: the stance foot rolls heel to flat to toe on the belt; the swing ankle follows smooth
  splines (heel kick behind, knee drive, descent with a landing speed); the knee comes from
  two-link inverse kinematics, bent forward, optionally turned inward about the hip-ankle axis
  (knee collapse, solved so the 2D FPPA meets the parameter) and the shank turned about the
  thigh in early swing (recovery external rotation, "heel whip", solved so the heel's medial
  offset from the knee, as an angle of the shank, meets the parameter);
- pelvis: vertical oscillation lowest at mid-stance, contralateral drop peaking at mid-stance,
  transverse rotation, a little lateral sway;
- trunk: forward lean plus lateral lean toward the stance side, counter-rotating shoulders;
- head: nose, eyes, ears and mouth on a rigid head;
- arms: the wrist swings fore and aft against the opposite leg and moves toward (or across)
  the midline as it comes forward, solved so that its peak distance past the midline seen
  from behind is the parameter; elbows by inverse kinematics; hand points around the wrist.

A pinhole camera (any azimuth: 0 behind, 90 on the runner's right, 180 in front; any height,
distance, roll, shake) projects it to a portrait or landscape frame; the world landmarks are the
same points in camera-aligned metres about the mid-hip, as BlazePose gives them. Noise, dropped
frames, gaps and jittered or variable timestamps are options.

``truth`` holds the values the analysis should recover, computed from the 3D model by
orthographic projection onto the plane each metric lives in (not from the camera image), so the
tests compare the analysis with the geometry, not with itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicHermiteSpline, PchipInterpolator

from backend.pose.track import Track

Arr = npt.NDArray[np.float64]
PerSide = float | tuple[float, float]  # one value, or (left, right)

# Segment lengths as fractions of height (Winter 2009, after Drillis and Contini).
THIGH = 0.245
SHANK = 0.246
LEG = THIGH + SHANK  # hip joint centre to ankle: the analysis's "leg length"
ANKLE_H = 0.039
HIP_W = 0.10  # between hip joint centres (running-form.md: about a tenth of height)
SHOULDER_W = 0.22
TORSO = 0.288  # mid-hip to mid-shoulder
UPPER_ARM = 0.186
FOREARM = 0.146
HEEL_BACK = 0.04  # heel landmark behind the ankle
TOE_FWD = 0.11  # foot index ahead of the ankle
FOOT_DROP = 0.034  # heel and toe landmarks below the ankle
SOLE = 0.005  # heel / toe landmark height above the ground when down


def _pair(v: PerSide) -> tuple[float, float]:
    return (float(v[0]), float(v[1])) if isinstance(v, tuple) else (float(v), float(v))


@dataclass(frozen=True)
class RunnerParams:
    # camera: 0 = from behind, 90 = from the runner's right side, 180 = in front
    camera_azimuth_deg: float = 0.0
    camera_distance_m: float = 4.0
    camera_height_m: float | None = None  # default: hip height
    camera_roll_deg: float = 0.0
    camera_shake_px: float = 0.0
    image_size: tuple[int, int] = (1080, 1920)  # width, height (portrait)
    body_fraction_of_frame: float = 0.6
    # timing
    duration_s: float = 12.0
    fps: float = 60.0
    start_phase: float = 0.13  # stride phase of the right foot at t = 0
    timestamp_jitter_s: float = 0.0  # gaussian jitter of each timestamp
    variable_frame_rate: float = 0.0  # frame intervals drawn within +-this fraction
    # body
    height_m: float = 1.75
    # gait
    cadence_spm: float = 170.0
    contact_time_s: PerSide = 0.25
    speed_mps: float = 3.0
    pelvic_drop_deg: PerSide = 4.0  # peak contralateral drop, per stance side
    step_width_norm: PerSide = 0.08  # each foot at +-w/2 leg lengths from the midline
    arm_crossover_norm: PerSide = -0.06  # wrist past the midline at peak forward swing
    foot_ahead_norm: PerSide = 0.04  # heel ahead of the mid-hip at contact
    strike_angle_deg: float = 8.0  # heel strike: toe up at contact
    toe_off_angle_deg: float = 30.0
    trunk_forward_lean_deg: float = 6.0
    trunk_lateral_lean_deg: PerSide = 2.0  # peak toward the stance side
    # Heel whip at its peak in early swing (the metric's quantity: heel medial of the knee seen
    # from behind, as an angle of the shank), by turning the shank about the thigh; 0 = none.
    recovery_er_deg: PerSide = 0.0
    knee_fppa_deg: PerSide | None = None  # peak 2D knee valgus at mid-stance; None: natural
    knee_flexion_midstance_deg: float = 40.0
    vertical_oscillation_norm: float = 0.08
    # A walker vaults over the standing leg: pelvis highest at mid-stance (a runner's is lowest).
    pelvis_vaults: bool = False
    pelvis_rotation_deg: float = 5.0
    toe_out_deg: float = 6.0
    # degradation
    noise_px: float = 0.0
    world_noise_m: float = 0.0
    # The pose engine's world landmarks out of proportion with the image: each world axis
    # (camera right, down, depth) scaled, as a model's body-shape prior does.
    world_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    far_side_visibility: float = 0.75
    nan_gaps: tuple[tuple[float, float], ...] = ()  # (start_s, duration_s): person not found
    nan_bursts: int = 0  # random bursts of 1-5 frames with the person not found
    removed_bursts: int = 0  # random bursts of 1-5 frames missing from the file
    seed: int = 0


@dataclass
class Synthetic:
    track: Track
    params: RunnerParams
    truth: dict[str, Any] = field(default_factory=dict)
    points: Arr = field(default_factory=lambda: np.zeros((0, 33, 3)))  # body frame, metres

    @property
    def leg_length_m(self) -> float:
        return LEG * self.params.height_m


# --------------------------------------------------------------------------- geometry helpers


def _unit(v: Arr) -> Arr:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.where(n > 0, n, 1.0), dtype=np.float64)


def _rodrigues(v: Arr, axis: Arr, angle: Arr) -> Arr:
    """Rotate vectors v (n,3) about unit axes (n,3) by angles (n,) radians."""
    c = np.cos(angle)[:, None]
    s = np.sin(angle)[:, None]
    return np.asarray(
        v * c + np.cross(axis, v) * s + axis * (np.sum(axis * v, axis=1, keepdims=True)) * (1 - c),
        dtype=np.float64,
    )


def _two_link(root: Arr, end: Arr, l1: float, l2: float, pole: Arr) -> Arr:
    """Middle joint of a two-segment chain from root to end, bent toward ``pole``."""
    d_vec = end - root
    d = np.linalg.norm(d_vec, axis=1)
    d = np.minimum(d, 0.9999 * (l1 + l2))
    e = _unit(d_vec)
    a = (l1**2 - l2**2 + d**2) / (2 * d)
    r = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    b = pole - np.sum(pole * e, axis=1, keepdims=True) * e
    b = _unit(b)
    return np.asarray(root + a[:, None] * e + r[:, None] * b, dtype=np.float64)


def _angle2d(a: Arr, b: Arr, c: Arr) -> Arr:
    """Angle at b (deg) of the 2D points a-b-c, (n,2) each."""
    u = a - b
    v = c - b
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1, 1))), dtype=np.float64)


def _frontal(p: Arr) -> Arr:
    """Orthographic frontal projection (subject-left, up)."""
    return np.asarray(p[..., [0, 1]], dtype=np.float64)


def _sagittal(p: Arr) -> Arr:
    """Orthographic sagittal projection (forward, up)."""
    return np.asarray(p[..., [2, 1]], dtype=np.float64)


def _bell(phase: Arr, duty: float) -> Arr:
    """sin(pi s) over the stance (phase < duty), 0 in swing."""
    s = phase / duty
    return np.where(phase < duty, np.sin(np.pi * np.clip(s, 0, 1)), 0.0)


# --------------------------------------------------------------------------- skeleton assembly


@dataclass
class _Pose:
    """Per-frame inputs to the skeleton, body frame (x subject-left, y up, z forward), metres."""

    pelvis: Arr  # (n,3) mid-hip
    obliquity: Arr  # (n,) rad, positive = left hip lower
    pelvis_yaw: Arr  # (n,) rad, positive = right hip forward
    lean_fwd: Arr  # (n,) rad
    lean_lat: Arr  # (n,) rad, positive = toward the subject's left
    shoulder_yaw: Arr  # (n,) rad
    feet: dict[str, tuple[Arr, Arr, Arr]]  # side -> ankle, heel, toe (n,3)
    arm_forward: dict[str, Arr]  # side -> 0 (back) .. 1 (forward)
    arm_cross: dict[str, float]  # side -> wrist past the midline at full forward, metres
    knee_fppa_target: dict[str, Arr | None]  # side -> deg target (stance), None = natural
    knee_fppa_weight: dict[str, Arr]  # side -> 0..1 how much the target applies
    heel_whip_target: dict[str, float]  # side -> deg heel whip at the weight's peak
    heel_whip_weight: dict[str, Arr]  # side -> 0..1 how much the target applies (early swing)


def _assemble(height: float, pose: _Pose) -> Arr:
    n = pose.pelvis.shape[0]
    pts = np.zeros((n, 33, 3))
    P = pose.pelvis
    g, psi = pose.obliquity, pose.pelvis_yaw
    w = HIP_W * height
    hv = np.stack([np.cos(psi) * np.cos(g), -np.cos(psi) * np.sin(g), -np.sin(psi)], axis=1) * w
    hips = {"left": P + hv / 2, "right": P - hv / 2}
    pts[:, 23], pts[:, 24] = hips["left"], hips["right"]

    lf, ll = pose.lean_fwd, pose.lean_lat
    u = _unit(np.stack([np.sin(ll) * np.cos(lf), np.cos(ll) * np.cos(lf), np.sin(lf)], axis=1))
    S = P + TORSO * height * u
    sy = pose.shoulder_yaw
    sv = np.stack([np.cos(sy) * np.cos(ll), -np.sin(ll) * np.cos(sy), -np.sin(sy)], axis=1)
    sv = _unit(sv - np.sum(sv * u, axis=1, keepdims=True) * u)
    fwd_t = _unit(np.cross(sv, u))
    shoulders = {
        "left": S + sv * SHOULDER_W * height / 2,
        "right": S - sv * SHOULDER_W * height / 2,
    }
    pts[:, 11], pts[:, 12] = shoulders["left"], shoulders["right"]

    # Head: upright-ish, facing forward with the shoulders.
    head = S + 0.10 * height * u
    hf = _unit(fwd_t * np.array([1.0, 0.3, 1.0]))
    hu = _unit(u + np.array([0.0, 0.5, 0.0]))
    hl = _unit(np.cross(hu, hf))  # subject-left
    H = height
    pts[:, 0] = head + 0.055 * H * hf - 0.01 * H * hu
    for idx, lat in ((1, 0.010), (2, 0.018), (3, 0.028)):  # left eye inner, eye, outer
        pts[:, idx] = head + 0.045 * H * hf + 0.012 * H * hu + lat * H * hl
        pts[:, idx + 3] = head + 0.045 * H * hf + 0.012 * H * hu - lat * H * hl
    pts[:, 7] = head + 0.042 * H * hl
    pts[:, 8] = head - 0.042 * H * hl
    pts[:, 9] = head + 0.045 * H * hf - 0.035 * H * hu + 0.012 * H * hl
    pts[:, 10] = head + 0.045 * H * hf - 0.035 * H * hu - 0.012 * H * hl

    fwd = np.tile(np.array([0.0, 0.0, 1.0]), (n, 1))
    for side, sigma, _ih, ik, ia, ihe, it, ish, iel, iw, ipi, iin, ith in (
        ("left", 1.0, 23, 25, 27, 29, 31, 11, 13, 15, 17, 19, 21),
        ("right", -1.0, 24, 26, 28, 30, 32, 12, 14, 16, 18, 20, 22),
    ):
        hip = hips[side]
        ankle, heel, toe = pose.feet[side]
        knee = _two_link(hip, ankle, THIGH * H, SHANK * H, fwd)
        target = pose.knee_fppa_target[side]
        if target is not None:
            knee = _collapse_knee(hip, knee, ankle, sigma, target, pose.knee_fppa_weight[side])
        ankle, heel, toe = _whip_heel(knee, hip, ankle, heel, toe, sigma, H,
                                      pose.heel_whip_target[side], pose.heel_whip_weight[side])
        pts[:, ik], pts[:, ia], pts[:, ihe], pts[:, it] = knee, ankle, heel, toe

        # Arm: the wrist's distance past the body midline, seen from behind, follows
        # r0 - (r0 + cross) f^2 exactly (peak = cross at full forward swing), whatever the
        # shoulders' rotation does: solved for its lateral offset in the trunk frame.
        f = pose.arm_forward[side]
        r0 = 0.085 * H
        want_past = (r0 + pose.arm_cross[side]) * f**2 - r0
        fw = (-0.05 + 0.17 * f) * H
        vert = (-0.27 + 0.08 * f) * H
        side_off: Arr = np.asarray(sigma * (r0 - (r0 + pose.arm_cross[side]) * f**2),
                                   dtype=np.float64)
        for _ in range(6):
            wrist = S + side_off[:, None] * sv + fw[:, None] * fwd_t + vert[:, None] * u
            past = _past_midline(wrist, S, P, sigma)
            side_off = np.asarray(side_off + sigma * (past - want_past) / sv[:, 0],
                                  dtype=np.float64)
        wrist = S + side_off[:, None] * sv + fw[:, None] * fwd_t + vert[:, None] * u
        sh = shoulders[side]
        pole = -fwd_t + 0.3 * sigma * sv
        elbow = _two_link(sh, wrist, UPPER_ARM * H, FOREARM * H, pole)
        fa = _unit(wrist - elbow)
        pts[:, iel], pts[:, iw] = elbow, wrist
        pts[:, iin] = wrist + 0.06 * H * fa
        pts[:, ipi] = wrist + 0.05 * H * fa - sigma * 0.015 * H * sv
        pts[:, ith] = wrist + 0.035 * H * fa + sigma * 0.015 * H * sv + 0.01 * H * fwd_t
        _ = ish
    return pts


def _past_midline(wrist: Arr, mid_sh: Arr, mid_hip: Arr, sigma: float) -> Arr:
    """How far (m) a wrist is past the body midline in the frontal projection: the line from
    mid-shoulder to mid-hip, at the wrist's height (the metric's definition)."""
    f = (mid_sh[:, 1] - wrist[:, 1]) / (mid_sh[:, 1] - mid_hip[:, 1])
    mid_x = mid_sh[:, 0] + f * (mid_hip[:, 0] - mid_sh[:, 0])
    return np.asarray(sigma * (mid_x - wrist[:, 0]), dtype=np.float64)


def heel_whip_deg(knee: Arr, heel: Arr, sigma: float, shank_m: float) -> Arr:
    """Heel whip as the metric defines it: the heel's medial offset from the knee in the
    frontal projection, as an angle of the shank (deg)."""
    medial = sigma * (knee[:, 0] - heel[:, 0])
    return np.asarray(np.degrees(np.arcsin(np.clip(medial / shank_m, -1, 1))), dtype=np.float64)


def _whip_heel(knee: Arr, hip: Arr, ankle: Arr, heel: Arr, toe: Arr, sigma: float, H: float,
               target: float, weight: Arr) -> tuple[Arr, Arr, Arr]:
    """Turn the shank about the thigh, frame by frame, until the heel whip angle meets
    ``natural * (1 - weight) + target * weight``: the parameter is the metric's own quantity
    at the peak of the weight."""
    if not np.any(weight > 0):
        return ankle, heel, toe
    axis = _unit(knee - hip)
    shank = SHANK * H
    natural = heel_whip_deg(knee, heel, sigma, shank)
    want = natural * (1 - weight) + target * weight

    def whip(beta: Arr) -> Arr:
        return heel_whip_deg(knee, knee + _rodrigues(heel - knee, axis, beta), sigma, shank)

    direction = np.where(whip(np.full(knee.shape[0], 0.05)) - natural >= 0, 1.0, -1.0)
    lo = np.full(knee.shape[0], -1.2)
    hi = np.full(knee.shape[0], 1.2)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        too_low = whip(mid * direction) < want
        lo = np.where(too_low, mid, lo)
        hi = np.where(too_low, hi, mid)
    beta = np.where(weight > 0, 0.5 * (lo + hi) * direction, 0.0)
    return (knee + _rodrigues(ankle - knee, axis, beta), knee + _rodrigues(heel - knee, axis, beta),
            knee + _rodrigues(toe - knee, axis, beta))


def _fppa_frontal(hip: Arr, knee: Arr, ankle: Arr, sigma: float) -> Arr:
    """2D knee frontal-plane projection angle, positive with the knee medial (deg)."""
    h, k, a = _frontal(hip), _frontal(knee), _frontal(ankle)
    ang = 180.0 - _angle2d(h, k, a)
    # The hip-ankle line's x at the knee's height; medial is toward the midline (-sigma x).
    f = (k[:, 1] - h[:, 1]) / (a[:, 1] - h[:, 1])
    x_line = h[:, 0] + f * (a[:, 0] - h[:, 0])
    medial = -sigma * (k[:, 0] - x_line) > 0
    return np.asarray(ang * np.where(medial, 1.0, -1.0), dtype=np.float64)


def _collapse_knee(hip: Arr, knee: Arr, ankle: Arr, sigma: float, target: Arr, weight: Arr) -> Arr:
    """Turn the knee about the hip-ankle axis until its 2D FPPA meets the weighted target."""
    axis = _unit(ankle - hip)
    natural = _fppa_frontal(hip, knee, ankle, sigma)
    want = natural * (1 - weight) + target * weight
    lo = np.full(hip.shape[0], -1.2)
    hi = np.full(hip.shape[0], 1.2)
    rel = knee - hip

    def fppa(beta: Arr) -> Arr:
        return _fppa_frontal(hip, hip + _rodrigues(rel, axis, beta), ankle, sigma)

    # Which rotation direction moves the knee medially, per frame.
    probe = fppa(np.full(hip.shape[0], 0.05)) - natural
    direction = np.where(probe >= 0, 1.0, -1.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        too_low = fppa(mid * direction) < want
        lo = np.where(too_low, mid, lo)
        hi = np.where(too_low, hi, mid)
    beta = 0.5 * (lo + hi) * direction
    beta = np.where(weight > 0, beta, 0.0)
    return np.asarray(hip + _rodrigues(rel, axis, beta), dtype=np.float64)


# --------------------------------------------------------------------------- the runner


def _phase(t: Arr, period: float, offset: float) -> Arr:
    return np.asarray(np.mod(t / period + offset, 1.0), dtype=np.float64)


def _runner_pose(
    t: Arr, p: RunnerParams, pelvis_lower: float = 0.0
) -> tuple[_Pose, dict[str, Any]]:
    H = p.height_m
    L = LEG * H
    T = 120.0 / p.cadence_spm
    tc = dict(zip(("left", "right"), _pair(p.contact_time_s), strict=True))
    duty = {s: tc[s] / T for s in tc}
    phase = {"right": _phase(t, T, p.start_phase), "left": _phase(t, T, p.start_phase - 0.5)}
    bell = {s: _bell(phase[s], duty[s]) for s in phase}
    v = p.speed_mps

    drop = dict(zip(("left", "right"), _pair(p.pelvic_drop_deg), strict=True))
    # Left stance drops the right hip (negative obliquity), right stance drops the left.
    obliquity = np.radians(drop["right"] * bell["right"] - drop["left"] * bell["left"])
    yaw = np.radians(p.pelvis_rotation_deg) * np.cos(2 * np.pi * phase["right"])
    lat_lean = dict(zip(("left", "right"), _pair(p.trunk_lateral_lean_deg), strict=True))
    lean_lat = np.radians(lat_lean["left"] * bell["left"] - lat_lean["right"] * bell["right"])
    lean_fwd = np.full(t.shape, np.radians(p.trunk_forward_lean_deg))

    # Pelvis height: lowest at each mid-stance (highest for a walker), peak-to-peak = vertical
    # oscillation.
    A = p.vertical_oscillation_norm * L
    th_ms = np.radians(p.knee_flexion_midstance_deg)
    d_ms = np.sqrt(THIGH**2 + SHANK**2 + 2 * THIGH * SHANK * np.cos(th_ms)) * H
    h_ms = ANKLE_H * H + d_ms - pelvis_lower
    vault = -1.0 if p.pelvis_vaults else 1.0
    h = h_ms + A / 2 * (1 - vault * np.cos(4 * np.pi * (phase["right"] - duty["right"] / 2)))
    sway = 0.01 * (bell["left"] - bell["right"])
    pelvis = np.stack([sway, h, np.zeros_like(t)], axis=1)

    width = dict(zip(("left", "right"), _pair(p.step_width_norm), strict=True))
    ahead = dict(zip(("left", "right"), _pair(p.foot_ahead_norm), strict=True))
    a0 = np.radians(p.strike_angle_deg)
    ato = np.radians(p.toe_off_angle_deg)

    def rot(dz: float | Arr, dy: float | Arr, ang: Arr) -> tuple[Arr, Arr]:
        return (dz * np.cos(ang) - dy * np.sin(ang), dz * np.sin(ang) + dy * np.cos(ang))

    feet: dict[str, tuple[Arr, Arr, Arr]] = {}
    truth_side: dict[str, Any] = {}
    for side, sigma in (("left", 1.0), ("right", -1.0)):
        ph = phase[side]
        stance = ph < duty[side]
        s = np.clip(ph / duty[side], 0, 1)
        t_in = ph * T  # time since this foot's contact (stance)
        z_heel_ic = ahead[side] * L
        # Stance: heel pivot, flat, toe pivot; everything carried back at belt speed.
        s1, s2 = 0.15, 0.6
        alpha = np.where(s < s1, a0 * (1 - (3 * (s / s1) ** 2 - 2 * (s / s1) ** 3)), 0.0)
        alpha = np.where(s > s2, -ato * ((s - s2) / (1 - s2)) ** 2, alpha)
        heel_z_flat = z_heel_ic - v * t_in
        toe_z_flat = heel_z_flat + (HEEL_BACK + TOE_FWD) * H
        # heel on the ground (early and flat), toe on the ground (late)
        hz_e, hy_e = heel_z_flat, np.full_like(t, SOLE * H)
        az_e, ay_e = rot(HEEL_BACK * H, FOOT_DROP * H, alpha)
        tz_e, ty_e = rot((HEEL_BACK + TOE_FWD) * H, 0.0, alpha)
        tz_l, ty_l = toe_z_flat, np.full_like(t, SOLE * H)
        azl, ayl = rot(-TOE_FWD * H, FOOT_DROP * H, alpha)
        hzl, hyl = rot(-(HEEL_BACK + TOE_FWD) * H, 0.0, alpha)
        late = s > s2
        st_heel = np.stack([np.where(late, tz_l + hzl, hz_e), np.where(late, ty_l + hyl, hy_e)], 1)
        st_ankle = np.stack(
            [np.where(late, tz_l + azl, hz_e + az_e), np.where(late, ty_l + ayl, hy_e + ay_e)], 1
        )
        st_toe = np.stack([np.where(late, tz_l, hz_e + tz_e), np.where(late, ty_l, hy_e + ty_e)], 1)

        # Swing: splines from the toe-off state to the contact state.
        T_sw = T - tc[side]
        # The stance's last ankle position (toe on the belt, heel up by the toe-off angle), so
        # the swing starts where the stance ends.
        z_to_ankle = (
            z_heel_ic
            - v * tc[side]
            + (HEEL_BACK + TOE_FWD) * H
            - TOE_FWD * H * np.cos(ato)
            + FOOT_DROP * H * np.sin(ato)
        )
        y_to_ankle = SOLE * H + TOE_FWD * H * np.sin(ato) + FOOT_DROP * H * np.cos(ato)
        z_ic_ankle = z_heel_ic + HEEL_BACK * H * np.cos(a0) - FOOT_DROP * H * np.sin(a0)
        y_ic_ankle = SOLE * H + HEEL_BACK * H * np.sin(a0) + FOOT_DROP * H * np.cos(a0)
        dz = z_ic_ankle - z_to_ankle
        zs = PchipInterpolator(
            [0, 0.3, 0.65, 0.88, 1.0],
            [
                z_to_ankle,
                z_to_ankle + 0.2 * dz,
                z_to_ankle + 0.8 * dz,
                z_ic_ankle + 0.03 * L,
                z_ic_ankle,
            ],
        )
        ys = CubicHermiteSpline(
            [0, 0.3, 0.7, 1.0],
            [y_to_ankle, 0.25 * H, 0.12 * H, y_ic_ankle],
            [1.2 * T_sw, 0.0, -1.0 * T_sw, -0.6 * T_sw],
        )
        als = PchipInterpolator([0, 0.3, 0.7, 1.0], [-ato, -np.radians(45), 0.0, a0])
        u_sw = np.clip((ph - duty[side]) / (1 - duty[side]), 0, 1)
        za, ya, al = zs(u_sw), ys(u_sw), als(u_sw)
        hz, hy = rot(-HEEL_BACK * H, -FOOT_DROP * H, al)
        tz, ty = rot(TOE_FWD * H, -FOOT_DROP * H, al)
        sw_ankle = np.stack([za, ya], 1)
        sw_heel = np.stack([za + hz, ya + hy], 1)
        sw_toe = np.stack([za + tz, ya + ty], 1)

        sel = stance[:, None]
        ankle2 = np.where(sel, st_ankle, sw_ankle)
        heel2 = np.where(sel, st_heel, sw_heel)
        toe2 = np.where(sel, st_toe, sw_toe)
        x_foot = sigma * width[side] / 2 * L
        tout = np.radians(p.toe_out_deg)

        def to3(zy: Arr, lateral_extra: Arr | float = 0.0, x_foot: float = x_foot) -> Arr:
            return np.stack([np.full(t.shape, x_foot) + lateral_extra, zy[:, 1], zy[:, 0]], 1)

        ankle = to3(ankle2)
        heel = to3(heel2, sigma * np.sin(tout) * (heel2[:, 0] - ankle2[:, 0]) * 0)
        toe = to3(toe2, sigma * np.sin(tout) * (toe2[:, 0] - heel2[:, 0]))
        feet[side] = (ankle, heel, toe)
        truth_side[side] = {"duty": duty[side], "stance": stance, "phase": ph}

    # Arms: the left arm comes forward with the right leg.
    arm_f = {
        "left": 0.5 * (1 + np.cos(2 * np.pi * (phase["right"] - 0.05))),
        "right": 0.5 * (1 + np.cos(2 * np.pi * (phase["left"] - 0.05))),
    }
    cross = dict(zip(("left", "right"), _pair(p.arm_crossover_norm), strict=True))
    fppa_t: dict[str, Arr | None] = {"left": None, "right": None}
    if p.knee_fppa_deg is not None:
        kf = dict(zip(("left", "right"), _pair(p.knee_fppa_deg), strict=True))
        fppa_t = {s: np.full(t.shape, kf[s]) for s in kf}
    er = dict(zip(("left", "right"), _pair(p.recovery_er_deg), strict=True))
    whip_w: dict[str, Arr] = {}
    for side in ("left", "right"):
        u_sw = (phase[side] - duty[side]) / (1 - duty[side])
        early = (u_sw > 0) & (u_sw < 0.5)
        # No whip asked for: the natural swing, untouched.
        amp = 1.0 if er[side] != 0 else 0.0
        whip_w[side] = np.where(early, amp * np.sin(np.pi * u_sw / 0.5) ** 2, 0.0)
    pose = _Pose(
        pelvis=pelvis,
        obliquity=obliquity,
        pelvis_yaw=yaw,
        lean_fwd=lean_fwd,
        lean_lat=lean_lat,
        shoulder_yaw=-1.5 * yaw,
        feet=feet,
        arm_forward=arm_f,
        arm_cross={s: cross[s] * L for s in cross},
        knee_fppa_target=fppa_t,
        knee_fppa_weight={s: bell[s] for s in bell},
        heel_whip_target=er,
        heel_whip_weight=whip_w,
    )
    info = {"period": T, "duty": duty, "phase": phase, "contact": tc}
    return pose, info


def _pelvis_lowering(p: RunnerParams) -> float:
    """How far the pelvis must sit lower so that no leg is ever stretched past 98.5 %."""
    t = np.arange(0, 120.0 / p.cadence_spm, 1 / 240.0)
    pose, _ = _runner_pose(t, p)
    H = p.height_m
    w = HIP_W * H
    worst = 0.0
    for side, sign in (("left", 0.5), ("right", -0.5)):
        hv = (
            np.stack(
                [
                    np.cos(pose.pelvis_yaw) * np.cos(pose.obliquity),
                    -np.cos(pose.pelvis_yaw) * np.sin(pose.obliquity),
                    -np.sin(pose.pelvis_yaw),
                ],
                1,
            )
            * w
        )
        hip = pose.pelvis + sign * hv
        ankle = pose.feet[side][0]
        d = ankle - hip
        limit = 0.985 * LEG * H
        horiz2 = d[:, 0] ** 2 + d[:, 2] ** 2
        need = np.abs(d[:, 1]) - np.sqrt(np.maximum(limit**2 - horiz2, 0.0))
        worst = max(worst, float(np.max(need)))
    return max(0.0, worst)


# --------------------------------------------------------------------------- camera


def _timestamps(p: RunnerParams, rng: np.random.Generator) -> Arr:
    n = round(p.duration_s * p.fps)
    if p.variable_frame_rate > 0:
        dts = (1 + rng.uniform(-p.variable_frame_rate, p.variable_frame_rate, n)) / p.fps
        ts = np.concatenate(([0.0], np.cumsum(dts[:-1])))
    else:
        ts = np.arange(n) / p.fps
    if p.timestamp_jitter_s > 0:
        ts = ts + rng.normal(0, p.timestamp_jitter_s, n)
        ts = np.sort(ts)
        # keep them strictly increasing
        ts = np.maximum.accumulate(ts + np.arange(n) * 1e-9)
    return np.asarray(ts, dtype=np.float64)


def film(points: Arr, ts: Arr, p: RunnerParams, rng: np.random.Generator) -> Track:
    """Project body-frame points (n,33,3) through the virtual camera into a Track."""
    H = p.height_m
    n = points.shape[0]
    az = np.radians(p.camera_azimuth_deg)
    cam_h = p.camera_height_m if p.camera_height_m is not None else 0.53 * H
    D = p.camera_distance_m
    C = np.array([-D * np.sin(az), cam_h, -D * np.cos(az)])
    fwd = np.array([np.sin(az), 0.0, np.cos(az)])
    right = np.array([-np.cos(az), 0.0, np.sin(az)])
    up = np.array([0.0, 1.0, 0.0])
    W, Hpx = p.image_size
    f = p.body_fraction_of_frame * Hpx * D / H
    q = points - C
    depth = q @ fwd
    u = W / 2 + f * (q @ right) / depth
    v = Hpx / 2 - f * (q @ up) / depth
    if p.camera_roll_deg or p.camera_shake_px:
        roll = np.full(n, np.radians(p.camera_roll_deg))
        du = np.zeros(n)
        dv = np.zeros(n)
        if p.camera_shake_px:
            for _ in range(3):
                fr = rng.uniform(0.3, 2.0)
                ph = rng.uniform(0, 2 * np.pi, 3)
                du += p.camera_shake_px / 3 * np.sin(2 * np.pi * fr * ts + ph[0])
                dv += p.camera_shake_px / 3 * np.sin(2 * np.pi * fr * ts + ph[1])
                roll += np.radians(p.camera_shake_px / 40.0) * np.sin(2 * np.pi * fr * ts + ph[2])
        cu, cv = u - W / 2, v - Hpx / 2
        cr, sr = np.cos(roll)[:, None], np.sin(roll)[:, None]
        u = W / 2 + cu * cr - cv * sr + du[:, None]
        v = Hpx / 2 + cu * sr + cv * cr + dv[:, None]
    if p.noise_px:
        u = u + rng.normal(0, p.noise_px, u.shape)
        v = v + rng.normal(0, p.noise_px, v.shape)
    mid_hip = 0.5 * (points[:, 23] + points[:, 24])
    hip_depth = (mid_hip - C) @ fwd
    z = f * (depth - hip_depth[:, None]) / hip_depth[:, None]

    vis = np.full((n, 33), 0.95) + rng.uniform(-0.04, 0.04, (n, 33))
    # Far-side limbs are partly hidden in a side-on view.
    left_idx = [1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
    right_idx = [4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32]
    left_away = float(np.array([1.0, 0.0, 0.0]) @ fwd)  # > 0: the left side faces away
    if left_away > 0.5:
        vis[:, left_idx] = p.far_side_visibility + rng.uniform(-0.05, 0.05, (n, len(left_idx)))
    elif left_away < -0.5:
        vis[:, right_idx] = p.far_side_visibility + rng.uniform(-0.05, 0.05, (n, len(right_idx)))
    # A face turned away from the camera is a guess.
    if float(np.array([0.0, 0.0, 1.0]) @ fwd) > 0.5:
        vis[:, [0, 1, 2, 3, 4, 5, 6, 9, 10]] = 0.3
    lm = np.stack([u, v, z, vis, np.full((n, 33), 0.99)], axis=2)

    rel = points - mid_hip[:, None, :]
    world = np.stack([rel @ right, -(rel @ up), rel @ fwd], axis=2)
    world = world * np.asarray(p.world_scale)
    if p.world_noise_m:
        world = world + rng.normal(0, p.world_noise_m, world.shape)

    keep = np.ones(n, dtype=bool)
    for start, dur in p.nan_gaps:
        sel = (ts >= start) & (ts < start + dur)
        lm[sel] = np.nan
        world[sel] = np.nan
    for _ in range(p.nan_bursts):
        i = int(rng.integers(5, n - 10))
        k = int(rng.integers(1, 6))
        lm[i : i + k] = np.nan
        world[i : i + k] = np.nan
    for _ in range(p.removed_bursts):
        i = int(rng.integers(5, n - 10))
        keep[i : i + int(rng.integers(1, 6))] = False
    return Track(
        landmarks=lm[keep],
        world=world[keep],
        timestamps_s=ts[keep],
        width=W,
        height=Hpx,
        fps_nominal=p.fps,
    )


# --------------------------------------------------------------------------- truth


def _events(t_end: float, p: RunnerParams, info: dict[str, Any]) -> dict[str, dict[str, Arr]]:
    T = info["period"]
    ev: dict[str, dict[str, Arr]] = {}
    for side, off in (("right", p.start_phase), ("left", p.start_phase - 0.5)):
        # phase = t/T + off = k  ->  t = (k - off) T
        ks = np.arange(-2, int(t_end / T) + 3)
        ic = (ks - off) * T
        ic = ic[(ic >= 0) & (ic <= t_end)]
        to = (np.arange(-2, int(t_end / T) + 3) - off) * T + info["contact"][side]
        to = to[(to >= 0) & (to <= t_end)]
        ev[side] = {"initial_contact_s": ic, "toe_off_s": to}
    return ev


def _truth(points: Arr, t: Arr, p: RunnerParams, info: dict[str, Any]) -> dict[str, Any]:
    H = p.height_m
    L = LEG * H
    ev = _events(float(t[-1]), p, info)
    idx = {"left": (23, 25, 27, 29, 31), "right": (24, 26, 28, 30, 32)}
    out: dict[str, Any] = {"events": ev, "leg_length_m": L}
    per: dict[str, dict[str, list[float]]] = {}

    def at(time: float) -> int:
        return int(np.argmin(np.abs(t - time)))

    mid_hip = 0.5 * (points[:, 23] + points[:, 24])
    mid_sh = 0.5 * (points[:, 11] + points[:, 12])
    for side, sigma in (("left", 1.0), ("right", -1.0)):
        ih, ik, ia, ihe, _it = idx[side]
        other_h = 24 if side == "left" else 23
        vals: dict[str, list[float]] = {
            k: []
            for k in (
                "knee_fppa_deg",
                "hip_adduction_deg",
                "shank_angle_ic_deg",
                "knee_flexion_ic_deg",
                "knee_flexion_midstance_deg",
                "hip_extension_to_deg",
                "trunk_lean_deg_forward",
                "recovery_external_rotation_deg",
            )
        }
        ics = ev[side]["initial_contact_s"]
        tos = ev[side]["toe_off_s"]
        for ic in ics:
            later = tos[tos > ic]
            if later.size == 0:
                continue
            to = later[0]
            sl = slice(at(ic), at(to) + 1)
            hip, knee, ankle = points[sl, ih], points[sl, ik], points[sl, ia]
            vals["knee_fppa_deg"].append(float(np.max(_fppa_frontal(hip, knee, ankle, sigma))))
            pel = _frontal(points[sl, other_h] - points[sl, ih])  # toward the other hip
            fem = _frontal(knee - hip)
            cosang = np.sum(pel * fem, 1) / (
                np.linalg.norm(pel, axis=1) * np.linalg.norm(fem, axis=1)
            )
            vals["hip_adduction_deg"].append(float(np.max(90 - np.degrees(np.arccos(cosang)))))
            k0 = at(ic)
            kn, an, hp = (
                _sagittal(points[k0, ik]),
                _sagittal(points[k0, ia]),
                _sagittal(points[k0, ih]),
            )
            vals["shank_angle_ic_deg"].append(
                float(np.degrees(np.arctan2(an[0] - kn[0], kn[1] - an[1])))
            )
            vals["knee_flexion_ic_deg"].append(
                float(180 - _angle2d(hp[None], kn[None], an[None])[0])
            )
            sag = 180 - _angle2d(_sagittal(hip), _sagittal(knee), _sagittal(ankle))
            vals["knee_flexion_midstance_deg"].append(float(np.max(sag)))
            k1 = at(to)
            trunk = _sagittal(mid_sh[k1] - mid_hip[k1])
            thigh = _sagittal(points[k1, ik] - points[k1, ih])
            down = -trunk
            ang = np.degrees(np.arctan2(down[0] * thigh[1] - down[1] * thigh[0], down @ thigh))
            vals["hip_extension_to_deg"].append(float(-ang))
            n_st = sl.stop - sl.start
            mid = slice(sl.start + n_st // 3, sl.start + 2 * n_st // 3 + 1)
            tr = _sagittal(mid_sh[mid] - mid_hip[mid])
            vals["trunk_lean_deg_forward"].append(
                float(np.mean(np.degrees(np.arctan2(tr[:, 0], tr[:, 1]))))
            )
            nxt = ics[ics > to]
            if nxt.size:
                sw_end = to + 0.5 * (nxt[0] - to)
                ssl = slice(at(to), at(sw_end) + 1)
                vals["recovery_external_rotation_deg"].append(
                    float(np.max(heel_whip_deg(points[ssl, ik], points[ssl, ihe], sigma,
                                               SHANK * H)))
                )
        per[side] = vals
    out["per_side"] = per
    summary: dict[str, Any] = {}
    for key in per["left"]:
        left = float(np.median(per["left"][key])) if per["left"][key] else float("nan")
        right = float(np.median(per["right"][key])) if per["right"][key] else float("nan")
        both = per["left"][key] + per["right"][key]
        summary[key] = {
            "left": left,
            "right": right,
            "value": float(np.median(both)) if both else float("nan"),
        }
    drop = _pair(p.pelvic_drop_deg)
    summary["pelvic_drop_deg"] = {
        "left": drop[0],
        "right": drop[1],
        "value": float(np.median(drop)),
    }
    sw = _pair(p.step_width_norm)
    summary["step_width_norm"] = {"value": (sw[0] + sw[1]) / 2}
    # Arm crossover from the 3D wrists (frontal projection), as defined; the generator solves
    # the wrist's path so that this equals the parameter (test_metrics checks that too).
    T = info["period"]
    ac: dict[str, float] = {}
    for side, sigma, iw in (("left", 1.0, 15), ("right", -1.0, 16)):
        past = _past_midline(points[:, iw], mid_sh, mid_hip, sigma) / L
        n_per = max(1, round(T / (t[1] - t[0])))
        peaks = [float(np.max(past[k : k + n_per])) for k in range(0, past.size - n_per, n_per)]
        ac[side] = float(np.median(peaks))
    summary["arm_crossover_norm"] = {
        "left": ac["left"],
        "right": ac["right"],
        "value": float(np.median([ac["left"], ac["right"]])),
    }
    fa = _pair(p.foot_ahead_norm)
    summary["foot_ahead_of_hip_norm"] = {
        "left": fa[0],
        "right": fa[1],
        "value": float(np.median(fa)),
    }
    ll = _pair(p.trunk_lateral_lean_deg)
    summary["trunk_lateral_lean_deg"] = {
        "left": ll[0],
        "right": ll[1],
        "value": float(np.median(ll)),
    }
    tc = _pair(p.contact_time_s)
    summary["ground_contact_ms"] = {
        "left": tc[0] * 1000,
        "right": tc[1] * 1000,
        "value": float(np.median(tc)) * 1000,
    }
    summary["cadence_spm"] = {"value": p.cadence_spm}
    summary["vertical_oscillation_norm"] = {"value": p.vertical_oscillation_norm}
    summary["vertical_oscillation_cm"] = {"value": p.vertical_oscillation_norm * L * 100}
    summary["foot_strike_angle_deg"] = {"value": p.strike_angle_deg}
    T = info["period"]
    summary["flight_ms"] = {"value": (T / 2 - float(np.median(tc))) * 1000}
    out["metrics"] = summary
    return out


def make_runner(params: RunnerParams | None = None, **overrides: Any) -> Synthetic:
    """A filmed synthetic runner. Keyword overrides replace fields of ``params``."""
    p = replace(params or RunnerParams(), **overrides)
    rng = np.random.default_rng(p.seed)
    ts = _timestamps(p, rng)
    lower = _pelvis_lowering(p)
    # Build on a fine regular grid of the true times, then film at the real timestamps.
    pose, _info = _runner_pose(ts, p, pelvis_lower=lower)
    points = _assemble(p.height_m, pose)
    track = film(points, ts, p, rng)
    t_truth = np.arange(0, ts[-1] + 1e-9, 1 / 480.0)
    pose_t, info_t = _runner_pose(t_truth, p, pelvis_lower=lower)
    truth = _truth(_assemble(p.height_m, pose_t), t_truth, p, info_t)
    return Synthetic(track=track, params=p, truth=truth, points=points)


# --------------------------------------------------------------------------- not running


def make_standing(
    duration_s: float = 6.0,
    fps: float = 60.0,
    sway_m: float = 0.02,
    camera_azimuth_deg: float = 0.0,
    noise_px: float = 1.0,
    seed: int = 0,
) -> Synthetic:
    """A person standing still, swaying gently: no steps at all."""
    p = RunnerParams(
        duration_s=duration_s,
        fps=fps,
        camera_azimuth_deg=camera_azimuth_deg,
        noise_px=noise_px,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    ts = _timestamps(p, rng)
    H = p.height_m
    n = ts.size
    sway = sway_m * np.sin(2 * np.pi * 0.3 * ts)
    pelvis = np.stack([sway, np.full(n, (ANKLE_H + 0.995 * LEG) * H), 0.01 * np.sin(ts)], 1)
    feet = {}
    for side, sigma in (("left", 1.0), ("right", -1.0)):
        x = sigma * 0.06 * H
        ankle = np.tile([x, (SOLE + FOOT_DROP) * H, 0.0], (n, 1))
        heel = np.tile([x, SOLE * H, -HEEL_BACK * H], (n, 1))
        toe = np.tile([x + sigma * 0.01 * H, SOLE * H, TOE_FWD * H], (n, 1))
        feet[side] = (ankle, heel, toe)
    zero = np.zeros(n)
    pose = _Pose(
        pelvis=pelvis,
        obliquity=zero,
        pelvis_yaw=zero,
        lean_fwd=zero,
        lean_lat=np.radians(1.0) * np.sin(2 * np.pi * 0.3 * ts),
        shoulder_yaw=zero,
        feet=feet,
        arm_forward={"left": np.full(n, 0.25), "right": np.full(n, 0.25)},
        arm_cross={"left": -0.05 * H, "right": -0.05 * H},
        knee_fppa_target={"left": None, "right": None},
        knee_fppa_weight={"left": zero, "right": zero},
        heel_whip_target={"left": 0.0, "right": 0.0},
        heel_whip_weight={"left": zero, "right": zero},
    )
    points = _assemble(H, pose)
    return Synthetic(track=film(points, ts, p, rng), params=p, truth={}, points=points)


def make_walker(duration_s: float = 8.0, **overrides: Any) -> Synthetic:
    """Walking: long contacts with double support, no flight phase."""
    base = RunnerParams(
        duration_s=duration_s,
        cadence_spm=108.0,
        contact_time_s=0.66,
        speed_mps=1.3,
        vertical_oscillation_norm=0.03,
        pelvis_vaults=True,
        foot_ahead_norm=0.25,
        knee_flexion_midstance_deg=15.0,
        pelvic_drop_deg=3.0,
        trunk_forward_lean_deg=2.0,
        strike_angle_deg=15.0,
        arm_crossover_norm=-0.12,
        noise_px=1.0,
    )
    return make_runner(base, **overrides)
