"""``analyze(track, view, athlete) -> Report``: cleaning, view, events, fitness, metrics,
faults, chain."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, clean_track
from backend.gait.events import SIDE_IDX, GaitEvents, detect
from backend.gait.faults import chain, rules
from backend.gait.metrics import TIMING_KEYS, Ctx, compute, estimate_roll, summarise
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
from backend.pose.track import Landmark as L
from backend.pose.track import Track

_CONTACT_AT_FOOT_TURN = ("; each contact then retimed where the foot, after its forward "
                         "swing, moves back at half its stance speed (Zeni et al. 2008)")
METHOD = {
    "side": "foot height from the image (lowest of heel and toe above their ground lines); "
            "contact and toe-off where it crosses about 4 mm" + _CONTACT_AT_FOOT_TURN
            + ", fore-aft from the image",
    "rear": "foot height from the world landmarks relative to the pelvis plus the pelvis "
            "height from the image; contact and toe-off where it crosses about 4 mm"
            + _CONTACT_AT_FOOT_TURN + ", fore-aft from the world depth",
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
    "slow_motion": "Film at normal speed (not slow motion), or give the rate the clip was "
                   "filmed at.",
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


def pelvis_bounce(clean: CleanTrack, ge: GaitEvents) -> float | None:
    """How much lower the pelvis is at mid-stance than at the contact and the toe-off around
    it, in leg lengths, median over the stances (> 0: it bounces, as in running; < 0: it
    vaults, as in walking); None without enough complete stances."""
    drops = []
    for c in ge.contacts:
        if c.i_to is None or c.i_to - c.i_ic < 2:
            continue
        seg = clean.segments[c.seg]
        leg = ge.scales[c.seg].leg_px
        y = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[:, 1]  # image y grows downward
        ends = 0.5 * (y[c.i_ic] + y[c.i_to])
        mid = y[c.mid_index()]
        if np.isfinite(ends) and np.isfinite(mid) and np.isfinite(leg) and leg > 0:
            drops.append(float(mid - ends) / leg)
    if len(drops) < th.MIN_STRIDES_PER_SIDE:
        return None
    return float(np.median(drops))


def _treadmill(clean: CleanTrack, ge: GaitEvents, view: str,
               ) -> tuple[bool | None, float | None]:
    """Treadmill or overground, read from the clip (RF "Treadmill"): on a treadmill the hips
    stay in place while the stance foot is carried backward at a steady speed; overground the
    stance foot stays put while the hips travel (a panning camera is made still first). Speeds
    in leg lengths a second; None when the clip cannot tell."""
    hip_speeds, foot_speeds = [], []
    for c in ge.contacts:
        if c.i_to is None or c.i_to - c.i_ic < th.MIN_STANCE_FRAMES_STEADY:
            continue
        seg = clean.segments[c.seg]
        leg = ge.scales[c.seg].leg_px
        sl = slice(c.i_ic, c.i_to + 1)
        t = seg.t[sl]
        hip = seg.mid(L.LEFT_HIP, L.RIGHT_HIP)[sl]
        foot = seg.p(SIDE_IDX[c.side]["ankle"])[sl]
        if not (np.isfinite(hip).all() and np.isfinite(foot).all()):
            continue
        # Image speed along the image plane: in a side view the running direction, from
        # behind or in front the hips' drift (a runner coming closer grows instead).
        hip_speeds.append(float(np.linalg.norm(np.polyfit(t, hip, 1)[0])) / leg)
        foot_speeds.append(float(np.linalg.norm(np.polyfit(t, foot, 1)[0])) / leg)
    if len(hip_speeds) < th.MIN_STANCES_STEADY:
        return None, None
    hip_v, foot_v = float(np.median(hip_speeds)), float(np.median(foot_speeds))
    if view == "side":
        if hip_v < th.TREADMILL_HIP_MAX_SPEED_LEG and foot_v > th.TREADMILL_FOOT_MIN_SPEED_LEG:
            return True, round(foot_v, 3)
        if foot_v < th.TREADMILL_HIP_MAX_SPEED_LEG and hip_v > th.TREADMILL_FOOT_MIN_SPEED_LEG:
            return False, None
        return None, None
    # From behind or in front the belt runs in depth: the runner's size in the image tells
    # instead (a runner coming closer or going away grows or shrinks).
    # The torso (mid-hip to mid-shoulder) keeps its length through the stride, unlike the legs.
    torsos = []
    for seg in clean.segments:
        torso = np.linalg.norm(seg.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
                               - seg.mid(L.LEFT_HIP, L.RIGHT_HIP), axis=1)
        torsos.append(torso[np.isfinite(torso)])
    all_torsos = np.concatenate(torsos) if torsos else np.zeros(0)
    if all_torsos.size < th.MIN_SAMPLES_QUANTILE:
        return None, None
    lo, hi = np.quantile(all_torsos, [0.1, 0.9])
    growth = float(hi / lo - 1.0) if lo > 0 else float("inf")
    if growth > th.OVERGROUND_MIN_SIZE_CHANGE:
        return False, None
    if hip_v < th.TREADMILL_HIP_MAX_SPEED_LEG and growth < th.TREADMILL_MAX_SIZE_CHANGE:
        return True, None
    return None, None


def _withheld_metrics(reason: str) -> dict[str, Metric]:
    from backend.gait.metrics import ALL_KEYS

    return {k: summarise(k, [], withheld=reason) for k in ALL_KEYS}


@dataclasses.dataclass
class Rhythm:
    """The body's step rhythm in the clip's own time, from the pixels' motion alone."""

    spm: float  # steps a minute of clip time
    # Power at twice that frequency over the power at it: high when the strongest line is
    # the stride (one foot differing from the other) rather than the step.
    second_harmonic_ratio: float


