"""Hostile video files, made here: each is small on disk and built to cost a careless server
memory or time (huge frames, hours of frames, a header that lies, hundreds of tracks, an image
that is also a video)."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.clips.media import make_clip, make_jpeg


def repeated_frames(path: Path, *, size: tuple[int, int], seconds: float, fps: int = 30) -> Path:
    """A clip of ``seconds`` at ``fps`` whose frames repeat one still picture: a key frame, then
    empty P frames of a few bytes each (hours of video in a few MB)."""
    src = path.with_suffix(".src.mp4")
    width, height = size
    with av.open(str(src), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "bframes": "0"}
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for i in range(2):
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with av.open(str(src)) as source:
        template = source.streams.video[0]
        key, skip = (bytes(p) for p in list(source.demux(template)) if p.size)
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream_from_template(template)
            for i in range(round(seconds * fps)):
                packet = av.Packet(key if i == 0 else skip)
                packet.pts = packet.dts = i
                packet.time_base = Fraction(1, fps)
                packet.stream = stream
                packet.is_keyframe = i == 0
                out.mux(packet)
    src.unlink()
    return path


def lying_duration(path: Path, *, claimed_s: float = 10.0) -> Path:
    """``path`` rewritten so that its movie, track and media headers claim ``claimed_s``."""
    data = bytearray(path.read_bytes())
    for box, duration_at, scaled in ((b"mvhd", 20, True), (b"mdhd", 20, True),
                                     (b"tkhd", 24, False)):
        i = data.find(box)
        while i >= 0:
            if data[i + 4] == 0:  # version 0: 32-bit fields
                timescale = struct.unpack(">I", data[i + 16:i + 20])[0] if scaled else 1000
                struct.pack_into(">I", data, i + duration_at, int(claimed_s * timescale))
            i = data.find(box, i + 4)
    out = path.with_name(path.stem + "-lying.mp4")
    out.write_bytes(bytes(data))
    return out


def many_tracks(path: Path, *, tracks: int = 900) -> Path:
    """A Matroska clip with one picture and ``tracks`` sound tracks (PyAV's Matroska muxer
    stops short of a thousand)."""
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        for _ in range(tracks):
            out.add_stream("pcm_s16le", rate=8000)
        for i in range(120):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode())
    return path


def image_and_video(path: Path, work: Path) -> Path:
    """A JPEG picture with a whole MP4 clip appended: image viewers show the picture, and the
    bytes of a valid video follow."""
    picture = make_jpeg(work / "picture.jpg")
    clip = make_clip(work / "inner.mp4", seconds=4.0, size=(90, 160))
    path.write_bytes(picture.read_bytes() + clip.read_bytes())
    return path
