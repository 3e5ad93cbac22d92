"""Video decoding with PyAV: upright geometry, real timestamps, crops straight from YUV.

Phones store frames as the sensor sees them and put the rotation in the container's display
matrix; every coordinate this module hands out is in the *upright* frame (the frame a player
shows). Frames are never rotated or converted to RGB as a whole: the networks need only a
224x224 letterbox and a 256x256 crop, so :meth:`Frame.warp` samples those straight from the
decoded Y, U and V planes with one affine warp each (rotation folded into the affine) and
converts only the small crop to RGB. On 1080p that saves the full-frame YUV->RGB conversion,
which costs as much as decoding itself.

Timestamps are the frames' presentation times in seconds from the stream's start: phones record
variable frame rate and slow motion, so nothing downstream may assume a constant rate.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.error
import cv2
import numpy as np
import numpy.typing as npt

from backend.pose.errors import VideoError

Affine = npt.NDArray[np.float64]  # 2x3: maps destination pixel (x, y, 1) to source pixel
FloatImage = npt.NDArray[np.float32]
ByteImage = npt.NDArray[np.uint8]

# FFmpeg's AVColorSpace / AVColorRange values that change the YUV->RGB matrix.
_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_BT2020 = (9, 10)
_AVCOL_RANGE_JPEG = 2
_FULL_RANGE_FORMATS = frozenset({"yuvj420p"})
_NATIVE_FORMATS = frozenset({"yuv420p", "yuvj420p"})


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, as far as the pose engine cares."""

    path: Path
    container: str
    codec: str
    width: int  # upright frame, after the display rotation
    height: int
    coded_width: int  # as stored in the stream
    coded_height: int
    rotation: int  # display rotation, degrees counter-clockwise, one of 0, 90, 180, 270
    fps_nominal: float
    duration_s: float | None
    frame_count: int | None  # from the container; an estimate for some formats, else None
    pixel_format: str


def _kr_kb(colorspace: int) -> tuple[float, float]:
    if colorspace == _AVCOL_SPC_BT709:
        return 0.2126, 0.0722
    if colorspace in _AVCOL_SPC_BT2020:
        return 0.2627, 0.0593
    return 0.299, 0.114  # BT.601, also FFmpeg's choice for unspecified


def yuv_to_rgb_matrix(colorspace: int, full_range: bool) -> npt.NDArray[np.float64]:
    """3x4 matrix taking (Y, Cb, Cr, 1) in 0..255 code values to (R, G, B) in 0..255."""
    kr, kb = _kr_kb(colorspace)
    kg = 1.0 - kr - kb
    if full_range:
        y_scale, y_offset, c_scale = 1.0, 0.0, 1.0
    else:
        y_scale, y_offset, c_scale = 255.0 / 219.0, 16.0, 255.0 / 224.0
    cr_r = 2.0 * (1.0 - kr) * c_scale
    cb_b = 2.0 * (1.0 - kb) * c_scale
    cr_g = -2.0 * kr * (1.0 - kr) / kg * c_scale
    cb_g = -2.0 * kb * (1.0 - kb) / kg * c_scale
    m = np.array([[y_scale, 0.0, cr_r], [y_scale, cb_g, cr_g], [y_scale, cb_b, 0.0]])
    offset = -m @ np.array([y_offset, 128.0, 128.0])
    return np.hstack([m, offset[:, None]])


def rotation_affine(rotation: int, coded_width: int, coded_height: int) -> Affine:
    """2x3 map from upright pixel coordinates to stored pixel coordinates.

    ``rotation`` is the display rotation, counter-clockwise: upright = ``np.rot90(stored, k)``
    with ``k = rotation / 90``. Pixel centres are at integer coordinates on both sides.
    """
    w1, h1 = coded_width - 1, coded_height - 1
    k = (rotation // 90) % 4
    if k == 0:
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if k == 1:  # x_s = W-1-y_u, y_s = x_u
        return np.array([[0.0, -1.0, w1], [1.0, 0.0, 0.0]])
    if k == 2:
        return np.array([[-1.0, 0.0, w1], [0.0, -1.0, h1]])
    return np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, h1]])  # k == 3: x_s = y_u, y_s = H-1-x_u


def compose(outer: Affine, inner: Affine) -> Affine:
    """``outer`` after ``inner``, both 2x3."""
    a = np.vstack([outer, [0.0, 0.0, 1.0]])
    b = np.vstack([inner, [0.0, 0.0, 1.0]])
    return (a @ b)[:2]


