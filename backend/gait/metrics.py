"""Stride-by-stride metrics and their summaries (definitions in docs/gait.md and RF).

Every metric is measured per stance (or per step, or per arm swing), on the frames of the
validated events only, then summarised by the median (robust to a stray stride), the
interquartile spread, and the per-side medians. A value is withheld with a reason rather than
guessed: too few strides, too low a frame rate, a view that does not show the plane, landmarks
that are not trusted.

Image axes: x right, y down. ``lat`` turns an image x into the subject's left (from behind the
subject's left is image left, in front it is image right); ``fwd`` turns it into the direction
of running in a side view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, FloatArray, Segment
from backend.gait.events import OTHER, SIDE_IDX, Contact, GaitEvents
from backend.gait.geometry import angle_at, cross2, iqr
from backend.gait.types import AthleteInfo, Metric, StrideValue, ViewInfo
from backend.pose.track import Landmark as L

SHANK_FRACTION_OF_LEG = 0.246 / (0.245 + 0.246)  # Winter 2009 segment proportions
SIGMA = {"left": 1.0, "right": -1.0}

FRONTAL_KEYS = (
    "pelvic_drop_deg",
    "hip_adduction_deg",
    "knee_fppa_deg",
    "step_width_norm",
    "arm_crossover_norm",
    "recovery_external_rotation_deg",
    "trunk_lateral_lean_deg",
)
SAGITTAL_KEYS = (
    "foot_ahead_of_hip_norm",
    "shank_angle_ic_deg",
    "knee_flexion_ic_deg",
    "knee_flexion_midstance_deg",
    "trunk_forward_lean_deg",
    "vertical_oscillation_norm",
    "vertical_oscillation_cm",
    "hip_extension_to_deg",
)
# Frontal angles of the bent knee and shank: a few degrees off square, the knee's forward bend
# projects sideways and swamps them.
KNEE_ANGLE_KEYS = ("knee_fppa_deg", "recovery_external_rotation_deg")
CONTACT_KEYS = ("ground_contact_ms", "flight_ms", "duty_factor")
TIMING_KEYS = ("cadence_spm", "ground_contact_ms", "flight_ms", "duty_factor")
ALL_KEYS = TIMING_KEYS + FRONTAL_KEYS + SAGITTAL_KEYS + ("trunk_lean_deg",)

# key: (unit, plane, per side, definition, typical)
SPEC: dict[str, tuple[str, str | None, bool, str, str]] = {
    "cadence_spm": ("steps/min", None, False,
                    "120 / median stride time (a foot's contact to its next contact), both "
                    "feet",
                    "scales with speed and height; flag below about 160 at easy pace"),
    "ground_contact_ms": ("ms", None, True, "toe-off minus initial contact",
                          "about 200-300 ms at easy pace"),
    "flight_ms": ("ms", None, True, "initial contact minus the other foot's toe-off",
                  "positive when running (both feet off the ground)"),
    "duty_factor": ("", None, True, "contact time / stride time", "below 0.5 when running"),
    "pelvic_drop_deg": ("deg", "frontal", True,
                        "peak drop of the swing-side hip below the stance-side hip in stance",
                        "about 4.6 healthy; flag from 6-7, marked from 10"),
    "hip_adduction_deg": ("deg", "frontal", True,
                          "peak angle between the pelvis line and the stance femur minus 90, "
                          "positive knee inward", "asymmetry and trend matter more than a cut"),
    "knee_fppa_deg": ("deg", "frontal", True,
                      "peak 180 minus the hip-knee-ankle angle in stance, positive knee inward",
                      "2D only: knee moving inward, mostly hip-driven"),
    "step_width_norm": ("leg lengths", "frontal", False,
                        "lateral distance between the feet at successive mid-stances / leg "
                        "length, negative when they cross", "narrow below 0.05, crossover at 0"),
    "arm_crossover_norm": ("leg lengths", "frontal", True,
                           "peak distance a wrist passes the body midline per arm swing / leg "
                           "length, positive when it crosses", "at or below 0"),
    "recovery_external_rotation_deg": ("deg", "frontal", True,
                                       "heel whip: peak medial heel offset from the knee in "
                                       "early swing, as an angle of the shank",
                                       "small; flag only when large and consistent"),
    "trunk_lateral_lean_deg": ("deg", "frontal", True,
                               "peak lean of mid-hip to mid-shoulder toward the stance side",
                               "a few degrees"),
    "foot_ahead_of_hip_norm": ("leg lengths", "sagittal", True,
                               "heel ahead of the mid-hip at initial contact / leg length",
                               "watch from 0.08, flag from 0.15"),
    "shank_angle_ic_deg": ("deg", "sagittal", True,
                           "shank against the vertical at contact, positive ankle ahead of knee",
                           "overstride above about 5-10"),
    "knee_flexion_ic_deg": ("deg", "sagittal", True, "180 minus the hip-knee-ankle angle at "
                            "initial contact", "about 15-25"),
    "knee_flexion_midstance_deg": ("deg", "sagittal", True,
                                   "peak knee flexion in stance", "about 40-45"),
    "trunk_forward_lean_deg": ("deg", "sagittal", True,
                               "mid-hip to mid-shoulder against the vertical in mid-stance, "
                               "positive forward", "about 2-10"),
    "vertical_oscillation_norm": ("leg lengths", "sagittal", False,
                                  "peak-to-peak mid-hip height per step / leg length",
                                  "about 6-10 cm"),
    "vertical_oscillation_cm": ("cm", "sagittal", False,
                                "peak-to-peak mid-hip height per step (needs the height)",
                                "about 6-10 cm"),
    "hip_extension_to_deg": ("deg", "sagittal", True,
                             "thigh behind the trunk line at toe-off", "about 10-20"),
    "trunk_lean_deg": ("deg", None, True,
                       "trunk lean in the view's plane: lateral toward the stance side from "
                       "behind or in front, forward from the side", "see the plane's metric"),
}


@dataclass
class Ctx:
    clean: CleanTrack
    ge: GaitEvents
    view: ViewInfo
    athlete: AthleteInfo | None
    roll_deg: float = 0.0  # camera roll estimate, removed from "horizontal" angles
    world_used: set[str] = field(default_factory=set)  # metric keys measured on world landmarks

    def seg(self, c: Contact) -> Segment:
        return self.clean.segments[c.seg]

    def leg_px(self, c: Contact) -> float:
        return self.ge.scales[c.seg].leg_px

    def lat(self, x: FloatArray) -> FloatArray:
        """Image x to the subject's left."""
        return np.asarray(-x if self.view.used == "rear" else x, dtype=np.float64)

    def fwd(self, x: FloatArray) -> FloatArray:
        return np.asarray(-x if self.view.facing == "left" else x, dtype=np.float64)

    def frame_t(self, t: float) -> float:
        return self.clean.nearest_frame_time(t)


