"""Cadence measured from raw pixels, with no pose model: a truth to judge the analysis against.

Two independent measurements of the step frequency of the one runner in a clip:

- ``leg_motion``: the frame-difference energy (mean absolute change of the grey level between
  consecutive frames) in the leg band, the lower 40 % of the region where the periodic motion
  is. The swing leg passes once per step, so the energy pulses once per step (seen from behind
  it pulses mostly twice per step, so this spectrum is read at the step frequency and its
  double together).
- ``bob``: the height of the upper body (head and trunk, the upper 45 % of the same region):
  the integral of the median vertical optical flow (OpenCV's Farneback) over the runner's
  pixels there, less the median vertical flow of the background, which is the camera's own
  shake. The body rises and falls once per step.

Each signal is detrended (linear), Hann-windowed over the span in which the runner moves, and
its DFT evaluated directly at the frames' real presentation times (phones record variable
frame rate) on a 0.005 Hz grid over the search band; the highest peak, refined by a parabola
through its neighbours, is the step frequency. The band is 2.0-3.9 Hz of real time (120-234
steps/min): it holds the step frequency of any running but neither the stride frequency (half)
nor the step's second harmonic (double). A slow-motion clip plays its steps slower: give
``capture_fps`` (cadence in real time = clip-time frequency x capture_fps / playback fps) or
``slow_factor``, and the band is searched in clip time accordingly. With the wrong factor the
band can hold a harmonic instead (and a clip whose frames repeat in a pattern has aliased
lines): the bob has a single cycle per step, so strong bob power at half the frequency found
marks it (``fundamental_ok``), and ``trusted`` needs both agreement and that check.

Where the runner is: the frame-difference energy of 4x4-pixel blocks, and its power inside the
(clip-time) band; the connected region with the most band power is the runner. A bystander
standing still, a treadmill belt running at constant speed and a flickering lamp all move, but
not at a running step's frequency, so they carry little band power. A runner who crosses the
frame, or a camera that pans, defeats this fixed region.

PyAV, NumPy, SciPy and OpenCV (optical flow, resizing); nothing from ``backend``. The display
rotation of phone clips is applied (the frame is made upright before anything is measured).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatArray = npt.NDArray[np.float64]
Gray = npt.NDArray[np.float32]

BAND_HZ = (2.0, 3.9)  # real-time search band: 120-234 steps/min
GRID_HZ = 0.005  # the fine DFT grid
AGREE_SPM = 1.0  # both methods within this: a trustworthy truth
LEG_BAND = 0.40  # the lower fraction of the runner's region that is the legs
UPPER_BAND = 0.45  # the upper fraction that is head and trunk
LEG_HARMONICS = 2  # the legs' motion energy is read at the step frequency and its double
SUBHARMONIC_MAX = 0.5  # bob power at half the frequency over at it: above, not the step
REPEATED_WARN = 0.1  # repeated frames above this fraction: warn of a converted rate
BLOCK = 4  # pixels per side of the blocks of the motion map
MAX_SIDE = 320  # frames are decoded with their longer side this long
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                         "nv12", "gray"})


@dataclass(frozen=True)
class MethodEstimate:
    """One method's reading. ``spm`` is in real time (clip time x the slow factor); None
    where the band holds no peak (the highest point of the spectrum is at its edge)."""

    name: str
    spm: float | None
    clip_spm: float | None  # as played back
    salience: float  # power at the peak over the median power in the band
    subharmonic_ratio: float  # power at half the peak's frequency over the power at it


@dataclass(frozen=True)
class PixelCadence:
    """Cadence of a clip from its pixels: both methods, whether they agree, the band used."""

    spm: float | None  # mean of the two methods where they agree, else None
    leg_motion_spm: float | None
    bob_spm: float | None
    agree: bool  # both found a peak, within AGREE_SPM of each other
    fundamental_ok: bool  # the bob has little power at half the frequency (module docstring)
    band_hz: tuple[float, float]  # the band searched, in clip time
    band_spm: tuple[float, float]  # the same band in real-time steps/min
    slow_factor: float  # real time per clip time (1 for a clip played at its capture rate)
    playback_fps: float  # the container's nominal rate
    n_frames: int  # frames decoded
    frame_step: int  # every frame_step-th frame analysed (slow motion: fewer suffice)
    repeated_fraction: float  # frames (nearly) repeating the one before: a converted rate
    span_s: tuple[float, float]  # the part of the clip analysed (the runner moving)
    region: tuple[int, int, int, int]  # x0, y0, x1, y1 in the upright frame, decoded pixels
    frame_size: tuple[int, int]  # width, height of the decoded (reduced) upright frame
    methods: dict[str, MethodEstimate] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        """Both methods agree and the frequency is the step's, not a harmonic."""
        return self.agree and self.fundamental_ok

    @property
    def clip_spm(self) -> float | None:
        """The agreed cadence as played back (steps per minute of clip time)."""
        return None if self.spm is None else self.spm / self.slow_factor


