"""Which way the camera looks at the runner: rear, front or side, and how obliquely.

The camera's azimuth about the runner is the smaller of two estimates: the apparent width of
the shoulders plus hips over the torso length, which shrinks with its cosine (RF "Filming
assumptions"; the face-on ratio from the world landmarks when the pose engine gives them, else
from segment proportions), and the depth difference of the left and right hips and shoulders
in the world landmarks, which resolves the angle near square where the cosine is flat.

Rear against front: from behind the subject's left side is on the image's left, and the face
is hidden (low visibility of nose and eyes); in front the order flips and the face shows.
Side: the direction of travel from the toes against the heels and the nose against the ears.
"""

from __future__ import annotations

import math

import numpy as np

from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, Segment
from backend.gait.geometry import nanmedian
from backend.gait.types import ViewInfo
from backend.pose.track import Landmark as L


def _stack(clean: CleanTrack, fn: object) -> np.ndarray:
    parts = [fn(s) for s in clean.segments]  # type: ignore[operator]
    return np.concatenate(parts) if parts else np.zeros(0)


def camera_angle(clean: CleanTrack) -> float | None:
    """Camera azimuth folded to [0, 90] deg: 0 = straight behind or in front, 90 = side on."""

    def img_ratio(s: Segment) -> np.ndarray:
        sh = np.linalg.norm(s.p(L.LEFT_SHOULDER) - s.p(L.RIGHT_SHOULDER), axis=1)
        hp = np.linalg.norm(s.p(L.LEFT_HIP) - s.p(L.RIGHT_HIP), axis=1)
        torso = np.linalg.norm(s.mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
                               - s.mid(L.LEFT_HIP, L.RIGHT_HIP), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((sh + hp) / torso)

    def world_ratio(s: Segment) -> np.ndarray:
        w = s.world
        sh = np.linalg.norm(w[:, 11] - w[:, 12], axis=1)
        hp = np.linalg.norm(w[:, 23] - w[:, 24], axis=1)
        torso = np.linalg.norm(0.5 * (w[:, 11] + w[:, 12]) - 0.5 * (w[:, 23] + w[:, 24]), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((sh + hp) / torso)

    r_img = nanmedian(_stack(clean, img_ratio))
    if not math.isfinite(r_img):
        return None
    r_face = nanmedian(_stack(clean, world_ratio))
    # World landmarks from a side view may themselves shrink the far side: trust them only in
    # the range that face-on bodies show.
    if not (math.isfinite(r_face)
            and th.WORLD_WIDTH_RATIO_MIN <= r_face <= th.WORLD_WIDTH_RATIO_MAX):
        r_face = th.FRONTAL_WIDTH_RATIO_DEFAULT
    cos_az = min(1.0, max(0.0, r_img / r_face))
    from_width = float(math.degrees(math.acos(cos_az)))
    # Near square the width ratio's acos is flat and errs only upward: a 5 % mismatch between
    # the world's and the image's proportions, or noise, reads 15-18 degrees. The depth
    # difference of the left and right hips and shoulders in the world landmarks
    # (camera-aligned axes) grows linearly with the angle there. Where the world depth is off
    # instead (MediaPipe's weakest axis: on a real clip filmed at an angle, hips and shoulders
    # disagree by 20 degrees) it reads larger, and the width ratio holds. So: the smaller.
    from_depth = depth_angle(clean)
    if from_depth is not None:
        return min(from_depth, from_width)
    return from_width


def depth_angle(clean: CleanTrack) -> float | None:
    """Camera azimuth folded to [0, 90] deg from the world landmarks: the direction of the
    left-to-right axis of the hips and of the shoulders in the camera's ground plane,
    atan2(depth, sideways), averaged over frames as an axis (the circular mean of twice the
    angle, so a left/right swap or the wrap at 180 does not matter, and the pelvis's and
    shoulders' back-and-forth rotation in running cancels)."""

    def axes(s: Segment) -> np.ndarray:
        w = s.world
        out = []
        for left, right in ((L.LEFT_HIP, L.RIGHT_HIP), (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)):
            d = w[:, left] - w[:, right]
            out.append(np.arctan2(d[:, 2], d[:, 0]))
        return np.concatenate(out)

    parts = [axes(s) for s in clean.segments]
    theta = np.concatenate(parts) if parts else np.zeros(0)
    theta = theta[np.isfinite(theta)]
    if theta.size <= th.WORLD_MIN_SAMPLES:
        return None
    mean = 0.5 * math.atan2(float(np.mean(np.sin(2 * theta))), float(np.mean(np.cos(2 * theta))))
    return float(math.degrees(abs(mean)))  # |mean| <= 90: folded already


def _front_score(clean: CleanTrack) -> float:
    """> 0 points to a front view, < 0 to a rear view, in [-1, 1]."""

    def order(s: Segment) -> np.ndarray:
        # Rear: subject-left on image left -> left x < right x.
        a = s.p(L.LEFT_SHOULDER)[:, 0] - s.p(L.RIGHT_SHOULDER)[:, 0]
        b = s.p(L.LEFT_HIP)[:, 0] - s.p(L.RIGHT_HIP)[:, 0]
        return np.asarray(np.sign(a) + np.sign(b))

    def face(s: Segment) -> np.ndarray:
        v = s.vis[:, [0, 2, 5]]
        return np.asarray(np.where(np.isfinite(v), v, 0.0).mean(axis=1))

    o = _stack(clean, order)
    o = o[np.isfinite(o)]
    order_score = float(np.mean(o) / 2.0) if o.size else 0.0
    f = nanmedian(_stack(clean, face))
    # Face visibility: ~0.9+ face-on, low from behind (MediaPipe guesses a hidden face).
    face_score = 0.0 if not math.isfinite(f) else float(
        np.clip((f - th.FACE_VIS_NEUTRAL) / th.FACE_VIS_SPAN, -1.0, 1.0))
    return th.FRONT_SCORE_ORDER_WEIGHT * order_score + th.FRONT_SCORE_FACE_WEIGHT * face_score


def facing(clean: CleanTrack) -> str | None:
    """Side view: which image direction the runner faces ("right" or "left")."""

    def fwd(s: Segment) -> np.ndarray:
        toe = 0.5 * (s.p(L.LEFT_FOOT_INDEX)[:, 0] + s.p(L.RIGHT_FOOT_INDEX)[:, 0])
        heel = 0.5 * (s.p(L.LEFT_HEEL)[:, 0] + s.p(L.RIGHT_HEEL)[:, 0])
        nose = s.p(L.NOSE)[:, 0]
        ears = 0.5 * (s.p(L.LEFT_EAR)[:, 0] + s.p(L.RIGHT_EAR)[:, 0])
        return np.asarray(np.sign(toe - heel) + np.sign(nose - ears))

    v = _stack(clean, fwd)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    m = float(np.mean(v))
    if m == 0:
        return None
    return "right" if m > 0 else "left"


def infer_view(clean: CleanTrack, requested: str) -> ViewInfo:
    angle = camera_angle(clean)
    notes: list[str] = []
    inferred: str | None = None
    confidence = 0.0
    if angle is not None:
        if angle <= th.VIEW_AUTO_PLANE_DEG:
            score = _front_score(clean)
            inferred = "front" if score > 0 else "rear"
            # Sure when the angle is small and the two cues agree strongly.
            confidence = (1.0 - angle / 90.0) * min(1.0, th.VIEW_CONFIDENCE_FLOOR + abs(score))
        elif angle >= 90.0 - th.VIEW_AUTO_PLANE_DEG:
            inferred = "side"
            confidence = min(1.0, angle / 90.0)
        else:
            inferred = "oblique"
            confidence = 0.3
    if requested == "auto":
        if inferred in ("rear", "front", "side"):
            used = inferred
        elif inferred == "oblique":
            assert angle is not None
            used = ("side" if angle >= th.VIEW_OBLIQUE_SIDE_FROM_DEG
                    else "front" if _front_score(clean) > 0 else "rear")
            notes.append(
                f"The camera looks at the runner at about {angle:.0f} degrees off the "
                f"{'side' if used == 'side' else 'back or front'}: analysed as a {used} view, "
                "but the clip is oblique."
            )
        else:
            used = "rear"
            notes.append("The view could not be inferred (no person found); assumed rear.")
    else:
        used = requested
        # Rear against front rests on weaker cues: only say so when the inference is sure.
        across_planes = inferred not in (None, requested, "oblique") and (
            {inferred, requested} != {"rear", "front"})
        sure_front_back = (inferred in ("rear", "front") and requested in ("rear", "front")
                           and inferred != requested
                           and confidence >= th.VIEW_CONTRADICT_CONFIDENCE)
        if across_planes or sure_front_back:
            notes.append(
                f"The clip was labelled {requested} but looks like a {inferred} view."
            )
    oblique = False
    if angle is not None:
        off = angle if used in ("rear", "front") else 90.0 - angle
        oblique = off > th.VIEW_ANGLE_MAX_DEG
        if oblique:
            notes.append(
                f"The camera is about {off:.0f} degrees off a true {used} view (more than "
                f"{th.VIEW_ANGLE_MAX_DEG:.0f}): the measures of that plane are withheld. Film "
                + ("straight from behind or in front, at hip height."
                   if used in ("rear", "front")
                   else "from the side, the camera square to the line of running.")
            )
        elif off > th.VIEW_ANGLE_GOOD_DEG:
            notes.append(
                f"The camera is about {off:.0f} degrees off a true {used} view: angles in that "
                "plane are somewhat foreshortened."
            )
    return ViewInfo(
        requested=requested,
        used=used,  # type: ignore[arg-type]
        inferred=inferred,
        confidence=float(round(confidence, 3)),
        camera_angle_deg=None if angle is None else float(round(angle, 1)),
        oblique=oblique,
        facing=facing(clean) if used == "side" else None,
        notes=notes,
    )
