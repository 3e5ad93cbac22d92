"""Small vector helpers on (N, 2) image points (x right, y down) and robust statistics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def angle_at(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Angle at ``b`` (deg) of the points a-b-c, row by row; NaN where undefined."""
    u = a - b
    v = c - b
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(u * v, axis=-1) / (nu * nv)
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), dtype=np.float64)


def cross2(u: FloatArray, v: FloatArray) -> FloatArray:
    return np.asarray(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0], dtype=np.float64)


def tilt_from_vertical(lower: FloatArray, upper: FloatArray) -> FloatArray:
    """Signed angle (deg) of the segment lower->upper from the image vertical, positive when
    ``upper`` is to the right of ``lower`` (image x)."""
    d = upper - lower
    return np.asarray(np.degrees(np.arctan2(d[..., 0], -d[..., 1])), dtype=np.float64)


def nanmedian(values: FloatArray | list[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(np.median(arr)) if arr.size else float("nan")


def iqr(values: FloatArray | list[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return float("nan")
    q75, q25 = np.percentile(arr, [75, 25])
    return float(q75 - q25)


def robust_length(a: FloatArray, b: FloatArray, q: float = 90.0) -> float:
    """A segment's true length from a track: a high percentile of its projected length (each
    segment lies nearly in the image plane at some point of the stride)."""
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(np.percentile(d, q)) if d.size else float("nan")