# Luma pixel centre -> chroma pixel centre for 4:2:0 with centred chroma siting.
_LUMA_TO_CHROMA: Affine = np.array([[0.5, 0.0, -0.25], [0.0, 0.5, -0.25]])


def _plane(frame: av.VideoFrame, index: int) -> ByteImage:
    plane = frame.planes[index]
    buffer = np.frombuffer(memoryview(plane), np.uint8)
    return buffer.reshape(plane.height, plane.line_size)[:, : plane.width]


class Frame:
    """One decoded frame: its real timestamp and its YUV planes, sampled upright on demand."""

    __slots__ = ("_av", "_black_y", "_rgb_matrix", "_rotation_affine", "index", "rotation",
                 "timestamp_s", "u", "v", "y")

    def __init__(self, av_frame: av.VideoFrame, index: int, timestamp_s: float,
                 rotation: int) -> None:
        fmt = av_frame.format.name
        full_range = fmt in _FULL_RANGE_FORMATS or av_frame.color_range == _AVCOL_RANGE_JPEG
        if fmt not in _NATIVE_FORMATS:
            # 10-bit HEVC, 4:2:2, NV12...: one conversion to 8-bit 4:2:0, still no RGB.
            av_frame = av_frame.reformat(format="yuv420p")
        self._av = av_frame  # keeps the plane buffers alive
        self.index = index
        self.timestamp_s = timestamp_s
        self.rotation = rotation
        self.y = _plane(av_frame, 0)
        self.u = _plane(av_frame, 1)
        self.v = _plane(av_frame, 2)
        self._rgb_matrix = yuv_to_rgb_matrix(int(av_frame.colorspace or 0), full_range)
        self._black_y = 0.0 if full_range else 16.0
        self._rotation_affine = rotation_affine(rotation, self.y.shape[1], self.y.shape[0])

    @property
    def width(self) -> int:
        """Upright width."""
        return int(self.y.shape[0] if self.rotation % 180 else self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[1] if self.rotation % 180 else self.y.shape[0])

    def warp(self, affine: Affine, size: tuple[int, int], value_range: tuple[float, float],
             *, replicate_border: bool) -> FloatImage:
        """An RGB float32 image of ``size`` (w, h) sampled at ``affine`` (dst -> upright src).

        Values are scaled from 0..255 to ``value_range``. Outside the frame the border is
        replicated, or black (as MediaPipe's BORDER_ZERO) when ``replicate_border`` is false.
        """
        to_stored = compose(self._rotation_affine, affine)
        to_chroma = compose(_LUMA_TO_CHROMA, to_stored)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        border = cv2.BORDER_REPLICATE if replicate_border else cv2.BORDER_CONSTANT
        # Black in YUV, so that a constant border converts to RGB 0 like MediaPipe's.
        y = cv2.warpAffine(self.y, to_stored, size, flags=flags, borderMode=border,
                           borderValue=(self._black_y,))
        u = cv2.warpAffine(self.u, to_chroma, size, flags=flags, borderMode=border,
                           borderValue=(128.0,))
        v = cv2.warpAffine(self.v, to_chroma, size, flags=flags, borderMode=border,
                           borderValue=(128.0,))
        yuv = cv2.merge([y, u, v]).astype(np.float32)
        lo, hi = value_range
        scale = (hi - lo) / 255.0
        matrix = self._rgb_matrix * scale
        matrix[:, 3] += lo
        rgb = cv2.transform(yuv, matrix.astype(np.float32))
        np.clip(rgb, lo, hi, out=rgb)
        return np.asarray(rgb, dtype=np.float32)

    def to_rgb(self, width: int | None = None, height: int | None = None) -> ByteImage:
        """The whole upright frame as RGB uint8, optionally resized (the networks never need
        it; overlays do)."""
        return self._convert("rgb24", width, height)

    def to_bgr(self, width: int | None = None, height: int | None = None) -> ByteImage:
        """As :meth:`to_rgb`, in OpenCV's channel order."""
        return self._convert("bgr24", width, height)

    def _convert(self, fmt: str, width: int | None, height: int | None) -> ByteImage:
        turns = (self.rotation // 90) % 4
        width = width or self.width
        height = height or self.height
        stored = (height, width) if turns % 2 else (width, height)
        image = self._av.reformat(width=stored[0], height=stored[1], format=fmt,
                                  interpolation="AREA").to_ndarray()
        upright = np.rot90(image, turns) if turns else image
        return np.ascontiguousarray(upright, dtype=np.uint8)


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: no such file.")
    if path.is_dir():
        raise VideoError(f"{path}: is a directory, not a video clip.")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise VideoError(
            f"{path.name}: not a video file that can be read ({_reason(exc)}). "
            "Record or export the clip as MP4, MOV or WebM (H.264, HEVC or VP9)."
        ) from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(f"{path.name}: the file has no video stream.")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise VideoError(f"{path.name}: its video codec is not supported by this installation.")
    return stream


def _nominal_fps(stream: av.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def _normalise_rotation(degrees: float) -> int:
    if not math.isfinite(degrees):
        return 0
    return round(degrees / 90.0) * 90 % 360


def open_video(path: str | Path) -> VideoInfo:
    """Probe a clip (decoding its first frame) or raise :class:`VideoError`."""
    path = Path(path)
    with _open_container(path) as container:
        stream = _video_stream(container, path)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise VideoError(
                f"{path.name}: the video cannot be decoded ({_reason(exc)}); the file may be "
                "damaged or use a codec this installation lacks."
            ) from exc
        if first is None:
            raise VideoError(f"{path.name}: the video stream contains no frames.")
        rotation = _normalise_rotation(float(first.rotation or 0))
        coded_w, coded_h = first.width, first.height
        time_base = stream.time_base
        duration: float | None = None
        if stream.duration is not None and time_base is not None:
            duration = float(stream.duration * time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        fps = _nominal_fps(stream)
        frame_count: int | None = int(stream.frames) or None
        if frame_count is None and duration and fps:
            frame_count = max(1, round(duration * fps))
        return VideoInfo(
            path=path,
            container=container.format.name,
            codec=stream.codec_context.name,
            width=coded_h if rotation % 180 else coded_w,
            height=coded_w if rotation % 180 else coded_h,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation=rotation,
            fps_nominal=fps,
            duration_s=duration,
            frame_count=frame_count,
            pixel_format=first.format.name,
        )


def iter_frames(path: str | Path, *, decoder_threads: int = 0) -> Iterator[Frame]:
    """Decode a clip frame by frame, in presentation order, with strictly increasing times.

    A frame whose timestamp does not move forward (broken muxers repeat them) is dropped,
    so that every frame in the output has its own instant. ``decoder_threads`` 0 lets FFmpeg
    choose.
    """
    path = Path(path)
    with _open_container(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = decoder_threads
        time_base = stream.time_base or Fraction(1, 1)
        fps = _nominal_fps(stream) or 30.0
        start: int | None = stream.start_time
        last_t = -math.inf
        index = 0
        decoded = 0
        listed = int(stream.frames or 0)  # exact for MP4/MOV (from the index), else 0
        try:
            for av_frame in container.decode(stream):
                decoded += 1
                pts = av_frame.pts
                if pts is None:
                    t = last_t + 1.0 / fps if math.isfinite(last_t) else 0.0
                else:
                    if start is None:
                        start = pts
                    t = float((pts - start) * time_base)
                if t <= last_t:
                    continue
                last_t = t
                rotation = _normalise_rotation(float(av_frame.rotation or 0))
                yield Frame(av_frame, index, t, rotation)
                index += 1
        except av.error.FFmpegError as exc:
            raise VideoError(
                f"{path.name}: decoding failed after {index} frames ({_reason(exc)}); "
                "the file may be truncated or damaged."
            ) from exc
        if index == 0:
            raise VideoError(f"{path.name}: the video stream contains no frames.")
        # FFmpeg stops quietly at the end of a cut-off MP4 whose index is at the front (an
        # interrupted upload or copy): the index still lists every frame, so compare.
        if listed and decoded + max(2, listed // 100) < listed:
            raise VideoError(
                f"{path.name}: the file is truncated: its index lists {listed} frames but only "
                f"{decoded} could be read. Copy or upload the clip again."
            )


_END = object()


class FrameReader:
    """Decodes on a background thread, a few frames ahead of the consumer.

    PyAV, OpenCV and onnxruntime release the GIL in their heavy parts, so decoding overlaps
    inference on a second core. The queue is short: the clip is streamed, never held.
    Use as a context manager and iterate; errors of the decoding thread re-raise here.
    """

    def __init__(self, path: str | Path, *, queue_size: int = 6, decoder_threads: int = 0
                 ) -> None:
        self._path = Path(path)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._decoder_threads = decoder_threads
        self._thread = threading.Thread(target=self._run, name="stridelab-decode", daemon=True)

    def __enter__(self) -> FrameReader:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a producer on a full queue
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in iter_frames(self._path, decoder_threads=self._decoder_threads):
                if not self._put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Frame)
            yield item
