"""Rotated regions of interest and the affine maps between crops and the upright frame.

MediaPipe describes a region as a ``NormalizedRect`` (centre, width, height normalised to the
image, rotation in radians, clockwise on screen). Both pose graphs make it square in pixels
(``square_long``), so here a region is simply a centre, a side and a rotation, in pixels of the
upright frame.

Crop convention (``ImageToTensorConverterOpenCv``): the rectangle's corners go to the corners of
the output tensor, i.e. output pixel index (0, 0) samples exactly the rectangle's top-left
corner, and the rest follows linearly; landmarks in ``[0, 1]`` of the crop map back with the
same affine (``LandmarkProjectionCalculator``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backend.pose.video import Affine

# pose_detection_to_roi / pose_landmarks_to_roi in mediapipe 0.10.14 (read from the wheel's
# embedded graphs): AlignmentPointsRectsCalculator with target angle 90 degrees, then
# RectTransformationCalculator scale 1.25 x 1.25, square_long. (The GitHub pbtxt of some
# versions says 1.5 and keypoints 2, 3: the wheel we match says 1.25 and keypoints 0, 1.)
ROI_TARGET_ANGLE = math.pi / 2
ROI_SCALE = 1.25


def normalize_radians(angle: float) -> float:
    """Wrap to [-pi, pi), as MediaPipe's NormalizeRadians."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A square region of the upright frame, rotated ``rotation`` radians clockwise."""

    center_x: float
    center_y: float
    size: float
    rotation: float

    def crop_affine(self, out_size: int) -> Affine:
        """2x3 map from output pixel (u, v) of an ``out_size`` square to upright pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        k = self.size / out_size
        half = self.size / 2
        return np.array([
            [c * k, -s * k, self.center_x - c * half + s * half],
            [s * k, c * k, self.center_y - s * half - c * half],
        ])

    def project(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Points in crop-normalised coordinates ([0, 1] across the crop) to upright pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        x = points[..., 0] - 0.5
        y = points[..., 1] - 0.5
        out = np.empty((*points.shape[:-1], 2), np.float32)
        out[..., 0] = (c * x - s * y) * self.size + self.center_x
        out[..., 1] = (s * x + c * y) * self.size + self.center_y
        return out


def roi_from_alignment(center: tuple[float, float], scale_point: tuple[float, float]) -> Roi:
    """The region of ``AlignmentPointsRectsCalculator`` + ``RectTransformationCalculator``.

    ``center`` is the body centre (mid-hip), ``scale_point`` the point whose distance gives the
    size and whose direction the rotation; both in upright pixels.
    """
    x0, y0 = center
    x1, y1 = scale_point
    box_size = 2.0 * math.hypot(x1 - x0, y1 - y0)
    rotation = normalize_radians(ROI_TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(center_x=x0, center_y=y0, size=box_size * ROI_SCALE, rotation=rotation)


@dataclass(frozen=True)
class Letterbox:
    """The whole upright frame fitted into a square tensor, padded evenly (FIT scale mode)."""

    width: int
    height: int

    @property
    def side(self) -> int:
        return max(self.width, self.height)

    def affine(self, out_size: int) -> Affine:
        side = self.side
        k = side / out_size
        return np.array([
            [k, 0.0, self.width / 2 - side / 2],
            [0.0, k, self.height / 2 - side / 2],
        ])

    def to_frame(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Points normalised to the letterboxed square -> upright pixels."""
        side = self.side
        out = np.empty_like(points)
        out[..., 0] = points[..., 0] * side + (self.width - side) / 2
        out[..., 1] = points[..., 1] * side + (self.height - side) / 2
        return out
