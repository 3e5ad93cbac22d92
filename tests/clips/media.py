"""Test media made with PyAV and numpy: real-clip footage re-timed to the lengths and frame
rates the tests need, and a corpus of bad files (empty, random bytes, an image named .mp4,
text, truncated and header-only MP4s, audio only, an unknown codec, too short, too few frames
per second)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np

from tests.conftest import CLIPS_DIR

SOURCE_CLIP = CLIPS_DIR / "single_person_rear_oblique_portrait.mp4"
# Small frames keep encoding, decoding and pose fast; the person stays large in the frame.
DEFAULT_SIZE = (360, 640)


@lru_cache(maxsize=4)
def source_frames(source: Path = SOURCE_CLIP,
                  size: tuple[int, int] = DEFAULT_SIZE) -> tuple[np.ndarray, ...]:
    """Every frame of a real clip as RGB arrays of ``size`` (width, height)."""
    width, height = size
    with av.open(str(source)) as container:
        return tuple(frame.to_ndarray(width=width, height=height, format="rgb24")
                     for frame in container.decode(video=0))


def _ping_pong(frames: tuple[np.ndarray, ...]) -> Iterator[np.ndarray]:
    """Forwards, backwards, forwards...: endless footage without a jump cut."""
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    while True:
        for i in order:
            yield frames[i]


def make_clip(path: Path, *, seconds: float, fps: int = 30, size: tuple[int, int] = DEFAULT_SIZE,
              source: Path = SOURCE_CLIP, codec: str = "libx264", audio: bool = False,
              faststart: bool = False) -> Path:
    """An MP4 of real footage lasting ``seconds`` at ``fps`` frames per second."""
    frames = _ping_pong(source_frames(source, size))
    n = round(seconds * fps)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "28"}
        audio_stream = out.add_stream("aac", rate=48000) if audio else None
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(next(frames), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if audio_stream is not None:
            _write_tone(out, audio_stream, seconds)
    return path


def make_audio_only(path: Path, *, seconds: float = 5.0) -> Path:
    """An .mp4 that holds a sound track and no picture (a voice memo, say)."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        _write_tone(out, stream, seconds)
    return path


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    rate = 48000
    samples = int(seconds * rate)
    t = np.arange(samples, dtype=np.float32) / rate
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    chunk = 1024
    for start in range(0, samples, chunk):
        piece = tone[start:start + chunk]
        frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def make_png(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A real PNG image (which the test then names .mp4)."""
    rgb = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height = size
        stream.pix_fmt = "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def header_only(src: Path, dst: Path) -> Path:
    """The MP4's boxes up to and including the header ('moov'), without the media data."""
    data = src.read_bytes()
    pos, kept = 0, bytearray()
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if kind != b"mdat":
            kept += data[pos:pos + size]
        pos += size
    dst.write_bytes(bytes(kept))
    return dst


def unknown_codec(src: Path, dst: Path) -> Path:
    """The MP4 with its codec tag ('avc1') overwritten: a container no decoder can read."""
    data = src.read_bytes()
    assert b"avc1" in data
    dst.write_bytes(data.replace(b"avc1", b"zzzz"))
    return dst


def bad_corpus(directory: Path) -> dict[str, Path]:
    """name -> a file that must be refused (or fail its job) with a readable reason."""
    directory.mkdir(parents=True, exist_ok=True)
    good = make_clip(directory / "good.mp4", seconds=4, fps=30)
    good_faststart = make_clip(directory / "good_faststart.mp4", seconds=4, fps=30,
                               faststart=True)
    files = {
        "empty": directory / "empty.mp4",
        "random_bytes": directory / "random.mp4",
        "image_named_mp4": make_png(directory / "image.png").rename(directory / "image.mp4"),
        "text": directory / "notes.mp4",
        "truncated_mp4": truncate(good, directory / "truncated.mp4", 0.5),
        "truncated_faststart_mp4": truncate(good_faststart, directory / "truncated_fs.mp4", 0.5),
        "header_only_mp4": header_only(good_faststart, directory / "header_only.mp4"),
        "audio_only": make_audio_only(directory / "audio.mp4"),
        "unknown_codec": unknown_codec(good, directory / "unknown_codec.mp4"),
        "too_short": make_clip(directory / "short.mp4", seconds=1.5, fps=30),
        "low_fps": make_clip(directory / "ten_fps.mp4", seconds=5, fps=10),
    }
    files["empty"].write_bytes(b"")
    files["random_bytes"].write_bytes(np.random.default_rng(1).bytes(200_000))
    files["text"].write_text("Run tall, belt line level.\n" * 200)
    return files


def make_jpeg(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A real JPEG image."""
    rgb = np.random.default_rng(2).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


def make_empty_scene(path: Path, *, seconds: float = 3.5, fps: int = 30,
                     size: tuple[int, int] = (180, 320)) -> Path:
    """A valid video of a grey wall with sensor noise: it passes the probe, and no person is
    in it, so its analysis must fail with a reason."""
    rng = np.random.default_rng(3)
    width, height = size
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for i in range(round(seconds * fps)):
            rgb = (128 + rng.integers(-6, 6, (height, width, 3))).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path
