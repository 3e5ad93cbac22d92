"""The skeleton over the clip: an H.264 MP4 a phone browser plays, and key frames as JPEG.

The overlay video is yuv420p H.264 (High profile) with the index at the front of the file
(``movflags=+faststart``) so that phones start playing before the download ends; its long side
is at most 1280 pixels (a phone screen; and encoding 1080p would cost more than the pose
engine itself). Frames keep their real timestamps: variable frame rate stays variable.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from backend.pose.track import POSE_CONNECTIONS
from backend.pose.video import Frame

OVERLAY_MAX_SIDE = 1280
OVERLAY_TIME_BASE = Fraction(1, 90_000)
MIN_VISIBILITY = 0.3
KEYFRAME_COUNT = 6
JPEG_QUALITY = 90
# BGR colours: the subject's left side orange, right side blue, midline white.
_LEFT = (0, 140, 255)
_RIGHT = (255, 160, 0)
_MID = (255, 255, 255)

FloatArray = npt.NDArray[np.float32]


def _side_colour(a: int, b: int) -> tuple[int, int, int]:
    left = a % 2 == 1 and a > 10
    right = a % 2 == 0 and a > 10
    if left and (b % 2 == 1):
        return _LEFT
    if right and (b % 2 == 0):
        return _RIGHT
    return _MID


def draw_skeleton(bgr: npt.NDArray[np.uint8], landmarks: FloatArray | None,
                  scale: float = 1.0) -> npt.NDArray[np.uint8]:
    """Draw ``landmarks`` (33, 5) in frame pixels, times ``scale``, onto ``bgr`` in place."""
    if landmarks is None or np.isnan(landmarks[0, 0]):
        return bgr
    thickness = max(2, round(min(bgr.shape[:2]) / 250))
    points = landmarks[:, :2] * scale
    visible = landmarks[:, 3] >= MIN_VISIBILITY
    for a, b in POSE_CONNECTIONS:
        if visible[a] and visible[b]:
            pa = (round(float(points[a, 0])), round(float(points[a, 1])))
            pb = (round(float(points[b, 0])), round(float(points[b, 1])))
            cv2.line(bgr, pa, pb, _side_colour(a, b), thickness, cv2.LINE_AA)
    for i in range(11, 33):
        if visible[i]:
            centre = (round(float(points[i, 0])), round(float(points[i, 1])))
            cv2.circle(bgr, centre, thickness + 1, (40, 40, 40), -1, cv2.LINE_AA)
            cv2.circle(bgr, centre, thickness, _MID, -1, cv2.LINE_AA)
    return bgr


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


class OverlayWriter:
    """Writes frames with the skeleton drawn on them to an MP4 file."""

    def __init__(self, path: str | Path, width: int, height: int, fps_nominal: float) -> None:
        self.scale = min(1.0, OVERLAY_MAX_SIDE / max(width, height))
        self.width = _even(width * self.scale)
        self.height = _even(height * self.scale)
        self._container = av.open(str(path), mode="w", format="mp4",
                                  options={"movflags": "+faststart"})
        rate = Fraction(fps_nominal).limit_denominator(1001) if fps_nominal > 0 else 30
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width = self.width
        stream.height = self.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = OVERLAY_TIME_BASE
        stream.codec_context.time_base = OVERLAY_TIME_BASE
        stream.options = {"preset": "veryfast", "crf": "23", "profile": "high",
                          "tune": "film"}
        self._stream = stream
        self._last_pts = -1

    def write(self, frame: Frame, landmarks: FloatArray | None) -> None:
        bgr = frame.to_bgr(self.width, self.height)
        draw_skeleton(bgr, landmarks, self.width / frame.width)
        video_frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        pts = max(round(frame.timestamp_s / OVERLAY_TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        video_frame.pts = pts
        video_frame.time_base = OVERLAY_TIME_BASE
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


class KeyframeWriter:
    """Saves a few frames spread over the clip, skeleton drawn, as JPEG.

    Targets are ``count`` instants evenly spread over the duration; each takes the first frame
    at or after it in which the person was found (or the frame itself, if the person is not
    found before the next target).
    """

    def __init__(self, directory: str | Path, duration_s: float | None,
                 count: int = KEYFRAME_COUNT) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        span = duration_s if duration_s and duration_s > 0 else 0.0
        self._targets = [span * (i + 0.5) / count for i in range(count)] if span else [0.0]
        self._next = 0
        self._pending: tuple[Frame, FloatArray | None] | None = None
        self.written: list[Path] = []

    def offer(self, frame: Frame, landmarks: FloatArray | None) -> None:
        while self._next < len(self._targets):
            target = self._targets[self._next]
            upcoming = (self._targets[self._next + 1] if self._next + 1 < len(self._targets)
                        else math.inf)
            if frame.timestamp_s < target:
                return
            found = landmarks is not None and not np.isnan(landmarks[0, 0])
            if found or frame.timestamp_s >= upcoming:
                if not found and self._pending is not None:
                    frame, landmarks = self._pending
                self._save(frame, landmarks)
                self._pending = None
                self._next += 1
                continue
            if self._pending is None:
                self._pending = (frame, landmarks)
            return

    def close(self) -> None:
        if self._pending is not None and self._next < len(self._targets):
            self._save(*self._pending)
        self._pending = None

    def _save(self, frame: Frame, landmarks: FloatArray | None) -> None:
        bgr = frame.to_bgr()
        draw_skeleton(bgr, landmarks)
        path = self.directory / f"keyframe_{len(self.written):02d}_{frame.timestamp_s:07.3f}s.jpg"
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        self.written.append(path)
