"""The camera's own motion through a clip, estimated from the background.

Phones are hand-held more often than not. For every frame this module estimates the 2x3
similarity transform (rotation, uniform scale, translation: the form of
``cv2.estimateAffinePartial2D``) that maps the frame's upright pixel coordinates (those of
``Track.landmarks[..., :2]``) into the coordinates of one reference frame of the clip, so that
the gait analysis can take the camera's shake and panning out of the landmark track.

How, per frame (docs/pose.md, "Camera motion"):

1. the luma plane as decoded (no colour conversion, no turning of the full frame) is shrunk
   to about :data:`TARGET_LONG_SIDE` pixels on its long side by an even factor: each working
   pixel the mean of 2x2 samples, so only one row in ``factor / 2`` is read; the small image
   is turned upright (:func:`small_luma`);
2. the background features held are followed from the previous frame into this one with
   pyramidal Lucas-Kanade and kept only where following them back lands where they started
   (forward-backward check);
3. each feature carries its position in the reference frame, so one RANSAC fit of
   ``cv2.estimateAffinePartial2D`` gives this frame's transform to the reference directly:
   nothing is chained from frame to frame, so a still camera does not drift; features that
   do not agree with the fit are dropped;
4. when fewer than :data:`MIN_TRACKED` are left (the camera turned away from them, the person
   ran over them), new ones are found with ``cv2.goodFeaturesToTrack``, away from the person
   (their box from the landmarks, widened) and from those still held. Their positions in the
   reference frame are looked up in the reference image itself (Lucas-Kanade from where this
   frame's transform puts them, forward-backward checked), so that the error of one frame's
   transform, or a consensus that settled on a bystander or on a nearer part of the scene,
   is not handed on to the features that replace lost ones; only what the reference does not
   show is placed by this frame's transform.

A frame whose transform cannot be estimated (too few background features, too few that
agree: a cut, a blur, the lens covered) gets NaN, and the next frames are tracked from the
last frame whose transform is known, so a few bad frames do not lose the clip. The reference
is frame 0, or the first frame in which enough background features were found.

Pure numpy and OpenCV: no decoding here (``backend.pose.pipeline`` hands in the luma plane).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

Affine = npt.NDArray[np.float64]  # 2x3
Matrix3 = npt.NDArray[np.float64]  # 3x3, homogeneous
ByteImage = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in upright full-size pixels

#: The working image's long side is about this (1920 -> 240, 1280 -> 320, 720 -> 360).
TARGET_LONG_SIDE = 240
#: Features held at most, and the count below which new ones are looked for.
MAX_FEATURES = 48
MIN_TRACKED = 32
#: Fewest features (in the working image) that may start the reference frame.
MIN_FEATURES = 12
#: A frame's transform needs at least this many features agreeing, and this fraction of
#: those tracked.
MIN_INLIERS = 8
MIN_INLIER_FRACTION = 0.3
#: Lucas-Kanade window (working pixels) and pyramid levels above the working image.
LK_WINDOW = 9
LK_LEVELS = 2
#: Forward-backward check and RANSAC threshold, in working-image pixels.
MAX_FB_ERROR = 0.5
RANSAC_THRESHOLD = 0.5
#: The person's box is widened by this fraction of its size on every side.
PERSON_MARGIN = 0.125
#: New features are at least the long side / this apart.
FEATURE_SPACING = 30
RANSAC_ITERATIONS = 200

_LK_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.03)

IDENTITY: Affine = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
UNKNOWN: Affine = np.full((2, 3), np.nan)


def shrink_factor(width: int, height: int, long_side: int | None = None) -> int:
    """The shrink factor that brings the long side to about ``long_side`` (never below
    it): 1, or an even number so that a 2x2 average of every ``factor / 2``-th pixel does."""
    long_side = long_side or TARGET_LONG_SIDE
    factor = max(1, max(width, height) // long_side)
    return factor if factor == 1 else factor - factor % 2


def _upright_matrix(turns: int, width: int, height: int) -> Matrix3:
    """Stored pixel -> upright pixel for ``np.rot90(stored, turns)`` of a stored image of
    ``width`` x ``height`` (pixel centres at integer coordinates)."""
    w1, h1 = width - 1.0, height - 1.0
    k = turns % 4
    rows = {
        0: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        1: [[0.0, 1.0, 0.0], [-1.0, 0.0, w1]],
        2: [[-1.0, 0.0, w1], [0.0, -1.0, h1]],
        3: [[0.0, -1.0, h1], [1.0, 0.0, 0.0]],
    }[k]
    return np.vstack([np.array(rows), [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class SmallLuma:
    """A frame's luma, shrunk and upright, and where full-size pixels fall in it."""

    image: ByteImage  # upright, C-contiguous
    to_small: Matrix3  # upright full-size pixel (x, y, 1) -> ``image`` pixel


