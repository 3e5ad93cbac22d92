"""Our landmarks against MediaPipe 0.10.14's own pipeline on the same clips and model.

The reference (tests/fixtures/mediapipe_reference, made by
tests/fixtures/make_mediapipe_reference.py) is ``mediapipe.solutions.pose.Pose(
model_complexity=1, smooth_landmarks=False)`` on every frame.

Agreement is judged landmark by landmark (``Agreement`` in conftest.py): the median and 75th
percentile of the body landmarks' errors, the share within the issue's 10 % of torso length,
and the worst landmark's median error, each against a bound per clip. Not by counting whole
frames in which 95 % of the landmarks agree: on single_person_front_portrait a dozen frames'
hands jump by more than a torso length on the slightest numeric change (MediaPipe agrees with
itself on only 83 % of that clip's frames), and onnxruntime's numerics differ from one CPU to
the next (other SIMD kernels; no session option pins them), so that count moved between 81 %
and 88 % over perturbed runs on one machine and failed its 85 % on another. The measures here
move by less than half their margins under such perturbations
(``test_agreement_holds_under_numeric_perturbation``) and fail on real regressions (the
``test_*_fails`` tests); docs/pose.md, "Agreement with MediaPipe", has the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from backend.pose import Track
from backend.pose import roi as roi_module
from backend.pose.detector import PoseDetector
from backend.pose.landmarks import LandmarkModel
from backend.pose.networks import NetworkRunner, Tensor, load_networks
from backend.pose.pipeline import PoseEngine, run_pose
from tests.pose.conftest import (
    FRONT,
    FRONT_BOUNDS,
    REAR,
    REAR_BOUNDS,
    Agreement,
    AgreementBounds,
    reference,
    torso_lengths,
)

AGREEMENT = [(REAR, REAR_BOUNDS), (FRONT, FRONT_BOUNDS)]


def clip_id(value: object) -> str | None:
    return value.stem if isinstance(value, Path) else None


@pytest.mark.parametrize(("clip", "bounds"), AGREEMENT, ids=clip_id)
def test_landmarks_agree_with_mediapipe(track_of: Callable[..., Track], clip: Path,
                                        bounds: AgreementBounds) -> None:
    ref = reference(clip)
    track = track_of(clip)
    assert track.landmarks.shape == ref["landmarks"].shape
    np.testing.assert_allclose(track.timestamps_s, ref["timestamps_s"], atol=1e-6)
    agreement = Agreement.of(track.landmarks, ref["landmarks"])
    failures = bounds.failures(agreement)
    assert not failures, f"{clip.name} disagrees with MediaPipe: {'; '.join(failures)}"


@pytest.mark.parametrize("clip", [REAR, FRONT], ids=clip_id)
def test_found_where_mediapipe_finds_the_person(track_of: Callable[..., Track],
                                                clip: Path) -> None:
    ref = reference(clip)
    track = track_of(clip)
    mediapipe_found = ~np.isnan(ref["landmarks"][:, 0, 0])
    assert (track.found == mediapipe_found).all()
    assert (track.width, track.height) == (int(ref["width"]), int(ref["height"]))


@pytest.mark.parametrize("clip", [REAR, FRONT], ids=clip_id)
def test_world_landmarks_and_confidences(track_of: Callable[..., Track], clip: Path) -> None:
    ref = reference(clip)
    track = track_of(clip)
    found = track.found
    # Metric landmarks: hips around the origin, body a metre or two tall, close to MediaPipe's.
    hips = track.world[found][:, [23, 24]].mean(1)
    assert np.abs(hips).max() < 0.1
    height = np.ptp(track.world[found][:, :, 1], axis=1)
    assert ((height > 1.0) & (height < 2.5)).all()
    world_error = np.linalg.norm(track.world[found][:, 11:33] - ref["world"][found][:, 11:33],
                                 axis=2)
    assert float(np.median(world_error)) < 0.03  # metres
    # Visibility and presence are probabilities, and agree with MediaPipe's.
    confidences = track.landmarks[found][:, :, 3:5]
    assert ((confidences >= 0) & (confidences <= 1)).all()
    visibility_gap = np.abs(track.landmarks[found][:, :, 3] - ref["landmarks"][found][:, :, 3])
    assert float(np.median(visibility_gap)) < 0.02


# --- The measure itself: robust to another CPU's numerics, not blind to regressions ---------


class NoisyRunner:
    """A network whose every input gets relative Gaussian noise: another CPU's numerics,
    exaggerated (other SIMD kernels change the outputs by about 1e-6 relative)."""

    def __init__(self, runner: NetworkRunner, scale: float, seed: int) -> None:
        self._runner = runner
        self._scale = scale
        self._rng = np.random.default_rng(seed)

    def run(self, tensor: Tensor) -> dict[str, Tensor]:
        noise = self._rng.standard_normal(tensor.shape, dtype=np.float32)
        return self._runner.run(tensor * (1 + self._scale * noise))


def test_agreement_holds_under_numeric_perturbation(track_of: Callable[..., Track]) -> None:
    """The front clip, whose jumping hands made the old frame count flip, with 1e-4 relative
    noise on every network input: the tracks differ, the agreement still meets its bounds."""
    networks = load_networks()
    engine = PoseEngine(PoseDetector(NoisyRunner(networks.detector, 1e-4, seed=1)),
                        LandmarkModel(NoisyRunner(networks.landmarker, 1e-4, seed=2)))
    track = run_pose(FRONT, engine=engine)
    ref = reference(FRONT)["landmarks"]
    assert not np.array_equal(track.landmarks, track_of(FRONT).landmarks, equal_nan=True)
    failures = FRONT_BOUNDS.failures(Agreement.of(track.landmarks, ref))
    assert not failures, f"perturbed: {'; '.join(failures)}"


def shifted(landmarks: npt.NDArray[np.float32], ref: npt.NDArray[np.floating],
            share: float, torso_fraction: float) -> npt.NDArray[np.float32]:
    """A copy with every landmark of ``share`` of the frames (chosen at random, seeded) moved
    by ``torso_fraction`` of the reference's torso length in a random direction."""
    rng = np.random.default_rng(0)
    frames = rng.choice(len(landmarks), round(share * len(landmarks)), replace=False)
    angle = rng.uniform(0, 2 * np.pi, len(frames))
    step = np.stack([np.cos(angle), np.sin(angle)], 1) * (torso_fraction
                                                          * torso_lengths(ref)[frames, None])
    moved = landmarks.copy()
    moved[frames, :, :2] += step[:, None, :].astype(np.float32)
    return moved