def _finite(v: float) -> bool:
    return v is not None and math.isfinite(v)


def summarise(key: str, values: list[StrideValue], *, visibility: float | None = None,
              withheld: str | None = None, notes: list[str] | None = None,
              world: bool = False) -> Metric:
    unit, plane, per_side, definition, typical = SPEC[key]
    # World landmarks count as used only for a value reported.
    m = Metric(key=key, unit=unit, plane=plane, definition=definition, typical=typical,
               notes=list(notes or []), world_landmarks_used=False)
    vals = [v for v in values if _finite(v.value)]
    if withheld:
        m.withheld_reason = withheld
        return m
    m.per_stride = vals
    m.visibility = None if visibility is None or not math.isfinite(visibility) else visibility
    n = len(vals)
    m.n_strides = n
    left = [v.value for v in vals if v.side == "left"]
    right = [v.value for v in vals if v.side == "right"]
    m.n_left, m.n_right = len(left), len(right)
    need = th.MIN_STRIDES_PER_SIDE * (2 if per_side else 1)
    if n < need:
        m.withheld_reason = (f"too few strides: {n} measured, at least {need} needed"
                             if n else "no stride could be measured")
        m.per_stride = vals
        return m
    m.value = float(np.median([v.value for v in vals]))
    m.world_landmarks_used = world
    m.spread = iqr([v.value for v in vals])
    if per_side:
        if len(left) >= th.MIN_STRIDES_PER_SIDE:
            m.left = float(np.median(left))
        if len(right) >= th.MIN_STRIDES_PER_SIDE:
            m.right = float(np.median(right))
        if m.left is not None and m.right is not None:
            m.asymmetry = m.left - m.right
        good = min(len(left), len(right)) >= th.GOOD_STRIDES_PER_SIDE
    else:
        good = n >= 2 * th.GOOD_STRIDES_PER_SIDE
    m.quality = "good" if good else "low"
    if not good:
        m.notes.append(f"fewer than {th.GOOD_STRIDES_PER_SIDE} strides a side (Dingenen 2018): "
                       "read with care")
    return m


