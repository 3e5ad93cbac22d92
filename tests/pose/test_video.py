"""Video input: rotation metadata, codecs and containers, real timestamps, unreadable files.

Every clip here is made by the test from a real one (../shared/clips) with PyAV.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

import backend.pose
from backend.pose import Track, VideoError, pipeline
from backend.pose.pipeline import PoseEngine, run_pose
from backend.pose.video import iter_frames, open_video
from tests.pose.conftest import FRONT, REAR, body_errors, frames_agreeing, reference
from tests.pose.media import Planes, encode, rotate_planes, set_mp4_rotation, source_planes

ROTATION_FRAMES = 60


def small_planes(clip: Path, count: int, width: int = 272, height: int = 480) -> list[Planes]:
    """The first ``count`` frames of ``clip``, scaled down so that slow encoders stay fast."""
    out = []
    for y, u, v in source_planes(clip, count):
        def scaled(plane: npt.NDArray[np.uint8], w: int, h: int) -> npt.NDArray[np.uint8]:
            return np.asarray(cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA), np.uint8)

        out.append((scaled(y, width, height), scaled(u, width // 2, height // 2),
                    scaled(v, width // 2, height // 2)))
    return out


@pytest.fixture(scope="module")
def rear_planes() -> list[Planes]:
    return list(source_planes(REAR, ROTATION_FRAMES))


@pytest.mark.parametrize("degrees", [90, 270])
def test_rotation_metadata_gives_the_same_upright_landmarks(
        tmp_path: Path, pose_engine: PoseEngine, track_of: Callable[..., Track],
        rear_planes: list[Planes], degrees: int) -> None:
    # A phone stores the sensor's picture and the turn that makes it upright: store each frame
    # turned back by ``degrees`` (losslessly), and say ``degrees`` in the display matrix.
    clip = encode(tmp_path / f"rotated_{degrees}.mp4",
                  [rotate_planes(p, -degrees // 90) for p in rear_planes],
                  options={"qp": "0", "preset": "ultrafast"})
    set_mp4_rotation(clip, degrees)
    info = open_video(clip)
    assert info.rotation == degrees
    assert (info.coded_width, info.coded_height) == (1920, 1088)
    assert (info.width, info.height) == (1088, 1920)

    rotated = run_pose(clip, engine=pose_engine)
    upright = track_of(REAR)  # tracking is causal: its first frames are a run on them alone
    assert (rotated.width, rotated.height) == (upright.width, upright.height)
    assert rotated.found.all()
    expected = upright.landmarks[:ROTATION_FRAMES]
    np.testing.assert_allclose(rotated.timestamps_s, upright.timestamps_s[:ROTATION_FRAMES],
                               atol=1e-6)
    # The same landmarks up to OpenCV's fixed-point interpolation, which rounds differently
    # along turned axes (crops differ by about 1/255): a fraction of a pixel.
    errors = body_errors(rotated.landmarks, expected)
    assert float(np.median(errors)) < 0.003, float(np.median(errors))
    assert frames_agreeing(rotated.landmarks, expected) == 1.0


CODECS = [
    ("libx264", "mp4", "h264"),
    ("libx264", "mov", "h264"),
    ("libx265", "mp4", "hevc"),
    ("libx265", "mov", "hevc"),
    ("libvpx-vp9", "webm", "vp9"),
    ("libvpx-vp9", "mp4", "vp9"),
]
FAST = {
    "libx264": {"preset": "ultrafast", "crf": "18"},
    "libx265": {"preset": "ultrafast", "crf": "18", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"},
}


@pytest.mark.parametrize(("encoder", "suffix", "codec"), CODECS,
                         ids=[f"{c}-{s}" for _, s, c in CODECS])
def test_codecs_and_containers_decode_upright_with_timestamps(
        tmp_path: Path, encoder: str, suffix: str, codec: str) -> None:
    frames = small_planes(FRONT, 24)
    clip = encode(tmp_path / f"clip.{suffix}", frames, codec=encoder, options=FAST[encoder])
    if suffix != "webm":  # phones write the turn in MP4 and MOV; WebM has no display matrix
        set_mp4_rotation(clip, 90)
        # the stored picture must then be the upright one turned back
        clip.unlink()
        clip = encode(tmp_path / f"clip.{suffix}", [rotate_planes(p, -1) for p in frames],
                      codec=encoder, options=FAST[encoder])
        set_mp4_rotation(clip, 90)
    info = open_video(clip)
    assert info.codec == codec
    assert (info.width, info.height) == (272, 480)
    decoded = list(iter_frames(clip))
    assert len(decoded) == len(frames)
    # WebM (Matroska) stores times in whole milliseconds; MP4 and MOV at 1/90000 s here.
    precision = 5e-4 if suffix == "webm" else 1e-4
    np.testing.assert_allclose([f.timestamp_s for f in decoded],
                               np.arange(len(frames)) / 60, atol=precision)
    for frame, (y, _, _) in zip(decoded, frames, strict=True):
        assert (frame.width, frame.height) == (272, 480)
        upright_y = frame.warp(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (272, 480), (0.0, 255.0),
                               replicate_border=True)
        # luma of the upright RGB against the source's: lossy, but the same picture
        luma = upright_y @ np.array([0.299, 0.587, 0.114], np.float32)
        expected = (y.astype(np.float32) - 16) * 255 / 219
        assert float(np.abs(luma - expected).mean()) < 4.0


def test_variable_frame_rate_keeps_real_timestamps(tmp_path: Path, pose_engine: PoseEngine) -> None:
    frames = small_planes(FRONT, 40, 544, 960)
    rng = np.random.default_rng(7)
    # A phone's variable frame rate: intervals from 1/240 s to 1/20 s.
    times = np.concatenate([[0.0], np.cumsum(rng.uniform(1 / 240, 1 / 20, len(frames) - 1))])
    times = np.round(times * 90_000) / 90_000
    clip = encode(tmp_path / "vfr.mp4", frames, timestamps_s=list(times),
                  options={"preset": "ultrafast", "crf": "18"})
    track = run_pose(clip, engine=pose_engine)
    np.testing.assert_allclose(track.timestamps_s, times, atol=1e-4)
    assert track.found.all()
    assert (track.width, track.height) == (544, 960)
    # The person is where MediaPipe saw them in the full-size clip, scaled.
    ref = reference(FRONT)["landmarks"][: len(frames)].copy()
    ref[:, :, :2] *= np.array([544 / 1080, 960 / 1920])
    assert float(np.median(body_errors(track.landmarks, ref))) < 0.05


def test_slow_motion_timestamps_are_in_seconds(tmp_path: Path) -> None:
    frames = small_planes(FRONT, 30)
    clip = encode(tmp_path / "slowmo.mov", frames, rate=120,
                  options={"preset": "ultrafast", "crf": "18"})
    info = open_video(clip)
    assert info.fps_nominal == pytest.approx(120, rel=1e-3)
    times = [f.timestamp_s for f in iter_frames(clip)]
    np.testing.assert_allclose(times, np.arange(30) / 120, atol=1e-4)


def make_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44_100)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44_100
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, np.uint8).tobytes())
    elif kind == "text":
        path.write_text("This is a note, not a video.\n" * 100)
    elif kind == "truncated":
        data = FRONT.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "audio_only":
        make_audio_only(path.with_suffix(".m4a")).rename(path)
    elif kind == "missing":
        pass
    elif kind == "directory":
        path.mkdir()
    return path


BAD = {
    "empty": "not a video file that can be read",
    "random": "not a video file that can be read",
    "text": "not a video file that can be read",
    "truncated": "the file is truncated",
    "audio_only": "no video stream",
    "missing": "no such file",
    "directory": "is a directory",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_unreadable_files_raise_a_clear_video_error(tmp_path: Path, kind: str) -> None:
    path = bad_file(tmp_path, kind)
    with pytest.raises(VideoError, match=BAD[kind]) as caught:
        backend.pose.run_pose(path)  # the public entry point
    assert path.name in str(caught.value)


def test_clip_without_anyone_gives_an_all_nan_track(tmp_path: Path,
                                                     pose_engine: PoseEngine) -> None:
    # The first frames of a real clip, with the picture replaced by a blank wall.
    frames = [(np.full_like(y, 120), np.full_like(u, 128), np.full_like(v, 128))
              for y, u, v in small_planes(FRONT, 12)]
    track = run_pose(encode(tmp_path / "empty_room.mp4", frames,
                            options={"preset": "ultrafast"}), engine=pose_engine)
    assert track.n_frames == 12 and not track.found.any()
    assert np.isnan(track.landmarks).all() and np.isnan(track.world).all()
    np.testing.assert_allclose(track.timestamps_s, np.arange(12) / 60, atol=1e-4)


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (16, 0)])
def test_decoding_threads_follow_the_usable_cores(monkeypatch: pytest.MonkeyPatch, cores: int,
                                                  threads: int) -> None:
    monkeypatch.setattr(pipeline, "usable_cores", lambda: cores)
    assert pipeline.decoder_threads() == threads


def test_one_decoding_thread_decodes_the_same_frames() -> None:
    """One decoding thread (faster on two cores, bench/pose_speed.py) gives the frames and
    times FFmpeg's own choice of threads gives."""
    def fingerprints(threads: int) -> list[tuple[float, str]]:
        return [(f.timestamp_s, hashlib.sha256(b"".join(
                    np.ascontiguousarray(p).tobytes() for p in (f.y, f.u, f.v))).hexdigest())
                for f in iter_frames(FRONT, decoder_threads=threads)]

    one, auto = fingerprints(1), fingerprints(0)
    assert len(one) > 50
    assert one == auto
