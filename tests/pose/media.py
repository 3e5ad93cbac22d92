"""Real clips re-encoded and re-timed by the tests (PyAV), for the pose engine's video tests."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Planes = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def source_planes(clip: Path, max_frames: int | None = None) -> Iterator[Planes]:
    """The clip's decoded Y, U, V planes (yuv420p), as stored."""
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if max_frames is not None and i >= max_frames:
                return
            frame = frame.reformat(format="yuv420p") if frame.format.name != "yuv420p" else frame
            yield tuple(  # type: ignore[misc]
                np.frombuffer(memoryview(p), np.uint8)
                .reshape(p.height, p.line_size)[:, : p.width].copy()
                for p in frame.planes
            )


def planes_to_frame(planes: Planes) -> av.VideoFrame:
    y, u, v = planes
    frame = av.VideoFrame(y.shape[1], y.shape[0], "yuv420p")
    for plane, data in zip(frame.planes, (y, u, v), strict=True):
        view = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        view[:, : plane.width] = data
    return frame


def encode(
    out: Path,
    frames: Iterator[Planes] | Sequence[Planes],
    *,
    codec: str = "libx264",
    container_format: str | None = None,
    timestamps_s: Sequence[float] | None = None,
    rate: int = 60,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode ``frames`` to ``out``; each frame at ``timestamps_s[i]`` (default i / rate)."""
    time_base = Fraction(1, 90_000)
    with av.open(str(out), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.VideoStream)
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = dict(options or {})
        first = True
        for i, planes in enumerate(frames):
            if first:
                stream.width, stream.height = planes[0].shape[1], planes[0].shape[0]
                first = False
            frame = planes_to_frame(planes)
            t = timestamps_s[i] if timestamps_s is not None else i / rate
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def rotate_planes(planes: Planes, turns: int) -> Planes:
    """Each plane turned ``turns`` x 90 degrees counter-clockwise (np.rot90)."""
    return tuple(np.ascontiguousarray(np.rot90(p, turns)) for p in planes)  # type: ignore[return-value]


def set_mp4_rotation(path: Path, degrees: int) -> None:
    """Write a display matrix for ``degrees`` into the (single) track header of an MP4/MOV.

    The matrix is what phones write: FFmpeg reads it back as the stream's display matrix, and
    players turn the stored picture by it. Done on the bytes because FFmpeg's muxers no longer
    take the old ``rotate`` metadata and PyAV cannot attach stream side data.
    """
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    assert at > 0 and data.find(b"tkhd", at + 4) < 0, "expected exactly one track header"
    version = data[at + 4]
    # after 'tkhd': version/flags 4, times+id+reserved+duration 20 (v0) or 32 (v1),
    # reserved 8, layer 2, alternate group 2, volume 2, reserved 2.
    matrix_at = at + 4 + 4 + (32 if version == 1 else 20) + 16
    radians = math.radians(degrees)
    c, s = round(math.cos(radians)), round(math.sin(radians))
    fixed = 1 << 16
    # ISO 14496-12 matrix {a, b, u, c, d, v, x, y, w}: 16.16 except u, v, w (2.30).
    values = (c * fixed, -s * fixed, 0, s * fixed, c * fixed, 0, 0, 0, 1 << 30)
    data[matrix_at: matrix_at + 36] = struct.pack(">9i", *values)
    path.write_bytes(bytes(data))