def _vis(seg: Segment, idx: slice | np.ndarray, joints: tuple[int, ...]) -> float:
    v = seg.vis[idx][:, list(joints)]
    v = v[np.isfinite(v)]
    return float(np.mean(v)) if v.size else float("nan")


def _interp_at(seg: Segment, j: int, t: float) -> FloatArray:
    return np.array([np.interp(t, seg.t, seg.xy[:, j, 0], left=np.nan, right=np.nan),
                     np.interp(t, seg.t, seg.xy[:, j, 1], left=np.nan, right=np.nan)])


def _stance(c: Contact) -> slice | None:
    if c.i_to is None:
        return None
    return slice(c.i_ic, c.i_to + 1)


class _Collector:
    def __init__(self) -> None:
        self.values: dict[str, list[StrideValue]] = {}
        self.vis: dict[str, list[float]] = {}

    def add(self, key: str, t: float, side: str | None, value: float, vis: float) -> None:
        if not math.isfinite(value):
            return
        self.values.setdefault(key, []).append(StrideValue(float(t), side, float(value)))  # type: ignore[arg-type]
        if math.isfinite(vis):
            self.vis.setdefault(key, []).append(vis)

    def visibility(self, key: str) -> float | None:
        v = self.vis.get(key)
        return float(np.mean(v)) if v else None


def _peak(values: FloatArray, t: FloatArray) -> tuple[float, float]:
    ok = np.isfinite(values)
    if not ok.any():
        return float("nan"), float("nan")
    i = int(np.nanargmax(values))
    return float(values[i]), float(t[i])


def frontal(ctx: Ctx, col: _Collector) -> None:
    """The metrics from behind or in front: per stance, pelvic drop, hip adduction, knee
    FPPA and lateral trunk lean; per step, step width; per swing, arm crossover and the
    heel whip."""
    for c in ctx.ge.contacts:
        st = _stance(c)
        if st is None:
            continue
        _stance_frontal(ctx, col, c, st)
    _step_width(ctx, col)
    _arm_crossover(ctx, col)
    _recovery_external_rotation(ctx, col)