def step_rhythm(track: Track) -> Rhythm | None:
    """Steps a minute in the clip's own time: the distance between the two ankles peaks
    once per step in any view and whatever the feet's labels, so its strongest frequency over
    a band wide enough for slow motion is the step frequency. None when no segment is long
    enough or the strongest line sits at the band's edge."""
    clean = clean_track(track)
    best: tuple[float, float, float] | None = None
    freqs = np.arange(th.SLOW_MOTION_BAND_SPM[0], th.SLOW_MOTION_BAND_SPM[1],
                      th.SPECTRUM_STEP_SPM) / 60.0
    for seg in clean.segments:
        if seg.duration_s < th.SLOW_MOTION_MIN_SEGMENT_S:
            continue
        d = np.linalg.norm(seg.p(27) - seg.p(28), axis=1)
        ok = np.isfinite(d)
        if ok.sum() < th.MIN_SAMPLES_QUANTILE:
            continue
        t = seg.t
        d = np.interp(t, t[ok], d[ok])
        d = (d - d.mean()) * np.hanning(d.size)
        power = np.abs(np.exp(-2j * np.pi * freqs[:, None] * t[None, :]) @ d) ** 2
        k = int(np.argmax(power))
        if k == 0 or k == power.size - 1:
            continue  # at the band's edge: no rhythm inside it
        near_double = np.abs(freqs - 2 * freqs[k]) <= th.RHYTHM_HARMONIC_WINDOW_SPM / 60.0
        ratio = float(power[near_double].max() / power[k]) if near_double.any() else 0.0
        if best is None or power[k] > best[1]:
            best = (float(freqs[k] * 60.0), float(power[k]), ratio)
    return None if best is None else Rhythm(spm=best[0], second_harmonic_ratio=best[2])


def _rescaled(track: Track, time_scale: float) -> Track:
    """The same track on real time: clip seconds times ``time_scale``."""
    return dataclasses.replace(track, timestamps_s=track.timestamps_s * time_scale,
                               fps_nominal=track.fps_nominal / time_scale)


SLOW_MOTION_TIME_WITHHELD = (
    "the clip is in slow motion and its capture rate is unknown: give the rate it was filmed "
    "at (for example 240 fps) to get time-based figures")


def analyze(track: Track, view: str = "auto", athlete: AthleteInfo | None = None,
            capture_fps: float | None = None, slow_motion_factor: float | None = None
            ) -> Report:
    """The running-form report of ``track``. ``capture_fps`` is the real capture rate of a
    slow-motion clip (frames per real second), when the athlete knows it; or
    ``slow_motion_factor``, how many times slower than life it plays (8 for "1/8 speed"):
    what a phone states when its slow-motion clip repeats frames, and its capture rate
    divided by the playback rate would then not be the slow-down.

    Every time in the report is in real seconds: the clip's own time multiplied by
    ``clip_quality.time_scale`` (1 for a clip played at the rate it was filmed)."""
    if view not in ("rear", "front", "side", "auto"):
        raise ValueError(f"view must be rear, front, side or auto, not {view!r}")
    if slow_motion_factor is not None:
        if capture_fps is not None:
            raise ValueError("give the capture rate or the slow-motion factor, not both")
        if not (math.isfinite(slow_motion_factor) and slow_motion_factor >= 1):
            raise ValueError(f"the slow-motion factor must be 1 or more (how many times slower "
                             f"than life the clip plays), not {slow_motion_factor!r}")
        playback = track.fps_measured if track.n_frames > 1 else track.fps_nominal
        capture_fps = slow_motion_factor * playback
    if capture_fps is not None:
        return _at_capture_rate(track, view, athlete, capture_fps)
    report = _analyze(track, view, athlete)
    rhythm = step_rhythm(track)
    if rhythm is None or rhythm.spm >= th.SLOW_MOTION_MAX_CADENCE_SPM:
        return report
    return _judge_slow_motion(track, view, athlete, report, rhythm)


