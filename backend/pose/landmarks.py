"""BlazePose GHUM "full" landmark network: crop, inference, decoding.

Constants from ``PoseLandmarkByRoiCpu`` and ``TensorsToPoseLandmarksAndSegmentation`` in
mediapipe 0.10.14: a 256x256 crop of the rotated region in [0, 1] with a replicated border;
39 landmarks (33 body + 2 auxiliary + 4 unused) of x, y, z in crop pixels and visibility,
presence logits (sigmoid); a person is present when the pose flag is at least 0.5; landmarks
refined from the 64x64 heatmap with a 7x7 kernel where its peak confidence reaches 0.5; world
landmarks in metres (origin between the hips) rotated back by the region's rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backend.pose.networks import NetworkRunner
from backend.pose.roi import Roi
from backend.pose.track import N_LANDMARKS
from backend.pose.video import Frame

INPUT_SIZE = 256
INPUT_RANGE = (0.0, 1.0)
NUM_OUTPUT_LANDMARKS = 39
AUXILIARY = slice(33, 35)  # body centre and the size/rotation point, for the next region
POSE_FLAG_THRESHOLD = 0.5
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5

FloatArray = npt.NDArray[np.float32]


def _sigmoid(x: FloatArray) -> FloatArray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def refine_from_heatmap(xy: FloatArray, heatmap: FloatArray) -> FloatArray:
    """``RefineLandmarksFromHeatmapCalculator``: crop-normalised (N, 2) -> refined copy.

    For each landmark, the sigmoid heatmap of its channel in a 7x7 window around it (clipped at
    the heatmap's edges); where its peak reaches 0.5 the landmark moves to the window's
    confidence-weighted centre. All landmarks at once (a Python loop cost 1.3 ms a frame).
    """
    hm_h, hm_w, channels = heatmap.shape
    n = min(channels, len(xy))
    out = xy.copy()
    offset = (HEATMAP_KERNEL - 1) // 2
    # C++ int conversion truncates toward zero.
    cols = np.trunc(xy[:n, 0] * hm_w).astype(np.int64)
    rows = np.trunc(xy[:n, 1] * hm_h).astype(np.int64)
    # MediaPipe tests col against the height too (its typo); the heatmap is square.
    inside = (cols >= 0) & (cols < hm_w) & (rows >= 0) & (cols < hm_h)
    steps = np.arange(-offset, offset + 1)
    window_rows = rows[:, None] + steps  # (n, 7)
    window_cols = cols[:, None] + steps
    row_ok = (window_rows >= 0) & (window_rows < hm_h)
    col_ok = (window_cols >= 0) & (window_cols < hm_w)
    r = np.clip(window_rows, 0, hm_h - 1)[:, :, None]
    c = np.clip(window_cols, 0, hm_w - 1)[:, None, :]
    channel = np.arange(n)[:, None, None]
    confidence = _sigmoid(heatmap[r, c, channel]) * (row_ok[:, :, None] & col_ok[:, None, :])
    total = confidence.sum(axis=(1, 2))
    peak = confidence.max(axis=(1, 2))
    refine = inside & (peak >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    safe_total = np.where(total > 0, total, 1.0)
    weighted_col = (confidence * window_cols[:, None, :]).sum(axis=(1, 2)) / hm_w / safe_total
    weighted_row = (confidence * window_rows[:, :, None]).sum(axis=(1, 2)) / hm_h / safe_total
    out[:n, 0] = np.where(refine, weighted_col, xy[:n, 0])
    out[:n, 1] = np.where(refine, weighted_row, xy[:n, 1])
    return out


@dataclass(frozen=True)
class PoseLandmarks:
    """One person's landmarks in one frame, in upright frame pixels."""

    landmarks: FloatArray  # (33, 5): x, y, z (pixels, z scaled like x), visibility, presence
    world: FloatArray  # (33, 3) metres, origin between the hips
    auxiliary: FloatArray  # (2, 2) pixels: body centre, size/rotation point
    score: float  # pose flag


class LandmarkModel:
    """Runs the landmark network on a region of a frame."""

    def __init__(self, runner: NetworkRunner) -> None:
        self._runner = runner

    def crop(self, frame: Frame, roi: Roi) -> FloatArray:
        return frame.warp(roi.crop_affine(INPUT_SIZE), (INPUT_SIZE, INPUT_SIZE), INPUT_RANGE,
                          replicate_border=True)

    def infer(self, frame: Frame, roi: Roi) -> PoseLandmarks | None:
        """Landmarks of the person in ``roi``, or None when the pose flag says nobody."""
        outputs = self._runner.run(self.crop(frame, roi)[None])
        return self.decode(outputs, roi)

    @staticmethod
    def decode(outputs: dict[str, FloatArray], roi: Roi) -> PoseLandmarks | None:
        score = float(outputs["Identity_1"].reshape(-1)[0])
        if score < POSE_FLAG_THRESHOLD:
            return None
        raw = outputs["Identity"].reshape(NUM_OUTPUT_LANDMARKS, 5)
        xy = (raw[:, :2] / INPUT_SIZE).astype(np.float32)
        xy = refine_from_heatmap(xy, outputs["Identity_3"].reshape(64, 64,
                                                                   NUM_OUTPUT_LANDMARKS))
        points = roi.project(xy)
        landmarks = np.empty((N_LANDMARKS, 5), np.float32)
        landmarks[:, :2] = points[:N_LANDMARKS]
        # z: crop pixels -> crop-normalised (by width) -> frame pixels (scaled like x).
        landmarks[:, 2] = raw[:N_LANDMARKS, 2] / INPUT_SIZE * roi.size
        landmarks[:, 3] = _sigmoid(raw[:N_LANDMARKS, 3])
        landmarks[:, 4] = _sigmoid(raw[:N_LANDMARKS, 4])
        world_raw = outputs["Identity_4"].reshape(NUM_OUTPUT_LANDMARKS, 3)[:N_LANDMARKS]
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        world = np.empty((N_LANDMARKS, 3), np.float32)
        world[:, 0] = c * world_raw[:, 0] - s * world_raw[:, 1]
        world[:, 1] = s * world_raw[:, 0] + c * world_raw[:, 1]
        world[:, 2] = world_raw[:, 2]
        return PoseLandmarks(landmarks=landmarks, world=world,
                             auxiliary=points[AUXILIARY].copy(), score=score)