def _stance_frontal(ctx: Ctx, col: _Collector, c: Contact, st: slice) -> None:
    """The four frontal stance measures of one contact, each at its peak over the stance."""
    roll = ctx.roll_deg
    seg = ctx.seg(c)
    s, o = SIDE_IDX[c.side], SIDE_IDX[OTHER[c.side]]
    t = seg.t[st]
    hip, ohip = seg.p(s["hip"])[st], seg.p(o["hip"])[st]
    knee, ankle = seg.p(s["knee"])[st], seg.p(s["ankle"])[st]
    # Pelvic drop: swing-side hip below the stance-side hip (y down), in the camera's
    # horizontal corrected for its roll.
    width = np.abs(ohip[:, 0] - hip[:, 0])
    drop = np.degrees(np.arctan2(ohip[:, 1] - hip[:, 1], width))
    # Roll turns the image clockwise: the subject-left hip appears lower by `roll` when the
    # camera is rolled that way; remove it with the stance side's sign.
    left_side_on_image_left = ctx.view.used == "rear"
    stance_on_left = (c.side == "left") == left_side_on_image_left
    drop = drop - (roll if stance_on_left else -roll)
    val, tp = _peak(drop, t)
    vis = _vis(seg, st, (s["hip"], o["hip"]))
    col.add("pelvic_drop_deg", ctx.frame_t(tp), c.side, val, vis)
    # Hip adduction: pelvis line against the femur, minus 90, positive knee inward.
    add = 90.0 - angle_at(ohip, hip, knee)
    val, tp = _peak(add, t)
    col.add("hip_adduction_deg", ctx.frame_t(tp), c.side, val,
            _vis(seg, st, (s["hip"], o["hip"], s["knee"])))
    # Knee FPPA, positive when the knee is on the medial side of the hip-ankle line.
    d = ankle - hip
    medial = np.sign(cross2(d, knee - hip)) == np.sign(cross2(d, ohip - hip))
    fppa = (180.0 - angle_at(hip, knee, ankle)) * np.where(medial, 1.0, -1.0)
    val, tp = _peak(fppa, t)
    col.add("knee_fppa_deg", ctx.frame_t(tp), c.side, val,
            _vis(seg, st, (s["hip"], s["knee"], s["ankle"])))
    # Lateral trunk lean toward the stance side.
    sh = seg.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)[st]
    mh = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[st]
    dx = ctx.lat(sh[:, 0] - mh[:, 0])
    lean = np.degrees(np.arctan2(dx, mh[:, 1] - sh[:, 1])) * SIGMA[c.side]
    # Roll: the image rotated clockwise by `roll` adds `roll` toward image left.
    lean = lean + SIGMA[c.side] * (roll if ctx.view.used == "rear" else -roll)
    val, tp = _peak(lean, t)
    col.add("trunk_lateral_lean_deg", ctx.frame_t(tp), c.side, val,
            _vis(seg, st, (11, 12, 23, 24)))


def _step_width(ctx: Ctx, col: _Collector) -> None:
    """Step width: ankles at successive mid-stances, in leg lengths."""
    for step in ctx.ge.steps:
        a, b = step.a, step.b
        if a.i_to is None or b.i_to is None:
            continue
        seg = ctx.seg(a)
        ia, ib = a.mid_index(), b.mid_index()
        xa = seg.p(SIDE_IDX[a.side]["ankle"])[ia, 0]
        xb = seg.p(SIDE_IDX[b.side]["ankle"])[ib, 0]
        la, lb = ctx.lat(np.array([xa, xb]))
        left_minus_right = (la - lb) if a.side == "left" else (lb - la)
        step_w = float(left_minus_right / ctx.leg_px(a))
        vis = float(np.nanmean([seg.vis[ia, SIDE_IDX[a.side]["ankle"]],
                                seg.vis[ib, SIDE_IDX[b.side]["ankle"]]]))
        col.add("step_width_norm", ctx.frame_t(float(seg.t[ib])), b.side, step_w, vis)


def _arm_crossover(ctx: Ctx, col: _Collector) -> None:
    """Arm crossover: per arm, one value per swing (the opposite foot's stride)."""
    for side in ("left", "right"):
        w = SIDE_IDX[side]["wrist"]
        for a, b in ctx.ge.strides(OTHER[side]):
            seg = ctx.seg(a)
            sl = slice(a.i_ic, b.i_ic + 1)
            sh = seg.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)[sl]
            mh = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[sl]
            wr = seg.p(w)[sl]
            with np.errstate(invalid="ignore", divide="ignore"):
                f = (wr[:, 1] - sh[:, 1]) / (mh[:, 1] - sh[:, 1])
            mid_x = sh[:, 0] + f * (mh[:, 0] - sh[:, 0])
            past = (ctx.lat(mid_x) - ctx.lat(wr[:, 0])) * SIGMA[side] / ctx.leg_px(a)
            val, tp = _peak(np.asarray(past), seg.t[sl])
            col.add("arm_crossover_norm", ctx.frame_t(tp), side, val,
                    _vis(seg, sl, (w, 11, 12, 23, 24)))