def _at_capture_rate(track: Track, view: str, athlete: AthleteInfo | None,
                     capture_fps: float) -> Report:
    """The report of a clip the athlete says was filmed at ``capture_fps``."""
    playback = track.fps_measured if track.n_frames > 1 else track.fps_nominal
    if not (math.isfinite(capture_fps) and capture_fps > 0):
        raise ValueError(f"capture_fps must be a positive number, not {capture_fps!r}")
    if capture_fps < playback * (1 - th.CAPTURE_FPS_TOLERANCE):
        raise ValueError(
            f"capture_fps {capture_fps:g} is below the clip's own frame rate "
            f"({playback:.1f} fps): a slow-motion clip is filmed at a higher rate than "
            "it plays")
    scale = playback / capture_fps
    if scale >= 1 - th.CAPTURE_FPS_TOLERANCE:
        return _analyze(track, view, athlete)
    report = _analyze(_rescaled(track, scale), view, athlete)
    q = report.clip_quality
    q.capture_fps, q.time_scale, q.slow_motion = float(capture_fps), scale, True
    q.warnings.insert(0, f"Slow motion: filmed at {capture_fps:g} fps, played at "
                         f"{playback:.0f} fps; times are real seconds (clip time x "
                         f"{scale:.4g}).")
    return report


def _keeps_rhythm(cadence_spm: float | None, rhythm_spm: float, multiples: tuple[int, ...]
                  ) -> bool:
    """Whether the steps found run at the body's rhythm (or, see ``multiples``, twice it)."""
    return cadence_spm is not None and any(
        abs(cadence_spm - k * rhythm_spm) <= th.RHYTHM_AGREEMENT * cadence_spm
        for k in multiples)


def _judge_slow_motion(track: Track, view: str, athlete: AthleteInfo | None, report: Report,
                       rhythm: Rhythm) -> Report:
    """``report`` of a clip whose body rhythm is far too slow for running: kept when its steps
    follow that rhythm anyway, read as slow motion (times withheld) when a slow-motion reading
    holds, refused otherwise."""
    clip_cadence = rhythm.spm
    face = report.metrics["cadence_spm"].value if report.clip_quality.fit else None
    # The rhythm may have read the stride, not the step, where one foot differs from the
    # other: only then may the events run at twice it.
    multiples = ((1, th.STEPS_PER_STRIDE)
                 if rhythm.second_harmonic_ratio >= th.RHYTHM_HARMONIC_SUPPORT else (1,))
    if _keeps_rhythm(face, clip_cadence, multiples):
        # The events keep the body's rhythm: the clip plays at the rate it was filmed.
        return report
    # The body's rhythm is far too slow for any runner and the events found do not follow
    # it: try the clip as slow motion at a typical cadence. If it then shows running (flight
    # phases: the duty factor does not depend on the time scale), it is slow motion; its
    # shapes and angles hold, its times do not.
    trial = clip_cadence / th.SLOW_MOTION_TRIAL_CADENCE_SPM
    slow = _analyze(_rescaled(track, trial), view, athlete)
    sq = slow.clip_quality
    slow_face = slow.metrics["cadence_spm"].value if sq.fit else None
    # Slow motion only when the steps found then keep the body's rhythm too.
    if not (sq.running and sq.n_steps >= th.MIN_STEPS
            and _keeps_rhythm(slow_face, th.SLOW_MOTION_TRIAL_CADENCE_SPM, multiples)):
        if face is None:
            return report  # unfit already, for its own reasons
        # The events contradict the body's rhythm and no slow-motion reading holds either:
        # what they say cannot be trusted.
        return _refused(report, (
            f"The runner's rhythm is {clip_cadence:.0f} steps a minute of clip time, far "
            "below any runner's: the clip looks like slow motion, and the steps found "
            f"({face:.0f} steps/min) do not follow that rhythm, so they cannot be trusted."),
            FILM_AGAIN["slow_motion"])
    sq.slow_motion, sq.needs_capture_fps, sq.time_scale = True, True, trial
    note = (f"The clip looks like slow motion: running at {clip_cadence:.0f} steps a minute "
            "of clip time, far below any runner's cadence. Give the rate it was filmed at "
            "(capture fps, for example 120 or 240) for cadence and contact times; meanwhile "
            "every time-based figure is withheld.")
    sq.warnings.insert(0, note)
    for key in TIMING_KEYS:
        slow.metrics[key] = summarise(key, [], withheld=SLOW_MOTION_TIME_WITHHELD)
    slow.faults = [f for f in slow.faults if f.evidence.metric not in TIMING_KEYS]
    slow.chain = chain(slow.faults, slow.metrics)
    slow.summary = [note, *_summary(slow.view_detail, slow.metrics, slow.faults)[1:]]
    return slow


