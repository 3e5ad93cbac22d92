"""One reader of a stored report: the app's rows and the planner read the same faults from
it, and a report older than the code (or a seed) reads without inventing anything."""

from __future__ import annotations

import math
from datetime import date

from backend.gait.report_reader import read_report
from backend.planner.types import AnalysisSummary
from tests.gait.conftest import Runner


def test_the_planner_and_the_rows_read_the_same_faults(runner: Runner) -> None:
    _, r = runner("rear", camera_azimuth_deg=0.0, step_width_norm=-0.04, arm_crossover_norm=0.05)
    d = r.to_dict()
    read = read_report(d)
    assert read.schema_version == str(d["schema_version"]) and read.view == r.view
    assert read.verdict.fit is True and read.verdict.unfit_reasons == ()
    assert [(f.code, f.side, f.severity, f.confidence) for f in read.faults] == [
        (f.code, f.side, f.severity, f.confidence) for f in r.faults]
    summary = AnalysisSummary.from_report_dict(d, recorded_at=date(2026, 12, 5))
    assert [(f.code, f.side, f.severity, f.confidence) for f in summary.faults] == [
        (f.code, f.side, f.severity, f.confidence) for f in read.faults]
    assert [c.link for c in read.chain] == [c.link for c in summary.chain]
    keys = [m.key for m in read.metrics]
    assert keys == list(d["metrics"])
    for m in read.metrics:
        stored = d["metrics"][m.key]
        assert (m.value, m.left, m.right, m.unit or "") == (
            stored["value"], stored["left"], stored["right"], stored["unit"])


def test_a_partial_or_odd_report_reads_without_inventing() -> None:
    read = read_report({
        "view": {"view": "side"},
        "faults": [{"code": "hip_drop", "severity": "mild", "confidence": "nan", "value": "x"},
                   "not an object", {"severity": "mild"}],
        "metrics": {"cadence_spm": 171.0, "pelvic_drop_deg": {"value": math.inf, "unit": "deg"}},
        "clip_quality": {"fit": False, "reasons": ["too short", 3], "advice": "film again"},
    })
    assert read.view == "side" and read.schema_version == ""
    assert [(f.code, f.confidence, f.value) for f in read.faults] == [("hip_drop", None, None)]
    assert [(m.key, m.value, m.unit) for m in read.metrics] == [
        ("cadence_spm", 171.0, None), ("pelvic_drop_deg", None, "deg")]
    assert read.verdict.fit is False and read.verdict.unfit_reasons == ("too short",)
    assert read.verdict.advice == () and read.chain == ()
    assert read_report({}).verdict.fit is True  # older reports and seeds count as fit