def _recovery_external_rotation(ctx: Ctx, col: _Collector) -> None:
    """Recovery external rotation (heel whip): heel medial of the knee in early swing.

    In early swing the heel is kicked up behind the knee, nearer a camera behind (farther
    from one in front) than the knee: the image's perspective then inflates (or shrinks) its
    sideways offset by the depth ratio, about 15 % at 4 m. The world landmarks (metric,
    camera-aligned axes, no perspective) measure it as defined; the image is the fallback.
    """
    for side in ("left", "right"):
        i = SIDE_IDX[side]
        for a, b in ctx.ge.strides(side):
            if a.i_to is None or a.to_s is None:
                continue
            seg = ctx.seg(a)
            end = a.i_to + max(1, (b.i_ic - a.i_to) // 2)
            sl = slice(a.i_to, end + 1)
            shank_w = _world_shank_m(seg, side)
            if shank_w is not None:
                knee_x, heel_x = seg.world[sl, i["knee"], 0], seg.world[sl, i["heel"], 0]
                shank = shank_w
                ctx.world_used.add("recovery_external_rotation_deg")
            else:
                knee_x, heel_x = seg.p(i["knee"])[sl, 0], seg.p(i["heel"])[sl, 0]
                shank = ctx.leg_px(a) * SHANK_FRACTION_OF_LEG
            medial = SIGMA[side] * (ctx.lat(knee_x) - ctx.lat(heel_x))
            ang = np.degrees(np.arcsin(np.clip(medial / shank, -1.0, 1.0)))
            val, tp = _peak(np.asarray(ang), seg.t[sl])
            col.add("recovery_external_rotation_deg", ctx.frame_t(tp), side, val,
                    _vis(seg, sl, (i["knee"], i["heel"])))


def _world_shank_m(seg: Segment, side: str) -> float | None:
    """Median knee-to-ankle length in the world landmarks (m), None when they are missing."""
    i = SIDE_IDX[side]
    d = np.linalg.norm(seg.world[:, i["knee"]] - seg.world[:, i["ankle"]], axis=1)
    d = d[np.isfinite(d)]
    if d.size <= th.WORLD_MIN_SAMPLES:
        return None
    return float(np.median(d))


def sagittal(ctx: Ctx, col: _Collector) -> None:
    for c in ctx.ge.contacts:
        seg = ctx.seg(c)
        i = SIDE_IDX[c.side]
        leg = ctx.leg_px(c)
        hip = _interp_at(seg, i["hip"], c.ic_s)
        mhip = 0.5 * (_interp_at(seg, 23, c.ic_s) + _interp_at(seg, 24, c.ic_s))
        knee = _interp_at(seg, i["knee"], c.ic_s)
        ankle = _interp_at(seg, i["ankle"], c.ic_s)
        heel = _interp_at(seg, i["heel"], c.ic_s)
        k = min(seg.n - 1, c.i_ic)
        vis = _vis(seg, slice(k, k + 1), (i["hip"], i["knee"], i["ankle"], i["heel"]))
        t_ic = ctx.frame_t(c.ic_s)
        col.add("foot_ahead_of_hip_norm", t_ic, c.side,
                float(ctx.fwd(np.array(heel[0] - mhip[0])) / leg), vis)
        col.add("shank_angle_ic_deg", t_ic, c.side,
                float(np.degrees(np.arctan2(ctx.fwd(np.array(ankle[0] - knee[0])),
                                            ankle[1] - knee[1]))), vis)
        col.add("knee_flexion_ic_deg", t_ic, c.side,
                float(180.0 - angle_at(hip, knee, ankle)), vis)
        st = _stance(c)
        if st is None:
            continue
        t = seg.t[st]
        flex = 180.0 - angle_at(seg.p(i["hip"])[st], seg.p(i["knee"])[st], seg.p(i["ankle"])[st])
        val, tp = _peak(flex, t)
        col.add("knee_flexion_midstance_deg", ctx.frame_t(tp), c.side, val,
                _vis(seg, st, (i["hip"], i["knee"], i["ankle"])))
        n = st.stop - st.start
        third = n // th.MIDSTANCE_THIRDS
        mid = slice(st.start + third, st.start + 2 * third + 1)
        sh = seg.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)[mid]
        mh = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[mid]
        lean = np.degrees(np.arctan2(ctx.fwd(sh[:, 0] - mh[:, 0]), mh[:, 1] - sh[:, 1]))
        if np.isfinite(lean).any():
            col.add("trunk_forward_lean_deg", ctx.frame_t(float(np.mean(seg.t[mid]))), c.side,
                    float(np.nanmean(lean)), _vis(seg, mid, (11, 12, 23, 24)))
        if c.to_s is not None:
            hip_to = _interp_at(seg, i["hip"], c.to_s)
            knee_to = _interp_at(seg, i["knee"], c.to_s)
            sh_to = 0.5 * (_interp_at(seg, 11, c.to_s) + _interp_at(seg, 12, c.to_s))
            mh_to = 0.5 * (_interp_at(seg, 23, c.to_s) + _interp_at(seg, 24, c.to_s))
            # In (forward, up) coordinates: the angle from the trunk's downward line to the
            # thigh, positive when the thigh points behind it.
            down = np.array([ctx.fwd(np.array(mh_to[0] - sh_to[0])), -(mh_to[1] - sh_to[1])])
            thigh = np.array([ctx.fwd(np.array(knee_to[0] - hip_to[0])), -(knee_to[1] - hip_to[1])])
            ang = math.degrees(math.atan2(float(down[0] * thigh[1] - down[1] * thigh[0]),
                                          float(down @ thigh)))
            col.add("hip_extension_to_deg", ctx.frame_t(c.to_s), c.side, -ang,
                    _vis(seg, st, (i["hip"], i["knee"], 11, 12)))
    for step in ctx.ge.steps:
        a, b = step.a, step.b
        seg = ctx.seg(a)
        sl = slice(a.i_ic, b.i_ic + 1)
        y = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[sl, 1]
        if np.isfinite(y).sum() < th.MIN_SAMPLES_LINE_FIT:
            continue
        osc = float(np.nanmax(y) - np.nanmin(y)) / ctx.leg_px(a)
        col.add("vertical_oscillation_norm", ctx.frame_t(float(seg.t[sl][np.nanargmax(y)])),
                a.side, osc, _vis(seg, sl, (23, 24)))