@dataclass(frozen=True)
class Frames:
    """A clip decoded to upright grey frames at reduced size, with real timestamps."""

    gray: Gray  # n x h x w, float32 0..255
    t: FloatArray  # seconds from the first frame
    playback_fps: float


def read_frames(path: str | Path, *, max_side: int = MAX_SIDE) -> Frames:
    """Decode every displayed frame, upright (display rotation applied), grey, reduced so its
    longer side is ``max_side``; times are the presentation times in seconds from the first
    frame (a frame whose time does not move forward is dropped)."""
    grays: list[npt.NDArray[np.uint8]] = []
    times: list[float] = []
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = float(stream.time_base or 1)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        playback_fps = float(rate) if rate else 0.0
        first: int | None = None
        last = -math.inf
        for frame in container.decode(stream):
            pts = frame.pts
            if pts is None:
                continue
            first = pts if first is None else first
            t = (pts - first) * time_base
            if t <= last:
                continue
            last = t
            scale = max_side / max(frame.width, frame.height)
            w = max(2, round(frame.width * scale / 2) * 2)
            h = max(2, round(frame.height * scale / 2) * 2)
            if frame.format.name in _LUMA_FIRST:  # the Y plane is the grey image
                plane = frame.planes[0]
                luma = np.frombuffer(memoryview(plane), np.uint8)
                luma = luma.reshape(-1, plane.line_size)[:frame.height, :frame.width]
                image = cv2.resize(luma, (w, h), interpolation=cv2.INTER_AREA)
            else:
                image = frame.reformat(width=w, height=h, format="gray",
                                       interpolation="AREA").to_ndarray()
            turns = round(float(frame.rotation or 0) / 90.0) % 4
            if turns:
                image = np.rot90(image, turns)
            grays.append(np.ascontiguousarray(image, dtype=np.uint8))
            times.append(t)
    if len(grays) < 8:
        raise ValueError(f"{Path(path).name}: only {len(grays)} frames")
    t_arr = np.asarray(times, dtype=np.float64)
    if not playback_fps:
        playback_fps = float((len(t_arr) - 1) / (t_arr[-1] - t_arr[0]))
    return Frames(np.stack(grays).astype(np.float32), t_arr, playback_fps)


