"""The track file: exactly the arrays the issue names, and a round trip through Track."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from backend.pose import Track
from backend.pose.track import TrackFormatError
from tests.pose.conftest import TWO_PEOPLE

TRACK_ARRAYS = {"landmarks", "world", "timestamps_s", "width", "height", "fps_nominal"}
CAMERA_ARRAYS = {"camera_motion", "camera_motion_inliers"}


def test_npz_holds_exactly_the_documented_arrays(tmp_path: Path,
                                                 track_of: Callable[..., Track]) -> None:
    # The runner is hidden in the first frames of this clip: those rows must be NaN.
    track = track_of(TWO_PEOPLE)
    path = tmp_path / "track.npz"
    track.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == TRACK_ARRAYS | CAMERA_ARRAYS
        landmarks, world, times = data["landmarks"], data["world"], data["timestamps_s"]
        motion, inliers = data["camera_motion"], data["camera_motion_inliers"]
        assert motion.dtype == np.float32 and motion.shape == (100, 2, 3)
        assert inliers.dtype == np.float32 and inliers.shape == (100,)
        # a still camera: frame 0 is the reference, everything near the identity
        np.testing.assert_array_equal(motion[0], [[1, 0, 0], [0, 1, 0]])
        np.testing.assert_allclose(motion[:, :, :2], np.broadcast_to(np.eye(2), (100, 2, 2)),
                                   atol=2e-3)
        assert np.abs(motion[:, :, 2]).max() < 3
        assert ((inliers > 0.5) & (inliers <= 1)).all()
        assert landmarks.dtype == np.float32 and landmarks.shape == (100, 33, 5)
        assert world.dtype == np.float32 and world.shape == (100, 33, 3)
        assert times.dtype == np.float64 and times.shape == (100,)
        assert int(data["width"]) == 1088 and int(data["height"]) == 1920
        assert float(data["fps_nominal"]) == pytest.approx(60.0)
        missing = np.isnan(landmarks).all(axis=(1, 2))
        assert missing[:3].all() and missing.sum() == 100 - int(track.found.sum())
        assert (np.isnan(world).all(axis=(1, 2)) == missing).all()
        assert not np.isnan(landmarks[~missing]).any()
        # x, y in pixels of the upright frame; visibility and presence in [0, 1].
        assert (landmarks[~missing][:, 11:33, 0] > -200).all()
        assert (landmarks[~missing][:, 11:33, 1] < 1920 + 200).all()
        assert ((landmarks[~missing][:, :, 3:] >= 0) & (landmarks[~missing][:, :, 3:] <= 1)).all()
        np.testing.assert_allclose(np.diff(times), 1 / 60, atol=1e-6)
    # compressed: far smaller than the raw arrays
    assert path.stat().st_size < landmarks.nbytes + world.nbytes

    loaded = Track.load(path)
    np.testing.assert_array_equal(loaded.landmarks, track.landmarks)
    np.testing.assert_array_equal(loaded.world, track.world)
    np.testing.assert_array_equal(loaded.timestamps_s, track.timestamps_s)
    assert (loaded.width, loaded.height, loaded.fps_nominal) == (1088, 1920, 60.0)
    assert loaded.camera_motion is not None and loaded.camera_motion_inliers is not None
    np.testing.assert_array_equal(loaded.camera_motion, track.camera_motion)
    np.testing.assert_array_equal(loaded.camera_motion_inliers, track.camera_motion_inliers)
    assert (loaded.found == track.found).all()
    assert loaded.duration_s == pytest.approx(99 / 60)
    assert loaded.fps_measured == pytest.approx(60.0)


def test_malformed_tracks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TrackFormatError, match=r"landmarks must have shape \(T, 33, 5\)"):
        Track(np.zeros((3, 33, 4), np.float32), np.zeros((3, 33, 3), np.float32),
              np.arange(3.0), 10, 10, 30)
    with pytest.raises(TrackFormatError, match="strictly increasing"):
        Track(np.zeros((2, 33, 5), np.float32), np.zeros((2, 33, 3), np.float32),
              np.array([1.0, 1.0]), 10, 10, 30)
    partial = tmp_path / "partial.npz"
    np.savez(partial, landmarks=np.zeros((1, 33, 5), np.float32))
    with pytest.raises(TrackFormatError, match="missing arrays"):
        Track.load(partial)
    not_npz = tmp_path / "not.npz"
    not_npz.write_text("hello")
    with pytest.raises(TrackFormatError, match="cannot read track file"):
        Track.load(not_npz)


def small_track(n: int = 4, **camera: object) -> Track:
    rng = np.random.default_rng(0)
    return Track(rng.random((n, 33, 5)).astype(np.float32),
                 rng.random((n, 33, 3)).astype(np.float32),
                 np.arange(n) / 30.0, 640, 360, 30.0, **camera)  # type: ignore[arg-type]


def test_camera_motion_round_trip_with_and_without(tmp_path: Path) -> None:
    motion = np.tile(np.array([[1, 0, 0], [0, 1, 0]], np.float32), (4, 1, 1))
    motion[1] = [[0.999, -0.035, 12.5], [0.035, 0.999, -3.25]]
    motion[2] = np.nan  # not estimable in that frame
    inliers = np.array([1.0, 0.8, np.nan, 0.95], np.float32)
    with_motion = small_track(camera_motion=motion, camera_motion_inliers=inliers)
    path = tmp_path / "with.npz"
    with_motion.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == TRACK_ARRAYS | CAMERA_ARRAYS
    loaded = Track.load(path)
    assert loaded.camera_motion is not None and loaded.camera_motion_inliers is not None
    assert loaded.camera_motion.dtype == np.float32
    np.testing.assert_array_equal(loaded.camera_motion, motion)  # NaN rows kept as NaN
    np.testing.assert_array_equal(loaded.camera_motion_inliers, inliers)

    without = small_track()
    assert without.camera_motion is None and without.camera_motion_inliers is None
    path = tmp_path / "without.npz"
    without.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == TRACK_ARRAYS
    loaded = Track.load(path)
    assert loaded.camera_motion is None and loaded.camera_motion_inliers is None
    np.testing.assert_array_equal(loaded.landmarks, without.landmarks)


def test_a_track_file_from_before_camera_motion_loads(tmp_path: Path) -> None:
    # written the way Track.save wrote files before the camera's motion was stored
    path = tmp_path / "old.npz"
    rng = np.random.default_rng(1)
    np.savez_compressed(path, landmarks=rng.random((3, 33, 5)).astype(np.float32),
                        world=rng.random((3, 33, 3)).astype(np.float32),
                        timestamps_s=np.array([0.0, 0.04, 0.08]), width=np.int64(720),
                        height=np.int64(1280), fps_nominal=np.float64(25.0))
    loaded = Track.load(path)
    assert loaded.n_frames == 3 and (loaded.width, loaded.height) == (720, 1280)
    assert loaded.camera_motion is None and loaded.camera_motion_inliers is None


def test_malformed_camera_motion_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrackFormatError, match=r"camera_motion must have shape \(T, 2, 3\)"):
        small_track(camera_motion=np.zeros((4, 3, 3), np.float32))
    with pytest.raises(TrackFormatError, match=r"camera_motion must have shape \(T, 2, 3\)"):
        small_track(camera_motion=np.zeros((3, 2, 3), np.float32))
    with pytest.raises(TrackFormatError,
                       match=r"camera_motion_inliers must have shape \(T,\)"):
        small_track(camera_motion_inliers=np.ones((4, 1), np.float32))
    with pytest.raises(TrackFormatError, match=r"fractions in \[0, 1\]"):
        small_track(camera_motion_inliers=np.array([1.0, 1.5, 0.5, np.nan], np.float32))
    # on disk too: a file whose camera arrays do not fit its frames is not a track
    path = tmp_path / "bad.npz"
    rng = np.random.default_rng(2)
    np.savez(path, landmarks=rng.random((3, 33, 5)).astype(np.float32),
             world=rng.random((3, 33, 3)).astype(np.float32),
             timestamps_s=np.array([0.0, 0.04, 0.08]), width=720, height=1280,
             fps_nominal=25.0, camera_motion=np.zeros((2, 2, 3), np.float32))
    with pytest.raises(TrackFormatError, match="camera_motion must have shape"):
        Track.load(path)