def timing(ctx: Ctx, col: _Collector) -> None:
    # Cadence from each foot's strides (contact to the same foot's next contact), never from
    # step times: a detector that finds one foot's contacts at another phase than the other's
    # makes step times alternate long and short (their median then picks a long one), while
    # stride times carry no such bias. Two steps per stride.
    for side in ("left", "right"):
        for a, b in ctx.ge.strides(side):
            col.add("cadence_spm", ctx.frame_t(b.ic_s), side,
                    60.0 * th.STEPS_PER_STRIDE / (b.ic_s - a.ic_s),
                    float("nan"))
    for step in ctx.ge.steps:
        if step.flight_s is not None:
            col.add("flight_ms", ctx.frame_t(step.b.ic_s), step.a.side, 1000.0 * step.flight_s,
                    float("nan"))
    for c in ctx.ge.contacts:
        if c.contact_s is not None:
            col.add("ground_contact_ms", ctx.frame_t(c.ic_s), c.side, 1000.0 * c.contact_s,
                    float("nan"))
    for side in ("left", "right"):
        for a, b in ctx.ge.strides(side):
            if a.contact_s is not None:
                col.add("duty_factor", ctx.frame_t(a.ic_s), side,
                        a.contact_s / (b.ic_s - a.ic_s), float("nan"))


