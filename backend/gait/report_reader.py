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
                       value=number(f.get("value")), confidence=number(f.get("confidence")))
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
