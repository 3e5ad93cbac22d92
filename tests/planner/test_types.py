"""Input contract and JSON round trips."""

from __future__ import annotations

import json
from datetime import date

import pytest

from backend.planner import (
    AnalysisSummary,
    FaultFinding,
    Plan,
    PlannerProfile,
    SessionLog,
    SetLog,
    generate_plan,
)

from .strategies import analysis, fault, profile

REPORT = {
    "recorded_at": "2025-03-01T09:30:00+00:00",
    "faults": [
        {
            "code": "hip_drop",
            "severity": "moderate",
            "side": "left",
            "confidence": 0.8,
            "evidence": {"pelvic_drop_deg": 8.1},
        },
        {"code": "heel_whip_v2", "severity": "mild", "side": None, "confidence": 0.5},
    ],
    "chain": [
        {"link": "foot_ankle", "confidence": 0.7, "reasoning": "knee moves inward with it"},
        {"link": "breathing", "confidence": 0.4, "reasoning": ""},
    ],
}


def test_from_report_dict_reads_faults_and_chain() -> None:
    a = AnalysisSummary.from_report_dict(REPORT)
    assert a.recorded_at == date(2025, 3, 1)
    assert a.faults == (FaultFinding("hip_drop", "moderate", "left", 0.8),)
    assert [(c.link, c.confidence, c.reasoning) for c in a.chain] == [
        ("foot_ankle", 0.7, "knee moves inward with it")
    ]
    # Codes a newer gait package may add are kept visible, not fatal.
    assert a.unrecognised == ("heel_whip_v2", "breathing")


def test_from_report_dict_recorded_at_argument_wins() -> None:
    a = AnalysisSummary.from_report_dict(REPORT, recorded_at=date(2025, 2, 1))
    assert a.recorded_at == date(2025, 2, 1)
    no_date = {"faults": [], "chain": []}
    with pytest.raises(ValueError, match="recorded_at"):
        AnalysisSummary.from_report_dict(no_date)


@pytest.mark.parametrize(
    "bad",
    [
        {"code": "hip_drop", "severity": "severe", "side": None, "confidence": 0.5},
        {"code": "hip_drop", "severity": "mild", "side": "up", "confidence": 0.5},
        {"code": "hip_drop", "severity": "mild", "side": None, "confidence": 1.5},
    ],
)
def test_from_report_dict_rejects_invalid_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AnalysisSummary.from_report_dict({"faults": [bad], "chain": []}, date(2025, 1, 1))


def test_profile_defaults_are_the_skipped_onboarding_defaults() -> None:
    p = PlannerProfile(block_start=date(2025, 3, 3))
    assert p.strength_weekdays == (0, 2, 4)
    assert p.equipment == frozenset({"none"})
    assert p.running_background == "beginner"


def test_profile_normalises_equipment_and_days() -> None:
    p = profile(equipment=frozenset({"none", "kettlebell"}), strength_weekdays=(4, 0, 4))
    assert p.equipment == frozenset({"kettlebell"})
    assert p.strength_weekdays == (0, 4)
    with pytest.raises(ValueError):
        profile(equipment=frozenset({"barbell"}))
    with pytest.raises(ValueError):
        profile(strength_weekdays=(7,))
    with pytest.raises(ValueError):
        profile(running_background="elite")


def test_plan_round_trips_through_json() -> None:
    plan = generate_plan(profile(injuries=("achilles",)), analysis(fault("hip_drop", side="left")))
    stored = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(stored) == plan
    assert stored["weeks"][1]["sessions"][0]["session_key"] == "w2-s1"
    assert stored["weeks"][1]["sessions"][0]["date"] == "2025-03-10"


def test_plan_from_dict_tolerates_missing_newer_keys() -> None:
    stored = generate_plan(profile(), None).to_dict()
    del stored["substitutions"]
    assert Plan.from_dict(stored).substitutions == ()


def test_set_log_done_and_target() -> None:
    assert SetLog(target_reps=8, done_reps=8).hit_target
    assert SetLog(target_reps=8, done_reps=6).done
    assert not SetLog(target_reps=8, done_reps=6).hit_target
    assert not SetLog(target_reps=8, done_reps=0).done
    assert SetLog(target_hold_s=30, done_hold_s=30).hit_target


def test_log_validation() -> None:
    with pytest.raises(ValueError):
        SessionLog("w1-s1", date(2025, 3, 3), rpe=11)
    plan = generate_plan(profile(), None)
    log = SessionLog.as_prescribed(plan.sessions[0], logged_on=date(2025, 3, 3), rpe=6)
    assert SessionLog.from_dict(json.loads(json.dumps(log.to_dict()))) == log
