"""The report's JSON format (other checks rely on it) and its round trip."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from backend.gait import SCHEMA_VERSION, Report
from backend.gait.types import CHAIN_LINKS
from backend.planner.types import CHAIN_LINKS as PLANNER_CHAIN_LINKS
from backend.planner.types import FAULT_CODES
from tests.gait.conftest import Runner

ISSUE_METRIC_KEYS = (
    "cadence_spm", "ground_contact_ms", "pelvic_drop_deg", "hip_adduction_deg", "knee_fppa_deg",
    "step_width_norm", "arm_crossover_norm", "trunk_lean_deg", "foot_ahead_of_hip_norm",
    "shank_angle_ic_deg", "knee_flexion_ic_deg", "vertical_oscillation_norm",
)
ISSUE_FAULT_CODES = ("hip_drop", "crossover_gait", "arm_crossover", "recovery_external_rotation",
                     "knee_collapse", "overstride", "low_cadence", "trunk_lean", "asymmetry")


def _finite_json(x: Any) -> None:
    """No NaN or infinity anywhere: JSON has no such numbers."""
    if isinstance(x, dict):
        for v in x.values():
            _finite_json(v)
    elif isinstance(x, list):
        for v in x:
            _finite_json(v)
    elif isinstance(x, float):
        assert math.isfinite(x)


@pytest.mark.parametrize(("view", "params"), [
    ("rear", {"camera_azimuth_deg": 0.0, "step_width_norm": -0.04, "arm_crossover_norm": 0.09}),
    ("side", {"camera_azimuth_deg": 90.0, "foot_ahead_norm": 0.17, "cadence_spm": 150.0}),
    ("rear", {"duration_s": 1.6}),  # unfit
])
def test_report_json_format(runner: Runner, view: str, params: dict[str, Any]) -> None:
    _, r = runner(view, **params)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    _finite_json(d)
    assert next(iter(d)) == "schema_version" and d["schema_version"] == SCHEMA_VERSION
    assert d["view"] in ("rear", "front", "side")
    assert isinstance(d["clip_quality"]["fit"], bool)
    for key in ("reasons", "warnings", "advice"):
        assert isinstance(d["clip_quality"][key], list)
    for side in ("left", "right"):
        ev = d["events"][side]
        assert isinstance(ev["initial_contact_s"], list) and isinstance(ev["toe_off_s"], list)
        assert all(isinstance(t, float) for t in ev["initial_contact_s"] + ev["toe_off_s"])
    for key in ISSUE_METRIC_KEYS:
        m = d["metrics"][key]
        for field in ("value", "left", "right", "n_strides", "unit", "withheld_reason"):
            assert field in m, (key, field)
        assert (m["value"] is None) == (m["withheld_reason"] is not None), key
        assert isinstance(m["n_strides"], int) and isinstance(m["unit"], str)
    for f in d["faults"]:
        for field in ("code", "severity", "side", "confidence", "evidence", "cues"):
            assert field in f
        assert f["code"] in FAULT_CODES
        assert f["evidence"]["values"] and f["evidence"]["frame_times_s"]
    for c in d["chain"]:
        assert c["link"] in CHAIN_LINKS and c["reasoning"] and 0 <= c["confidence"] <= 1
    if d["clip_quality"]["fit"]:
        assert d["faults"] and d["chain"]


@pytest.mark.parametrize("view", ["rear", "side", "front"])
def test_round_trip(runner: Runner, view: str) -> None:
    az = {"rear": 0.0, "side": 90.0, "front": 180.0}[view]
    _, r = runner(view, camera_azimuth_deg=az, pelvic_drop_deg=(8.0, 4.0), foot_ahead_norm=0.17)
    d = r.to_dict()
    back = Report.from_dict(json.loads(json.dumps(d)))
    assert back.to_dict() == d
    assert back.metrics["cadence_spm"].value == d["metrics"]["cadence_spm"]["value"]


def test_unknown_schema_version_is_refused(runner: Runner) -> None:
    _, r = runner("rear")
    d = r.to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema_version"):
        Report.from_dict(d)


def test_codes_and_links_match_the_planner() -> None:
    assert set(ISSUE_FAULT_CODES) == set(FAULT_CODES)
    assert set(CHAIN_LINKS) == set(PLANNER_CHAIN_LINKS)
    from backend.gait.catalogue import FAULTS

    assert set(FAULTS) == set(FAULT_CODES)
