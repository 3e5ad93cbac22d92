"""Fixtures for the pose engine's tests: the real clips, the loaded engine, cached tracks.

Every ``run_pose`` over a real clip costs a few seconds on two cores, so each distinct run
happens once per session and the tests share its result. The models are provisioned by
``make install``; where they cannot be, the tests fail with provisioning's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    which at least ``share`` of the body landmarks are within ``tolerance`` torso lengths.

    For two runs of our own pipeline on one machine (test_video.py). Against MediaPipe it is
    too coarse to assert: one frame more or less with a jumping hand moves it by a whole
    percent, so another CPU's numerics flip it (:class:`Agreement` instead)."""
    errors = np.nan_to_num(body_errors(ours, ref), nan=np.inf)
    passing = (errors <= tolerance).mean(axis=1) >= share
    counted = ~np.isnan(ref[:, 0, 0])
    assert counted.any(), "the reference found nobody"
    return float(passing[counted].mean())


@dataclass(frozen=True)
class Agreement:
    """How closely a track's body landmarks (11-32) follow MediaPipe's, over the frames where
    MediaPipe found the person; distances in MediaPipe's torso lengths, a landmark we did not
    find counting as infinitely far. Every figure pools over hundreds of landmark-frames or
    takes a median, so one frame more or less with a jumping hand (numerics of another CPU)
    moves it by little: see docs/pose.md, "Agreement with MediaPipe"."""

    median: float  # median error over all body landmark-frames
    p75: float  # 75th percentile of the same errors
    within_10pct: float  # share of body landmark-frames within 10 % of torso length
    worst_landmark_median: float  # the largest of the 22 landmarks' median errors

    @classmethod
    def of(cls, ours: npt.NDArray[np.floating], ref: npt.NDArray[np.floating]) -> Agreement:
        counted = ~np.isnan(ref[:, 0, 0])
        assert counted.any(), "the reference found nobody"
        errors = np.nan_to_num(body_errors(ours, ref)[counted], nan=np.inf)
        # "higher": no interpolation between two errors, so an infinite one cannot give NaN.
        return cls(
            median=float(np.quantile(errors, 0.5, method="higher")),
            p75=float(np.quantile(errors, 0.75, method="higher")),
            within_10pct=float((errors <= 0.10).mean()),
            worst_landmark_median=float(np.quantile(errors, 0.5, axis=0,
                                                    method="higher").max()),
        )


@dataclass(frozen=True)
class AgreementBounds:
    """The bounds a clip's :class:`Agreement` must meet (docs/pose.md: the measured values,
    their spread under numeric perturbation, and the regressions each bound catches)."""

    median: float
    p75: float
    within_10pct: float
    worst_landmark_median: float

    def failures(self, agreement: Agreement) -> list[str]:
        """What falls outside the bounds, readably; empty when ``agreement`` meets them."""
        failed = []
        if not agreement.median <= self.median:
            failed.append(f"median error {agreement.median:.2%} of torso > {self.median:.2%}")
        if not agreement.p75 <= self.p75:
            failed.append(f"75th percentile error {agreement.p75:.2%} of torso > {self.p75:.2%}")
        if not agreement.within_10pct >= self.within_10pct:
            failed.append(f"only {agreement.within_10pct:.1%} of body landmark-frames within "
                          f"10 % of torso < {self.within_10pct:.1%}")
        if not agreement.worst_landmark_median <= self.worst_landmark_median:
            failed.append(f"a landmark's median error {agreement.worst_landmark_median:.2%} of "
                          f"torso > {self.worst_landmark_median:.2%}")
        return failed


# Set from 40 numerically perturbed runs of each clip (docs/pose.md, "Agreement with
# MediaPipe"): each bound lies beyond the worst perturbed value by at least twice the spread
# of all of them; the regressions listed there show what each clip's bounds catch.
REAR_BOUNDS = AgreementBounds(median=0.009, p75=0.016, within_10pct=0.98,
                              worst_landmark_median=0.024)
FRONT_BOUNDS = AgreementBounds(median=0.0105, p75=0.023, within_10pct=0.86,
                               worst_landmark_median=0.025)
# two_people_portrait followed at the woman MediaPipe follows (test_selection.py).
WOMAN_BOUNDS = AgreementBounds(median=0.015, p75=0.030, within_10pct=0.955,
                               worst_landmark_median=0.060)


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
