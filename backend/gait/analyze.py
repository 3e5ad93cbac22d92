"""``analyze(track, view, athlete) -> Report``: cleaning, view, events, fitness, metrics,
faults, chain."""

from __future__ import annotations

import itertools
import math

import numpy as np

from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, clean_track
from backend.gait.events import SIDE_IDX, GaitEvents, detect
from backend.gait.faults import chain, rules
from backend.gait.metrics import Ctx, compute, estimate_roll, summarise
from backend.gait.types import (
    AthleteInfo,
    ClipQuality,
    Events,
    Fault,
    Metric,
    Report,
    ViewInfo,
)
from backend.gait.view import infer_view
from backend.pose.track import Track

METHOD = {
    "side": "foot height from the image (lowest of heel and toe above their ground lines); "
            "contact and toe-off where it crosses about 4 mm",
    "rear": "foot height from the world landmarks relative to the pelvis plus the pelvis "
            "height from the image; contact and toe-off where it crosses about 4 mm",
    "image": "foot height from the image alone (no world landmarks); contact and toe-off "
             "where it crosses about 4 mm",
}
WHOLE_BODY = (0, 11, 12, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
WHOLE_BODY_PAIRS = ((11, 12), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
FILM_AGAIN = {
    "visible": "Keep the runner in the frame the whole time; one person only.",
    "body": "Step back (3-4 m) so the whole body, head to feet, stays in the frame.",
    "steps": "Film 10-20 s of steady running (at least 6 steps).",
    "fps": "Use 60 fps or more if the phone offers it.",
    "steady": "Put the phone on a stand or lean it on something: the camera must not move.",
    "running": "Film running, not walking or standing.",
    "view_rear": "From behind at hip height, 3-4 m back, camera square to the runner.",
    "view_side": "From the side, camera square to the line of running, at hip height.",
}


def _whole_body_fraction(track: Track) -> float:
    """Fraction of the frames with the person in which head to feet are inside the frame and
    seen: every body point (nose to toes) inside the image and, of each left/right pair, at
    least one visible (side on, the far limbs hide behind the near ones; from behind, the face
    is a guess, so the nose only needs to be inside)."""
    lm = track.landmarks
    found = track.found
    if not found.any():
        return 0.0
    sub = lm[found][:, list(WHOLE_BODY)]
    with np.errstate(invalid="ignore"):
        inside = ((sub[:, :, 0] >= 0) & (sub[:, :, 0] <= track.width) & (sub[:, :, 1] >= 0)
                  & (sub[:, :, 1] <= track.height)).all(axis=1)
    vis = np.nan_to_num(lm[found][:, :, 3]) >= th.VISIBILITY_MIN
    seen = np.ones(vis.shape[0], dtype=bool)
    for left, right in WHOLE_BODY_PAIRS:
        seen &= vis[:, left] | vis[:, right]
    return float(np.mean(inside & seen))


def _visible_fraction(clean: CleanTrack) -> float:
    """Frames with the person, counting those in gaps short enough to interpolate
    (GAP_INTERPOLATE_MAX_S) as seen: the cleaner bridges them, so a track missing every other
    frame is fully usable."""
    found = clean.person_found
    ts = clean.frame_times_s
    idx = np.flatnonzero(found)
    if idx.size == 0:
        return 0.0
    seen = found.copy()
    dt = 1.0 / clean.fps_measured if clean.fps_measured > 0 else 0.0
    for a, b in itertools.pairwise(idx.tolist()):
        if b - a > 1 and ts[b] - ts[a] - dt <= th.GAP_INTERPOLATE_MAX_S + 1e-6:
            seen[a + 1 : b] = True
    return float(seen.sum())


def _camera_steady(clean: CleanTrack, ge: GaitEvents, view: str,
                   ) -> tuple[bool | None, float | None]:
    """The stance foot's path must be a straight line (still on the ground, or carried at belt
    speed); a moving camera bends it. Residual in leg lengths, median over stances."""
    res = []
    for c in ge.contacts:
        if c.i_to is None or c.i_to - c.i_ic < th.MIN_STANCE_FRAMES_STEADY:
            continue
        seg = clean.segments[c.seg]
        n = c.i_to - c.i_ic + 1
        trim = n // th.STANCE_TRIM_DIVISOR
        mid = slice(c.i_ic + trim, c.i_to - trim + 1)
        p = seg.p(SIDE_IDX[c.side]["heel" if view == "side" else "ankle"])[mid]
        t = seg.t[mid]
        ok = np.isfinite(p).all(axis=1)
        if ok.sum() < th.MIN_SAMPLES_LINE_FIT:
            continue
        r = []
        for k in range(2):
            coef = np.polyfit(t[ok], p[ok, k], 1)
            r.append(p[ok, k] - np.polyval(coef, t[ok]))
        rms = float(np.sqrt(np.mean(np.square(r))))
        res.append(rms / ge.scales[c.seg].leg_px)
    if len(res) < th.MIN_STANCES_STEADY:
        return None, None
    med = float(np.median(res))
    # A camera that sways between strides leaves each stance's straight path intact but moves
    # the ground line: the feet's height at mid-stance must follow a smooth trend (a runner
    # coming closer or going away) across the clip.
    scatter = []
    for side in ("left", "right"):
        pts = []
        for c in ge.contacts_of(side):
            if c.i_to is None:
                continue
            seg = clean.segments[c.seg]
            k = c.mid_index()
            i = SIDE_IDX[side]
            y = np.fmax(seg.p(i["heel"])[k, 1], seg.p(i["toe"])[k, 1])
            if np.isfinite(y):
                pts.append((seg.t[k], y / ge.scales[c.seg].leg_px))
        if len(pts) >= th.MIN_STANCES_GROUND_TREND:
            t, y = np.array(pts).T
            r = y - np.polyval(np.polyfit(t, y, 2), t)
            scatter.extend(r.tolist())
    if len(scatter) >= th.MIN_GROUND_RESIDUALS:
        spread = th.MAD_TO_SD * float(np.median(np.abs(np.asarray(scatter))))
        if spread > th.STANCE_GROUND_MAX_SCATTER_LEG:
            return False, max(med, spread)
    return med <= th.STANCE_PATH_MAX_RESIDUAL_LEG, med


def _withheld_metrics(reason: str) -> dict[str, Metric]:
    from backend.gait.metrics import ALL_KEYS

    return {k: summarise(k, [], withheld=reason) for k in ALL_KEYS}


def analyze(track: Track, view: str = "auto", athlete: AthleteInfo | None = None,
            capture_fps: float | None = None) -> Report:
    """The running-form report of ``track``. ``capture_fps`` is the real capture rate of a
    slow-motion clip (frames per real second), when the athlete knows it."""
    if view not in ("rear", "front", "side", "auto"):
        raise ValueError(f"view must be rear, front, side or auto, not {view!r}")
    clean = clean_track(track)
    vinfo = infer_view(clean, view)
    ge = detect(clean, vinfo.used)

    q = ClipQuality(fit=True, duration_s=round(track.duration_s, 3), n_frames=track.n_frames,
                    fps_measured=clean.fps_measured if track.n_frames > 1 else None,
                    fps_nominal=track.fps_nominal, n_segments=len(clean.segments))
    n = max(1, track.n_frames)
    q.person_visible_fraction = round(_visible_fraction(clean) / n, 3)
    q.whole_body_fraction = round(_whole_body_fraction(track), 3)
    q.n_steps = len(ge.steps)
    # Known only when the athlete says so (a belt speed); the analysis itself treats treadmill
    # and overground alike (foot heights against a running ground line).
    q.treadmill = True if athlete is not None and athlete.treadmill_speed_mps else None
    advice: list[str] = []

    def unfit(reason: str, *tips: str) -> None:
        q.fit = False
        q.reasons.append(reason)
        for tip in tips:
            if tip not in advice:
                advice.append(tip)

    if q.person_visible_fraction < th.PERSON_VISIBLE_MIN_FRACTION:
        unfit(f"A person is found in only {100 * q.person_visible_fraction:.0f} % of the "
              f"frames (at least {100 * th.PERSON_VISIBLE_MIN_FRACTION:.0f} % needed).",
              FILM_AGAIN["visible"])
    if q.person_visible_fraction > 0 and q.whole_body_fraction < th.WHOLE_BODY_MIN_FRACTION:
        unfit(f"The whole body (head to feet) is in the frame in only "
              f"{100 * q.whole_body_fraction:.0f} % of the frames with the person.",
              FILM_AGAIN["body"])
    fps = clean.fps_measured
    if track.n_frames > 1 and fps < th.FPS_MIN:
        unfit(f"The frame rate is {fps:.0f} fps; at least {th.FPS_MIN:.0f} are needed.",
              FILM_AGAIN["fps"])
    elif track.n_frames > 1 and fps < th.FPS_MIN_CONTACT_TIME:
        q.warnings.append(f"{fps:.0f} fps: contact times are withheld (60 fps or more needed).")
    if q.n_steps < th.MIN_STEPS:
        unfit(f"Not enough running steps: {q.n_steps} found, at least {th.MIN_STEPS} "
              "needed.", FILM_AGAIN["steps"], FILM_AGAIN["running"])
    steady, resid = _camera_steady(clean, ge, vinfo.used)
    q.camera_steady = steady
    q.stance_path_residual_leg = None if resid is None else round(resid, 4)
    if steady is False:
        unfit("The camera moves: the foot on the ground does not stay on a straight path.",
              FILM_AGAIN["steady"])
    durations = [c.contact_s / (b.ic_s - c.ic_s) for side in ("left", "right")
                 for c, b in ge.strides(side) if c.contact_s is not None]
    if durations:
        duty = float(np.median(durations))
        q.running = duty < th.RUNNING_MAX_DUTY_FACTOR
        if not q.running:
            unfit(f"The feet share the ground (duty factor {duty:.2f}, no flight phase): this "
                  "is walking, not running.", FILM_AGAIN["running"])
    if vinfo.oblique:
        q.warnings.append(vinfo.notes[-1] if vinfo.notes else "Oblique camera.")
        advice.append(FILM_AGAIN["view_side" if vinfo.used == "side" else "view_rear"])
    if clean.split_gaps_s:
        q.warnings.append(f"The runner was lost {len(clean.split_gaps_s)} time(s) for more than "
                          f"{th.GAP_INTERPOLATE_MAX_S:.1f} s; the clip was analysed in pieces.")
    q.warnings.extend(ge.notes)
    q.advice = advice

    ctx = Ctx(clean=clean, ge=ge, view=vinfo, athlete=athlete)
    if vinfo.used in ("rear", "front") and q.fit and (
        vinfo.camera_angle_deg is not None
        and vinfo.camera_angle_deg <= th.ROLL_MAX_CAMERA_ANGLE_DEG
    ):
        # The floor line through the stance feet is level in the world only when the camera
        # looks square at the runner: off-square, the nearer foot sits lower in the image and
        # the line tilts with the angle, not with the camera's roll.
        roll = estimate_roll(ctx)
        if roll is not None and math.isfinite(roll):
            q.camera_roll_deg = round(roll, 2)
            ctx.roll_deg = roll
            if abs(roll) > th.ROLL_WARN_DEG:
                q.warnings.append(f"The camera is rolled by about {roll:.1f} degrees; "
                                  "horizontal angles were corrected for it.")

    method = METHOD["side" if vinfo.used == "side" else "rear" if ge.used_world else "image"]
    if not q.fit:
        metrics = _withheld_metrics("the clip is unfit for analysis: " + " ".join(q.reasons))
        events = ge.to_events(method) if (
            q.n_steps) else Events(method="none: no steps found")
        faults = []
        links = []
        summary = ["This clip cannot be analysed: " + " ".join(q.reasons),
                   "How to film again: " + " ".join(advice)]
    else:
        metrics = compute(ctx)
        events = ge.to_events(method)
        faults = rules(metrics, clean.fps_measured)
        links = chain(faults, metrics)
        summary = _summary(vinfo, metrics, faults)
    return Report(view=vinfo.used, view_detail=vinfo, clip_quality=q, events=events,
                  metrics=metrics, faults=faults, chain=links, athlete=athlete, summary=summary)


def _summary(v: ViewInfo, metrics: dict[str, Metric], faults: list[Fault]) -> list[str]:
    lines = [f"{v.used.capitalize()} view" + (f" (inferred, confidence {v.confidence:.2f})"
                                               if v.requested == "auto" else "") + "."]
    cad = metrics.get("cadence_spm")
    if cad is not None and cad.value is not None:
        lines.append(f"Cadence {cad.value:.0f} steps/min over {cad.n_strides} steps.")
    if not faults:
        lines.append("No fault crosses its threshold in this view.")
    for f in faults:
        side = f" ({f.side})" if f.side else ""
        lines.append(f"{f.title}{side}: {f.severity}, confidence {f.confidence:.2f}.")
    return lines
