"""Is this upload a clip we can analyse? Probed with PyAV before anything is queued.

The probe reads the container and every packet of the video stream (no decoding, so a 90 s
clip takes well under a second), decodes the first frames, and measures the real duration and
frame rate from the packet timestamps (phones record at a variable frame rate). Every refusal
says what is wrong and how to film again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import av.error

from backend.core.errors import InvalidInputError

# Decoders of still pictures: a photo renamed .mp4 opens as a one-frame "video".
_IMAGE_CODECS = frozenset({
    "png", "apng", "mjpeg", "jpeg2000", "bmp", "gif", "tiff", "webp", "qoi", "pgm", "ppm",
    "pbm", "pam", "targa", "sgi", "xbm", "xwd", "pcx", "dds", "hdr", "jpegls", "exr", "jpegxl",
})
_DECODE_CHECK_FRAMES = 3
# A phone clip: one picture, one or two sound tracks, perhaps metadata tracks.
MAX_STREAMS = 16
# 4K with a margin (4096 x 2304 fits); an 8K or a forged 40000 x 40000 frame does not.
MAX_FRAME_PIXELS = 4096 * 2304
# Frames per second no camera exceeds (the fastest phone slow motion is 960).
MAX_CAPTURE_FPS = 1000
# Formats phones and cameras write; anything else that decodes is accepted but kept as is.
_EXTENSIONS = {"matroska": ".mkv", "webm": ".webm", "avi": ".avi"}
_CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
                  ".webm": "video/webm", ".avi": "video/x-msvideo", ".3gp": "video/3gpp"}

FILM_AGAIN = ("Film 10-20 s of steady running with the phone's camera app (30 or 60 frames per "
              "second, whole body in frame) and upload that file.")


class UnusableClipError(InvalidInputError):
    """The upload is not a clip we can analyse; ``code`` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class ProbeResult:
    container: str
    extension: str
    content_type: str
    codec: str
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    rotation: int
    has_audio: bool
    created_at: datetime | None


def probe_clip(path: Path, *, min_duration_s: float, max_duration_s: float,
               min_fps: float) -> ProbeResult:
    """Measure the clip at ``path`` or raise :class:`UnusableClipError` saying why not."""
    size = path.stat().st_size
    if size == 0:
        raise UnusableClipError(
            "empty_file", "The file is empty (0 bytes): nothing of the clip arrived. "
            "Pick the clip again and upload it once more.")
    with path.open("rb") as handle:
        head = handle.read(12)
    try:
        # max_pixels: FFmpeg decodes a frame to learn the streams' parameters; a forged
        # frame size must not become a huge allocation before the size check below. (One
        # dict of codec options per stream; PyAV's stubs say strings.)
        size_cap: Any = [{"max_pixels": str(MAX_FRAME_PIXELS)}] * MAX_STREAMS
        container = av.open(str(path), metadata_errors="ignore", stream_options=size_cap)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
            raise UnusableClipError(
                "damaged_file", "The file looks like an MP4/MOV video but is damaged or "
                "incomplete (the upload may have been cut off, or the phone stopped recording "
                f"abruptly), so it cannot be read. Upload the original clip again. {FILM_AGAIN}"
            ) from exc
        raise UnusableClipError(
            "not_a_video", "This file is not a video (it is not in a format a phone camera "
            f"records, such as MP4 or MOV). {FILM_AGAIN}") from exc
    with container:
        try:
            return _probe_open(container, min_duration_s=min_duration_s,
                               max_duration_s=max_duration_s, min_fps=min_fps)
        except UnusableClipError:
            raise
        except Exception as exc:
            # The file is the user's, not ours: whatever a damaged or odd file makes PyAV or
            # the measuring do, it is a refused upload (4xx), never a server error.
            raise _damaged("it cannot be read as a video") from exc


