"""From a raw track to clean, uniformly timed landmark segments.

Steps, in order (docs/gait.md explains each):

0. Left/right leg swaps are repaired: the pose model sometimes trades the labels of the two
   legs (side on, the far leg hides behind the near one), which turns every foot event into
   nonsense. Each frame's labelling (as given or legs traded) is chosen by a Viterbi search for
   the most continuous motion of knees, ankles, heels and toes (each point predicted from its
   two previous frames), the clip keeping the labelling the model gave most often.
0b. A hand-held camera's motion is removed: the pose engine estimates, from the background,
   each frame's similarity transform into one reference frame (``Track.camera_motion``); the
   landmarks are mapped through it, so the analysis sees the runner as a fixed camera would.
   Frames without an estimate are bridged when the gap is short, else left as they are.
1. A landmark is trusted in a frame when it is finite and its visibility reaches
   ``VISIBILITY_MIN``; a frame "has the person" when its row is not NaN.
2. Frames with the person are split into segments wherever the person is missing for longer
   than ``GAP_INTERPOLATE_MAX_S`` (measured on the real timestamps, so dropped video frames
   count as missing time too).
3. Each landmark coordinate goes through a Hampel filter (outliers become gaps).
4. Each segment is resampled onto a uniform time grid at the clip's real median frame interval.
   Landmark gaps up to ``GAP_INTERPOLATE_MAX_S`` are bridged by shape-preserving cubic (PCHIP)
   interpolation; longer ones stay NaN: not trusted, not invented. Variable frame rate and
   jittered timestamps are absorbed here: every later step works in seconds on this grid.
5. A zero-lag (forward-backward) Butterworth low-pass per body region, its cutoff corrected for
   the double pass (Winter) and capped from the real frame rate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.interpolate import PchipInterpolator
from scipy.signal import butter, filtfilt

from backend.gait import thresholds as th
from backend.pose.track import N_LANDMARKS, Landmark, Track

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Which cutoff each landmark gets (RF: feet 10-12 Hz, trunk and pelvis 6-8 Hz).
_FEET = (27, 28, 29, 30, 31, 32)
_KNEES = (25, 26)
_TRUNK = (11, 12, 23, 24)
_ARMS = tuple(range(13, 23))
_HEAD = tuple(range(0, 11))


def cutoff_for_landmark(j: int) -> float:
    if j in _FEET:
        return th.CUTOFF_FEET_HZ
    if j in _KNEES:
        return th.CUTOFF_KNEES_HZ
    if j in _TRUNK:
        return th.CUTOFF_TRUNK_PELVIS_HZ
    if j in _ARMS:
        return th.CUTOFF_ARMS_HZ
    return th.CUTOFF_HEAD_HZ


def winter_correction(order: int, passes: int = 2) -> float:
    """Factor by which n passes of a Butterworth filter lower its -3 dB point (Winter 2009)."""
    return float((2.0 ** (1.0 / passes) - 1.0) ** (1.0 / (2.0 * order)))


def design_cutoff(wanted_hz: float, fs: float) -> float:
    """The single-pass cutoff that gives ``wanted_hz`` after filtfilt, capped below Nyquist."""
    corrected = wanted_hz / winter_correction(th.BUTTERWORTH_ORDER)
    return float(min(corrected, th.CUTOFF_MAX_FRACTION_OF_FS * fs))


@dataclass
class Segment:
    """A stretch of the clip with the person in it, on a uniform time grid."""

    t: FloatArray  # (N,) real seconds
    xy: FloatArray  # (N, 33, 2) filtered image pixels, NaN where not trusted
    vis: FloatArray  # (N, 33) visibility, NaN where not trusted
    world: FloatArray  # (N, 33, 3) filtered world metres, NaN where not trusted
    filled: BoolArray  # (N, 33) value bridged across a gap (not seen in a frame)

    @property
    def n(self) -> int:
        return int(self.t.shape[0])

    @property
    def dt(self) -> float:
        return float(self.t[1] - self.t[0]) if self.n > 1 else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if self.n > 1 else 0.0

    def p(self, j: int | Landmark) -> FloatArray:
        """(N, 2) pixel positions of one landmark."""
        return self.xy[:, int(j), :]

    def mid(self, a: int | Landmark, b: int | Landmark) -> FloatArray:
        return 0.5 * (self.xy[:, int(a), :] + self.xy[:, int(b), :])


@dataclass
class CleanTrack:
    segments: list[Segment]
    frame_times_s: FloatArray  # every frame's real timestamp in the original track
    fps_measured: float
    fps_nominal: float
    width: int
    height: int
    person_found: BoolArray  # (T,) per original frame
    split_gaps_s: list[tuple[float, float]] = field(default_factory=list)  # gaps that split
    n_interpolated_frames: int = 0  # grid samples bridged across a missing person
    n_leg_swaps_repaired: int = 0  # frames whose left/right leg labels were traded
    camera: CameraMotion | None = None  # the camera's motion, when the pose engine gave it
    dropped_short_segments: int = 0

    @property
    def duration_s(self) -> float:
        t = self.frame_times_s
        return float(t[-1] - t[0]) if t.size > 1 else 0.0

    def nearest_frame_time(self, t: float) -> float:
        """The timestamp of the real frame closest to ``t`` (for evidence and key frames)."""
        ft = self.frame_times_s
        i = int(np.clip(np.searchsorted(ft, t), 1, max(1, ft.size - 1)))
        if ft.size == 1:
            return float(ft[0])
        return float(ft[i - 1] if abs(t - ft[i - 1]) <= abs(ft[i] - t) else ft[i])

    def frame_index(self, t: float) -> int:
        return int(np.argmin(np.abs(self.frame_times_s - t)))


def _hampel_mask(values: FloatArray, times: FloatArray, floor: float) -> BoolArray:
    """True where a sample is an outlier against its neighbours within HAMPEL_WINDOW_S."""
    n = values.size
    out = np.zeros(n, dtype=bool)
    if n < th.MIN_SAMPLES_HAMPEL:
        return out
    dt = float(np.median(np.diff(times)))
    half = max(2, round(th.HAMPEL_WINDOW_S / 2.0 / max(dt, 1e-6)))
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    med = np.median(windows, axis=1)
    mad = th.MAD_TO_SD * np.median(np.abs(windows - med[:, None]), axis=1)
    # A floor on the scale: on clean (or synthetic) data the MAD of a still foot is ~0 and
    # every tiny change would look like an outlier.
    scale = np.maximum(mad, floor)
    out = np.abs(values - med) > th.HAMPEL_N_SIGMA * scale
    return out


LEFT_LEG = (25, 27, 29, 31)  # knee, ankle, heel, toe
RIGHT_LEG = (26, 28, 30, 32)


def depth_order_evidence(world: FloatArray) -> FloatArray:
    """(T,) +1 where the world landmarks put the labelled left leg on the same side in depth
    as the left hip (the labels agree with the body), -1 where on the other side (the legs'
    labels are traded), 0 where the depths are too close to tell (from behind or in front).
    Side on, the near leg is the near hip's: the hips' labels follow the trunk and are seen
    well, the legs' labels are what the model confuses."""
    hips = world[:, 23, 2] - world[:, 24, 2]
    diff = world[:, list(LEFT_LEG), 2] - world[:, list(RIGHT_LEG), 2]
    n = np.isfinite(diff).sum(axis=1)
    legs = np.where(n > 0, np.nansum(diff, axis=1) / np.maximum(n, 1), np.nan)
    clear = (np.abs(hips) > th.LEG_SWAP_DEPTH_CLEAR_M) & (np.abs(legs) > th.LEG_SWAP_DEPTH_CLEAR_M)
    out = np.where(clear, np.sign(hips) * np.sign(legs), 0.0)
    return np.asarray(np.nan_to_num(out), dtype=np.float64)