def _refused(report: Report, reason: str, tip: str) -> Report:
    """``report`` turned unfit for ``reason``: nothing it measured is reported."""
    q = report.clip_quality
    q.fit = False
    q.reasons.append(reason)
    if tip not in q.advice:
        q.advice.append(tip)
    report.metrics = _withheld_metrics("the clip is unfit for analysis: " + " ".join(q.reasons))
    report.faults, report.chain = [], []
    report.summary = ["This clip cannot be analysed: " + " ".join(q.reasons),
                      "How to film again: " + " ".join(q.advice)]
    return report


@dataclasses.dataclass
class _Verdict:
    """The clip's fitness as it is judged: the quality record and the advice to film again."""

    q: ClipQuality
    advice: list[str] = dataclasses.field(default_factory=list)

    def unfit(self, reason: str, *tips: str) -> None:
        self.q.fit = False
        self.q.reasons.append(reason)
        for tip in tips:
            if tip not in self.advice:
                self.advice.append(tip)


def _judge_footage(track: Track, clean: CleanTrack, verdict: _Verdict) -> None:
    """The runner in view, whole, often enough, at a usable frame rate, for enough steps."""
    q, unfit = verdict.q, verdict.unfit
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
        seen_s = sum(seg.duration_s for seg in clean.segments)
        short = (f"The runner is in view for only {seen_s:.1f} s. "
                 if seen_s < th.SHORT_CLIP_S else "")
        unfit(f"{short}Not enough running steps: {q.n_steps} found, at least {th.MIN_STEPS} "
              "needed.", FILM_AGAIN["steps"], FILM_AGAIN["running"])


def _judge_camera(track: Track, clean: CleanTrack, ge: GaitEvents, view_used: str,
                  verdict: _Verdict) -> None:
    """A still camera, or a hand-held one whose motion the background lets us remove."""
    q = verdict.q
    steady, resid = _camera_steady(clean, ge, view_used)
    q.stance_path_residual_leg = None if resid is None else round(resid, 4)
    cam = clean.camera
    if cam is None:
        q.camera_steady = steady
        if steady is False:
            verdict.unfit("The camera moves: the foot on the ground does not stay on a straight "
                          "path.", FILM_AGAIN["steady"])
        return
    # The background tells the camera's motion directly: a still camera is still whatever
    # the feet do, and a hand-held one is made still unless its motion could not be followed.
    q.camera_motion_known_fraction = round(cam.known_fraction, 3)
    q.camera_shift_px = None if not math.isfinite(cam.max_shift_px) else round(
        cam.max_shift_px, 1)
    q.camera_rotation_deg = None if not math.isfinite(cam.max_rotation_deg) else round(
        cam.max_rotation_deg, 2)
    removable = (cam.known_fraction >= th.CAMERA_MOTION_MIN_KNOWN_FRACTION
                 and not cam.inlier_median < th.CAMERA_MOTION_MIN_INLIERS)
    diagonal = math.hypot(track.width, track.height)
    still = removable and (cam.max_shift_px <= th.CAMERA_STILL_MAX_SHIFT_FRACTION * diagonal
                           and cam.max_rotation_deg <= th.CAMERA_STILL_MAX_ROTATION_DEG)
    q.camera_steady = still
    q.camera_stabilised = removable and not still and cam.applied
    if q.camera_stabilised:
        q.warnings.append(
            f"Hand-held camera: it moved up to {cam.max_shift_px:.0f} px and turned up to "
            f"{cam.max_rotation_deg:.1f} degrees; its motion, read from the background, "
            "was removed before the analysis.")
    if not removable:
        why = (f"its motion could be followed in only {100 * cam.known_fraction:.0f} % of "
               "the frames" if cam.known_fraction < th.CAMERA_MOTION_MIN_KNOWN_FRACTION
               else f"only {100 * cam.inlier_median:.0f} % of the background moved "
               "together (people or objects moving in most of the frame)")
        verdict.unfit(f"The camera moves too much to be corrected: {why}.",
                      FILM_AGAIN["steady"])


