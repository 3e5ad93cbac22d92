"""View inference (with ``auto``), oblique cameras that defeat a plane, and clip fitness:
an unfit clip gives reasons and filming advice, never invented numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backend.gait import analyze
from backend.gait import thresholds as th
from backend.gait.metrics import ALL_KEYS, FRONTAL_KEYS, SAGITTAL_KEYS
from backend.gait.types import Report
from tests.gait.conftest import Runner
from tests.gait.synthetic import RunnerParams, make_runner, make_standing, make_walker


@pytest.mark.parametrize(("azimuth", "expected"), [
    (0.0, "rear"), (8.0, "rear"), (180.0, "front"), (172.0, "front"),
    (90.0, "side"), (270.0, "side"), (80.0, "side"),
])
def test_auto_view_is_inferred_with_confidence(runner: Runner, azimuth: float,
                                               expected: str) -> None:
    _, r = runner("auto", camera_azimuth_deg=azimuth)
    v = r.view_detail
    assert (r.view, v.inferred, v.requested) == (expected, expected, "auto")
    assert v.confidence >= 0.7
    assert not v.oblique
    assert v.camera_angle_deg is not None
    folded = min(azimuth % 180, 180 - azimuth % 180)
    assert abs(v.camera_angle_deg - folded) <= 8.0
    if expected == "side":
        assert v.facing == ("right" if azimuth == 90.0 or azimuth == 80.0 else "left")


@pytest.mark.parametrize(("azimuth", "view"), [(45.0, "rear"), (45.0, "auto"), (130.0, "front"),
                                               (55.0, "side")])
def test_oblique_camera_says_which_metrics_it_defeats(runner: Runner, azimuth: float,
                                                      view: str) -> None:
    _, r = runner(view, camera_azimuth_deg=azimuth)
    v = r.view_detail
    assert v.oblique
    if view == "auto":
        assert v.inferred == "oblique" and v.confidence < 0.5
    plane = SAGITTAL_KEYS if r.view == "side" else FRONTAL_KEYS
    for key in plane:
        m = r.metrics[key]
        assert m.value is None and "oblique" in (m.withheld_reason or ""), key
    assert any("degrees off a true" in n for n in v.notes)
    assert any("oblique" in w.lower() or "degrees off" in w for w in r.clip_quality.warnings)
    assert r.clip_quality.advice  # how to film square
    # Timing still works at any angle.
    assert r.metrics["cadence_spm"].value is not None
    assert not [f for f in r.faults if f.evidence.metric in plane]


def test_knee_angles_need_a_square_camera(runner: Runner) -> None:
    _, r = runner("rear", camera_azimuth_deg=10.0)
    assert not r.view_detail.oblique
    assert r.metrics["pelvic_drop_deg"].value is not None
    for key in ("knee_fppa_deg", "recovery_external_rotation_deg"):
        assert r.metrics[key].value is None
        assert "off square" in (r.metrics[key].withheld_reason or "")


@pytest.mark.parametrize("view", ["rear", "front"])
def test_knee_angles_survive_world_out_of_proportion(runner: Runner, view: str) -> None:
    """World shoulders and hips 5 % wider than the image shows (a pose model's body prior): the
    width ratio alone reads a square camera as 15-18 degrees off; the world hips' and
    shoulders' depth difference does not, so the knee angles stay reported square on and are
    still withheld for a camera 8 degrees off."""
    az = 0.0 if view == "rear" else 180.0
    wide = {"world_scale": (1.05, 1.0, 1.0), "world_noise_m": 0.002, "knee_fppa_deg": 12.0}
    _, square = runner(view, camera_azimuth_deg=az, **wide)
    angle = square.view_detail.camera_angle_deg
    assert angle is not None and angle <= 1.0
    for key in ("knee_fppa_deg", "recovery_external_rotation_deg"):
        assert square.metrics[key].value is not None, square.metrics[key].withheld_reason
    assert any(f.code == "knee_collapse" for f in square.faults)
    _, oblique = runner(view, camera_azimuth_deg=az + 8.0, **wide)
    angle = oblique.view_detail.camera_angle_deg
    assert angle is not None and abs(angle - 8.0) <= 1.5
    for key in ("knee_fppa_deg", "recovery_external_rotation_deg"):
        assert oblique.metrics[key].value is None
        assert "off square" in (oblique.metrics[key].withheld_reason or "")


def test_mislabelled_view_is_noted(runner: Runner) -> None:
    _, r = runner("rear", camera_azimuth_deg=90.0)
    assert r.view == "rear"
    assert any("looks like a side view" in n for n in r.view_detail.notes)


def _assert_unfit(r: Report, reason: str, advice: str) -> None:
    q = r.clip_quality
    assert not q.fit
    assert any(reason in x for x in q.reasons), q.reasons
    assert any(advice in x for x in q.advice), q.advice
    # No invented numbers: every metric withheld with the reason, no faults, no chain.
    assert set(ALL_KEYS) <= set(r.metrics)
    for m in r.metrics.values():
        assert m.value is None and m.left is None and m.right is None
        assert m.withheld_reason and "unfit" in m.withheld_reason
    assert r.faults == [] and r.chain == []
    assert "cannot be analysed" in r.summary[0]


UNFIT: list[tuple[str, dict[str, Any], str, str]] = [
    ("too_few_steps", {"duration_s": 1.6}, "running steps", "at least 6 steps"),
    ("low_fps", {"fps": 15.0, "duration_s": 6.0}, "frame rate", "60 fps"),
    ("person_missing", {"nan_gaps": ((1.0, 4.0), (6.0, 4.0))}, "person is found in only",
     "in the frame the whole time"),
    ("body_cut_off", {"body_fraction_of_frame": 1.05}, "whole body", "whole body"),
    ("camera_shake", {"camera_shake_px": 80.0}, "camera moves", "stand"),
]


@pytest.mark.parametrize(("name", "params", "reason", "advice"), UNFIT, ids=[u[0] for u in UNFIT])
@pytest.mark.parametrize("view", ["rear", "side"])
def test_unfit_clip_says_why_and_how_to_film(runner: Runner, name: str, params: dict[str, Any],
                                             reason: str, advice: str, view: str) -> None:
    _, r = runner(view, camera_azimuth_deg=0.0 if view == "rear" else 90.0, **params)
    _assert_unfit(r, reason, advice)


def test_standing_person_is_unfit() -> None:
    s = make_standing()
    r = analyze(s.track, "auto")
    _assert_unfit(r, "running steps", "Film running")
    assert r.clip_quality.n_steps == 0
    assert r.events.left.initial_contact_s == [] and r.events.right.initial_contact_s == []


@pytest.mark.parametrize(("azimuth", "view"), [(0.0, "rear"), (90.0, "side")])
def test_a_slow_jog_without_flight_is_still_running(azimuth: float, view: str) -> None:
    # Grounded running (the labelled barefoot clips): a frame of double support at each
    # contact, duty factor above 0.5, but the pelvis bounces, lowest at mid-stance.
    s = make_runner(RunnerParams(cadence_spm=160.0, contact_time_s=0.4, speed_mps=2.2,
                                 camera_azimuth_deg=azimuth))
    r = analyze(s.track, view)
    duty = r.metrics["duty_factor"].value
    assert duty is None or duty > 0.5
    assert r.clip_quality.running is True and r.clip_quality.fit, r.clip_quality.reasons
    # The same gait with a walker's vaulting pelvis is walking.
    w = make_runner(RunnerParams(cadence_spm=160.0, contact_time_s=0.4, speed_mps=2.2,
                                 camera_azimuth_deg=azimuth, pelvis_vaults=True))
    assert analyze(w.track, view).clip_quality.running is False


@pytest.mark.parametrize(("azimuth", "view"), [(0.0, "rear"), (90.0, "side")])
def test_walker_is_unfit(azimuth: float, view: str) -> None:
    s = make_walker(camera_azimuth_deg=azimuth)
    r = analyze(s.track, view)
    _assert_unfit(r, "walking, not running", "Film running")
    assert r.clip_quality.running is False


def test_empty_and_tiny_tracks_do_not_crash(runner: Runner) -> None:
    s, _ = runner("rear")
    t = s.track
    nobody = type(t).empty(120, t.width, t.height, 60.0, np.arange(120) / 60.0)
    r = analyze(nobody, "auto")
    _assert_unfit(r, "person is found in only", "in the frame")
    one = type(t)(t.landmarks[:1], t.world[:1], t.timestamps_s[:1], t.width, t.height, 60.0)
    _assert_unfit(analyze(one, "rear"), "running steps", "at least 6 steps")


def test_bad_view_argument_is_a_clear_error(runner: Runner) -> None:
    s, _ = runner("rear")
    with pytest.raises(ValueError, match="rear, front, side or auto"):
        analyze(s.track, "top")


def test_fitness_fields_on_a_good_clip(runner: Runner) -> None:
    _s, r = runner("rear", camera_azimuth_deg=0.0)
    q = r.clip_quality
    assert q.fit and q.reasons == [] and q.running is True and q.camera_steady is True
    assert q.n_steps >= th.MIN_STEPS and q.person_visible_fraction == 1.0
    assert abs(q.fps_measured - 60.0) < 0.1  # type: ignore[operator]
    assert q.whole_body_fraction == 1.0


def test_without_world_landmarks_contact_times_from_behind_are_withheld(runner: Runner) -> None:
    s, _ = runner("rear", camera_azimuth_deg=0.0)
    t = s.track
    no_world = type(t)(t.landmarks, np.full_like(t.world, np.nan), t.timestamps_s, t.width,
                       t.height, t.fps_nominal)
    r = analyze(no_world, "rear")
    assert r.clip_quality.fit
    assert any("No world landmarks" in w for w in r.clip_quality.warnings)
    assert abs(r.metrics["cadence_spm"].value - 170.0) <= 2.0  # type: ignore[operator]
    assert abs(r.metrics["pelvic_drop_deg"].value - 4.0) <= 1.5  # type: ignore[operator]
    for key in ("ground_contact_ms", "flight_ms", "duty_factor"):
        assert r.metrics[key].value is None
        assert "world landmarks" in (r.metrics[key].withheld_reason or "")
    # The heel whip from behind is inflated by perspective without them: withheld.
    assert r.metrics["recovery_external_rotation_deg"].value is None
    assert "perspective" in (r.metrics["recovery_external_rotation_deg"].withheld_reason or "")
    # world_landmarks_used says the truth: nothing here, and with them only what uses them.
    assert not any(m.world_landmarks_used for m in r.metrics.values())
    _, with_world = runner("rear", camera_azimuth_deg=0.0)
    used = {k for k, m in with_world.metrics.items() if m.world_landmarks_used}
    assert used == {"cadence_spm", "ground_contact_ms", "flight_ms", "duty_factor",
                    "step_width_norm", "arm_crossover_norm", "recovery_external_rotation_deg"}


def test_person_missing_every_other_frame_is_visible_after_interpolation(runner: Runner) -> None:
    """One-frame gaps are bridged by the cleaner, so they count as seen: a track whose person
    is missing in every other frame is fit, not "found in only 50 %"."""
    s, _ = runner("rear", camera_azimuth_deg=0.0)
    t = s.track
    lm, world = t.landmarks.copy(), t.world.copy()
    lm[1::2] = np.nan
    world[1::2] = np.nan
    holey = type(t)(lm, world, t.timestamps_s, t.width, t.height, t.fps_nominal)
    assert float(holey.found.mean()) == pytest.approx(0.5, abs=0.01)
    r = analyze(holey, "rear")
    # All but the last frame, which has no frame after it to bridge to.
    assert r.clip_quality.person_visible_fraction == pytest.approx(1.0, abs=0.002)
    assert r.clip_quality.fit, r.clip_quality.reasons
    assert abs(r.metrics["pelvic_drop_deg"].value - 4.0) <= 1.5  # type: ignore[operator]
    # Long gaps still count as missing: a third of the clip gone in one piece.
    lm2, world2 = t.landmarks.copy(), t.world.copy()
    lm2[: t.n_frames // 3] = np.nan
    world2[: t.n_frames // 3] = np.nan
    gone = type(t)(lm2, world2, t.timestamps_s, t.width, t.height, t.fps_nominal)
    q = analyze(gone, "rear").clip_quality
    assert q.person_visible_fraction == pytest.approx(2 / 3, abs=0.01)
    assert not q.fit and any("found in only" in x for x in q.reasons)


def test_treadmill_is_read_from_the_clip_or_given_by_the_athlete(runner: Runner) -> None:
    from backend.gait import AthleteInfo

    s, r = runner("rear", camera_azimuth_deg=0.0)
    # The synthetic runner is on a treadmill: from behind, its size in the image stays put.
    assert r.clip_quality.treadmill is True
    on_belt = analyze(s.track, "rear", AthleteInfo(treadmill_speed_mps=3.0))
    assert on_belt.clip_quality.treadmill is True
    assert on_belt.to_dict()["athlete"]["treadmill_speed_mps"] == 3.0