def leg_swaps(landmarks: FloatArray, world: FloatArray | None = None) -> BoolArray:
    """(T,) True where the two legs' labels are to be traded (step 0 of the cleaning).

    Second-order Viterbi: the state of a frame is the pair (labelling of the previous frame,
    labelling of this one), so each leg point can be predicted at constant velocity from its
    two previous frames; the cost of a frame is the summed distance of the four points of each
    leg from their predictions, plus, where the world landmarks tell the legs apart in depth
    (side on), a cost for a labelling that puts the near leg on the far hip
    (``depth_order_evidence``). Frames without the whole leg chain are left as they are."""
    t_total = landmarks.shape[0]
    out = np.zeros(t_total, dtype=bool)
    legs = np.stack([landmarks[:, list(LEFT_LEG), :2], landmarks[:, list(RIGHT_LEG), :2]], axis=1)
    every = np.flatnonzero(np.isfinite(legs).all(axis=(1, 2, 3)))
    evidence = (depth_order_evidence(world) if world is not None
                else np.zeros(t_total, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        leg_len = np.linalg.norm(landmarks[:, 23, :2] - landmarks[:, 27, :2], axis=1)
    leg_px = float(np.nanmedian(leg_len)) if np.isfinite(leg_len).any() else 0.0
    penalty = th.LEG_SWAP_DEPTH_COST_LEG * leg_px
    # Across a longer gap the legs' motion is unknown: each stretch is searched on its own
    # and keeps the model's majority labelling where depth does not decide.
    breaks = np.flatnonzero(np.diff(every) > th.LEG_SWAP_MAX_GAP_FRAMES) + 1
    for idx in np.split(every, breaks):
        if idx.size >= th.MIN_SAMPLES_LINE_FIT:
            out[idx] = _leg_swap_states(legs[idx], idx, evidence[idx] * penalty)
    return out


def _leg_swap_states(p: FloatArray, idx: npt.NDArray[np.int64],
                     depth_cost: FloatArray) -> BoolArray:
    """The Viterbi search of ``leg_swaps`` over one stretch of frames ``idx``;
    ``depth_cost`` > 0 penalises trading the labels in that frame, < 0 keeping them."""
    if idx.size < th.MIN_SAMPLES_LINE_FIT:
        return np.zeros(idx.size, dtype=bool)  # (N, 2 legs, 4 points, 2)
    options = np.stack([p, p[:, ::-1]], axis=1)  # (N, labelling, legs, points, xy)
    n = idx.size
    # emission[k, c]: the depth order's cost of labelling c (0 as given, 1 traded) at frame k.
    emission = np.stack([np.maximum(-depth_cost, 0.0), np.maximum(depth_cost, 0.0)], axis=1)
    # cost[a, b]: best total with labelling a at frame k-1 and b at frame k.
    cost = np.linalg.norm(options[1][None, :] - options[0][:, None], axis=-1).sum(axis=(-1, -2))
    cost = cost + emission[0][:, None] + emission[1][None, :]
    back = np.zeros((n, 2, 2), dtype=np.int8)
    for k in range(2, n):
        new = np.empty((2, 2))
        # Across a gap in the frames the velocity is unknown: predict no motion.
        velocity = 1.0 if idx[k] - idx[k - 2] == 2 else 0.0
        for b in range(2):
            for c in range(2):
                pred = options[k - 1, b] + velocity * (options[k - 1, b] - options[k - 2])
                step = np.linalg.norm(options[k, c][None] - pred, axis=-1).sum(axis=(-1, -2))
                total = cost[:, b] + step + emission[k, c]
                a = int(np.argmin(total))
                new[b, c] = total[a]
                back[k, b, c] = a
        cost = new
    best = int(np.argmin(cost))
    b, c = best // 2, best % 2
    states = np.zeros(n, dtype=bool)
    states[n - 1], states[n - 2] = bool(c), bool(b)
    for k in range(n - 1, 1, -1):
        a = int(back[k, b, c])
        states[k - 2] = bool(a)
        b, c = a, b
    if not np.any(depth_cost) and states.mean() > 0.5:
        states = ~states  # nothing anchors the labels: keep the model's in most frames
    return states


def _trade_legs(arr: FloatArray, swap: BoolArray) -> FloatArray:
    out = arr.copy()
    left, right = np.asarray(LEFT_LEG), np.asarray(RIGHT_LEG)
    out[np.ix_(swap, left)] = arr[np.ix_(swap, right)]
    out[np.ix_(swap, right)] = arr[np.ix_(swap, left)]
    return out


@dataclass
class CameraMotion:
    """What the background said about the camera, for the clip's quality report."""

    known_fraction: float  # frames with an estimate of the camera's motion
    inlier_median: float  # median share of background features that agree with it
    max_shift_px: float  # largest translation from the reference frame
    max_rotation_deg: float  # largest rotation from the reference frame
    max_scale_change: float  # largest relative change of scale (zoom, stepping closer)
    applied: bool  # the landmarks were mapped into the reference frame


def stabilise(landmarks: FloatArray, motion: FloatArray | None,
              inliers: FloatArray | None) -> tuple[FloatArray, CameraMotion | None]:
    """Landmarks (T, 33, >=2) mapped into the camera's reference frame (step 0b)."""
    if motion is None:
        return landmarks, None
    m = np.asarray(motion, dtype=np.float64)
    known: BoolArray = np.asarray(np.isfinite(m).all(axis=(1, 2)), dtype=bool)
    if not known.any():
        return landmarks, CameraMotion(0.0, float("nan"), float("nan"), float("nan"),
                                       float("nan"), False)
    idx = np.flatnonzero(known)
    # Short gaps: interpolate the transform's entries (small motions between two frames).
    t_all = np.arange(m.shape[0])
    filled = m.copy()
    for r in range(2):
        for c in range(3):
            filled[:, r, c] = np.interp(t_all, idx, m[idx, r, c])
    gap = np.zeros(m.shape[0], dtype=bool)
    for a, b in _runs(~known):
        if b - a > th.CAMERA_MOTION_MAX_GAP_FRAMES or a == 0 or b == m.shape[0]:
            gap[a:b] = True
    filled[gap] = np.nan
    scale = np.hypot(filled[:, 0, 0], filled[:, 1, 0])
    rotation = np.degrees(np.arctan2(filled[:, 1, 0], filled[:, 0, 0]))
    shift = np.hypot(filled[:, 0, 2], filled[:, 1, 2])
    inl = np.asarray(inliers, dtype=np.float64) if inliers is not None else np.full(
        m.shape[0], np.nan)
    info = CameraMotion(
        known_fraction=float(known.mean()),
        inlier_median=float(np.nanmedian(inl)) if np.isfinite(inl).any() else float("nan"),
        max_shift_px=float(np.nanmax(shift)) if np.isfinite(shift).any() else float("nan"),
        max_rotation_deg=float(np.nanmax(np.abs(rotation))) if np.isfinite(rotation).any()
        else float("nan"),
        max_scale_change=float(np.nanmax(np.abs(scale - 1.0))) if np.isfinite(scale).any()
        else float("nan"),
        applied=False)
    ok = np.isfinite(filled).all(axis=(1, 2))
    out = landmarks.copy()
    x, y = landmarks[ok, :, 0], landmarks[ok, :, 1]
    tf = filled[ok]
    out[ok, :, 0] = tf[:, 0, 0, None] * x + tf[:, 0, 1, None] * y + tf[:, 0, 2, None]
    out[ok, :, 1] = tf[:, 1, 0, None] * x + tf[:, 1, 1, None] * y + tf[:, 1, 2, None]
    info.applied = bool(ok.any())
    return out, info


def _runs(mask: BoolArray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs in ``mask``."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def lowpass(signal: FloatArray, fs: float, wanted_hz: float) -> FloatArray:
    """Zero-lag Butterworth low-pass over each finite run of ``signal`` (NaN stays NaN)."""
    out = signal.copy()
    wn = design_cutoff(wanted_hz, fs) / (fs / 2.0)
    if not 0.0 < wn < 1.0:
        return out
    b, a = butter(th.BUTTERWORTH_ORDER, wn)
    for s, e in _runs(np.isfinite(signal)):
        if e - s < th.MIN_SAMPLES_FILTER:
            continue
        padlen = min(th.FILTFILT_PAD_LENGTHS * max(len(a), len(b)), e - s - 1)
        out[s:e] = filtfilt(b, a, signal[s:e], padlen=padlen)
    return out


def _person_segments(ts: FloatArray, found: BoolArray, dt: float) -> list[tuple[int, int]]:
    """Index ranges [i0, i1] (inclusive) of frames with the person, split at long gaps."""
    idx = np.flatnonzero(found)
    if idx.size == 0:
        return []
    segs: list[tuple[int, int]] = []
    start = idx[0]
    for a, b in itertools.pairwise(idx):
        missing = ts[b] - ts[a] - dt  # time with no usable frame between the two
        if missing > th.GAP_INTERPOLATE_MAX_S + 1e-6:
            segs.append((int(start), int(a)))
            start = b
    segs.append((int(start), int(idx[-1])))
    return segs


def clean_track(track: Track) -> CleanTrack:
    ts = track.timestamps_s.astype(np.float64)
    lm = track.landmarks.astype(np.float64)
    world = track.world.astype(np.float64)
    lm, camera = stabilise(lm, getattr(track, "camera_motion", None),
                           getattr(track, "camera_motion_inliers", None))
    swaps = leg_swaps(lm, world)
    if swaps.any():
        lm, world = _trade_legs(lm, swaps), _trade_legs(world, swaps)
    n_frames = ts.size
    found = np.asarray(np.isfinite(lm[:, :, 0]).any(axis=1) & np.isfinite(lm[:, :, 1]).any(axis=1),
                       dtype=bool)
    fps = track.fps_measured if n_frames > 1 else track.fps_nominal
    dt = 1.0 / fps if fps > 0 else 1.0 / th.FPS_FALLBACK
    clean = CleanTrack(
        segments=[],
        frame_times_s=ts,
        fps_measured=float(fps),
        fps_nominal=float(track.fps_nominal),
        width=track.width,
        height=track.height,
        person_found=found,
        n_leg_swaps_repaired=int(swaps.sum()),
        camera=camera,
    )
    if n_frames < 2 or not found.any():
        return clean

    vis = np.nan_to_num(lm[:, :, 3], nan=0.0)
    trusted = np.isfinite(lm[:, :, 0]) & np.isfinite(lm[:, :, 1]) & (vis >= th.VISIBILITY_MIN)
    # Scale floor for the Hampel filter: half a percent of the person's height in the image.
    body_h = np.nanmax(lm[found, :, 1], axis=1) - np.nanmin(lm[found, :, 1], axis=1)
    hampel_floor = max(1.0, th.HAMPEL_SCALE_FLOOR_BODY * float(np.nanmedian(body_h)))

    spans = _person_segments(ts, found, dt)
    for (_a0, a1), (b0, _b1) in itertools.pairwise(spans):
        clean.split_gaps_s.append((float(ts[a1]), float(ts[b0])))
    for i0, i1 in spans:
        t0, t1 = ts[i0], ts[i1]
        if t1 - t0 < th.SEGMENT_MIN_S:
            clean.dropped_short_segments += 1
            continue
        seg = _resample_segment(ts[i0 : i1 + 1], lm[i0 : i1 + 1], world[i0 : i1 + 1],
                                trusted[i0 : i1 + 1], dt, hampel_floor)
        frame_ok = found[i0 : i1 + 1]
        # Grid samples that fall in a span where the person was not found at all.
        real_t = ts[i0 : i1 + 1][frame_ok]
        nearest = np.abs(seg.t[:, None] - real_t[None, :]).min(axis=1) if real_t.size else None
        if nearest is not None:
            clean.n_interpolated_frames += int(np.sum(nearest > th.INTERPOLATED_SAMPLE_FRAMES * dt))
        clean.segments.append(seg)
    return clean


def _resample_segment(ts: FloatArray, lm: FloatArray, world: FloatArray, trusted: BoolArray,
                      dt: float, hampel_floor: float) -> Segment:
    n = int(np.floor((ts[-1] - ts[0]) / dt + 1e-9)) + 1
    grid = ts[0] + dt * np.arange(n)
    fs = 1.0 / dt
    xy = np.full((n, N_LANDMARKS, 2), np.nan)
    vis = np.full((n, N_LANDMARKS), np.nan)
    wout = np.full((n, N_LANDMARKS, 3), np.nan)
    filled = np.zeros((n, N_LANDMARKS), dtype=bool)
    for j in range(N_LANDMARKS):
        ok = trusted[:, j].copy()
        if ok.sum() < th.MIN_SAMPLES_INTERPOLATE:
            continue
        for c in range(2):
            sel = np.flatnonzero(ok)
            bad = _hampel_mask(lm[sel, j, c], ts[sel], hampel_floor)
            ok[sel[bad]] = False
        sel = np.flatnonzero(ok)
        if sel.size < th.MIN_SAMPLES_INTERPOLATE:
            continue
        ts_ok = ts[sel]
        # Grid samples inside a landmark gap longer than the limit stay NaN.
        pos = np.searchsorted(ts_ok, grid)
        lo = np.clip(pos - 1, 0, ts_ok.size - 1)
        hi = np.clip(pos, 0, ts_ok.size - 1)
        gap = ts_ok[hi] - ts_ok[lo] - dt
        inside = (grid >= ts_ok[0] - 1e-9) & (grid <= ts_ok[-1] + 1e-9)
        usable = inside & (gap <= th.GAP_INTERPOLATE_MAX_S + 1e-6)
        near = np.minimum(np.abs(grid - ts_ok[lo]), np.abs(ts_ok[hi] - grid))
        filled[:, j] = usable & (near > th.INTERPOLATED_SAMPLE_FRAMES * dt)
        for c in range(2):
            xy[usable, j, c] = PchipInterpolator(ts_ok, lm[sel, j, c])(grid[usable])
        vis[usable, j] = np.interp(grid[usable], ts_ok, lm[sel, j, 3])
        w_ok = np.isfinite(world[sel, j, :]).all(axis=1)
        if w_ok.sum() >= th.MIN_SAMPLES_INTERPOLATE:
            for c in range(3):
                wout[usable, j, c] = np.interp(grid[usable], ts_ok[w_ok], world[sel[w_ok], j, c])
        cutoff = cutoff_for_landmark(j)
        for c in range(2):
            xy[:, j, c] = lowpass(xy[:, j, c], fs, cutoff)
        for c in range(3):
            wout[:, j, c] = lowpass(wout[:, j, c], fs, cutoff)
    return Segment(t=grid, xy=xy, vis=vis, world=wout, filled=filled)
