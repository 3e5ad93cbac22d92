"""Fixtures for the pose engine's tests: the real clips, the loaded engine, cached tracks.

Every ``run_pose`` over a real clip costs a few seconds on two cores, so each distinct run
happens once per session and the tests share its result. The models are provisioned by
``make install``; where they cannot be, the tests fail with provisioning's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from backend.pose import Track
from backend.pose.pipeline import PoseEngine, run_pose
from ml_models.provision import ProvisioningError, ensure_models

CLIPS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "clips"
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_reference"
FRONT = CLIPS_DIR / "single_person_front_portrait.mp4"
REAR = CLIPS_DIR / "single_person_rear_oblique_portrait.mp4"
TWO_PEOPLE = CLIPS_DIR / "two_people_portrait.mp4"
BODY = slice(11, 33)


def clip_path(name: str) -> Path:
    path = CLIPS_DIR / name
    assert path.is_file(), f"the shared test clip {path} is missing (see ../shared/clips)"
    return path


def reference(clip: Path) -> dict[str, npt.NDArray[np.float64]]:
    """MediaPipe 0.10.14's own landmarks for ``clip`` (tests/fixtures/mediapipe_reference)."""
    with np.load(REFERENCE_DIR / f"{clip.stem}.npz") as data:
        return {name: data[name] for name in data.files}


def torso_lengths(landmarks: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per frame, mid-shoulder to mid-hip distance in pixels."""
    shoulders = landmarks[:, [11, 12], :2].mean(1)
    hips = landmarks[:, [23, 24], :2].mean(1)
    return np.asarray(np.linalg.norm(shoulders - hips, axis=1), np.float64)


def body_errors(ours: npt.NDArray[np.floating], ref: npt.NDArray[np.floating]
                ) -> npt.NDArray[np.float64]:
    """(T, 22) distance of each body landmark (11-32) from the reference's, in the
    reference's torso lengths; NaN where either side found nobody."""
    distance = np.linalg.norm(ours[:, BODY, :2] - ref[:, BODY, :2], axis=2)
    return np.asarray(distance / torso_lengths(ref)[:, None], np.float64)


def frames_agreeing(ours: npt.NDArray[np.floating], ref: npt.NDArray[np.floating],
                    tolerance: float = 0.10, share: float = 0.95) -> float:
    """The issue's measure: over frames where the reference found the person, the fraction in
    which at least ``share`` of the body landmarks are within ``tolerance`` torso lengths."""
    errors = np.nan_to_num(body_errors(ours, ref), nan=np.inf)
    passing = (errors <= tolerance).mean(axis=1) >= share
    counted = ~np.isnan(ref[:, 0, 0])
    assert counted.any(), "the reference found nobody"
    return float(passing[counted].mean())


@pytest.fixture(scope="session")
def pose_engine() -> PoseEngine:
    try:
        ensure_models(log=lambda _message: None)
    except ProvisioningError as error:
        pytest.fail(f"The pose models could not be provisioned:\n{error}", pytrace=False)
    return PoseEngine.load()


@pytest.fixture(scope="session")
def track_of(pose_engine: PoseEngine) -> Callable[..., Track]:
    """``track_of(clip, person=None)``: run_pose once per (clip, person), then cached."""
    cache: dict[tuple[Path, tuple[float, float] | None], Track] = {}

    def get(clip: Path, person: tuple[float, float] | None = None) -> Track:
        key = (clip, person)
        if key not in cache:
            cache[key] = run_pose(clip, person=person, engine=pose_engine)
        return cache[key]

    return get
