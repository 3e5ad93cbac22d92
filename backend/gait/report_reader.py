"""The one reader of a stored report's JSON (``Report.to_dict()``, docs/gait.md) for those
that keep parts of it: the app's rows (``clips.service.save_analysis``: the verdict, fault and
metric rows) and the planner (``AnalysisSummary.from_report_dict``: faults and chain).

It is lenient where ``Report.from_dict`` is strict: a stored report may be older than this
code or a test's seed, so a missing part reads as absent, a number that is not one (or not
finite) as None, an entry that is not an object is skipped; nothing is invented. Values are
typed but not judged: a severity or code this version does not know is passed on for the
reader's caller to refuse or keep visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """The analysis's verdict on the clip (``clip_quality``). A report without one (older
    reports, test seeds) counts as fit, as every report did before the analysis could refuse
    a clip."""

    fit: bool = True
    unfit_reasons: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()
    slow_motion: bool | None = None
    needs_capture_fps: bool = False


@dataclass(frozen=True)
class FaultEntryRead:
    code: str
    severity: str
    side: str | None
    value: float | None
    confidence: float | None
    metric: str | None = None  # the measure behind it (its evidence)
    clip_id: int | None = None  # in a combined diagnosis: the clip it comes from
    view: str | None = None


@dataclass(frozen=True)
class ChainEntryRead:
    link: str
    confidence: float | None
    reasoning: str


@dataclass(frozen=True)
class MetricEntryRead:
    key: str
    unit: str | None
    value: float | None = None
    left: float | None = None
    right: float | None = None
    n_strides: int | None = None
    withheld_reason: str | None = None


@dataclass(frozen=True)
class ReportRead:
    """What is kept of one report: its version, view, verdict, faults, chain and metrics."""

    schema_version: str
    view: str | None
    recorded_at: Any  # as stored (an ISO date or timestamp), None when absent
    verdict: Verdict
    faults: tuple[FaultEntryRead, ...]
    chain: tuple[ChainEntryRead, ...]
    metrics: tuple[MetricEntryRead, ...]


def number(value: Any) -> float | None:
    """A finite float, or None."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    return n if math.isfinite(n) else None