def estimate_roll(ctx: Ctx) -> float | None:
    """Camera roll from the floor line: the stance ankles of successive steps sit on the
    floor, so the line through them is horizontal in the world (RF "Camera roll"; Sports2D
    fits the floor from slow toe points). Degrees, positive when the image is turned
    clockwise (the floor line falls to the image right)."""
    angles = []
    for step in ctx.ge.steps:
        a, b = step.a, step.b
        if a.i_to is None or b.i_to is None:
            continue
        seg = ctx.seg(a)
        # Mid-stance by time, interpolated: both feet then sit at the same point of their
        # stance (the same depth on a treadmill filmed from behind).
        assert a.to_s is not None and b.to_s is not None
        pa = _interp_at(seg, SIDE_IDX[a.side]["heel"], 0.5 * (a.ic_s + a.to_s))
        pb = _interp_at(seg, SIDE_IDX[b.side]["heel"], 0.5 * (b.ic_s + b.to_s))
        dx = pb[0] - pa[0]
        if abs(dx) < th.ROLL_MIN_FEET_APART_LEG * ctx.leg_px(a):
            continue  # feet too close sideways to define a line
        # Orient each pair left to right in the image so the slope, not the order of the
        # feet, gives the angle.
        angles.append(math.degrees(math.atan2((pb[1] - pa[1]) * math.copysign(1.0, dx),
                                              abs(dx))))
    if len(angles) < th.MIN_ROLL_STEPS:
        return None
    # On a treadmill filmed from behind, feet with different contact times (or landing
    # distances) sit at different depths at mid-stance, and depth moves a foot up the image:
    # the floor line is then not level in the world. Only trust it for a symmetric gait.
    ct = {s: [c.contact_s for c in ctx.ge.contacts_of(s) if c.contact_s] for s in ("left", "right")}
    if not ct["left"] or not ct["right"]:
        return None
    ml, mr = float(np.median(ct["left"])), float(np.median(ct["right"]))
    if abs(ml - mr) > th.ROLL_MAX_CONTACT_ASYMMETRY * 0.5 * (ml + mr):
        return None
    if iqr(angles) > th.CAMERA_ROLL_MAX_STD_DEG:
        return None  # inconsistent stride to stride: not a camera property
    return float(np.median(angles))


Builder = Callable[[Ctx, _Collector], None]


