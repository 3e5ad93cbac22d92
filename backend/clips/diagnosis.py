"""The athlete's diagnosis from the database: the latest fit analysis of each view combined
(``gait.report_reader.combine_analyses``: rear or front for the frontal faults, side for the
sagittal ones), dated by when each clip was recorded. Unfit analyses and clips whose job has
not succeeded take no part. ``diagnosis_for`` is what the app shows (and the coach's
dashboard reads for its headline); ``combined_report`` is what the plan is built from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.clips.models import AnalysisReport, Clip
from backend.gait.catalogue import FAULTS
from backend.gait.report_reader import (
    CombinedDiagnosis,
    DiagnosisSource,
    combine_analyses,
    read_report,
)
from backend.jobs.models import AnalysisJob, JobStatus


@dataclass(frozen=True)
class DiagnosisFault:
    code: str
    label: str
    severity: str
    side: str | None
    value: float | None
    confidence: float | None
    view: str | None
    clip_id: int | None


@dataclass(frozen=True)
class DiagnosisClip:
    clip_id: int
    view: str
    recorded_at: datetime


@dataclass(frozen=True)
class Diagnosis:
    """One athlete's diagnosis: ``headline`` is one line for lists (the coach's roster)."""

    athlete_id: int
    headline: str
    frontal: DiagnosisClip | None
    sagittal: DiagnosisClip | None
    faults: tuple[DiagnosisFault, ...]
    report: dict[str, Any] | None  # the combined report (None: no fit clip yet)


def _sources(session: Session, athlete_id: int) -> list[DiagnosisSource]:
    rows = session.exec(
        select(Clip, AnalysisReport)
        .join(AnalysisReport, col(AnalysisReport.clip_id) == col(Clip.id))
        .join(AnalysisJob, col(AnalysisJob.clip_id) == col(Clip.id))
        .where(Clip.athlete_id == athlete_id, col(AnalysisReport.fit).is_(True),
               AnalysisJob.status == JobStatus.succeeded.value)
    ).all()
    return [DiagnosisSource(clip_id=int(clip.id or 0), view=report.view or clip.view,
                            recorded_at=_iso(clip.recorded_at), report=report.report)
            for clip, report in rows]


def _iso(value: datetime) -> str:
    return iso_recorded(value)


def iso_recorded(value: datetime) -> str:
    """A recording time as an ISO string in UTC (SQLite hands timestamps back naive), so
    that recordings compare as strings."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def combined(session: Session, athlete_id: int,
             extra: DiagnosisSource | None = None) -> CombinedDiagnosis | None:
    """The combined diagnosis; ``extra`` joins an analysis being written (its clip's rows
    may not be flushed in the caller's form)."""
    sources = [s for s in _sources(session, athlete_id)
               if extra is None or s.clip_id != extra.clip_id]
    if extra is not None:
        sources.append(extra)
    return combine_analyses(sources)


def _clip(source: DiagnosisSource | None) -> DiagnosisClip | None:
    if source is None:
        return None
    return DiagnosisClip(source.clip_id, source.view, datetime.fromisoformat(source.recorded_at))


def headlines_for(session: Session, athlete_ids: Sequence[int]) -> dict[int, str]:
    """``diagnosis_for(...).headline`` of many athletes in one query (the coach's
    dashboard): only the latest fit analysis of each athlete and view is read. An athlete
    without a fit analysis has no entry."""
    if not athlete_ids:
        return {}
    rank = func.row_number().over(
        partition_by=(col(Clip.athlete_id), col(AnalysisReport.view)),
        order_by=(col(Clip.recorded_at).desc(), col(Clip.id).desc())).label("rank")
    ranked = (sa_select(col(Clip.id).label("clip_id"), col(Clip.athlete_id).label("athlete_id"),
                        col(AnalysisReport.view).label("view"),
                        col(Clip.recorded_at).label("recorded_at"),
                        col(AnalysisReport.id).label("report_id"), rank)
              .join(AnalysisReport, col(AnalysisReport.clip_id) == col(Clip.id))
              .join(AnalysisJob, col(AnalysisJob.clip_id) == col(Clip.id))
              .where(col(Clip.athlete_id).in_(athlete_ids),
                     col(AnalysisReport.athlete_id).in_(athlete_ids),
                     col(AnalysisReport.fit).is_(True),
                     col(AnalysisJob.status) == JobStatus.succeeded.value)
              .subquery())
    rows = session.execute(
        sa_select(ranked.c.clip_id, ranked.c.athlete_id, ranked.c.view, ranked.c.recorded_at,
                  col(AnalysisReport.report))
        .join(AnalysisReport, col(AnalysisReport.id) == ranked.c.report_id)
        .where(ranked.c.rank == 1)).all()
    sources: dict[int, list[DiagnosisSource]] = defaultdict(list)
    for clip_id, athlete_id, view, recorded_at, report in rows:
        sources[athlete_id].append(DiagnosisSource(clip_id=clip_id, view=view or "",
                                                   recorded_at=_iso(recorded_at),
                                                   report=report))
    out: dict[int, str] = {}
    for athlete_id, found_sources in sources.items():
        found = combine_analyses(found_sources)
        if found is not None:
            out[athlete_id] = _diagnosis(athlete_id, found).headline
    return out


def diagnosis_for(session: Session, athlete_id: int) -> Diagnosis:
    """The athlete's diagnosis, with a one-line ``headline``."""
    found = combined(session, athlete_id)
    if found is None:
        return Diagnosis(athlete_id, "No analysed clip yet", None, None, (), None)
    return _diagnosis(athlete_id, found)


def _diagnosis(athlete_id: int, found: CombinedDiagnosis) -> Diagnosis:
    read = read_report(found.report)
    faults = tuple(DiagnosisFault(
        code=f.code, label=FAULTS[f.code].label if f.code in FAULTS else f.code,
        severity=f.severity, side=f.side, value=f.value, confidence=f.confidence,
        view=f.view, clip_id=f.clip_id) for f in read.faults)
    order = ("marked", "moderate", "mild")
    ranked = sorted(faults, key=lambda f: (order.index(f.severity) if f.severity in order
                                           else 3, -(f.confidence or 0.0)))
    if ranked:
        top = ranked[0]
        side = f", {top.side}" if top.side else ""
        more = f" (+{len(ranked) - 1} more)" if len(ranked) > 1 else ""
        headline = f"{top.label[:1].upper()}{top.label[1:]} ({top.severity}{side}){more}"
    else:
        headline = "No fault needs work"
    missing = [name for name, src in (("side", found.sagittal), ("rear", found.frontal))
               if src is None]
    if missing:
        headline += f"; no {missing[0]} clip yet"
    return Diagnosis(athlete_id, headline, _clip(found.frontal), _clip(found.sagittal),
                     faults, found.report)
