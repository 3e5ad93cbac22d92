"""Gait events: initial contact and toe-off for each foot, then steps and strides.

Method (docs/gait.md, "Gait events"):

1. The height of each foot's lowest point (heel or toe, whichever is lower) above the ground,
   in leg lengths, frame by frame:
   - side view: straight from the image (the foot stays at one depth);
   - rear and front views: the foot's height relative to the pelvis from the world landmarks
     (metric, no perspective) plus the pelvis's own height from the image. From behind, a
     foot on a treadmill belt comes toward the camera through the stance and so moves down
     the image although it is on the ground; the world landmarks do not have that bias.
     Without world landmarks the image alone is used, with a warning.
   Each point (heel, toe) has its own ground line, a running high quantile over about 1.5 s
   (shared by both feet from behind or in front, per foot from the side, where the far foot
   stands higher in the image), so a tilted or drifting floor line does not matter.
2. A foot is on the ground while its height stays within a noise-scaled tolerance of zero.
   The event is the sub-frame moment the height crosses a much smaller height (about 4 mm):
   contact on the way down, toe-off on the way up. Extrapolating the descent to zero lands
   early, because the foot decelerates in its last centimetres.
3. Checks, dropping what fails rather than emitting it (RF, OpenCap's approach): contacts of
   plausible duration, complete (not cut by a segment edge or a gap), sides alternating,
   steps (contact to the other foot's contact) of plausible duration.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, FloatArray, Segment, _runs
from backend.gait.geometry import robust_length
from backend.gait.types import Events, SideEvents
from backend.pose.track import Landmark as L

SIDE_IDX = {
    "left": {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31, "shoulder": 11,
             "elbow": 13, "wrist": 15},
    "right": {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32, "shoulder": 12,
              "elbow": 14, "wrist": 16},
}
OTHER = {"left": "right", "right": "left"}

# The ground line is a running quantile over this window: four or more strides at any running
# cadence, short enough to follow a runner coming closer (StrideLab heuristic).
GROUND_WINDOW_S = 1.5

# A heel or toe is on the ground for a fifth (running) to half (walking) of the time: the 0.9
# quantile of its lowness lands in that plateau (StrideLab heuristic).
GROUND_QUANTILE = 0.9
# How far into the stance the event crossing is searched for (StrideLab heuristic).
FIT_MAX_LOOK_S = 0.1


@dataclass
class Contact:
    side: str
    seg: int
    ic_s: float
    to_s: float | None
    i_ic: int  # grid index of the first sample on the ground
    i_to: int | None  # grid index of the last sample on the ground

    @property
    def contact_s(self) -> float | None:
        return None if self.to_s is None else self.to_s - self.ic_s

    def mid_index(self) -> int:
        if self.i_to is None:
            return self.i_ic
        return (self.i_ic + self.i_to) // 2


@dataclass
class Step:
    """From one foot's contact to the other foot's next contact."""

    a: Contact
    b: Contact

    @property
    def duration_s(self) -> float:
        return self.b.ic_s - self.a.ic_s

    @property
    def flight_s(self) -> float | None:
        return None if self.a.to_s is None else self.b.ic_s - self.a.to_s


@dataclass
class SegmentScale:
    leg_px: float  # hip joint centre to ankle, pixels
    leg_m_world: float | None  # the same from the world landmarks, metres
    leg_px_from_world: bool = False  # leg_px scaled from the world leg and torso


@dataclass
class GaitEvents:
    contacts: list[Contact] = field(default_factory=list)  # validated (part of a valid step)
    steps: list[Step] = field(default_factory=list)
    scales: list[SegmentScale] = field(default_factory=list)
    heights: list[dict[str, FloatArray]] = field(default_factory=list)  # per segment, per side
    n_rejected: int = 0
    used_world: bool = False
    notes: list[str] = field(default_factory=list)
    left_right_bias_s: float | None = None  # removed from the left and right contacts
    left_right_bias_spread_s: float | None = None
    n_contacts_at_foot_turn: int = 0  # contacts timed at the foot's forward turning point

    def contacts_of(self, side: str) -> list[Contact]:
        return [c for c in self.contacts if c.side == side]

    def strides(self, side: str) -> list[tuple[Contact, Contact]]:
        """Consecutive contacts of one foot (in one segment) with a valid step between."""
        cs = self.contacts_of(side)
        others = [c.ic_s for c in self.contacts if c.side != side]
        out = []
        for a, b in itertools.pairwise(cs):
            dt = b.ic_s - a.ic_s
            # Exactly one contact of the other foot in between: a missed contact must not
            # make a stride of two strides' length.
            between = sum(1 for t in others if a.ic_s < t < b.ic_s)
            if (a.seg == b.seg and between == 1
                    and 2 * th.STEP_TIME_MIN_S <= dt <= 2 * th.STEP_TIME_MAX_S):
                out.append((a, b))
        return out

    def to_events(self, method: str) -> Events:
        ev = Events(method=method, n_steps=len(self.steps), n_rejected=self.n_rejected,
                    left_right_bias_s=_round(self.left_right_bias_s),
                    left_right_bias_spread_s=_round(self.left_right_bias_spread_s))
        for side in ("left", "right"):
            cs = self.contacts_of(side)
            ev.side(side).initial_contact_s.extend(round(c.ic_s, 4) for c in cs)
            ev.side(side).toe_off_s.extend(round(c.to_s, 4) for c in cs if c.to_s is not None)
        if not isinstance(ev.left, SideEvents):  # pragma: no cover
            raise TypeError
        return ev


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def segment_scale(seg: Segment) -> SegmentScale:
    lengths = []
    for side in ("left", "right"):
        i = SIDE_IDX[side]
        thigh = robust_length(seg.p(i["hip"]), seg.p(i["knee"]))
        shank = robust_length(seg.p(i["knee"]), seg.p(i["ankle"]))
        if np.isfinite(thigh) and np.isfinite(shank):
            lengths.append(thigh + shank)
    leg_px = float(np.max(lengths)) if lengths else float("nan")
    wl = []
    for side in ("left", "right"):
        i = SIDE_IDX[side]
        w = seg.world
        thigh = np.linalg.norm(w[:, i["hip"]] - w[:, i["knee"]], axis=1)
        shank = np.linalg.norm(w[:, i["knee"]] - w[:, i["ankle"]], axis=1)
        v = (thigh + shank)[np.isfinite(thigh + shank)]
        if v.size > th.WORLD_MIN_SAMPLES:
            wl.append(float(np.median(v)))
    leg_m = float(np.mean(wl)) if wl else None
    if leg_m is not None and not (th.WORLD_LEG_MIN_M <= leg_m <= th.WORLD_LEG_MAX_M):
        leg_m = None
    if leg_m is not None:
        # Pixels per metre at the pelvis's depth: the torso (mid-hip to mid-shoulder) in the
        # image against the same segment in the world landmarks projected on the camera plane
        # (the world axes are camera-aligned). Unlike the image leg, it is not foreshortened
        # when the legs swing toward or away from the camera.
        img = np.linalg.norm(seg.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
                             - seg.mid(L.LEFT_HIP, L.RIGHT_HIP), axis=1)
        w = seg.world
        wt = 0.5 * (w[:, 11, :2] + w[:, 12, :2]) - 0.5 * (w[:, 23, :2] + w[:, 24, :2])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = img / np.linalg.norm(wt, axis=1)
        ratio = ratio[np.isfinite(ratio)]
        if ratio.size > th.WORLD_MIN_SAMPLES:
            from_world = float(np.median(ratio)) * leg_m
            # Keep it only when it agrees roughly with the image legs (a bad world estimate
            # must not rescale everything).
            if np.isfinite(leg_px) and (th.WORLD_LEG_AGREE_MIN * leg_px <= from_world
                                        <= th.WORLD_LEG_AGREE_MAX * leg_px):
                return SegmentScale(leg_px=from_world, leg_m_world=leg_m, leg_px_from_world=True)
    return SegmentScale(leg_px=leg_px, leg_m_world=leg_m)


def foot_down(seg: Segment, side: str, view: str, scale: SegmentScale,
              ) -> tuple[dict[str, FloatArray], bool]:
    """How low the heel and the toe are (leg lengths, larger = lower), each on its own, and
    whether the world landmarks were used."""
    i = SIDE_IDX[side]
    if view in ("rear", "front") and scale.leg_m_world is not None:
        w = seg.world
        w_hip = 0.5 * (w[:, 23, 1] + w[:, 24, 1])
        hip_img = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[:, 1] / scale.leg_px
        out = {p: np.asarray(hip_img + (w[:, i[p], 1] - w_hip) / scale.leg_m_world,
                             dtype=np.float64) for p in ("heel", "toe")}
        if min(np.isfinite(v).mean() for v in out.values()) > 0.5:
            return out, True
    return {p: np.asarray(seg.p(i[p])[:, 1] / scale.leg_px, dtype=np.float64)
            for p in ("heel", "toe")}, False


def _rolling_quantile(x: FloatArray, half: int, q: float) -> FloatArray:
    n = x.shape[0]
    out = np.full(n, np.nan)
    for k in range(0, n, max(1, half // th.GROUND_QUANTILE_STRIDE_FRACTION)):
        lo, hi = max(0, k - half), min(n, k + half + 1)
        w = x[lo:hi].ravel()
        w = w[np.isfinite(w)]
        if w.size >= th.MIN_SAMPLES_QUANTILE:
            out[k] = np.quantile(w, q)
    ok = np.isfinite(out)
    if ok.sum() >= 2:
        out = np.interp(np.arange(n), np.flatnonzero(ok), out[ok])
    return out


def _crossing(t: FloatArray, h: FloatArray, i: int, step: int, thr: float, look: int) -> float:
    """Sub-frame time at which the foot height crosses ``thr``, searching from the first (or
    last) sample under the contact tolerance ``i`` into the stance (``step`` +1 for contact,
    -1 for toe-off), interpolated linearly between the two samples that straddle it."""
    j = i
    for _ in range(look):
        nxt = j + step
        if not (0 <= nxt < h.size) or not np.isfinite(h[nxt]) or h[j] < thr:
            break
        j = nxt
    prev = j - step  # the sample on the air side of j
    if h[j] >= thr or not (0 <= prev < h.size) or not np.isfinite(h[prev]) or h[prev] == h[j]:
        return float(t[j])
    frac = (h[prev] - thr) / (h[prev] - h[j])
    return float(t[prev] + step * frac * (t[1] - t[0]))


def _contacts_in_segment(seg: Segment, k: int, h: FloatArray, eps: float, thr: float,
                         side: str) -> tuple[list[Contact], int]:
    t = seg.t
    n = seg.n
    dt = seg.dt
    on = np.isfinite(h) & (h < eps)
    # Close one-sample holes (noise) in a contact.
    for s, e in _runs(~on):
        if e - s <= 1 and s > 0 and e < n and on[s - 1] and on[e]:
            on[s:e] = True
    out: list[Contact] = []
    rejected = 0
    look = max(2, round(FIT_MAX_LOOK_S / max(dt, 1e-6)))
    for s, e in _runs(on):
        e1 = e - 1  # last sample on the ground
        if (e - s) * dt < 0.5 * th.CONTACT_TIME_MIN_S:
            continue  # noise dip, not a contact
        # A contact must be entered from the air and left into the air, within the segment.
        if s == 0 or not np.isfinite(h[s - 1]):
            continue
        t_ic = _crossing(t, h, s, +1, thr, look)
        t_to: float | None = None
        i_to: int | None = None
        if e < n and np.isfinite(h[e]):
            t_to = _crossing(t, h, e1, -1, thr, look)
            i_to = e1
            ct = t_to - t_ic
            if not (th.CONTACT_TIME_MIN_S <= ct <= th.CONTACT_TIME_MAX_S):
                rejected += 1
                continue
        out.append(Contact(side=side, seg=k, ic_s=float(t_ic), to_s=t_to, i_ic=int(s), i_to=i_to))
    return out, rejected


def detect(clean: CleanTrack, view: str) -> GaitEvents:
    ge = GaitEvents()
    all_contacts: list[Contact] = []
    for k, seg in enumerate(clean.segments):
        scale = segment_scale(seg)
        ge.scales.append(scale)
        heights: dict[str, FloatArray] = {}
        if not np.isfinite(scale.leg_px) or seg.n < th.MIN_SAMPLES_QUANTILE:
            ge.heights.append(heights)
            continue
        downs: dict[str, dict[str, FloatArray]] = {}
        for side in ("left", "right"):
            downs[side], used = foot_down(seg, side, view, scale)
            ge.used_world = ge.used_world or used
        half = max(4, round(GROUND_WINDOW_S / 2 / seg.dt))
        # Each point (heel, toe) gets its own ground line: the toe of a foot turned out sits
        # nearer the camera than its heel, and side on the far foot stands farther away, so
        # their ground lines differ in the image. From behind or in front (world heights) the
        # two feet share theirs, which doubles the samples. The foot's height is that of its
        # lower point.
        for side in ("left", "right"):
            per_point = []
            for p in ("heel", "toe"):
                if view == "side":
                    x = downs[side][p][:, None]
                else:
                    x = np.stack([downs["left"][p], downs["right"][p]], axis=1)
                ground = _rolling_quantile(x, half, GROUND_QUANTILE)
                per_point.append(ground - downs[side][p])
            heights[side] = np.asarray(np.fmin(per_point[0], per_point[1]), dtype=np.float64)
        ge.heights.append(heights)
        hh = np.concatenate([heights["left"], heights["right"]])
        hh = hh[np.isfinite(hh)]
        if hh.size < th.MIN_SAMPLES_QUANTILE or float(np.ptp(hh)) < th.FOOT_MIN_VERTICAL_RANGE_LEG:
            continue
        low = np.sort(hh)[: max(4, int(hh.size * th.STANCE_NOISE_LOWEST_FRACTION))]
        sigma = float(np.std(low))
        eps = max(th.CONTACT_HEIGHT_EPS_LEG, th.CONTACT_HEIGHT_NOISE_SIGMAS * sigma)
        thr = min(eps, max(th.EVENT_HEIGHT_LEG, th.EVENT_HEIGHT_NOISE_SIGMAS * sigma))
        for side in ("left", "right"):
            cs, rej = _contacts_in_segment(seg, k, heights[side], eps, thr, side)
            all_contacts.extend(cs)
            ge.n_rejected += rej
    # Steps: consecutive contacts within a segment, alternating sides, plausible durations.
    all_contacts.sort(key=lambda c: (c.seg, c.ic_s))
    valid = set()
    for a, b in itertools.pairwise(all_contacts):
        if a.seg != b.seg or a.side == b.side:
            continue
        d = b.ic_s - a.ic_s
        if not (th.STEP_TIME_MIN_S <= d <= th.STEP_TIME_MAX_S):
            continue
        if a.to_s is not None and a.to_s > b.ic_s + th.STEP_TIME_MAX_S:
            continue
        ge.steps.append(Step(a, b))
        valid.add(id(a))
        valid.add(id(b))
    ge.contacts = [c for c in all_contacts if id(c) in valid]
    # The validated contacts are retimed by the foot's fore-aft motion; a retiming that would
    # reorder the contacts or make a step implausible is undone.
    for k, seg in enumerate(clean.segments):
        mine = [c for c in ge.contacts if c.seg == k]
        height_ic = {id(c): c.ic_s for c in mine}
        ge.n_contacts_at_foot_turn += refine_contacts_at_foot_turn(seg, view, mine)
        for step in ge.steps:
            if step.a.seg == k and not (th.STEP_TIME_MIN_S <= step.duration_s
                                        <= th.STEP_TIME_MAX_S):
                for c in (step.a, step.b):
                    if c.ic_s != height_ic[id(c)]:
                        c.ic_s = height_ic[id(c)]
                        ge.n_contacts_at_foot_turn -= 1
    ge.n_rejected += len(all_contacts) - len(ge.contacts)
    if view == "side":
        # Side on, the far foot is seen through the near one, on another ground line: its
        # contacts may come at another phase (from behind both feet share their ground line).
        measure_left_right_bias(clean, ge)
    if view in ("rear", "front") and not ge.used_world:
        ge.notes.append("No world landmarks: contacts from the image alone, less exact from "
                        "behind or in front (the stance foot moves in depth).")
    return ge


def foot_forward(seg: Segment, side: str, view: str) -> FloatArray | None:
    """How far the foot (mid heel-toe) is ahead of the pelvis, up to a sign, per sample:
    image pixels side on, world metres of depth from behind or in front; None when the view
    gives no fore-aft axis (an oblique view) or the world landmarks are missing."""
    i = SIDE_IDX[side]
    if view == "side":
        foot = 0.5 * (seg.p(i["heel"])[:, 0] + seg.p(i["toe"])[:, 0])
        return np.asarray(foot - seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[:, 0], dtype=np.float64)
    if view in ("rear", "front"):
        w = seg.world
        foot = 0.5 * (w[:, i["heel"], 2] + w[:, i["toe"], 2])
        fore = np.asarray(foot - 0.5 * (w[:, 23, 2] + w[:, 24, 2]), dtype=np.float64)
        return fore if np.isfinite(fore).mean() > 0.5 else None
    return None


def _peak_time(t: FloatArray, x: FloatArray, j: int) -> float:
    """Sub-sample time of the maximum at sample ``j`` (parabola through three samples)."""
    a, b, c = x[j - 1], x[j], x[j + 1]
    den = a - 2 * b + c
    off = 0.0 if den >= 0 else 0.5 * (a - c) / den
    return float(t[j] + max(-0.5, min(0.5, off)) * (t[1] - t[0]))


def refine_contacts_at_foot_turn(seg: Segment, view: str, contacts: list[Contact]) -> int:
    """Time each contact by the foot's fore-aft motion relative to the pelvis and return
    how many were retimed.

    The height alone finds the stance reliably but times its start late on real footage: the
    pose model's foot keeps settling onto the belt for a few frames after it lands (on the
    hand-labelled side-view clip, contacts by height came 1.3-3.3 frames after the labels).
    In the air the foot swings forward, turns (Zeni, Richards & Higginson 2008 time the
    contact at this turning point) and is carried back once it is on the ground, relative to
    the pelvis at the stance speed (a treadmill's belt speed). The contact is the moment the
    foot's backward speed first reaches a fraction of that speed after the turn: the turning
    point itself comes before the contact when the runner retracts the leg before landing.
    From behind or in front, a landing the pose model flips in depth is timed at the flip's
    steepest point instead (``_belt_catch_time``).
    The turn is searched shortly before the height's contact; a contact without a clear turn
    there keeps its height timing. Toe-offs keep their height timing: timed at the foot's
    rearmost point they came 0-3 frames late on the labelled clip (by height 1-2.6 early) and
    18 ms late on the synthetic runner at 60 fps. The forward direction is read from the
    stances themselves."""
    dt = seg.dt
    before = max(2, round(th.FOOT_TURN_BEFORE_S / dt))
    after = max(1, round(th.FOOT_TURN_AFTER_S / dt))
    signal: dict[str, tuple[FloatArray, float]] = {}
    for side in ("left", "right"):
        fwd = foot_forward(seg, side, view)
        mine = [c for c in contacts if c.side == side and c.i_to is not None]
        if fwd is None or not mine:
            continue
        # Sign: in stance the foot moves backward relative to the pelvis.
        travel = [fwd[c.i_to] - fwd[c.i_ic] for c in mine
                  if np.isfinite(fwd[c.i_to]) and np.isfinite(fwd[c.i_ic])]
        if len(travel) < 2 or not abs(float(np.median(travel))) > 0:
            continue
        x = -fwd if float(np.median(travel)) > 0 else fwd
        speed = _stance_speed(x, mine, dt)
        if speed is not None:
            signal[side] = (x, speed)
    retimed = 0
    prev_to = {"left": 0, "right": 0}
    prev_ic: float | None = None  # the previous contact (either foot), as retimed
    for c in sorted(contacts, key=lambda c: c.ic_s):
        height_ic = c.ic_s
        lo = max(1, c.i_ic - before, prev_to[c.side] + 1)  # the swing, after its toe-off
        prev_to[c.side] = c.i_to if c.i_to is not None else c.i_ic
        if prev_ic is not None:
            # In the later half of the step: a foot lands well after the other one did.
            later = prev_ic + th.FOOT_TURN_MIN_STEP_FRACTION * (height_ic - prev_ic)
            lo = max(lo, int(np.ceil((later - seg.t[0]) / dt)))
        prev_ic = c.ic_s
        if c.side not in signal:
            continue
        x, speed = signal[c.side]
        hi = min(seg.n - 2, c.i_ic + after, c.mid_index())
        if hi - lo < 2:
            continue
        w = x[lo : hi + 1]
        if not np.isfinite(w).all():
            continue
        j = lo + int(np.argmax(w))
        if not x[j - 1] < x[j] >= x[j + 1]:
            # No turning point in the window (its highest sample is on a slope running out
            # of it): keep the height's timing. A turn on the window's edge counts.
            continue
        t_ic = _belt_catch_time(seg.t, x, speed, j, c.i_ic + after, depth=view != "side")
        if t_ic is None or (c.to_s is not None and not (
                th.CONTACT_TIME_MIN_S <= c.to_s - t_ic <= th.CONTACT_TIME_MAX_S)):
            continue
        c.ic_s = prev_ic = t_ic
        retimed += 1
    return retimed


def _stance_speed(x: FloatArray, contacts: list[Contact], dt: float) -> float | None:
    """The foot's backward speed relative to the pelvis in the middle of its stances
    (median; on a treadmill the belt's speed): None when it does not move backward."""
    v = np.gradient(x, dt)
    speeds: list[float] = []
    for c in contacts:
        if c.i_to is None:
            continue
        q = int(th.STANCE_EDGE_TRIM_FRACTION * (c.i_to - c.i_ic))
        speeds.extend(-v[c.i_ic + q : c.i_to - q + 1])
    arr = np.asarray(speeds, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size < th.MIN_SAMPLES_LINE_FIT:
        return None
    med = float(np.median(arr))
    return med if med > 0 else None


def _belt_catch_time(t: FloatArray, x: FloatArray, speed: float, j: int, last: int, *,
                     depth: bool = False) -> float | None:
    """From the forward turning point ``j``, the sub-sample moment the foot's backward speed
    first reaches ``FOOT_CATCH_SPEED_FRACTION`` of its stance speed (no later than ``last``),
    or, for a landing the model flips in depth, the flip's steepest point (below); None when
    neither is found.

    ``depth``: ``x`` is the pose model's depth (seen from behind or in front). The model
    barely moves a grounded foot in depth (its stance is nearly flat, then it flips from in
    front of the pelvis to behind it as the foot lands), so its stance speed understates the
    belt and half of it is reached as soon as the foot turns (2.0 frames early on average on
    the hand-labelled rear clip), and half of the landing's fastest backward motion at the
    flip's start (1.4 frames before the two raters' consensus). A landing that fast
    (``FOOT_DEPTH_FLIP_SPEED_RATIO`` times the stance's speed) is timed at the flip's
    steepest point, as any step is: within 1.93 frames of the consensus, signed mean 0.4
    early. A depth that follows the belt (the synthetic runner's) keeps the catch rule."""
    dt = float(t[1] - t[0])
    back = -np.gradient(x, dt)
    last = min(last, x.size - 1)
    if depth and last > j:
        fastest = float(np.nanmax(back[j : last + 1]))
        if fastest >= th.FOOT_DEPTH_FLIP_SPEED_RATIO * speed:
            # The model flips the landing foot's depth: the contact is the flip's steepest
            # point, the first peak of backward speed from the turn that reaches half of the
            # fastest (a drift before the flip or a bump within it is not the flip).
            for k in range(max(j, 1), min(last, x.size - 2) + 1):
                if back[k] >= 0.5 * fastest and back[k] >= back[k - 1] and back[k] >= back[k + 1]:
                    return _peak_time(t, back, k)
            return None  # no peak inside the window: the caller keeps the height's timing
        speed = max(speed, fastest)
    want = th.FOOT_CATCH_SPEED_FRACTION * speed
    k = j
    while k <= last and not back[k] >= want:
        k += 1
    if k > last:
        return None
    if k == j or back[k] == back[k - 1]:
        return float(t[k])
    frac = (want - back[k - 1]) / (back[k] - back[k - 1])
    return float(t[k - 1] + frac * dt)


def pelvis_low_offsets(clean: CleanTrack, ge: GaitEvents) -> dict[str, list[float]]:
    """Per side, the time from each contact to the pelvis's lowest point in its stance.

    The pelvis sinks to its lowest once per step, in mid-stance (RF "Mid-stance"), whatever
    the feet's labels, depths or ground lines: a rhythm of the body that the foot detector did
    not produce. A detector that finds one foot's contacts later than the other's shows as a
    difference of these offsets."""
    out: dict[str, list[float]] = {"left": [], "right": []}
    for c in ge.contacts:
        if c.i_to is None or c.to_s is None:
            continue
        seg = clean.segments[c.seg]
        y = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[c.i_ic : c.i_to + 1, 1]
        if np.isfinite(y).sum() < th.MIN_SAMPLES_LINE_FIT:
            continue
        k = int(np.nanargmax(y))  # image y down: lowest pelvis
        if 0 < k < y.size - 1:  # a true minimum inside the stance, not its edge
            out[c.side].append(float(seg.t[c.i_ic + k]) - c.ic_s)
    return out


def measure_left_right_bias(clean: CleanTrack, ge: GaitEvents) -> None:
    """Measure the detector's left/right phase bias against the pelvis.

    The bias is half the difference of the two sides' median contact-to-pelvis-low offsets
    (> 0: the left contacts come later in the body's rhythm than the right ones); its spread
    is the standard error of that. It is reported and bounds what a left/right difference in
    contact times can mean, but it is not subtracted from the events: on the hand-labelled
    side-view clip (tests/fixtures/real_running) subtracting it moved the contacts away from
    the labels (the pelvis's lowest point is itself not at the same phase of both stances
    when one leg is seen through the other)."""
    off = pelvis_low_offsets(clean, ge)
    nl, nr = len(off["left"]), len(off["right"])
    if min(nl, nr) < th.MIN_STRIDES_PER_SIDE:
        return
    ol, orr = np.asarray(off["left"]), np.asarray(off["right"])

    def sd(v: FloatArray) -> float:
        return th.MAD_TO_SD * float(np.median(np.abs(v - np.median(v))))

    ge.left_right_bias_s = 0.5 * float(np.median(orr) - np.median(ol))
    ge.left_right_bias_spread_s = 0.5 * math.sqrt(sd(ol) ** 2 / nl + sd(orr) ** 2 / nr)
