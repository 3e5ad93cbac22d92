"""BlazePose person detector: letterbox, SSD anchors, decoding, weighted non-maximum suppression.

Constants from ``PoseDetectionCpu`` as embedded in mediapipe 0.10.14 (see docs/pose.md): a
224x224 letterbox of the whole frame in [-1, 1] with a black border; 5 anchor layers with
strides 8, 16, 32, 32, 32, offsets 0.5, fixed anchor size; boxes and 4 keypoints decoded with
scale 224 (x, y order), sigmoid scores clipped at +-100 and kept from 0.5; weighted NMS at IoU
0.3.

Each detection's 4 keypoints: 0 mid-hip centre, 1 a point whose distance and direction from
the mid-hip give the full body's size and rotation, 2 mid-shoulder centre, 3 the same for the
upper body. The box is the face's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from backend.pose.networks import NetworkRunner
from backend.pose.roi import Letterbox, Roi, roi_from_alignment
from backend.pose.video import Frame

INPUT_SIZE = 224
INPUT_RANGE = (-1.0, 1.0)
NUM_BOXES = 2254
NUM_KEYPOINTS = 4
SCORE_CLIPPING = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3
# SsdAnchorsCalculator options
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
ANCHOR_OFFSET = 0.5
ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 plus the interpolated scale (default 1.0)

FloatArray = npt.NDArray[np.float32]


@cache
def ssd_anchor_centers() -> npt.NDArray[np.float32]:
    """(2254, 2) anchor centres (x, y) in [0, 1]; with a fixed anchor size w = h = 1."""
    centers: list[npt.NDArray[np.float32]] = []
    layer = 0
    while layer < len(ANCHOR_STRIDES):
        stride = ANCHOR_STRIDES[layer]
        same = layer
        while same < len(ANCHOR_STRIDES) and ANCHOR_STRIDES[same] == stride:
            same += 1
        per_cell = ANCHORS_PER_LAYER * (same - layer)
        grid = math.ceil(INPUT_SIZE / stride)
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cell = np.stack([(xs + ANCHOR_OFFSET) / grid, (ys + ANCHOR_OFFSET) / grid], -1)
        centers.append(np.repeat(cell.reshape(-1, 2), per_cell, axis=0).astype(np.float32))
        layer = same
    anchors = np.concatenate(centers)
    assert anchors.shape == (NUM_BOXES, 2)
    return anchors


@dataclass(frozen=True)
class Detection:
    """A person found by the detector, in upright frame pixels."""

    score: float
    box: FloatArray  # xmin, ymin, xmax, ymax (the face)
    keypoints: FloatArray  # (4, 2)

    @property
    def hip_center(self) -> tuple[float, float]:
        return float(self.keypoints[0, 0]), float(self.keypoints[0, 1])

    def roi(self) -> Roi:
        """The landmark network's region (``PoseDetectionToRoi``: keypoints 0 and 1)."""
        kp = self.keypoints
        return roi_from_alignment((float(kp[0, 0]), float(kp[0, 1])),
                                  (float(kp[1, 0]), float(kp[1, 1])))


def decode_detections(regressors: FloatArray, logits: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Raw outputs -> (scores (N,), boxes+keypoints (N, 12) in letterbox-normalised x, y).

    Boxes come out as xmin, ymin, xmax, ymax, then keypoints x, y. Only boxes with a score of
    at least :data:`MIN_SCORE` and a non-negative size are returned.
    """
    raw = regressors.reshape(NUM_BOXES, 12)
    # float64: exp(100) overflows float32.
    clipped = np.clip(logits.reshape(NUM_BOXES).astype(np.float64), -SCORE_CLIPPING,
                      SCORE_CLIPPING)
    scores = (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)
    keep = scores >= MIN_SCORE
    if not keep.any():
        return np.empty(0, np.float32), np.empty((0, 12), np.float32)
    raw = raw[keep]
    anchors = ssd_anchor_centers()[keep]
    scores = scores[keep]
    # reverse_output_order: x, y, w, h; anchors have w = h = 1.
    center = raw[:, 0:2] / INPUT_SIZE + anchors
    size = raw[:, 2:4] / INPUT_SIZE
    decoded = np.empty_like(raw)
    decoded[:, 0:2] = center - size / 2
    decoded[:, 2:4] = center + size / 2
    decoded[:, 4:] = (raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) / INPUT_SIZE
                      + anchors[:, None, :]).reshape(-1, 2 * NUM_KEYPOINTS)
    valid = np.all(size >= 0, axis=1)
    return scores[valid].astype(np.float32), decoded[valid].astype(np.float32)


def _iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.float32)


def weighted_nms(scores: FloatArray, boxes: FloatArray) -> list[tuple[float, FloatArray]]:
    """MediaPipe's WEIGHTED non-maximum suppression (IoU over union, threshold 0.3).

    Take the best remaining box; every remaining box overlapping it by more than the threshold
    (itself included) is merged into a score-weighted average of coordinates and keypoints,
    with the best box's score.
    """
    order = np.argsort(-scores, kind="stable")
    remaining_scores = scores[order]
    remaining = boxes[order]
    out: list[tuple[float, FloatArray]] = []
    while len(remaining):
        similarity = _iou(remaining[0], remaining)
        merge = similarity > NMS_IOU
        merge[0] = True  # a degenerate best box still counts itself
        weights = remaining_scores[merge]
        merged = (remaining[merge] * weights[:, None]).sum(0) / weights.sum()
        out.append((float(remaining_scores[0]), merged.astype(np.float32)))
        remaining_scores = remaining_scores[~merge]
        remaining = remaining[~merge]
    return out


class PoseDetector:
    """Finds people in a whole frame; the first detection is the most confident."""

    def __init__(self, runner: NetworkRunner) -> None:
        self._runner = runner

    def detect(self, frame: Frame) -> list[Detection]:
        letterbox = Letterbox(frame.width, frame.height)
        tensor = frame.warp(letterbox.affine(INPUT_SIZE), (INPUT_SIZE, INPUT_SIZE),
                            INPUT_RANGE, replicate_border=False)
        outputs = self._runner.run(tensor[None])
        scores, decoded = decode_detections(outputs["Identity"], outputs["Identity_1"])
        detections = []
        for score, values in weighted_nms(scores, decoded):
            points = letterbox.to_frame(values.reshape(-1, 2))
            detections.append(Detection(score=score, box=points[:2].reshape(4),
                                        keypoints=points[2:]))
        return detections
