"""The analysis on real running footage (../shared/clips/running, README there), through the
real pose engine, judged against truths it did not produce: cadence measured from raw pixels
with no pose model (tests/gait/pixel_truth.py, values in tests/fixtures/real_running/
truth.json, recomputed by tests/gait/test_pixel_truth.py) and what each clip is.

Each clip is either fit with its cadence within 2 % of the pixel truth, or refused with a
reason that is true of it. docs/gait.md ("Real footage") lists every clip; the clips whose
outcome is not yet right are named there, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.gait import Report, analyze
from backend.gait import thresholds as th
from backend.pose import Track, run_pose
from tests.gait.contact_labels import consensus, labels

RUNNING = Path(__file__).resolve().parents[3] / "shared" / "clips" / "running"
TRUTH = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "real_running"
                    / "truth.json").read_text())


@pytest.fixture(scope="module")
def track_of() -> dict[str, Track]:
    cache: dict[str, Track] = {}

    def get(name: str) -> Track:
        if name not in cache:
            path = RUNNING / name
            assert path.is_file(), f"the shared running clip {path} is missing"
            cache[name] = run_pose(path)
        return cache[name]

    return get  # type: ignore[return-value]


def _report(track_of: object, name: str, **kwargs: object) -> Report:
    return analyze(track_of(name), "auto", **kwargs)  # type: ignore[operator, arg-type]


@pytest.mark.parametrize(("name", "view"), [
    ("rear_treadmill_barefoot.mov", "rear"),
    ("side_treadmill_barefoot.mov", "side"),
])
def test_treadmill_clip_cadence_matches_the_pixels(track_of: object, name: str,
                                                   view: str) -> None:
    truth = TRUTH[name]
    assert truth["trusted"]
    r = _report(track_of, name)
    q = r.clip_quality
    assert q.fit, q.reasons
    assert r.view == view
    cadence = r.metrics["cadence_spm"].value
    assert cadence == pytest.approx(truth["cadence_spm"], rel=0.02)
    # A runner at 162 steps/min: no low-cadence fault (the side clip read 159.9 by the
    # old median of step times and raised one; cadence is now from strides and a low cadence
    # is gated on the clip's own repeatability).
    assert not any(f.code == "low_cadence" for f in r.faults)


@pytest.mark.parametrize(("name", "within_frames", "median_frames"), [
    # Two raters labelled each clip by eye, the second blind (tests/gait/contact_labels.py);
    # the contacts are judged against their consensus. Measured on this machine (docs/gait.md,
    # "Real footage"): side 0.7-1.8 frames after it, rear 1.4 before to 1.9 after. The issue
    # asks for two frames; the bounds leave a few tenths for another CPU's numerics (medians
    # measured 1.0 side, 0.7 rear). Before the depth flip was timed at its steepest point the
    # rear contacts came 0.1-2.4 frames before the consensus, median 1.5: that code fails.
    # So does a turn on its search window's edge left uncounted: the rear clip's last
    # contact then keeps its height timing, 3.4 frames late.
    ("side_treadmill_barefoot.mov", 2.5, 1.3),
    ("rear_treadmill_barefoot.mov", 2.5, 1.2),
])
def test_every_hand_labelled_contact_is_found_on_its_own_foot(
        track_of: object, name: str, within_frames: float, median_frames: float) -> None:
    track = track_of(name)  # type: ignore[operator]
    r = analyze(track, "auto")
    fps = track.fps_measured
    frames = np.arange(track.timestamps_s.size)
    errors = []
    for label in consensus(labels(name)):
        t = float(np.interp(label.frame, frames, track.timestamps_s))
        same_foot = r.events.side(label.foot).initial_contact_s
        other_foot = r.events.side("left" if label.foot == "right" else "right"
                                   ).initial_contact_s
        assert same_foot, label
        nearest = min(same_foot, key=lambda x: abs(x - t))
        errors.append(abs(nearest - t) * fps)
        assert errors[-1] <= within_frames, (label, nearest * fps)
        # And not the other foot's: its nearest contact is half a stride away.
        if other_foot:
            assert min(abs(x - t) for x in other_foot) * fps > within_frames, label
    assert float(np.median(errors)) <= median_frames, errors


@pytest.mark.parametrize(("name", "reason"), [
    # The feet leave the frame.
    ("side_treadmill_feet_cut.mp4", "whole body (head to feet) is in the frame in only"),
    # The runner crosses the frame: in view for a third of the clip's length less.
    ("side_overground_crossing.mp4", "A person is found in only"),
    # 3 s at 25 fps: too short for six clean steps (the README: "3 s").
    ("side_treadmill_outdoors_small.mp4", "The runner is in view for only 3.0 s"),
    # Its title says "Speed treadmill slow motion"; the pixels' rhythm is 67 steps/min of
    # clip time and the feet cannot be followed well enough to confirm it.
    ("side_treadmill_bystander.mp4", "the clip looks like slow motion"),
    # The camera travels with the runner and icons are drawn on the picture: no background
    # to read its motion from.
    ("front_overground_arms.mp4", "The camera moves too much to be corrected"),
])
def test_unfit_clips_are_refused_for_what_is_true_of_them(track_of: object, name: str,
                                                          reason: str) -> None:
    r = _report(track_of, name)
    q = r.clip_quality
    assert not q.fit
    assert any(reason in x for x in q.reasons), q.reasons
    assert q.advice and r.faults == []
    assert all(m.value is None for m in r.metrics.values())


def test_slow_motion_clip_is_recognised(track_of: object) -> None:
    name = "side_treadmill_slowmo.mp4"
    r = _report(track_of, name)
    q = r.clip_quality
    # Before: "Not enough running steps ... Film running, not walking or standing."
    assert q.fit, q.reasons
    assert q.slow_motion and q.needs_capture_fps
    assert r.metrics["cadence_spm"].value is None
    assert "slow motion" in (r.metrics["cadence_spm"].withheld_reason or "")
    assert not any(f.code in ("low_cadence", "asymmetry") and f.evidence.metric in (
        "cadence_spm", "ground_contact_ms") for f in r.faults)
    # The slow factor it tried agrees with the pixels' rhythm in clip time (17.5 steps/min).
    clip_cadence = TRUTH[name]["clip_time_cadence_spm"]
    trial = q.time_scale * th.SLOW_MOTION_TRIAL_CADENCE_SPM
    assert trial == pytest.approx(clip_cadence, rel=0.08)


def test_slow_motion_clip_gives_the_pixels_cadence_once_its_rate_is_given(
        track_of: object) -> None:
    name = "side_treadmill_slowmo.mp4"
    track = track_of(name)  # type: ignore[operator]
    # 17.5 steps/min of clip time is a tenth of a runner's cadence (tests/fixtures/real_running
    # /truth.json): the clip plays ten times slower than it was filmed.
    factor = 10
    r = analyze(track, "auto", capture_fps=factor * track.fps_measured)
    q = r.clip_quality
    assert q.fit and q.slow_motion and not q.needs_capture_fps, q.reasons
    truth = factor * TRUTH[name]["clip_time_cadence_spm"]
    assert r.metrics["cadence_spm"].value == pytest.approx(truth, rel=0.02)
    # The clip repeats one frame in three: its camera's own rate (200 fps) over the playback
    # rate is not the slow-down, but the factor "10x" is.
    by_factor = analyze(track, "auto", slow_motion_factor=factor)
    assert by_factor.metrics["cadence_spm"].value == pytest.approx(truth, rel=0.02)