def power_spectrum(x: FloatArray, t: FloatArray, freqs: FloatArray) -> FloatArray:
    """|DFT|^2 of ``x`` sampled at times ``t`` (any spacing), linearly detrended and
    Hann-windowed over its time span, at ``freqs`` (Hz)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    tc = t - t.mean()
    x = x - np.polyval(np.polyfit(tc, x, 1), tc)
    span = t[-1] - t[0]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * (t - t[0]) / span)
    spectrum = np.exp(-2j * np.pi * np.outer(freqs, t)) @ (x * window)
    return np.asarray(np.abs(spectrum) ** 2, dtype=np.float64)


def spectral_peak(x: FloatArray, t: FloatArray, band_hz: tuple[float, float], *,
                  harmonics: int = 1,
                  grid_hz: float = GRID_HZ) -> tuple[float | None, float, float]:
    """(frequency of the highest peak in the band, its salience, the power at half that
    frequency over the power at it); the frequency is None where the highest point lies on
    the band's edge (the spectrum rises out of the band: no peak inside it). With
    ``harmonics`` k > 1 the peak is that of the sum of the spectra at f, 2f .. kf, each scaled
    to its own maximum over its band, so that a signal whose energy lies mostly at twice the
    step frequency (the legs' motion seen from behind) is read at that harmonic's precision.
    The peak is refined by a parabola through the log score at the grid's three points
    around it."""
    freqs = np.arange(band_hz[0], band_hz[1] + grid_hz / 2, grid_hz)
    p = power_spectrum(x, t, freqs)
    score = p / (p.max() + 1e-30)
    for k in range(2, harmonics + 1):
        pk = power_spectrum(x, t, k * freqs)
        score = score + pk / (pk.max() + 1e-30)
    i = int(np.argmax(score))
    f = float(freqs[i])
    edge = i < 2 or i > len(score) - 3
    if not edge:
        a, b, c = np.log(score[i - 1:i + 2] + 1e-30)
        den = a - 2 * b + c
        if den < 0:
            f += float(0.5 * (a - c) / den) * grid_hz
    at = power_spectrum(x, t, np.array([f]))[0]
    salience = float(at / (np.median(p) + 1e-30))
    half = power_spectrum(x, t, np.array([f / 2 - grid_hz, f / 2, f / 2 + grid_hz]))
    return (None if edge else f), salience, float(half.max() / (at + 1e-30))


def _blocks(a: Gray, k: int) -> Gray:
    n, h, w = a.shape
    h2, w2 = h // k * k, w // k * k
    return a[:, :h2, :w2].reshape(n, h2 // k, k, w2 // k, k).mean(axis=(2, 4))


def band_power_map(diff: Gray, t: FloatArray, band_hz: tuple[float, float]) -> Gray:
    """Per 4x4 block, the power of its frame-difference energy inside the band."""
    cells = _blocks(diff, BLOCK)
    n, h, w = cells.shape
    x = cells.reshape(n, -1).astype(np.float64)
    x -= x.mean(axis=0)
    window = np.hanning(n)[:, None]
    freqs = np.linspace(band_hz[0], band_hz[1], 24)
    spectrum = np.exp(-2j * np.pi * np.outer(freqs, t)) @ (x * window)
    return np.asarray((np.abs(spectrum) ** 2).sum(axis=0).reshape(h, w), dtype=np.float32)


def runner_mask(power: Gray) -> npt.NDArray[np.bool_]:
    """The connected region (in blocks) holding the most band power: blocks above the
    geometric mean of the map's median and 99th percentile (the runner stands a decade or
    more above the background), closed, the strongest component."""
    smooth = ndimage.uniform_filter(power, 3)
    mask = smooth > np.sqrt(np.median(smooth) * np.percentile(smooth, 99))
    mask = ndimage.binary_closing(mask, np.ones((5, 5), bool))
    labels, count = ndimage.label(mask)
    if count == 0:
        raise ValueError("no periodic motion in the band")
    sums = ndimage.sum(power, labels, index=np.arange(1, count + 1))
    return np.asarray(labels == int(np.argmax(sums)) + 1)


def runner_region(power: Gray, mask: npt.NDArray[np.bool_],
                  frame_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The runner's box (x0, y0, x1, y1, pixels): the 1-99 % quantiles of the band power of
    the region ``mask`` along each axis."""
    component = np.where(mask, power, 0.0)

    def span(weights: FloatArray) -> tuple[int, int]:
        c = np.cumsum(weights) / weights.sum()
        return int(np.searchsorted(c, 0.01)), int(np.searchsorted(c, 0.99)) + 1

    r0, r1 = span(component.sum(axis=1))
    c0, c1 = span(component.sum(axis=0))
    w, h = frame_size
    return (c0 * BLOCK, r0 * BLOCK, min(w, c1 * BLOCK), min(h, r1 * BLOCK))


