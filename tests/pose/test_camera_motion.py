"""The camera's motion from the background (backend.pose.camera_motion, Track.camera_motion).

Known motion: a still lab clip (single_person_front_portrait.mp4, filmed from a tripod: its
background does not move by 0.3 px over the clip, test below) is filmed again by a virtual
hand-held camera: each frame is a window moved along a known path of translation (and, in
the second clip, rotation up to 3 degrees and scale up to 3 %) out of the real frame, encoded
with libx264. The estimates must land on the known transforms.

Real clips: still cameras must stay at the identity while people move in front of them; a
clip whose camera moves must show it, and the estimate is checked against features followed
directly from the first frame at full size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from backend.pose import Track
from backend.pose import camera_motion as cm
from backend.pose.pipeline import PoseEngine, run_pose
from backend.pose.video import iter_frames, open_video
from tests.pose.conftest import FRONT, TWO_PEOPLE, clip_path
from tests.pose.media import Planes, encode, rotate_planes, set_mp4_rotation, source_planes

FPS = 60
ZOOM = 1.2  # the virtual camera's window is 1/1.2 of the real frame: it never leaves it
_LUMA_TO_CHROMA = np.array([[0.5, 0.0, -0.25], [0.0, 0.5, -0.25], [0.0, 0.0, 1.0]])

Float = npt.NDArray[np.float64]


# --- a virtual hand-held camera over a still clip -------------------------------------------


def camera_path(n: int, rotate: bool) -> tuple[Float, Float, Float, Float]:
    """Per frame: window offset (px), angle (degrees) and scale, a slow sway plus shake."""
    t = np.arange(n) / FPS
    walk = np.cumsum(np.random.default_rng(7).normal(0.0, 1.0, (n, 2)), axis=0)
    dx = 35 * np.sin(2 * np.pi * 0.4 * t) + 8 * np.sin(2 * np.pi * 3.1 * t) + walk[:, 0]
    dy = 50 * np.sin(2 * np.pi * 0.3 * t + 1) + 6 * np.sin(2 * np.pi * 4.3 * t) + walk[:, 1]
    if not rotate:
        return dx, dy, np.zeros(n), np.ones(n)
    angle = 3.0 * np.sin(2 * np.pi * 0.35 * t)
    scale = 1 + 0.03 * np.sin(2 * np.pi * 0.25 * t + 0.5)
    return dx, dy, angle, scale


def window(width: int, height: int, dx: float, dy: float, angle: float, scale: float
           ) -> Float:
    """3x3: the virtual camera's pixel -> the real frame's pixel."""
    c = np.array([(width - 1) / 2, (height - 1) / 2])
    a, s = math.radians(angle), 1 / (ZOOM * scale)
    r = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    m = np.eye(3)
    m[:2, :2] = r
    m[:2, 2] = c + np.array([dx, dy]) - r @ c
    return m


@dataclass
class MovedClip:
    path: Path
    truth: Float  # (T, 2, 3): frame pixel -> frame 0 pixel, upright
    width: int
    height: int


def moved_clip(out: Path, *, rotate: bool, turns: int = 0) -> MovedClip:
    """FRONT seen through a moving window; stored turned by ``turns`` x 90 degrees clockwise
    with the display matrix that turns it back (as phones do)."""
    info = open_video(FRONT)
    assert info.frame_count is not None
    n, w, h = info.frame_count, info.width, info.height
    windows = [window(w, h, *p) for p in zip(*camera_path(n, rotate), strict=True)]
    first = np.linalg.inv(windows[0])
    truth = np.stack([(first @ g)[:2] for g in windows])

    def warp(plane: npt.NDArray[np.uint8], affine: Float) -> npt.NDArray[np.uint8]:
        size = (plane.shape[1], plane.shape[0])
        return np.asarray(cv2.warpAffine(plane, affine[:2], size,
                                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                         borderMode=cv2.BORDER_REPLICATE), np.uint8)

    def frames() -> Iterator[Planes]:
        for (y, u, v), g in zip(source_planes(FRONT), windows, strict=True):
            gc = _LUMA_TO_CHROMA @ g @ np.linalg.inv(_LUMA_TO_CHROMA)
            planes = (warp(y, g), warp(u, gc), warp(v, gc))
            yield rotate_planes(planes, -turns) if turns else planes

    encode(out, frames(), rate=FPS, options={"crf": "18", "preset": "veryfast"})
    if turns:
        set_mp4_rotation(out, 90 * turns)
    return MovedClip(out, truth, w, h)


def grid_errors(estimated: npt.ArrayLike, truth: npt.ArrayLike, width: int, height: int
                ) -> Float:
    """Per frame, the mean distance (px) between where the two transforms take a 5 x 9 grid
    of points spread over the whole frame; NaN where the estimate is unknown."""
    xs, ys = np.meshgrid(np.linspace(0, width - 1, 5), np.linspace(0, height - 1, 9))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return np.array([np.linalg.norm(cm.apply(e, grid) - cm.apply(t, grid), axis=1).mean()
                     for e, t in zip(np.asarray(estimated), np.asarray(truth), strict=True)])


def estimate(clip: Path, boxes: list[cm.Box | None] | None = None
             ) -> tuple[Float, Float, cm.CameraMotionEstimator]:
    """The estimator alone over a clip (no person boxes unless given)."""
    estimator = cm.CameraMotionEstimator()
    transforms, inliers = [], []
    factor = None
    for frame in iter_frames(clip):
        factor = factor or cm.shrink_factor(frame.width, frame.height)
        box = boxes[frame.index] if boxes is not None else None
        transform, fraction = estimator.update(
            cm.small_luma(frame.y, frame.rotation, factor), box)
        transforms.append(transform)
        inliers.append(fraction)
    return np.stack(transforms), np.asarray(inliers), estimator


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> MovedClip:
    return moved_clip(tmp_path_factory.mktemp("motion") / "translated.mp4", rotate=False)


@pytest.fixture(scope="module")
def turned(tmp_path_factory: pytest.TempPathFactory) -> MovedClip:
    # Rotation and zoom, and stored sideways with a 90-degree display matrix.
    return moved_clip(tmp_path_factory.mktemp("motion") / "turned.mp4", rotate=True, turns=1)


def test_known_translation_is_recovered(translated: MovedClip) -> None:
    transforms, inliers, estimator = estimate(translated.path)
    assert estimator.reference_index == 0
    np.testing.assert_array_equal(transforms[0], cm.IDENTITY)
    # the path moves the picture by up to ~100 px: standing still would be far off
    still = grid_errors(np.broadcast_to(cm.IDENTITY, translated.truth.shape),
                        translated.truth, translated.width, translated.height)
    assert still.max() > 60
    errors = grid_errors(transforms, translated.truth, translated.width, translated.height)
    assert not np.isnan(errors).any()
    # measured: median 0.34 px, 95th percentile 0.60 px (1080x1920, worked on at 135x240)
    assert np.median(errors) < 1.0, errors
    assert np.percentile(errors, 95) < 2.0, errors
    assert np.median(inliers) > 0.9


def test_known_rotation_and_zoom_through_run_pose(turned: MovedClip,
                                                  pose_engine: PoseEngine) -> None:
    info = open_video(turned.path)
    assert info.rotation == 90 and (info.width, info.height) == (1080, 1920)
    track = run_pose(turned.path, engine=pose_engine)
    assert track.camera_motion is not None and track.camera_motion_inliers is not None
    assert track.camera_motion.dtype == np.float32
    assert track.camera_motion.shape == (track.n_frames, 2, 3)
    assert track.found.mean() > 0.9  # the person's box was there to keep features off them
    errors = grid_errors(track.camera_motion, turned.truth, turned.width, turned.height)
    assert not np.isnan(errors).any()
    # measured: median 0.25 px, 95th percentile 0.42 px; angle within 0.04 deg, scale 0.05 %
    assert np.median(errors) < 1.5, errors
    assert np.percentile(errors, 95) < 2.5, errors
    est = np.array([cm.similarity_parameters(m) for m in track.camera_motion])
    true = np.array([cm.similarity_parameters(m) for m in turned.truth])
    assert np.abs(true[:, 2]).max() > 2.5 and np.ptp(true[:, 3]) > 0.02
    assert np.abs(est[:, 2] - true[:, 2]).max() < 0.15  # degrees
    assert np.abs(est[:, 3] / true[:, 3] - 1).max() < 0.003
    inliers = track.camera_motion_inliers
    assert ((inliers >= 0) & (inliers <= 1)).all() and np.median(inliers) > 0.9


@pytest.mark.parametrize("name", [FRONT.name, TWO_PEOPLE.name,
                                  "running/rear_treadmill_barefoot.mov"])
def test_a_still_camera_stays_at_the_identity(name: str, track_of: Callable[..., Track]
                                              ) -> None:
    # People move in front of all three; the cameras stand still. (rear_treadmill_barefoot
    # is listed as hand-held in its README, but its background moves by under 0.3 px
    # however it is measured: phase correlation of background strips agrees.)
    track = track_of(clip_path(name))
    assert track.camera_motion is not None and track.camera_motion_inliers is not None
    assert track.found.mean() > 0.8
    identity = np.broadcast_to(cm.IDENTITY, track.camera_motion.shape)
    drift = grid_errors(track.camera_motion, identity, track.width, track.height)
    assert not np.isnan(drift).any()
    assert drift.max() < 2.0, drift  # measured: at most 0.37 px
    assert np.median(track.camera_motion_inliers) > 0.95


def direct_check(clip: Path, track: Track, every: int) -> tuple[Float, Float, Float]:
    """Background features of frame 0 followed straight into every ``every``-th frame at
    full size (no chaining, no shrinking): per frame, the median distance they moved, the
    median distance left between frame 0 and them carried back by ``track.camera_motion``,
    and the same for the best similarity fitted to them directly (RANSAC, 2 px): what is
    left there is what no similarity can take away (parallax, things that move)."""
    assert track.camera_motion is not None
    grays = [np.array(f.y) for f in iter_frames(clip) if f.index % every == 0]
    assert open_video(clip).rotation == 0

    found = cv2.goodFeaturesToTrack(grays[0], 400, 0.01, 12).reshape(-1, 2)
    box = cm.person_box(track.landmarks[0])
    assert box is not None
    x0, y0, x1, y1 = box
    on_person = ((found[:, 0] > x0 - 10) & (found[:, 0] < x1 + 10)
                 & (found[:, 1] > y0 - 10) & (found[:, 1] < y1 + 10))
    start = found[~on_person].astype(np.float32)
    moved, residual, best = [], [], []
    for i, gray in enumerate(grays[1:], start=1):
        ahead, status, _ = cv2.calcOpticalFlowPyrLK(grays[0], gray, start, None,
                                                    winSize=(31, 31), maxLevel=5)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(gray, grays[0], ahead, None,
                                                        winSize=(31, 31), maxLevel=5)
        ok = ((status.ravel() == 1) & (back_status.ravel() == 1)
              & (np.linalg.norm(back - start, axis=1) < 1.0))
        assert ok.sum() > 20
        moved.append(np.median(np.linalg.norm(ahead[ok] - start[ok], axis=1)))
        carried = cm.apply(track.camera_motion[i * every], ahead[ok])
        residual.append(np.median(np.linalg.norm(carried - start[ok], axis=1)))
        fitted, _ = cv2.estimateAffinePartial2D(ahead[ok], start[ok], method=cv2.RANSAC,
                                                ransacReprojThreshold=2.0)
        carried = cm.apply(fitted, ahead[ok])
        best.append(np.median(np.linalg.norm(carried - start[ok], axis=1)))
    return np.asarray(moved), np.asarray(residual), np.asarray(best)


@pytest.mark.parametrize(("name", "least_px"), [
    ("running/side_treadmill_feet_cut.mp4", 60.0),  # visibly hand-held
    ("running/side_treadmill_bystander.mp4", 20.0),  # the camera drifts and zooms a little
])
def test_a_moving_camera_is_measured(name: str, least_px: float,
                                     track_of: Callable[..., Track]) -> None:
    clip = clip_path(name)
    track = track_of(clip)
    motion, inliers = track.camera_motion, track.camera_motion_inliers
    assert motion is not None and inliers is not None
    known = ~np.isnan(motion[:, 0, 0])
    assert known.all()
    assert (np.isnan(inliers) == ~known).all()
    centre = np.array([track.width / 2, track.height / 2])
    shift = np.array([np.linalg.norm(cm.apply(m, centre) - centre) for m in motion])
    assert shift.max() > least_px, shift.max()
    # measured: median 0.91 and 0.97, 5th percentile 0.61 and 0.53 (parallax between the
    # treadmill and the room behind: one similarity cannot fit both)
    assert np.median(inliers) > 0.85 and np.percentile(inliers, 5) > 0.4
    moved, residual, best = direct_check(clip, track, every=15)
    # Carried back by the estimate, the background lands where it was in frame 0 nearly as
    # well as with the best similarity fitted to it directly at full size.
    # measured: 0.28 px (feet_cut) and 0.12 px (bystander) worse in the median frame, at most
    # 1.6 px; the estimate leaves a median 0.4-4.4 px where the background moved 4-104 px
    assert moved.max() > least_px / 2
    assert np.median(residual - best) < 1.0, (moved, residual, best)
    assert (residual - best < np.maximum(2.5, 0.15 * moved)).all(), (moved, residual, best)
    assert (residual < 0.5 * moved + 1.0).all(), (moved, residual, best)


# --- the estimator's own behaviour ----------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("factor", [1, 2, 6, 8])
def test_small_luma_maps_full_size_pixels_exactly(rotation: int, factor: int) -> None:
    # A blob at a known upright position, stored turned back by ``rotation``: where the
    # working image has it is where ``to_small`` says.
    width, height = 1080, 1920
    upright_at = np.array([301.3, 1201.7])
    ys, xs = np.mgrid[0:height, 0:width]
    sigma = 3.0 * factor
    blob = 200 * np.exp(-((xs - upright_at[0]) ** 2 + (ys - upright_at[1]) ** 2)
                        / (2 * sigma**2))
    upright = np.clip(blob + 20, 0, 255).astype(np.uint8)
    stored = np.ascontiguousarray(np.rot90(upright, -rotation // 90))
    # decoder planes have a row stride wider than the picture
    padded = np.zeros((stored.shape[0], stored.shape[1] + 64), np.uint8)
    padded[:, : stored.shape[1]] = stored
    luma = cm.small_luma(padded[:, : stored.shape[1]], rotation, factor)
    small = luma.image.astype(np.float64) - 20
    assert small.flags["C_CONTIGUOUS"]
    assert max(small.shape) == 1920 // factor and min(small.shape) == 1080 // factor
    assert small.shape == ((1920 // factor, 1080 // factor))
    sy, sx = np.mgrid[0:small.shape[0], 0:small.shape[1]]
    found = np.array([(small * sx).sum(), (small * sy).sum()]) / small.sum()
    expected = cm.apply(luma.to_small[:2], upright_at)
    np.testing.assert_allclose(found, expected, atol=0.05)


def test_shrink_factor() -> None:
    assert cm.shrink_factor(1080, 1920) == 8  # 240 x 135
    assert cm.shrink_factor(1280, 720) == 4  # 320 x 180
    assert cm.shrink_factor(3840, 2160) == 16
    assert cm.shrink_factor(406, 720) == 2
    assert cm.shrink_factor(480, 360) == 2
    assert cm.shrink_factor(320, 240) == 1


def test_nothing_to_see_then_a_scene_then_a_cut(translated: MovedClip) -> None:
    # Black frames: no features, no reference yet; the first textured frame becomes the
    # reference; after a cut to another scene nothing can be linked to it: NaN, not guesses.
    factor = cm.shrink_factor(translated.width, translated.height)
    scene = [cm.small_luma(f.y, 0, factor) for f in iter_frames(translated.path)][:30]
    other = [cm.small_luma(f.y, 0, factor)
             for f in iter_frames(clip_path("running/rear_treadmill_barefoot.mov"))][:10]
    black = cm.SmallLuma(np.full_like(scene[0].image, 16), scene[0].to_small)
    estimator = cm.CameraMotionEstimator()
    results = [estimator.update(luma) for luma in [black] * 5 + scene + other]
    transforms = np.stack([r[0] for r in results])
    inliers = np.array([r[1] for r in results])
    assert estimator.reference_index == 5
    assert np.isnan(transforms[:5]).all() and np.isnan(inliers[:5]).all()
    np.testing.assert_array_equal(transforms[5], cm.IDENTITY)
    assert inliers[5] == 1.0
    # the scene: measured against the truth re-based on its frame 0
    errors = grid_errors(transforms[5:35], translated.truth[:30], translated.width,
                         translated.height)
    assert np.median(errors) < 1.0
    assert np.isnan(transforms[35:]).all() and np.isnan(inliers[35:]).all()


def test_a_lost_frame_does_not_lose_the_clip(translated: MovedClip) -> None:
    # A few frames of nothing (a hand over the lens) in the middle: NaN there, and the
    # frames after are linked again to the frames before.
    factor = cm.shrink_factor(translated.width, translated.height)
    lumas = [cm.small_luma(f.y, 0, factor) for f in iter_frames(translated.path)]
    covered = range(40, 44)
    for i in covered:
        lumas[i] = cm.SmallLuma(np.full_like(lumas[i].image, 30), lumas[i].to_small)
    estimator = cm.CameraMotionEstimator()
    transforms = np.stack([estimator.update(luma)[0] for luma in lumas])
    lost = np.isnan(transforms[:, 0, 0])
    assert lost[list(covered)].all() and lost.sum() == len(covered)
    errors = grid_errors(transforms, translated.truth, translated.width, translated.height)
    assert np.nanmedian(errors[44:]) < 1.5


def test_the_person_box_keeps_features_off_the_person() -> None:
    # A textured frame whose features would all be inside the box: none are taken there.
    rng = np.random.default_rng(3)
    image = np.asarray(cv2.GaussianBlur(rng.integers(0, 255, (240, 135), np.uint8), (0, 0),
                                        1.5), np.uint8)
    luma = cm.SmallLuma(image, np.eye(3))
    estimator = cm.CameraMotionEstimator()
    estimator.update(luma, (40.0, 60.0, 90.0, 180.0))
    # (the box is widened by PERSON_MARGIN on each side)
    points = estimator.features
    assert len(points) >= cm.MIN_FEATURES
    mx, my = cm.PERSON_MARGIN * 50, cm.PERSON_MARGIN * 120
    inside = ((points[:, 0] > 40 - mx) & (points[:, 0] < 90 + mx)
              & (points[:, 1] > 60 - my) & (points[:, 1] < 180 + my))
    assert not inside.any()