def small_luma(y_plane: ByteImage, rotation: int = 0, factor: int = 1) -> SmallLuma:
    """``y_plane`` (the luma plane as decoded, as stored: any row stride) shrunk by
    ``factor`` (1 or even) and turned upright by ``rotation`` degrees counter-clockwise (the
    display rotation: upright = ``np.rot90(stored, rotation / 90)``).

    Each working pixel is the mean of 2x2 luma samples ``factor / 2`` apart: only every
    ``factor / 2``-th row is read, which is what the cost is (memory, not arithmetic).
    """
    if factor < 1 or (factor > 1 and factor % 2):
        raise ValueError(f"factor must be 1 or even, got {factor}")
    height, width = y_plane.shape
    small_h, small_w = height // factor, width // factor
    if factor == 1:
        image, centre = y_plane, 0.0
    else:
        stride = factor // 2
        offset = (stride - 1) // 2
        sampled = y_plane[offset: offset + small_h * factor: stride,
                          offset: offset + small_w * factor: stride]
        image = np.asarray(cv2.resize(np.ascontiguousarray(sampled), (small_w, small_h),
                                      interpolation=cv2.INTER_AREA), np.uint8)
        centre = offset + stride / 2  # of the 2x2 samples, in full-size pixels
    turns = (rotation // 90) % 4
    image = np.ascontiguousarray(np.rot90(image, turns) if turns else image)
    if np.shares_memory(image, y_plane):
        image = image.copy()  # never hold on to the decoder's buffer
    return SmallLuma(image, _to_small_matrix(width, height, turns, factor, centre))


@lru_cache(maxsize=16)
def _to_small_matrix(width: int, height: int, turns: int, factor: int,
                     centre: float) -> Matrix3:
    """Upright full-size pixel -> upright working pixel, for a stored ``width`` x ``height``
    plane (the same object for the same geometry: read-only)."""
    # stored full -> stored small: working pixel i averages samples centred at
    # factor * i + centre.
    shrink = np.array([[1.0 / factor, 0.0, -centre / factor],
                       [0.0, 1.0 / factor, -centre / factor],
                       [0.0, 0.0, 1.0]])
    to_small = (_upright_matrix(turns, width // factor, height // factor) @ shrink
                @ np.linalg.inv(_upright_matrix(turns, width, height)))
    to_small.setflags(write=False)
    return to_small


def person_box(landmarks: npt.NDArray[np.floating]) -> Box | None:
    """The box around a frame's landmarks ``(33, >=2)`` in pixels, or None (nobody found)."""
    xy = np.asarray(landmarks, np.float64)[:, :2]
    xy = xy[np.isfinite(xy).all(axis=1)]
    if xy.shape[0] == 0:
        return None
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _to3(affine: Affine) -> Matrix3:
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def apply(transform: npt.ArrayLike, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``transform`` (2x3) applied to ``points`` (..., 2)."""
    m = np.asarray(transform, np.float64)
    p = np.asarray(points, np.float64)
    return np.asarray(p @ m[:, :2].T + m[:, 2], np.float64)


def similarity_parameters(transform: npt.ArrayLike) -> tuple[float, float, float, float]:
    """(tx, ty, angle in degrees, scale) of a 2x3 similarity
    ``[[s cos a, -s sin a, tx], [s sin a, s cos a, ty]]``.

    In pixel coordinates (x right, y down) a positive angle turns points clockwise on the
    screen.
    """
    m = np.asarray(transform, np.float64)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    angle = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    return float(m[0, 2]), float(m[1, 2]), angle, scale


class CameraMotionEstimator:
    """Frame by frame, the transform from the frame to the clip's reference frame.

    Feed every frame of a clip, in order, to :meth:`update`. Transforms are in upright
    full-size pixels; the work is done on :class:`SmallLuma` images.
    """

    def __init__(self) -> None:
        # The last frame whose transform is known: its image, its transform (working
        # pixels), the person's box in it, the features held and their reference positions.
        self._image: ByteImage | None = None
        self._transform: Affine = IDENTITY
        self._box: Box | None = None
        self._points = np.empty((0, 1, 2), np.float32)
        self._anchors = np.empty((0, 1, 2), np.float32)
        self._topped_up_after_loss = False
        self._reference: ByteImage | None = None  # the reference frame's image
        self._to_small: Matrix3 | None = None  # the clip's full-size -> working map
        self._from_small: Matrix3 | None = None
        #: Index of the reference frame (None until one is found).
        self.reference_index: int | None = None
        self.frames = 0

    @property
    def features(self) -> npt.NDArray[np.float32]:
        """(N, 2): the background features held, in working pixels of the last frame whose
        transform is known."""
        return self._points[:, 0].copy()

    def update(self, luma: SmallLuma, person: Box | None = None) -> tuple[Affine, float]:
        """This frame's transform (2x3, frame pixel -> reference pixel; NaN if unknown) and
        the fraction of the tracked background features that agree with it (NaN if
        unknown).

        ``person``: the person's box in this frame (upright full-size pixels), where no new
        feature is taken; None when nobody is known to be there.
        """
        index = self.frames
        self.frames += 1
        image = luma.image
        box = None if person is None else self._small_box(luma.to_small, person, image.shape)
        if self._image is None:
            return self._start(index, luma, box)
        assert self._to_small is not None
        if image.shape != self._image.shape or not np.array_equal(luma.to_small,
                                                                 self._to_small):
            return UNKNOWN.copy(), float("nan")  # a new geometry mid-clip: no link to it
        points, anchors = self._track(self._image, image)
        fit = self._fit(points, anchors)
        if fit is None:
            self._lost()
            return UNKNOWN.copy(), float("nan")
        transform, agree = fit
        points, anchors = points[agree], anchors[agree]
        if points.shape[0] < MIN_TRACKED:
            points, anchors = self._top_up(image, points, anchors, transform, box)
        self._image, self._transform, self._box = image, transform, box
        self._points, self._anchors = points, anchors
        self._topped_up_after_loss = False
        return self._to_full(transform), float(agree.mean())

    # --- internals (all in working-image pixels) ----------------------------------------

    def _start(self, index: int, luma: SmallLuma, box: Box | None) -> tuple[Affine, float]:
        empty = np.empty((0, 1, 2), np.float32)
        points, anchors = self._top_up(luma.image, empty, empty, IDENTITY, box)
        if points.shape[0] < MIN_FEATURES:
            return UNKNOWN.copy(), float("nan")
        self._image, self._transform, self._box = luma.image, IDENTITY, box
        self._reference = luma.image
        self._points, self._anchors = points, anchors
        self._to_small = luma.to_small
        self._from_small = np.asarray(np.linalg.inv(luma.to_small), np.float64)
        self.reference_index = index
        return IDENTITY.copy(), 1.0

    def _lost(self) -> None:
        """No transform for this frame: the next frame is tracked from the last frame whose
        transform is known, with its features topped up once (they may have been too few)."""
        if not self._topped_up_after_loss and self._image is not None:
            self._points, self._anchors = self._top_up(
                self._image, self._points, self._anchors, self._transform, self._box)
            self._topped_up_after_loss = True

    @staticmethod
    def _small_box(to_small: Matrix3, person: Box, shape: tuple[int, ...]) -> Box | None:
        x0, y0, x1, y1 = person
        if not all(np.isfinite(v) for v in person):
            return None
        mx, my = PERSON_MARGIN * (x1 - x0), PERSON_MARGIN * (y1 - y0)
        corners = np.array([[x0 - mx, y0 - my], [x1 + mx, y0 - my],
                            [x0 - mx, y1 + my], [x1 + mx, y1 + my]])
        small = apply(to_small[:2], corners)
        h, w = shape[:2]
        sx0, sy0 = np.clip(small.min(axis=0), 0, [w - 1, h - 1])
        sx1, sy1 = np.clip(small.max(axis=0), 0, [w - 1, h - 1])
        if sx1 <= sx0 or sy1 <= sy0:
            return None
        return float(sx0), float(sy0), float(sx1), float(sy1)

    def _track(self, previous: ByteImage, image: ByteImage
               ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The held features followed into ``image``: those that track back to where they
        started, with their reference positions."""
        points, anchors = self._points, self._anchors
        if points.shape[0] == 0:
            return points, anchors
        window = (LK_WINDOW, LK_WINDOW)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            previous, image, points, None, winSize=window, maxLevel=LK_LEVELS,
            criteria=_LK_CRITERIA)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(
            image, previous, moved, points.copy(), winSize=window, maxLevel=LK_LEVELS,
            criteria=_LK_CRITERIA, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        fb_error = np.abs(back - points).max(axis=(1, 2))
        h, w = image.shape[:2]
        x, y = moved[:, 0, 0], moved[:, 0, 1]
        ok = ((status.ravel() == 1) & (back_status.ravel() == 1) & (fb_error < MAX_FB_ERROR)
              & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1))
        return moved[ok], anchors[ok]

    @staticmethod
    def _fit(points: npt.NDArray[np.float32], anchors: npt.NDArray[np.float32]
             ) -> tuple[Affine, npt.NDArray[np.bool_]] | None:
        """RANSAC similarity from ``points`` to their reference positions, and which agree;
        None when too few do."""
        if points.shape[0] < MIN_INLIERS:
            return None
        matrix, inliers = cv2.estimateAffinePartial2D(
            points, anchors, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD,
            maxIters=RANSAC_ITERATIONS, confidence=0.995, refineIters=10)
        if matrix is None or inliers is None:
            return None
        agree = inliers.ravel().astype(bool)
        if int(agree.sum()) < MIN_INLIERS or agree.mean() < MIN_INLIER_FRACTION:
            return None
        return np.asarray(matrix, np.float64), agree

    def _top_up(self, image: ByteImage, points: npt.NDArray[np.float32],
                anchors: npt.NDArray[np.float32], transform: Affine, box: Box | None
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """New features away from the person and from ``points``, with their positions in
        the reference frame: looked up there (Lucas-Kanade from where ``transform``, this
        frame's, puts them), or where ``transform`` puts them if the reference does not show
        them."""
        wanted = MAX_FEATURES - points.shape[0]
        if wanted <= 0:
            return points, anchors
        h, w = image.shape[:2]
        spacing = max(3, round(max(h, w) / FEATURE_SPACING))
        mask = np.full((h, w), 255, np.uint8)
        if box is not None:
            x0, y0, x1, y1 = (round(v) for v in box)
            mask[y0:y1 + 1, x0:x1 + 1] = 0
        for x, y in points[:, 0]:
            cv2.circle(mask, (round(float(x)), round(float(y))), spacing, 0, -1)
        corners = cv2.goodFeaturesToTrack(image, maxCorners=wanted, qualityLevel=0.01,
                                          minDistance=spacing, mask=mask, blockSize=5)
        if corners is None:
            return points, anchors
        found = np.asarray(corners, np.float32).reshape(-1, 1, 2)
        anchored = np.asarray(apply(transform, found[:, 0])[:, None, :], np.float32)
        if self._reference is not None and self._reference is not image:
            anchored = self._look_up(image, found, anchored)
        return np.concatenate([points, found]), np.concatenate([anchors, anchored])

    def _look_up(self, image: ByteImage, found: npt.NDArray[np.float32],
                 predicted: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``found`` features' positions in the reference frame, measured where it shows them
        (forward-backward checked), else ``predicted``. Measured positions keep errors of
        the transform from passing on to the features that replace lost ones."""
        assert self._reference is not None
        window = (LK_WINDOW, LK_WINDOW)
        there, status, _ = cv2.calcOpticalFlowPyrLK(
            image, self._reference, found, predicted.copy(), winSize=window,
            maxLevel=LK_LEVELS, criteria=_LK_CRITERIA, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(
            self._reference, image, there, found.copy(), winSize=window, maxLevel=LK_LEVELS,
            criteria=_LK_CRITERIA, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        ok = ((status.ravel() == 1) & (back_status.ravel() == 1)
              & (np.abs(back - found).max(axis=(1, 2)) < MAX_FB_ERROR))
        return np.where(ok[:, None, None], there, predicted).astype(np.float32)

    def _to_full(self, small: Affine) -> Affine:
        assert self._to_small is not None and self._from_small is not None
        full = self._from_small @ _to3(small) @ self._to_small
        return np.asarray(full[:2], np.float64)
