"""Fault rules fire when and only when their metric crosses its threshold, with the severity
bands of ``backend.gait.thresholds``; the chain reading follows the combination of faults.

Two levels: the rules on metric summaries built exactly at each band edge (plus or minus a
hair), and end to end through ``analyze()`` on synthetic runners whose parameter sits just
below or just above the threshold (as close as the analysis resolves: within about a sixth of
the threshold for most rules).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from backend.gait import catalogue
from backend.gait import thresholds as th
from backend.gait.faults import chain, rules
from backend.gait.metrics import summarise
from backend.gait.types import Fault, Metric, StrideValue
from backend.planner.types import FAULT_CODES, AnalysisSummary
from tests.gait.conftest import Runner

HAIR = 1e-3
N_PER_SIDE = 8


def metric(key: str, left: float, right: float | None = None, per_side: bool = True) -> Metric:
    """A metric summary whose strides all sit at the given value (a little scatter)."""
    rng = np.random.default_rng(0)
    right = left if right is None else right
    rows = []
    for k in range(N_PER_SIDE):
        jitter = 0.1 * HAIR * (rng.random() - 0.5)
        t = 1.0 + 0.7 * k
        if per_side:
            rows.append(StrideValue(t, "left", left + jitter))
            rows.append(StrideValue(t + 0.35, "right", right + jitter))
        else:
            rows.append(StrideValue(t, None, left + jitter))
            rows.append(StrideValue(t + 0.35, None, left - jitter))
    return summarise(key, rows, visibility=0.9)


# code, metric key, bands, per side
BANDED = [
    ("hip_drop", "pelvic_drop_deg", th.PELVIC_DROP, True),
    ("crossover_gait", "step_width_norm", th.STEP_WIDTH, False),
    ("recovery_external_rotation", "recovery_external_rotation_deg",
     th.RECOVERY_EXTERNAL_ROTATION, True),
    ("knee_collapse", "knee_fppa_deg", th.KNEE_FPPA, True),
    ("overstride", "foot_ahead_of_hip_norm", th.FOOT_AHEAD_OF_HIP, True),
    ("low_cadence", "cadence_spm", th.CADENCE, False),
    ("trunk_lean", "trunk_forward_lean_deg", th.TRUNK_FORWARD_LEAN, False),
    ("trunk_lean", "trunk_lateral_lean_deg", th.TRUNK_LATERAL_LEAN, True),
]


def _edges(b: th.Bands) -> list[tuple[float, str | None]]:
    s = 1.0 if b.higher_is_worse else -1.0
    return [(b.mild - s * HAIR, None), (b.mild + s * HAIR, "mild"),
            (b.moderate - s * HAIR, "mild"), (b.moderate + s * HAIR, "moderate"),
            (b.marked - s * HAIR, "moderate"), (b.marked + s * HAIR, "marked")]


@pytest.mark.parametrize(("code", "key", "bands", "per_side"), BANDED,
                         ids=[f"{c}-{k}" for c, k, _, _ in BANDED])
def test_rule_fires_exactly_at_its_threshold_with_severity_bands(
        code: str, key: str, bands: th.Bands, per_side: bool) -> None:
    for value, severity in _edges(bands):
        found = [f for f in rules({key: metric(key, value, per_side=per_side)}) if f.code == code]
        if severity is None:
            assert not found, f"{code} fired at {value}"
            continue
        assert found, f"{code} silent at {value}"
        assert {f.severity for f in found} == {severity}, (value, [f.severity for f in found])
        assert {f.side for f in found} == ({"left", "right"} if per_side else {None})


def test_a_fault_has_the_side_that_crosses() -> None:
    m = metric("pelvic_drop_deg", th.PELVIC_DROP.moderate + 0.5, th.PELVIC_DROP.mild - 1.0)
    hip = [f for f in rules({"pelvic_drop_deg": m}) if f.code == "hip_drop"]
    assert [(f.side, f.severity) for f in hip] == [("left", "moderate")]


def test_arm_crossover_is_mild_unless_the_feet_cross() -> None:
    b = th.ARM_CROSSOVER
    for value, severity in _edges(b):
        arms = {"arm_crossover_norm": metric("arm_crossover_norm", value)}
        alone = [f for f in rules(arms) if f.code == "arm_crossover"]
        crossing = {**arms, "step_width_norm": metric("step_width_norm", -0.02, per_side=False)}
        with_feet = [f for f in rules(crossing) if f.code == "arm_crossover"]
        if severity is None:
            assert not alone and not with_feet
            continue
        assert {f.severity for f in alone} == {"mild"}  # RF: thin evidence on its own
        assert {f.severity for f in with_feet} == {severity}
        assert all(f.confidence <= th.ARM_CROSSOVER_CONFIDENCE_CAP for f in alone)


def test_shank_angle_escalates_or_alone_fires_overstride() -> None:
    fa = th.FOOT_AHEAD_OF_HIP
    reaching = metric("shank_angle_ic_deg", th.SHANK_ANGLE_OVERSTRIDE_DEG + HAIR)
    upright = metric("shank_angle_ic_deg", th.SHANK_ANGLE_OVERSTRIDE_DEG - HAIR)
    ahead = metric("foot_ahead_of_hip_norm", fa.mild + HAIR)
    near = metric("foot_ahead_of_hip_norm", fa.mild - HAIR)

    def sev(**ms: Metric) -> set[str]:
        return {f.severity for f in rules(ms) if f.code == "overstride"}

    assert sev(foot_ahead_of_hip_norm=ahead, shank_angle_ic_deg=upright) == {"mild"}
    assert sev(foot_ahead_of_hip_norm=ahead, shank_angle_ic_deg=reaching) == {"moderate"}
    assert sev(foot_ahead_of_hip_norm=near, shank_angle_ic_deg=reaching) == {"mild"}
    assert sev(foot_ahead_of_hip_norm=near, shank_angle_ic_deg=upright) == set()


def test_recovery_rotation_needs_consistency() -> None:
    b = th.RECOVERY_EXTERNAL_ROTATION
    rows = [StrideValue(1.0 + k, "left", b.moderate if k % 3 == 0 else 0.0) for k in range(9)]
    rows += [StrideValue(1.5 + k, "right", 0.0) for k in range(9)]
    m = summarise("recovery_external_rotation_deg", rows, visibility=0.9)
    m.left = b.moderate  # a median pushed over by a few strides: not consistent
    assert not [f for f in rules({m.key: m}) if f.code == "recovery_external_rotation"]


@pytest.mark.parametrize("key", list(th.ASYMMETRY_SDD))
def test_asymmetry_fires_past_the_smallest_detectable_difference(key: str) -> None:
    src = "trunk_lateral_lean_deg" if key == "trunk_lean_deg" else key
    sdd = th.ASYMMETRY_SDD[key]
    base = 1.0
    for diff, severity in ((sdd - HAIR, None), (sdd + HAIR, "mild"), (2 * sdd + HAIR, "moderate"),
                           (3 * sdd + HAIR, "marked")):
        found = [f for f in rules({src: metric(src, base, base + diff)}) if f.code == "asymmetry"]
        if severity is None:
            assert not found
        else:
            assert [(f.severity, f.side) for f in found] == [(severity, "right")]


# End to end: (code, view, parameters below the threshold, parameters above). Each pair sits
# as close either side of the threshold as the analysis resolves on the synthetic runner (the
# parameters are the metrics' own quantities, see synthetic.py).
E2E: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("hip_drop", "rear", {"pelvic_drop_deg": 5.5}, {"pelvic_drop_deg": 6.5}),
    ("crossover_gait", "rear", {"step_width_norm": 0.06}, {"step_width_norm": 0.04}),
    ("arm_crossover", "rear", {"arm_crossover_norm": 0.005}, {"arm_crossover_norm": 0.035}),
    ("recovery_external_rotation", "rear", {"recovery_er_deg": 14.0}, {"recovery_er_deg": 16.0}),
    ("recovery_external_rotation", "front", {"recovery_er_deg": 14.0},
     {"recovery_er_deg": 16.0}),
    ("knee_collapse", "rear", {"knee_fppa_deg": 8.5}, {"knee_fppa_deg": 11.5}),
    ("knee_collapse", "front", {"knee_fppa_deg": 8.5}, {"knee_fppa_deg": 11.5}),
    ("overstride", "side", {"foot_ahead_norm": 0.07}, {"foot_ahead_norm": 0.09}),
    ("low_cadence", "side", {"cadence_spm": 162.0}, {"cadence_spm": 158.0}),
    ("trunk_lean", "side", {"trunk_forward_lean_deg": 9.0}, {"trunk_forward_lean_deg": 11.0}),
    ("trunk_lean", "rear", {"trunk_lateral_lean_deg": 4.5}, {"trunk_lateral_lean_deg": 5.5}),
    ("asymmetry", "rear", {"pelvic_drop_deg": (4.0, 4.0)}, {"pelvic_drop_deg": (5.0, 1.5)}),
]
AZ = {"rear": 0.0, "front": 180.0, "side": 90.0}


@pytest.mark.parametrize(("code", "view", "below", "above"), E2E,
                         ids=[f"{c}-{v}" for c, v, _, _ in E2E])
def test_synthetic_runner_fires_only_above_the_threshold(
        runner: Runner, code: str, view: str, below: dict[str, Any],
        above: dict[str, Any]) -> None:
    _, r_below = runner(view, camera_azimuth_deg=AZ[view], **below)
    _, r_above = runner(view, camera_azimuth_deg=AZ[view], **above)
    assert r_below.faults == [], [(f.code, f.value) for f in r_below.faults]
    codes = {f.code for f in r_above.faults}
    assert code in codes
    assert codes <= {code, "asymmetry"} if code == "hip_drop" else codes == {code}


@pytest.mark.parametrize("view", list(AZ))
def test_normal_runner_has_no_fault(runner: Runner, view: str) -> None:
    for params in ({}, {"noise_px": 1.5, "world_noise_m": 0.002}, {"variable_frame_rate": 0.3}):
        _, r = runner(view, camera_azimuth_deg=AZ[view], **params)
        assert r.clip_quality.fit
        assert r.faults == [], (params, [(f.code, f.side, f.value) for f in r.faults])
        assert r.chain == []


def _check_fault_fields(f: Fault, frame_times: set[float]) -> None:
    assert f.code in FAULT_CODES
    assert f.severity in ("mild", "moderate", "marked")
    assert f.side in ("left", "right", None)
    assert 0.0 < f.confidence <= 1.0
    assert f.cues and all(isinstance(c, str) and c for c in f.cues)
    assert f.why_it_matters == catalogue.fault(f.code).explanation
    ev = f.evidence
    assert ev.metric and ev.values and len(ev.values) == len(ev.frame_times_s) == len(ev.sides)
    assert all(round(t, 9) in frame_times for t in ev.frame_times_s)
    assert ev.key_frame_s in ev.frame_times_s
    assert f.value is not None and np.isfinite(f.value)


def test_fault_fields_and_evidence(runner: Runner) -> None:
    s, r = runner("rear", camera_azimuth_deg=0.0, pelvic_drop_deg=(8.0, 4.0),
                  step_width_norm=-0.04, arm_crossover_norm=0.05)
    frame_times = set(np.round(s.track.timestamps_s, 9))
    codes = {(f.code, f.side) for f in r.faults}
    assert ("hip_drop", "left") in codes and ("hip_drop", "right") not in codes
    assert ("crossover_gait", None) in codes
    for f in r.faults:
        _check_fault_fields(f, frame_times)
    hip = next(f for f in r.faults if f.code == "hip_drop")
    # Evidence: the left stances' drops, each at the frame where it peaked.
    assert set(hip.evidence.sides) == {"left"}
    assert abs(float(np.median(hip.evidence.values)) - 8.0) <= 1.5
    assert hip.severity == "moderate" and hip.confidence >= 0.8


def test_chain_posterior_oblique_sling_end_to_end(runner: Runner) -> None:
    _, r = runner("rear", camera_azimuth_deg=0.0, step_width_norm=-0.04, arm_crossover_norm=0.09)
    assert {f.code for f in r.faults} == {"crossover_gait", "arm_crossover"}
    links = {c.link: c for c in r.chain}
    assert set(links) == {"posterior_oblique_sling"}
    sling = links["posterior_oblique_sling"]
    assert set(sling.faults) == {"crossover_gait", "arm_crossover"}
    assert "opposite" in sling.reasoning and sling.confidence >= 0.5
    # The arms, with crossing feet, are no longer capped at mild.
    assert any(f.code == "arm_crossover" and f.severity != "mild" for f in r.faults)


def _m(**values: float) -> dict[str, Metric]:
    per_side = {"cadence_spm": False, "step_width_norm": False}
    return {k: metric(k, v, per_side=per_side.get(k, True)) for k, v in values.items()}


@pytest.mark.parametrize(("metrics", "links"), [
    # Hip drop with the knee moving in: look down the chain first.
    (_m(pelvic_drop_deg=8.0, knee_fppa_deg=16.0), {"foot_ankle"}),
    # Hip drop alone: activation and control.
    (_m(pelvic_drop_deg=8.0, knee_fppa_deg=2.0), {"activation"}),
    # Lateral lean with little pelvic drop: the trunk may hide a hip weakness.
    (_m(trunk_lateral_lean_deg=9.0, pelvic_drop_deg=3.0), {"activation"}),
    # Overstride with low cadence: stride rate first.
    (_m(foot_ahead_of_hip_norm=0.17, cadence_spm=150.0), {"stride_rate"}),
    (_m(trunk_forward_lean_deg=16.0), {"posture"}),
    (_m(step_width_norm=-0.03, arm_crossover_norm=0.1), {"posterior_oblique_sling"}),
    (_m(step_width_norm=0.1, arm_crossover_norm=0.0, pelvic_drop_deg=4.0), set()),
])
def test_chain_reading_for_combinations(metrics: dict[str, Metric], links: set[str]) -> None:
    faults = rules(metrics)
    reading = chain(faults, metrics)
    assert {c.link for c in reading} == links
    for c in reading:
        assert c.reasoning and c.faults and set(c.faults) <= {f.code for f in faults}
        assert 0.0 < c.confidence <= 1.0


def test_planner_reads_the_report(runner: Runner) -> None:
    _, r = runner("rear", camera_azimuth_deg=0.0, step_width_norm=-0.04, arm_crossover_norm=0.05)
    summary = AnalysisSummary.from_report_dict(r.to_dict(), recorded_at=date(2026, 11, 25))
    assert summary.unrecognised == ()
    assert {f.code for f in summary.faults} == {f.code for f in r.faults}
    assert [c.link for c in summary.chain] == [c.link for c in r.chain]


def test_contact_asymmetry_floor_is_two_frames_at_the_clips_rate(runner: Runner) -> None:
    """A 25 ms difference on 200 ms contacts: past 8 % of the contact and past two frames at
    120 fps (16.7 ms), under two frames at 60 fps (33.3 ms)."""
    ct = metric("ground_contact_ms", 187.5, 212.5)
    floor_120 = th.CONTACT_ASYMMETRY_MIN_FRAMES * 1000.0 / 120.0
    at_120 = [f for f in rules({"ground_contact_ms": ct}, fps=120.0) if f.code == "asymmetry"]
    assert [(f.side, f.threshold) for f in at_120] == [("left", pytest.approx(floor_120))]
    assert not [f for f in rules({"ground_contact_ms": ct}, fps=60.0) if f.code == "asymmetry"]
    # End to end: the clip's measured frame rate reaches the rule.
    params = {"camera_azimuth_deg": 90.0, "contact_time_s": (0.1875, 0.2125), "duration_s": 8.0}
    _, fast = runner("side", fps=120.0, **params)
    assert [(f.code, f.side) for f in fast.faults] == [("asymmetry", "left")]
    assert fast.faults[0].evidence.metric == "ground_contact_ms"
    _, slow = runner("side", fps=60.0, **params)
    assert not [f for f in slow.faults if f.code == "asymmetry"]
