"""The diagnosis combination (pure): the latest fit clip of each plane, timing from the
newest; the report reader's plane tables agree with the metrics' own."""

from __future__ import annotations

from typing import Any

from backend.gait import metrics
from backend.gait.report_reader import (
    FRONTAL_METRICS,
    SAGITTAL_METRICS,
    TIMING_METRICS,
    DiagnosisSource,
    combine_analyses,
)


def _fault(code: str, metric: str) -> dict[str, Any]:
    return {"code": code, "severity": "moderate", "side": "left", "confidence": 0.8,
            "value": 1.0, "evidence": {"metric": metric}}


def test_planes_match_the_metrics_spec() -> None:
    assert frozenset(metrics.FRONTAL_KEYS) == FRONTAL_METRICS
    assert frozenset(metrics.SAGITTAL_KEYS) == SAGITTAL_METRICS
    assert frozenset(metrics.TIMING_KEYS) == TIMING_METRICS


def test_latest_clip_of_each_plane_and_timing_from_the_newest() -> None:
    rear_old = DiagnosisSource(1, "rear", "2026-11-01T10:00:00+00:00", {
        "faults": [_fault("hip_drop", "pelvic_drop_deg")]})
    side = DiagnosisSource(2, "side", "2026-11-02T10:00:00+00:00", {
        "faults": [_fault("overstride", "foot_ahead_of_hip_norm"),
                   _fault("low_cadence", "cadence_spm")],
        "chain": [{"link": "stride_rate", "confidence": 0.6, "reasoning": "r"}]})
    front_new = DiagnosisSource(3, "front", "2026-11-03T10:00:00+00:00", {
        "faults": [_fault("knee_collapse", "knee_fppa_deg"), _fault("low_cadence", "cadence_spm")],
        "metrics": {"cadence_spm": {"value": 150.0}, "knee_fppa_deg": {"value": 12.0}}})
    unfit = DiagnosisSource(4, "side", "2026-11-04T10:00:00+00:00", {
        "clip_quality": {"fit": False}, "faults": [_fault("trunk_lean", "trunk_forward_lean_deg")]})
    found = combine_analyses([rear_old, side, front_new, unfit])
    assert found is not None
    assert found.frontal == front_new and found.sagittal == side
    codes = {(f["code"], f["clip_id"]) for f in found.report["faults"]}
    assert codes == {("knee_collapse", 3), ("overstride", 2), ("low_cadence", 3)}
    assert found.report["chain"][0]["link"] == "stride_rate"
    assert found.recorded_at == front_new.recorded_at
    assert combine_analyses([unfit]) is None
