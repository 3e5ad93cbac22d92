"""What real phone footage needs of the analysis (issue 11), on landmark sequences whose truth
is known: cadence that a left/right detector bias cannot move, asymmetry only beyond the clip's
own repeatability, left/right leg swaps repaired, slow motion detected and undone by the
capture rate, treadmill told from the clip."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from backend.gait import analyze
from backend.gait import thresholds as th
from backend.gait.cleaning import CleanTrack, leg_swaps
from backend.gait.events import Contact, GaitEvents, SegmentScale, Step
from backend.gait.faults import asymmetry, rules
from backend.gait.metrics import Ctx, _Collector, summarise, timing
from backend.gait.types import Metric, StrideValue, ViewInfo
from backend.pose.track import Track
from tests.gait.synthetic import make_runner

# ------------------------------------------------------------------ cadence from strides


def _events_with_bias(step_long_s: float, step_short_s: float, n_strides: int) -> GaitEvents:
    """Contacts of a runner whose true step time is the mean of the two, with the left foot's
    contacts found late (the issue's side-view clip: steps alternating 0.42 / 0.31 s)."""
    ge = GaitEvents()
    t = 0.5
    contacts = []
    for _ in range(n_strides):
        contacts.append(Contact("right", 0, t, t + 0.2, 0, 1))
        contacts.append(Contact("left", 0, t + step_long_s, t + step_long_s + 0.2, 0, 1))
        t += step_long_s + step_short_s
    ge.contacts = contacts
    ge.steps = [Step(a, b) for a, b in itertools.pairwise(contacts)]
    ge.scales = [SegmentScale(leg_px=500.0, leg_m_world=None)]
    return ge


def _ctx(ge: GaitEvents) -> Ctx:
    times = np.arange(0.0, 30.0, 1 / 60)
    clean = CleanTrack(segments=[], frame_times_s=times, fps_measured=60.0, fps_nominal=60.0,
                       width=1080, height=1920, person_found=np.ones(times.size, dtype=bool))
    view = ViewInfo(requested="side", used="side", inferred="side", confidence=1.0,
                    camera_angle_deg=90.0, oblique=False, facing="right")
    return Ctx(clean=clean, ge=ge, view=view, athlete=None)


def test_cadence_is_not_moved_by_a_left_right_detector_bias() -> None:
    # True cadence: 2 steps per 0.73 s stride = 164.4 steps/min.
    ge = _events_with_bias(0.42, 0.31, n_strides=9)
    col = _Collector()
    timing(_ctx(ge), col)
    cadence = summarise("cadence_spm", col.values["cadence_spm"])
    assert cadence.value == pytest.approx(120 / 0.73, abs=0.05)
    # The old definition, 60 / the median step time, would read a long or a short step.
    median_step = float(np.median([s.duration_s for s in ge.steps]))
    assert abs(60 / median_step - 120 / 0.73) > 0.05 * 120 / 0.73


def test_no_low_cadence_fault_when_the_clip_cannot_support_it() -> None:
    """A median just under the threshold from strides that scatter widely is no fault; the
    same median from consistent strides is."""
    rng = np.random.default_rng(1)
    below = th.CADENCE.mild - 2.0

    def cadence(scatter: float) -> Metric:
        vals = below + scatter * rng.standard_normal(10)
        vals += below - float(np.median(vals))
        rows = [StrideValue(0.7 * k, "left" if k % 2 else "right", float(v))
                for k, v in enumerate(vals)]
        return summarise("cadence_spm", rows)

    assert any(f.code == "low_cadence" for f in rules({"cadence_spm": cadence(0.5)}))
    assert not any(f.code == "low_cadence" for f in rules({"cadence_spm": cadence(15.0)}))


# ------------------------------------------------------------------ asymmetry


def _sided(key: str, left: list[float], right: list[float]) -> Metric:
    rows = [StrideValue(0.7 * k, "left", v) for k, v in enumerate(left)]
    rows += [StrideValue(0.7 * k + 0.35, "right", v) for k, v in enumerate(right)]
    return summarise(key, rows)


def test_asymmetry_needs_more_than_the_clips_own_spread() -> None:
    sdd = th.ASYMMETRY_SDD["pelvic_drop_deg"]
    rng = np.random.default_rng(2)
    gap = 1.5 * sdd  # past the smallest detectable difference
    # Consistent strides: the gap stands far above their scatter: a fault.
    steady = _sided("pelvic_drop_deg", list(6 + gap + 0.2 * rng.standard_normal(8)),
                    list(6 + 0.2 * rng.standard_normal(8)))
    found = asymmetry({"pelvic_drop_deg": steady})
    assert [f.side for f in found] == ["left"]
    # The same medians from strides scattered by 6 degrees: the clip cannot tell the sides
    # apart, so no fault.
    noisy_left = 6 + gap + 6.0 * rng.standard_normal(8)
    noisy_right = 6 + 6.0 * rng.standard_normal(8)
    noisy_left += 6 + gap - np.median(noisy_left)
    noisy_right += 6 - np.median(noisy_right)
    noisy = _sided("pelvic_drop_deg", list(noisy_left), list(noisy_right))
    assert noisy.asymmetry == pytest.approx(gap, abs=1e-9)
    assert asymmetry({"pelvic_drop_deg": noisy}) == []


def test_contact_time_asymmetry_needs_repeatable_strides() -> None:
    rng = np.random.default_rng(3)

    def centred(median: float, scatter: float) -> list[float]:
        v = median + scatter * rng.standard_normal(6)
        return list(v + median - np.median(v))

    # 60 ms apart (past two frames and 8 % of the mean) with a 70 ms stride-to-stride scatter.
    noisy = _sided("ground_contact_ms", centred(260, 70), centred(200, 70))
    assert noisy.asymmetry == pytest.approx(60.0)
    steady = _sided("ground_contact_ms", list(260 + 3 * rng.standard_normal(6)),
                    list(200 + 3 * rng.standard_normal(6)))
    assert asymmetry({"ground_contact_ms": steady}, fps=60.0)
    assert asymmetry({"ground_contact_ms": noisy}, fps=60.0) == []


def test_knee_flexion_gap_side_on_is_an_asymmetry() -> None:
    rng = np.random.default_rng(4)
    m = _sided("knee_flexion_midstance_deg", list(45 + rng.standard_normal(8)),
               list(18 + rng.standard_normal(8)))
    found = asymmetry({"knee_flexion_midstance_deg": m})
    assert found and found[0].evidence.metric == "knee_flexion_midstance_deg"


# ------------------------------------------------------------------ leg swaps

LEFT, RIGHT = np.array([25, 27, 29, 31]), np.array([26, 28, 30, 32])


def _trade(track: Track, frames: np.ndarray) -> Track:
    lm, world = track.landmarks.copy(), track.world.copy()
    for arr in (lm, world):
        a = arr[frames][:, LEFT].copy()
        arr[np.ix_(frames, LEFT)] = arr[np.ix_(frames, RIGHT)]
        arr[np.ix_(frames, RIGHT)] = a
    return dataclasses.replace(track, landmarks=lm, world=world)


@pytest.mark.parametrize("view_deg", [90.0, 0.0])
def test_leg_swaps_are_found_and_repaired(view_deg: float) -> None:
    s = make_runner(camera_azimuth_deg=view_deg, duration_s=8.0, noise_px=1.0, seed=5)
    n = s.track.n_frames
    frames = np.zeros(n, dtype=bool)
    for start in (60, 200, 333):  # three stretches of traded labels, a few steps long
        frames[start : start + 40] = True
    swapped = _trade(s.track, frames)
    found = leg_swaps(swapped.landmarks.astype(np.float64))
    assert (found == frames).mean() > 0.99
    assert not leg_swaps(s.track.landmarks.astype(np.float64)).any()
    view = "side" if view_deg == 90.0 else "rear"
    want, got = analyze(s.track, view), analyze(swapped, view)
    assert got.clip_quality.leg_swaps_repaired == int(frames.sum())
    assert got.clip_quality.fit
    assert got.metrics["cadence_spm"].value == pytest.approx(
        want.metrics["cadence_spm"].value, rel=0.01)


# ------------------------------------------------------------------ slow motion


@pytest.fixture(scope="module")
def slow_runner() -> tuple[Track, float]:
    """A side-view runner at 166 steps/min filmed at 240 fps and played at 30 fps (8x)."""
    s = make_runner(camera_azimuth_deg=90.0, duration_s=4.0, fps=240.0, cadence_spm=166.0,
                    noise_px=0.5, seed=6)
    slow = dataclasses.replace(s.track, timestamps_s=s.track.timestamps_s * 8.0,
                               fps_nominal=30.0)
    return slow, 166.0


def test_slow_motion_is_detected_and_time_figures_withheld(
        slow_runner: tuple[Track, float]) -> None:
    track, _ = slow_runner
    r = analyze(track, "side")
    q = r.clip_quality
    assert q.fit and q.slow_motion and q.needs_capture_fps
    for key in ("cadence_spm", "ground_contact_ms", "flight_ms", "duty_factor"):
        assert r.metrics[key].value is None
        assert "slow motion" in (r.metrics[key].withheld_reason or "")
    assert not any(f.code == "low_cadence" for f in r.faults)
    # Shapes and angles do not depend on time: they are measured.
    assert r.metrics["knee_flexion_midstance_deg"].value is not None


def test_capture_rate_gives_the_real_cadence(slow_runner: tuple[Track, float]) -> None:
    track, truth = slow_runner
    r = analyze(track, "side", capture_fps=240.0)
    q = r.clip_quality
    assert q.fit and q.slow_motion and not q.needs_capture_fps
    assert q.capture_fps == 240.0 and q.time_scale == pytest.approx(30 / 240, rel=1e-3)
    assert r.metrics["cadence_spm"].value == pytest.approx(truth, rel=0.02)
    assert r.metrics["ground_contact_ms"].value is not None  # 240 fps: contact times hold


def test_slow_motion_factor_gives_the_real_cadence(slow_runner: tuple[Track, float]) -> None:
    """Played 8 times slower than life: the factor alone gives real time, the same report as
    its capture rate; it cannot be given with a capture rate nor below 1."""
    track, truth = slow_runner
    r = analyze(track, "side", slow_motion_factor=8.0)
    q = r.clip_quality
    assert q.fit and q.slow_motion and not q.needs_capture_fps
    assert q.time_scale == pytest.approx(1 / 8, rel=1e-3)
    assert r.metrics["cadence_spm"].value == pytest.approx(truth, rel=0.02)
    by_rate = analyze(track, "side", capture_fps=8.0 * track.fps_measured)
    assert r.metrics["cadence_spm"].value == by_rate.metrics["cadence_spm"].value
    with pytest.raises(ValueError, match="not both"):
        analyze(track, "side", capture_fps=240.0, slow_motion_factor=8.0)
    with pytest.raises(ValueError, match="1 or more"):
        analyze(track, "side", slow_motion_factor=0.5)


def test_capture_rate_below_the_playback_rate_is_refused(
        slow_runner: tuple[Track, float]) -> None:
    with pytest.raises(ValueError, match="below the clip's own frame rate"):
        analyze(slow_runner[0], "side", capture_fps=10.0)


def test_a_normal_clip_is_not_slow_motion() -> None:
    s = make_runner(camera_azimuth_deg=90.0, duration_s=6.0, seed=7)
    q = analyze(s.track, "side").clip_quality
    assert not q.slow_motion and not q.needs_capture_fps and q.time_scale == 1.0


# ------------------------------------------------------------------ treadmill


def test_treadmill_is_read_from_the_clip() -> None:
    s = make_runner(camera_azimuth_deg=90.0, duration_s=6.0, speed_mps=3.0, seed=8)
    q = analyze(s.track, "side").clip_quality
    assert q.treadmill is True
    # The stance foot is carried back at the belt's speed: 3 m/s over the leg length.
    assert q.belt_speed_leg_per_s == pytest.approx(3.0 / s.leg_length_m, rel=0.15)


def test_contact_time_asymmetry_must_exceed_the_detectors_own_bias() -> None:
    """A contact-time gap of 60 ms from steady strides is an asymmetry, unless the detector's
    left/right phase bias measured on the clip (40 ms: up to 80 ms of contact time) can make
    it."""
    rng = np.random.default_rng(9)
    steady = _sided("ground_contact_ms", list(260 + 2 * rng.standard_normal(8)),
                    list(200 + 2 * rng.standard_normal(8)))
    assert asymmetry({"ground_contact_ms": steady}, fps=60.0, timing_bias_s=0.01)
    assert asymmetry({"ground_contact_ms": steady}, fps=60.0, timing_bias_s=0.04) == []
