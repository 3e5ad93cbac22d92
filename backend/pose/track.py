"""The landmark track: the pose engine's output and the gait analysis's input.

On disk it is a compressed ``.npz`` with exactly these arrays (other tools rely on them):

- ``landmarks``    float32 (T, 33, 5): x, y in pixels of the upright frame, z in the same
  scale (relative depth, hips at 0), visibility and presence in [0, 1]; a row of NaN where
  no person was found in that frame.
- ``world``        float32 (T, 33, 3): metric landmarks in metres, origin between the hips.
- ``timestamps_s`` float64 (T,): the real presentation time of each frame in seconds.
- ``width``, ``height``: size of the upright frame in pixels.
- ``fps_nominal``: the container's nominal frame rate (phones record variable frame rate,
  so use ``timestamps_s`` for anything timed).

and, in tracks made since the camera's motion is estimated (older files load with None):

- ``camera_motion``         float32 (T, 2, 3): per frame, the 2x3 similarity transform
  (rotation, uniform scale, translation; ``cv2.estimateAffinePartial2D``'s form) taking that
  frame's upright pixel coordinates (those of ``landmarks[..., :2]``) to the coordinates of
  the clip's reference frame: ``p_ref = M[:, :2] @ p + M[:, 2]``. The reference frame is
  frame 0, or the first frame in which enough background was found to estimate motion; its
  transform is the identity, as is every frame's for a still camera. NaN where the motion
  could not be estimated.
- ``camera_motion_inliers`` float32 (T,): the fraction (0..1) of the tracked background
  features that agree with that frame's transform; NaN where it is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

N_LANDMARKS = 33


class Landmark(IntEnum):
    """BlazePose landmark indices (left/right are the subject's own sides)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


# Skeleton edges for drawing overlays.
POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
    (0, 11), (0, 12),
)  # fmt: skip


class TrackFormatError(ValueError):
    """A track file that does not follow the documented format."""


@dataclass
class Track:
    """A person's pose through a clip, frame by frame, with real timestamps."""

    landmarks: npt.NDArray[np.float32]  # (T, 33, 5)
    world: npt.NDArray[np.float32]  # (T, 33, 3)
    timestamps_s: npt.NDArray[np.float64]  # (T,)
    width: int
    height: int
    fps_nominal: float
    camera_motion: npt.NDArray[np.float32] | None = None  # (T, 2, 3), frame -> reference
    camera_motion_inliers: npt.NDArray[np.float32] | None = None  # (T,)

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.world = np.asarray(self.world, dtype=np.float32)
        self.timestamps_s = np.asarray(self.timestamps_s, dtype=np.float64)
        t = self.timestamps_s.shape[0]
        if self.landmarks.shape != (t, N_LANDMARKS, 5):
            raise TrackFormatError(
                f"landmarks must have shape (T, 33, 5); got {self.landmarks.shape} for T={t}"
            )
        if self.world.shape != (t, N_LANDMARKS, 3):
            raise TrackFormatError(
                f"world must have shape (T, 33, 3); got {self.world.shape} for T={t}"
            )
        if t > 1 and not np.all(np.diff(self.timestamps_s) > 0):
            raise TrackFormatError("timestamps_s must be strictly increasing")
        if self.camera_motion is not None:
            self.camera_motion = np.asarray(self.camera_motion, dtype=np.float32)
            if self.camera_motion.shape != (t, 2, 3):
                raise TrackFormatError(
                    f"camera_motion must have shape (T, 2, 3); got {self.camera_motion.shape} "
                    f"for T={t}"
                )
        if self.camera_motion_inliers is not None:
            self.camera_motion_inliers = np.asarray(self.camera_motion_inliers,
                                                    dtype=np.float32)
            if self.camera_motion_inliers.shape != (t,):
                raise TrackFormatError(
                    "camera_motion_inliers must have shape (T,); got "
                    f"{self.camera_motion_inliers.shape} for T={t}"
                )
            known = self.camera_motion_inliers[~np.isnan(self.camera_motion_inliers)]
            if known.size and not ((known >= 0) & (known <= 1)).all():
                raise TrackFormatError("camera_motion_inliers must be fractions in [0, 1]")
        self.width = int(self.width)
        self.height = int(self.height)
        self.fps_nominal = float(self.fps_nominal)

    @property
    def n_frames(self) -> int:
        return int(self.timestamps_s.shape[0])

    @property
    def duration_s(self) -> float:
        if self.n_frames < 2:
            return 0.0
        return float(self.timestamps_s[-1] - self.timestamps_s[0])

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        """Frames in which a person was found."""
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def fps_measured(self) -> float:
        """Median frame rate from the real timestamps."""
        if self.n_frames < 2:
            return self.fps_nominal
        return float(1.0 / np.median(np.diff(self.timestamps_s)))

    @classmethod
    def empty(cls, n_frames: int, width: int, height: int, fps_nominal: float,
              timestamps_s: npt.ArrayLike) -> Track:
        """A track of ``n_frames`` frames in which nobody has been found yet."""
        return cls(
            landmarks=np.full((n_frames, N_LANDMARKS, 5), np.nan, dtype=np.float32),
            world=np.full((n_frames, N_LANDMARKS, 3), np.nan, dtype=np.float32),
            timestamps_s=np.asarray(timestamps_s, dtype=np.float64),
            width=width,
            height=height,
            fps_nominal=fps_nominal,
        )

    def save(self, path: str | Path) -> None:
        arrays: dict[str, npt.NDArray[np.generic] | np.generic] = {
            "landmarks": self.landmarks.astype(np.float32),
            "world": self.world.astype(np.float32),
            "timestamps_s": self.timestamps_s.astype(np.float64),
            "width": np.int64(self.width),
            "height": np.int64(self.height),
            "fps_nominal": np.float64(self.fps_nominal),
        }
        if self.camera_motion is not None:
            arrays["camera_motion"] = self.camera_motion.astype(np.float32)
        if self.camera_motion_inliers is not None:
            arrays["camera_motion_inliers"] = self.camera_motion_inliers.astype(np.float32)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> Track:
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = {"landmarks", "world", "timestamps_s", "width", "height",
                           "fps_nominal"} - set(data.files)
                if missing:
                    raise TrackFormatError(
                        f"{path}: not a StrideLab track, missing arrays {sorted(missing)}"
                    )
                return cls(
                    landmarks=data["landmarks"],
                    world=data["world"],
                    timestamps_s=data["timestamps_s"],
                    width=int(data["width"]),
                    height=int(data["height"]),
                    fps_nominal=float(data["fps_nominal"]),
                    camera_motion=(data["camera_motion"]
                                   if "camera_motion" in data.files else None),
                    camera_motion_inliers=(data["camera_motion_inliers"]
                                           if "camera_motion_inliers" in data.files else None),
                )
        except (OSError, ValueError) as exc:
            if isinstance(exc, TrackFormatError):
                raise
            raise TrackFormatError(f"{path}: cannot read track file: {exc}") from exc