def active_span(energy: FloatArray, t: FloatArray, min_s: float) -> tuple[int, int]:
    """Indices of the first and last sample of the span in which the leg band moves (its
    energy, smoothed over ``min_s``, above a quarter of its 90th percentile); the whole clip
    where that span would be shorter than ``min_s``."""
    dt = float(np.median(np.diff(t)))
    k = max(1, round(min_s / dt))
    smooth = ndimage.uniform_filter1d(energy, k)
    live = np.where(smooth > 0.25 * np.percentile(smooth, 90))[0]
    if len(live) == 0 or t[live[-1]] - t[live[0]] < 4 * min_s:
        return 0, len(t) - 1
    return int(live[0]), int(live[-1])


def _flow_dy(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8]) -> Gray:
    flow = cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return np.asarray(flow[..., 1], dtype=np.float32)


def body_bob(gray: Gray, runner: npt.NDArray[np.bool_],
             region: tuple[int, int, int, int]) -> FloatArray:
    """The upper body's height per frame (pixels, up positive, up to a constant): the
    integral of the median vertical optical flow (Farneback) over the runner's pixels in the
    upper 45 % of its region, less the median vertical flow of the background (every pixel
    farther than a tenth of the region's height from the runner), which is the camera's own
    shake."""
    n, h, w = gray.shape
    x0, y0, x1, y1 = region
    height = y1 - y0
    full = np.zeros((h, w), bool)
    blocks = np.kron(runner, np.ones((BLOCK, BLOCK), bool))
    full[:blocks.shape[0], :blocks.shape[1]] = blocks[:h, :w]
    pad = 8
    ya, yb = max(0, y0 - pad), min(h, y0 + round(UPPER_BAND * height) + pad)
    xa, xb = max(0, x0 - pad), min(w, x1 + pad)
    upper = np.zeros((h, w), bool)
    upper[y0:y0 + round(UPPER_BAND * height), x0:x1] = True
    upper &= full
    body_pixels = upper[ya:yb, xa:xb]
    grow = max(BLOCK, round(0.1 * height))
    near = ndimage.binary_dilation(full, np.ones((2 * grow + 1, 2 * grow + 1), bool))
    background = ~near[::4, ::4]  # the camera's shake on a quarter-size frame
    use_background = int(background.sum()) >= 50
    frames8 = np.clip(gray, 0, 255).astype(np.uint8)
    small = [cv2.resize(f, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
             for f in frames8] if use_background else []
    velocity = np.zeros(n)
    for i in range(1, n):
        dy = float(np.median(_flow_dy(frames8[i - 1, ya:yb, xa:xb],
                                      frames8[i, ya:yb, xa:xb])[body_pixels]))
        if use_background:
            shake = _flow_dy(small[i - 1], small[i])[:background.shape[0], :background.shape[1]]
            dy -= 4.0 * float(np.median(shake[background[:shake.shape[0], :shake.shape[1]]]))
        velocity[i] = dy
    return np.asarray(-np.cumsum(velocity), dtype=np.float64)


def repeated_fraction(gray: Gray) -> float:
    """The fraction of frames that nearly repeat the one before (their mean absolute change
    under 0.6 of the local median change): a clip converted from another rate, often slow
    motion, repeats (or blends) frames in a pattern whose aliases can fall in the band."""
    sub = gray[:, ::2, ::2]
    change = np.array([float(np.abs(b - a).mean()) for a, b in itertools.pairwise(sub)])
    local = ndimage.median_filter(change, size=7, mode="nearest")
    return float(np.mean(change < 0.6 * local))


def pixel_cadence(path: str | Path, *, capture_fps: float | None = None,
                  slow_factor: float | None = None,
                  band_hz: tuple[float, float] = BAND_HZ,
                  max_side: int = MAX_SIDE, frames: Frames | None = None) -> PixelCadence:
    """Cadence of the runner in the clip at ``path`` from its pixels (module docstring).

    A slow-motion clip needs ``capture_fps`` (when every captured frame is shown once, at the
    container's rate: slow factor = capture_fps / playback fps) or ``slow_factor`` (real
    seconds per clip second): ``band_hz`` is real time and is searched in clip time divided
    by the slow factor, and the estimates are given in real time. ``frames``: the clip as
    :func:`read_frames` gave it, to measure one decoding more than once.
    """
    if capture_fps is not None and slow_factor is not None:
        raise ValueError("give capture_fps or slow_factor, not both")
    if frames is None:
        frames = read_frames(path, max_side=max_side)
    factor = 1.0
    if capture_fps is not None:
        factor = capture_fps / frames.playback_fps
    elif slow_factor is not None:
        factor = slow_factor
    clip_band = (band_hz[0] / factor, band_hz[1] / factor)
    repeated = repeated_fraction(frames.gray)
    # A dozen samples per period of the band's top suffice (slow motion has many more).
    step = max(1, int(frames.playback_fps // (12.0 * clip_band[1])))
    gray, t = frames.gray[::step], frames.t[::step]
    n, h, w = gray.shape

    diff = np.abs(np.diff(gray, axis=0))
    td = 0.5 * (t[1:] + t[:-1])
    power = band_power_map(diff, td, clip_band)
    mask = runner_mask(power)
    region = runner_region(power, mask, (w, h))
    x0, y0, x1, y1 = region
    height = y1 - y0
    leg_rows = slice(y0 + round((1 - LEG_BAND) * height), y1)
    leg = diff[:, leg_rows, x0:x1].mean(axis=(1, 2)).astype(np.float64)

    i0, i1 = active_span(leg, td, 1.0 / clip_band[0])
    leg_f, leg_sal, leg_sub = spectral_peak(leg[i0:i1 + 1], td[i0:i1 + 1], clip_band,
                                            harmonics=LEG_HARMONICS)
    bob = body_bob(gray, mask, region)
    # The frames on either side of the differences i0..i1.
    bob_f, bob_sal, bob_sub = spectral_peak(bob[i0:i1 + 2], t[i0:i1 + 2], clip_band)

    def real(f: float | None) -> float | None:
        return None if f is None else 60.0 * f * factor

    def clip(f: float | None) -> float | None:
        return None if f is None else 60.0 * f

    leg_spm, bob_spm = real(leg_f), real(bob_f)
    methods = {
        "leg_motion": MethodEstimate("leg_motion", leg_spm, clip(leg_f), leg_sal, leg_sub),
        "bob": MethodEstimate("bob", bob_spm, clip(bob_f), bob_sal, bob_sub),
    }
    agree = (leg_spm is not None and bob_spm is not None
             and abs(leg_spm - bob_spm) <= AGREE_SPM)
    fundamental_ok = bob_f is not None and bob_sub < SUBHARMONIC_MAX
    warnings: list[str] = []
    if leg_spm is None or bob_spm is None:
        warnings.append("a method found no peak inside the band")
    if not fundamental_ok and bob_f is not None:
        warnings.append(f"the bob has {bob_sub:.1f}x the power at half the frequency: the "
                        "frequency found is a harmonic, or the clip is slow motion")
    if repeated > REPEATED_WARN:
        warnings.append(f"{repeated:.0%} of frames repeat the one before: the clip was "
                        "converted from another rate (slow motion?)")
    return PixelCadence(
        spm=0.5 * (leg_spm + bob_spm) if agree and leg_spm and bob_spm else None,
        leg_motion_spm=leg_spm,
        bob_spm=bob_spm,
        agree=agree,
        fundamental_ok=fundamental_ok,
        band_hz=clip_band,
        band_spm=(60.0 * band_hz[0], 60.0 * band_hz[1]),
        slow_factor=factor,
        playback_fps=frames.playback_fps,
        n_frames=len(frames.t),
        frame_step=step,
        repeated_fraction=repeated,
        span_s=(float(t[i0]), float(t[min(i1 + 1, n - 1)])),
        region=region,
        frame_size=(w, h),
        methods=methods,
        warnings=tuple(warnings),
    )
