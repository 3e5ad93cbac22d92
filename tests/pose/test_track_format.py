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


def test_npz_holds_exactly_the_documented_arrays(tmp_path: Path,
                                                 track_of: Callable[..., Track]) -> None:
    # The runner is hidden in the first frames of this clip: those rows must be NaN.
    track = track_of(TWO_PEOPLE)
    path = tmp_path / "track.npz"
    track.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == TRACK_ARRAYS
        landmarks, world, times = data["landmarks"], data["world"], data["timestamps_s"]
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
