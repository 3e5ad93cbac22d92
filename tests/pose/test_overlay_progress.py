"""The overlay video, the key frames, and the progress callback, from one real run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from backend.pose import Track
from backend.pose.pipeline import PoseEngine, run_pose
from backend.pose.video import iter_frames
from tests.pose.conftest import FRONT


@dataclass
class Run:
    track: Track
    overlay: Path
    keyframes: Path
    progress: list[tuple[int, int | None]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pose_engine: PoseEngine) -> Run:
    out = tmp_path_factory.mktemp("overlay")
    calls: list[tuple[int, int | None]] = []
    track = run_pose(FRONT, engine=pose_engine, overlay_path=out / "overlay.mp4",
                     keyframes_dir=out / "keyframes",
                     progress=lambda done, total: calls.append((done, total)))
    return Run(track, out / "overlay.mp4", out / "keyframes", calls)


def test_overlay_is_h264_mp4_a_phone_plays(run: Run) -> None:
    with av.open(str(run.overlay)) as container:
        assert container.format.name.startswith("mov,mp4")
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.profile in {"High", "Main", "Constrained Baseline"}
        frames = list(container.decode(stream))
    assert len(frames) == run.track.n_frames
    # portrait, long side at most 1280, even sizes (4:2:0)
    assert (frames[0].width, frames[0].height) == (720, 1280)
    times = np.array([float((f.pts or 0) * (f.time_base or 0)) for f in frames])
    np.testing.assert_allclose(times - times[0], run.track.timestamps_s, atol=1e-3)
    # faststart: the index (moov) comes before the media data, so playback starts at once
    head = run.overlay.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


def test_overlay_draws_the_skeleton_where_the_landmarks_are(run: Run) -> None:
    with av.open(str(run.overlay)) as container:
        drawn = next(container.decode(video=0)).to_ndarray(format="bgr24").astype(np.int16)
    plain = next(iter_frames(FRONT)).to_bgr(720, 1280).astype(np.int16)
    changed = np.abs(drawn - plain).max(axis=2) > 60
    scale = 720 / 1080
    landmarks = run.track.landmarks[0]
    for index in (11, 12, 23, 24, 27, 28):  # shoulders, hips, ankles: a dot on each
        x, y = (landmarks[index, :2] * scale).round().astype(int)
        assert changed[y - 3: y + 4, x - 3: x + 4].any(), f"nothing drawn at landmark {index}"
    # and nothing far from the body (the top rows, above the head)
    top = int(landmarks[:, 1].min() * scale) - 40
    assert changed[:top].mean() < 0.001


def test_keyframes_are_images_of_the_clip(run: Run) -> None:
    images = sorted(run.keyframes.glob("*.jpg"))
    assert len(images) == 6
    for image in images:
        picture = cv2.imread(str(image))
        assert picture is not None and picture.shape == (1920, 1080, 3)
    seconds = [float(p.stem.rsplit("_", 1)[1].rstrip("s")) for p in images]
    assert seconds == sorted(seconds) and seconds[-1] <= run.track.timestamps_s[-1]


def test_progress_counts_up_to_the_total(run: Run) -> None:
    done = [d for d, _ in run.progress]
    assert len(done) >= 3, "progress must be reported during the run, not only at its end"
    assert done == sorted(set(done)), "progress must increase, each count reported once"
    assert run.progress[-1] == (100, 100)
    assert all(total in (100, None) for _, total in run.progress)