def _probe_open(container: av.container.InputContainer, *, min_duration_s: float,
                max_duration_s: float, min_fps: float) -> ProbeResult:
    if len(container.streams) > MAX_STREAMS:
        raise UnusableClipError(
            "too_many_streams", f"The file holds {len(container.streams)} tracks; a phone "
            f"clip has a picture and a sound track or two (at most {MAX_STREAMS}). Upload the "
            f"clip as the camera app saved it. {FILM_AGAIN}")
    videos = list(container.streams.video)
    has_audio = bool(container.streams.audio)
    if not videos:
        if has_audio:
            raise UnusableClipError(
                "audio_only", "This file holds only sound, no picture (a voice memo or a "
                f"music file?). {FILM_AGAIN}")
        raise UnusableClipError("not_a_video", f"This file holds no video. {FILM_AGAIN}")
    stream = videos[0]
    # An unknown codec tag (or a corrupted one) leaves PyAV without a codec context.
    if stream.codec_context is None or not stream.codec_context.name:
        raise UnusableClipError(
            "unsupported_codec", "The video is encoded in a format we cannot decode (an "
            "unknown or damaged codec). Phones record H.264 or HEVC: upload the clip as the "
            f"camera app saved it, without converting it. {FILM_AGAIN}")
    codec = stream.codec_context.name
    fmt = container.format.name
    if codec in _IMAGE_CODECS or fmt.endswith("_pipe") or fmt == "image2":
        raise UnusableClipError(
            "not_a_video", f"This is a still picture ({codec.upper()}), not a video. "
            f"{FILM_AGAIN}")

    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if width * height > MAX_FRAME_PIXELS:
        # Checked before a frame is decoded: a frame this size is memory, not information.
        raise UnusableClipError(
            "frame_too_large", f"The video is {width} x {height} pixels; at most 4K (3840 x "
            "2160) is accepted, and 1080p is plenty to see running form. Set the camera to "
            f"1080p or 4K and film again. {FILM_AGAIN}")

    # Reject hours-long files from the container's own duration before reading them through.
    if container.duration is not None and container.duration / 1e6 > max_duration_s * 2:
        _too_long(container.duration / 1e6, max_duration_s)

    time_base = stream.time_base
    if time_base is None:
        raise UnusableClipError("damaged_file", "The video stream has no timing information. "
                                f"{FILM_AGAIN}")
    stamps: list[int] = []
    decoded = 0
    decoder_ok = True
    # A container may understate its duration: the frames themselves are counted, and the
    # reading stops as soon as they run past the limit (or more frames than any camera films
    # in that time), so a tiny file of hours of frames costs milliseconds, not minutes.
    max_frames = int(max_duration_s * MAX_CAPTURE_FPS)
    first = last = None
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is not None:
                stamps.append(stamp)
                first = stamp if first is None else min(first, stamp)
                last = stamp if last is None else max(last, stamp)
                if len(stamps) > max_frames or (len(stamps) % 64 == 0 and float(
                        (last - first) * time_base) > max_duration_s * 1.05):
                    _too_long(float((last - first) * time_base), max_duration_s,
                              read_through=False)
            if decoded < _DECODE_CHECK_FRAMES and decoder_ok:
                try:
                    decoded += len(stream.codec_context.decode(packet))
                except av.error.FFmpegError:
                    decoder_ok = False
    except av.error.FFmpegError as exc:
        raise _damaged("the video data cannot be read to the end") from exc
    if not stamps:
        raise _damaged("it holds no video frames (only the header arrived)")
    if decoded == 0:
        # Frames may sit in the decoder's delay buffer: drain it.
        try:
            decoded += len(stream.codec_context.decode(None))
        except av.error.FFmpegError:
            decoder_ok = False
    if decoded == 0:
        raise _damaged("its first frames cannot be decoded")
    declared = stream.frames or 0
    if declared and len(stamps) < 0.95 * declared:
        raise _damaged(f"it ends early: {len(stamps)} of {declared} frames are there "
                       "(the upload was probably cut off)")

    stamps.sort()
    count = len(stamps)
    span = float((stamps[-1] - stamps[0]) * time_base)
    fps = (count - 1) / span if count > 1 and span > 0 else 0.0
    duration = span + (1.0 / fps if fps > 0 else 0.0)
    if duration < min_duration_s:
        raise UnusableClipError(
            "too_short", f"The clip is {duration:.1f} s long; at least {min_duration_s:g} s of "
            f"running are needed to see several strides. {FILM_AGAIN}")
    if duration > max_duration_s:
        _too_long(duration, max_duration_s)
    if fps < min_fps:
        raise UnusableClipError(
            "frame_rate_too_low", f"The clip has {fps:.0f} frames per second; at least "
            f"{min_fps:g} are needed to time each foot strike. Set the camera to 30 or 60 fps "
            "(60 is best; slow motion works too) and film again.")

    if fmt.startswith("mov,mp4"):
        brand = container.metadata.get("major_brand", "").strip()
        extension = ".mov" if brand == "qt" else ".mp4"
    else:
        extension = _EXTENSIONS.get(fmt.split(",")[0], ".video")
    return ProbeResult(
        container=fmt[:64], extension=extension,
        content_type=_CONTENT_TYPES.get(extension, "application/octet-stream"),
        codec=codec[:32], duration_s=round(duration, 3), fps=round(fps, 3), frame_count=count,
        width=int(stream.codec_context.width or 0), height=int(stream.codec_context.height or 0),
        rotation=_rotation(stream), has_audio=has_audio,
        created_at=_creation_time(container.metadata, stream.metadata))


def _too_long(duration: float, limit: float, *, read_through: bool = True) -> None:
    length = (f"The clip is {duration:.0f} s long" if read_through else
              f"The clip runs on past {duration:.0f} s (whatever its header says)")
    raise UnusableClipError(
        "too_long", f"{length}; the limit is {limit:g} s. Trim it to 10-20 s of steady running "
        "in the phone's editor, or film again.")


def _damaged(why: str) -> UnusableClipError:
    return UnusableClipError(
        "damaged_file", f"The video file is damaged: {why}. Upload the original clip again; "
        f"if it is refused again, film a new one. {FILM_AGAIN}")


def _rotation(stream: av.VideoStream) -> int:
    try:
        matrix = stream.side_data.get("DISPLAYMATRIX") if hasattr(stream, "side_data") else None
    except Exception:  # side data differs between PyAV versions; rotation is informative only
        matrix = None
    if isinstance(matrix, int | float):
        return round(float(matrix)) % 360
    rotate = stream.metadata.get("rotate")
    try:
        return int(rotate) % 360 if rotate is not None else 0
    except ValueError:
        return 0


def _creation_time(*metadatas: dict[str, str]) -> datetime | None:
    for metadata in metadatas:
        raw = metadata.get("creation_time")
        if not raw:
            continue
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            continue
        if value.year < 2000:  # cameras without a clock write 1970 or 1904
            continue
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