def whole(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def read_verdict(report: Mapping[str, Any]) -> Verdict:
    quality = report.get("clip_quality")
    quality = quality if isinstance(quality, Mapping) else {}
    fit = quality.get("fit") is not False
    slow = quality.get("slow_motion")
    return Verdict(
        fit=fit,
        unfit_reasons=() if fit else _texts(quality.get("reasons")),
        advice=_texts(quality.get("advice")),
        slow_motion=slow if isinstance(slow, bool) else None,
        needs_capture_fps=quality.get("needs_capture_fps") is True)


def _view(report: Mapping[str, Any]) -> str | None:
    view = report.get("view")
    if isinstance(view, Mapping):  # a view block {"view": "rear", "inferred": ...}
        view = view.get("view") or view.get("name")
    return str(view) if view else None


def _metric(key: str, metric: Any) -> MetricEntryRead:
    if not isinstance(metric, Mapping):
        metric = {"value": metric}
    reason = metric.get("withheld_reason")
    return MetricEntryRead(
        key=str(key), unit=str(metric["unit"]) if metric.get("unit") else None,
        value=number(metric.get("value")), left=number(metric.get("left")),
        right=number(metric.get("right")), n_strides=whole(metric.get("n_strides")),
        withheld_reason=str(reason) if reason else None)


def read_report(report: Mapping[str, Any]) -> ReportRead:
    """The typed parts of a stored report (see the module's docstring)."""
    faults = tuple(
        FaultEntryRead(code=str(f["code"]), severity=str(f.get("severity") or ""),
                       side=str(f["side"]) if f.get("side") else None,
                       value=number(f.get("value")), confidence=number(f.get("confidence")),
                       metric=fault_metric(f), clip_id=whole(f.get("clip_id")),
                       view=str(f["view"]) if f.get("view") else None)
        for f in _objects(report.get("faults")) if f.get("code"))
    chain = tuple(
        ChainEntryRead(link=str(c["link"]), confidence=number(c.get("confidence")),
                       reasoning=str(c.get("reasoning") or ""))
        for c in _objects(report.get("chain")) if c.get("link"))
    metrics = report.get("metrics")
    return ReportRead(
        schema_version=str(report.get("schema_version", "")),
        view=_view(report),
        recorded_at=report.get("recorded_at"),
        verdict=read_verdict(report),
        faults=faults,
        chain=chain,
        metrics=tuple(_metric(k, m) for k, m in metrics.items())
        if isinstance(metrics, Mapping) else (),
    )


# --------------------------------------------------------------------------- the diagnosis
#
# One clip sees one plane: from behind or in front the frontal faults (hip drop, crossing
# feet, knee collapse...), from the side the sagittal ones (overstride, forward lean). An
# athlete's diagnosis combines the latest fit analysis of each plane, so a front clip never
# wipes out what a side clip found. Timing (cadence, contact time) shows in every view: the
# newest clip gives it.

FRONTAL_VIEWS: frozenset[str] = frozenset({"rear", "front"})
SAGITTAL_VIEWS: frozenset[str] = frozenset({"side"})
# The plane of each metric (gait.metrics.SPEC, kept equal by tests/gait/test_diagnosis.py:
# this module stays stdlib-only, as the planner reads it).
FRONTAL_METRICS: frozenset[str] = frozenset({
    "pelvic_drop_deg", "hip_adduction_deg", "knee_fppa_deg", "step_width_norm",
    "arm_crossover_norm", "recovery_external_rotation_deg", "trunk_lateral_lean_deg"})
SAGITTAL_METRICS: frozenset[str] = frozenset({
    "foot_ahead_of_hip_norm", "shank_angle_ic_deg", "knee_flexion_ic_deg",
    "knee_flexion_midstance_deg", "trunk_forward_lean_deg", "vertical_oscillation_norm",
    "vertical_oscillation_cm", "hip_extension_to_deg"})
TIMING_METRICS: frozenset[str] = frozenset({
    "cadence_spm", "ground_contact_ms", "flight_ms", "duty_factor"})

# The smallest change of a fault's measure between two clips that is more than measurement
# noise (its unit is the metric's). Where the research gives a smallest detectable
# difference of 2D video it is used (Dingenen 2018: pelvic drop 2.7-2.8 deg, hip adduction
# 2.3-3.8 deg, lateral trunk lean 1.3-2.3 deg, tibia 4.8 deg); the others are StrideLab
# heuristics of the same size as the fault bands' first step (gait/thresholds.py).
SMALLEST_DETECTABLE_CHANGE: dict[str, float] = {
    "pelvic_drop_deg": 2.8,
    "hip_adduction_deg": 3.8,
    "trunk_lateral_lean_deg": 2.3,
    "trunk_lean_deg": 2.3,
    "knee_fppa_deg": 4.8,  # the tibia's SDD: the knee angle has none of its own
    "recovery_external_rotation_deg": 4.8,
    "shank_angle_ic_deg": 4.8,
    "trunk_forward_lean_deg": 2.3,  # heuristic: the lateral lean's
    "knee_flexion_midstance_deg": 5.0,  # gait/thresholds.py ASYMMETRY_SDD (Van Hooren 2023)
    "step_width_norm": 0.03,  # heuristic: about 3 cm on a 1 m leg
    "arm_crossover_norm": 0.03,
    "foot_ahead_of_hip_norm": 0.03,
    "cadence_spm": 3.0,  # heuristic: about 2 % at 160 steps/min
    "ground_contact_ms": 20.0,  # heuristic: about two frames at 60 fps
}
# Measures where a lower value is the worse one (the fault bands' ``higher_is_worse``).
LOWER_IS_WORSE: frozenset[str] = frozenset({"step_width_norm", "cadence_spm"})


def view_plane(view: str | None) -> str | None:
    if view in FRONTAL_VIEWS:
        return "frontal"
    if view in SAGITTAL_VIEWS:
        return "sagittal"
    return None


def fault_metric(fault: Mapping[str, Any]) -> str | None:
    evidence = fault.get("evidence")
    metric = evidence.get("metric") if isinstance(evidence, Mapping) else None
    return str(metric) if metric else None


def fault_plane(fault: Mapping[str, Any], view: str | None) -> str | None:
    """'frontal', 'sagittal', or None for timing (seen from every view)."""
    metric = fault_metric(fault)
    if metric in FRONTAL_METRICS:
        return "frontal"
    if metric in SAGITTAL_METRICS:
        return "sagittal"
    if metric in TIMING_METRICS:
        return None
    return view_plane(view)


@dataclass(frozen=True)
class DiagnosisSource:
    """One fit analysis that may take part in the diagnosis: its clip, the view the analysis
    read (rear, front or side), when the clip was recorded (ISO timestamp) and the report."""

    clip_id: int
    view: str
    recorded_at: str
    report: Mapping[str, Any]


@dataclass(frozen=True)
class CombinedDiagnosis:
    """The latest fit analysis of each plane combined: ``report`` reads like one report
    (faults, chain, metrics; each fault names its ``clip_id`` and ``view``), ``frontal`` and
    ``sagittal`` are the clips it came from (None: that plane was never filmed fit)."""

    frontal: DiagnosisSource | None
    sagittal: DiagnosisSource | None
    report: dict[str, Any]

    @property
    def sources(self) -> tuple[DiagnosisSource, ...]:
        return tuple(s for s in (self.frontal, self.sagittal) if s is not None)

    @property
    def recorded_at(self) -> str | None:
        """The newest recording that took part."""
        return max((s.recorded_at for s in self.sources), default=None)

    @property
    def clip_ids(self) -> tuple[int, ...]:
        return tuple(s.clip_id for s in self.sources)


def _newest(sources: list[DiagnosisSource]) -> DiagnosisSource | None:
    return max(sources, key=lambda s: (s.recorded_at, s.clip_id), default=None)


def combine_analyses(sources: list[DiagnosisSource]) -> CombinedDiagnosis | None:
    """The diagnosis from the athlete's fit analyses (unfit ones are skipped here too):
    frontal faults and metrics from the latest rear or front clip, sagittal ones from the
    latest side clip, timing from the newest of the two; chain links of both, the surer
    reading of a link kept. None without any fit analysis of a known view."""
    fit = [s for s in sources if read_verdict(s.report).fit and view_plane(s.view)]
    frontal = _newest([s for s in fit if view_plane(s.view) == "frontal"])
    sagittal = _newest([s for s in fit if view_plane(s.view) == "sagittal"])
    newest = _newest([s for s in (frontal, sagittal) if s is not None])
    if newest is None:
        return None
    faults: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    chain: dict[str, dict[str, Any]] = {}
    for source in (frontal, sagittal):
        if source is None:
            continue
        plane = view_plane(source.view)
        for fault in _objects(source.report.get("faults")):
            fp = fault_plane(fault, source.view)
            if fp == plane or (fp is None and source is newest):
                faults.append({**fault, "clip_id": source.clip_id, "view": source.view,
                               "recorded_at": source.recorded_at})
        stored = source.report.get("metrics")
        for key, metric in (stored.items() if isinstance(stored, Mapping) else ()):
            in_plane = (key in FRONTAL_METRICS and plane == "frontal") or (
                key in SAGITTAL_METRICS and plane == "sagittal")
            if in_plane or (key not in FRONTAL_METRICS | SAGITTAL_METRICS
                            and source is newest):
                metrics[key] = metric
        for link in _objects(source.report.get("chain")):
            name = str(link.get("link") or "")
            if name and (number(link.get("confidence")) or 0.0) >= (
                    number(chain.get(name, {}).get("confidence")) or -1.0):
                chain[name] = dict(link)
    report = {"schema_version": str(newest.report.get("schema_version", "")),
              "view": "combined", "recorded_at": newest.recorded_at,
              "faults": faults, "chain": list(chain.values()), "metrics": metrics,
              "sources": [{"clip_id": s.clip_id, "view": s.view, "recorded_at": s.recorded_at}
                          for s in (frontal, sagittal) if s is not None]}
    return CombinedDiagnosis(frontal=frontal, sagittal=sagittal, report=report)