def compute(ctx: Ctx) -> dict[str, Metric]:
    col = _Collector()
    fps = ctx.clean.fps_measured
    view = ctx.view.used
    timing(ctx, col)
    frontal_ok = view in ("rear", "front") and not ctx.view.oblique
    sagittal_ok = view == "side" and not ctx.view.oblique
    if frontal_ok:
        frontal(ctx, col)
    if sagittal_ok:
        sagittal(ctx, col)
    out: dict[str, Metric] = {}
    for key in ALL_KEYS:
        if key == "trunk_lean_deg" or key == "vertical_oscillation_cm":
            continue
        plane = SPEC[key][1]
        withheld = None
        if plane == "frontal" and not frontal_ok:
            withheld = ("the side view does not show it: film from behind or in front"
                        if view == "side" else
                        "the camera is too oblique for frontal-plane angles")
        elif plane == "sagittal" and not sagittal_ok:
            withheld = ("a rear or front view does not show it: film from the side"
                        if view != "side" else
                        "the camera is too oblique for sagittal-plane angles")
        elif key in KNEE_ANGLE_KEYS and frontal_ok and (
            ctx.view.camera_angle_deg is not None
            and ctx.view.camera_angle_deg > th.VIEW_ANGLE_MAX_KNEE_DEG
        ):
            withheld = (f"the camera is about {ctx.view.camera_angle_deg:.0f} degrees off square: "
                        "the bent knee then turns sideways in the image and this angle stops "
                        "meaning anything; film straight from behind or in front")
        elif key in CONTACT_KEYS and view in ("rear", "front") and not ctx.ge.used_world:
            # From behind, the stance foot carried in depth moves down the image: contact and
            # toe-off from the image alone are biased (80 ms on synthetic treadmill runners),
            # though the step times, and so the cadence, are not.
            withheld = ("without world landmarks, contact and toe-off from behind or in front "
                        "are not exact enough: film from the side for contact times")
        elif key in CONTACT_KEYS and fps < th.FPS_MIN_CONTACT_TIME:
            withheld = (f"the frame rate ({fps:.0f} fps) is too low for contact times: one "
                        f"frame is {1000 / fps:.0f} ms; film at 60 fps or more")
        notes = []
        if (key == "recovery_external_rotation_deg" and key not in ctx.world_used
                and withheld is None):
            # The heel kicked up behind the knee is nearer a camera behind: perspective
            # inflates its offset (+20 % on synthetic runners at 4 m, enough to cross the
            # threshold); in front it is farther and the angle shrinks a little (-3 %).
            if view == "rear":
                withheld = ("without world landmarks, perspective inflates the heel whip "
                            "from behind by about 20 %: film from in front, or use a pose "
                            "engine that gives world landmarks")
            else:
                notes.append("from the image (no world landmarks): perspective shrinks it a "
                             "little (about 3 % at 4 m)")
        out[key] = summarise(key, col.values.get(key, []), visibility=col.visibility(key),
                             withheld=withheld, notes=notes,
                             world=_world_used(ctx, key))
    # Vertical oscillation in cm when the height is known (leg length from Winter's
    # proportions unless the athlete gave it).
    vo = out["vertical_oscillation_norm"]
    leg_m = _leg_m(ctx.athlete)
    if leg_m is None:
        out["vertical_oscillation_cm"] = summarise(
            "vertical_oscillation_cm", [],
            withheld=vo.withheld_reason or "needs the athlete's height (--height-m)")
    else:
        cm = [StrideValue(v.t_s, v.side, v.value * leg_m * 100.0) for v in vo.per_stride]
        out["vertical_oscillation_cm"] = summarise(
            "vertical_oscillation_cm", cm, visibility=vo.visibility,
            withheld=vo.withheld_reason, world=_world_used(ctx, "vertical_oscillation_cm"))
    # trunk_lean_deg: the view's own plane.
    src = out["trunk_lateral_lean_deg"] if view in ("rear", "front") else out[
        "trunk_forward_lean_deg"]
    tl = Metric(**{**src.__dict__, "key": "trunk_lean_deg"})
    tl.definition = SPEC["trunk_lean_deg"][3] + f" (here: {src.key})"
    tl.notes = list(src.notes)
    out["trunk_lean_deg"] = tl
    return out


# Metrics divided by the leg length in pixels, which the world landmarks scale when they agree
# with the image (events.segment_scale).
LEG_SCALED_KEYS = ("step_width_norm", "arm_crossover_norm", "foot_ahead_of_hip_norm",
                   "vertical_oscillation_norm", "vertical_oscillation_cm")


def _world_used(ctx: Ctx, key: str) -> bool:
    """Whether the world landmarks went into this metric: events from the world heights
    (timing), a world-scaled leg length (the *_norm metrics) or world positions."""
    if key in ctx.world_used:
        return True
    if key in TIMING_KEYS:
        return ctx.ge.used_world
    if key in LEG_SCALED_KEYS:
        return any(s.leg_px_from_world for s in ctx.ge.scales)
    return False


def _leg_m(athlete: AthleteInfo | None) -> float | None:
    if athlete is None:
        return None
    if athlete.leg_length_m:
        # Tape leg length (trochanter to floor) to our hip-centre-to-ankle leg.
        return athlete.leg_length_m * th.LEG_LANDMARK_FRACTION_OF_HEIGHT / (
            th.LEG_TAPE_FRACTION_OF_HEIGHT)
    if athlete.height_m:
        return athlete.height_m * th.LEG_LANDMARK_FRACTION_OF_HEIGHT
    return None