@pytest.mark.parametrize(("clip", "bounds"), AGREEMENT, ids=clip_id)
def test_landmarks_shifted_on_a_fifth_of_the_frames_fails(
        track_of: Callable[..., Track], clip: Path, bounds: AgreementBounds) -> None:
    """5 % of torso length on 20 % of the frames: every landmark stays within the issue's 10 %,
    so a count of agreeing frames misses it; the 75th percentile does not."""
    ref = reference(clip)["landmarks"]
    agreement = Agreement.of(shifted(track_of(clip).landmarks, ref, 0.2, 0.05), ref)
    assert agreement.p75 > bounds.p75


@pytest.mark.parametrize(("clip", "bounds"), AGREEMENT, ids=clip_id)
def test_left_and_right_ankles_swapped_fails(track_of: Callable[..., Track], clip: Path,
                                             bounds: AgreementBounds) -> None:
    """One pair of landmarks out of 22 mixed up: the worst landmark's median catches it."""
    ref = reference(clip)["landmarks"]
    swapped = track_of(clip).landmarks.copy()
    swapped[:, [27, 28]] = swapped[:, [28, 27]]
    assert bounds.worst_landmark_median < Agreement.of(swapped, ref).worst_landmark_median


def test_wrong_region_fails(pose_engine: PoseEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions scaled 1.35 instead of MediaPipe's 1.25 (the person a little smaller in the
    crop): every measure fails."""
    monkeypatch.setattr(roi_module, "ROI_SCALE", 1.35)
    track = run_pose(FRONT, engine=pose_engine)
    failures = FRONT_BOUNDS.failures(Agreement.of(track.landmarks, reference(FRONT)["landmarks"]))
    assert len(failures) == 4, failures