def _judge_running(clean: CleanTrack, ge: GaitEvents, verdict: _Verdict) -> None:
    """Running, with or without a flight phase, and not walking."""
    durations = [c.contact_s / (b.ic_s - c.ic_s) for side in ("left", "right")
                 for c, b in ge.strides(side) if c.contact_s is not None]
    if not durations:
        return
    duty = float(np.median(durations))
    bounce = pelvis_bounce(clean, ge)
    # A flight phase means running. Without one it may still be a slow jog ("grounded
    # running"): the body then bounces, its pelvis lowest at mid-stance, where a walker
    # vaults over a stiff leg, pelvis highest at mid-stance (McMahon, Valiant & Frederick
    # 1987; Rubenson et al. 2004).
    verdict.q.running = duty < th.RUNNING_MAX_DUTY_FACTOR or (bounce is not None and bounce > 0)
    if not verdict.q.running:
        verdict.unfit(f"The feet share the ground (duty factor {duty:.2f}, no flight phase) "
                      "and the pelvis rises over the standing leg: this is walking, not "
                      "running.", FILM_AGAIN["running"])


def _correct_roll(ctx: Ctx, q: ClipQuality) -> None:
    """The camera's roll from the floor line, for the frontal angles (taken to the horizon)."""
    vinfo = ctx.view
    if not (vinfo.used in ("rear", "front") and q.fit and vinfo.camera_angle_deg is not None
            and vinfo.camera_angle_deg <= th.ROLL_MAX_CAMERA_ANGLE_DEG):
        # The floor line through the stance feet is level in the world only when the camera
        # looks square at the runner: off-square, the nearer foot sits lower in the image and
        # the line tilts with the angle, not with the camera's roll.
        return
    roll = estimate_roll(ctx)
    if roll is None or not math.isfinite(roll):
        return
    q.camera_roll_deg = round(roll, 2)
    ctx.roll_deg = roll
    if abs(roll) > th.ROLL_WARN_DEG:
        q.warnings.append(f"The camera is rolled by about {roll:.1f} degrees; "
                          "horizontal angles were corrected for it.")


def _analyze(track: Track, view: str, athlete: AthleteInfo | None) -> Report:
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
    q.leg_swaps_repaired = clean.n_leg_swaps_repaired
    verdict = _Verdict(q)
    _judge_footage(track, clean, verdict)
    _judge_camera(track, clean, ge, vinfo.used, verdict)
    q.treadmill, q.belt_speed_leg_per_s = _treadmill(clean, ge, vinfo.used)
    if athlete is not None and athlete.treadmill_speed_mps:
        q.treadmill = True
    _judge_running(clean, ge, verdict)
    if vinfo.oblique:
        q.warnings.append(vinfo.notes[-1] if vinfo.notes else "Oblique camera.")
        verdict.advice.append(FILM_AGAIN["view_side" if vinfo.used == "side" else "view_rear"])
    if clean.split_gaps_s:
        q.warnings.append(f"The runner was lost {len(clean.split_gaps_s)} time(s) for more than "
                          f"{th.GAP_INTERPOLATE_MAX_S:.1f} s; the clip was analysed in pieces.")
    q.warnings.extend(ge.notes)
    q.advice = verdict.advice

    ctx = Ctx(clean=clean, ge=ge, view=vinfo, athlete=athlete)
    _correct_roll(ctx, q)
    method = METHOD["side" if vinfo.used == "side" else "rear" if ge.used_world else "image"]
    if not q.fit:
        return Report(
            view=vinfo.used, view_detail=vinfo, clip_quality=q,
            events=ge.to_events(method) if q.n_steps else Events(method="none: no steps found"),
            metrics=_withheld_metrics("the clip is unfit for analysis: " + " ".join(q.reasons)),
            faults=[], chain=[], athlete=athlete,
            summary=["This clip cannot be analysed: " + " ".join(q.reasons),
                     "How to film again: " + " ".join(q.advice)])
    metrics = compute(ctx)
    faults = rules(metrics, clean.fps_measured, ge.left_right_bias_s)
    return Report(view=vinfo.used, view_detail=vinfo, clip_quality=q,
                  events=ge.to_events(method), metrics=metrics, faults=faults,
                  chain=chain(faults, metrics), athlete=athlete,
                  summary=_summary(vinfo, metrics, faults))


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
