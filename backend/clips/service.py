"""Clips: registering an upload, reading status and results, deleting. Callers commit.

Files move into storage before their rows are flushed (a row never points at a missing file);
deleting a clip removes its files only after the deletion is committed, and analysis jobs are
queued only after the clip's row is committed (``backend.jobs.hooks.after_commit``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import AthleteProfile, User, utcnow
from backend.clips.models import (
    ORIGINAL_FILENAME_LENGTH,
    AnalysisReport,
    Clip,
    ClipFault,
    ClipMetric,
    ClipUpload,
)
from backend.clips.multipart import ReceivedFile
from backend.clips.probe import ProbeResult, probe_clip
from backend.clips.schemas import (
    ClipEvent,
    ClipPublic,
    JobError,
    KeyframePublic,
    ReportPublic,
    Timings,
    UploadPublic,
)
from backend.clips.storage import Storage, clip_key, results_prefix
from backend.core.config import Settings
from backend.core.errors import NotFoundError
from backend.core.text import HEX_DIGITS, displayable, well_formed
from backend.jobs import lease as leases
from backend.jobs.hooks import after_commit
from backend.jobs.models import AnalysisJob, JobStatus

logger = logging.getLogger(__name__)
# tuspyserver names uploads by uuid4 hex.
UPLOAD_ID_LENGTH = 32

Enqueue = Callable[[int], None]

# Failures whose message tells the athlete to upload the clip again (the server's side, or a
# read that may succeed on a fresh copy): sending the same bytes again starts the analysis
# over instead of returning the failed clip.
RETRY_ON_REUPLOAD = frozenset({
    "internal_error",    # clips.tasks: an unexpected error, retries used up
    "interrupted",       # jobs.reaper: the workers running it kept dying
    "server_not_ready",  # clips.pipeline: pose models not installed
    "clip_missing",      # clips.tasks: the stored file went missing
    "video_unreadable",  # clips.pipeline: decoding failed half way ("upload the original")
})


# --------------------------------------------------------------------------- uploads

def find_clip(session: Session, athlete_id: int, sha256: str) -> Clip | None:
    return session.exec(select(Clip).where(Clip.athlete_id == athlete_id,
                                           Clip.sha256 == sha256)).first()


def register_clip(session: Session, *, athlete: User, received: ReceivedFile,
                  options: Any, settings: Settings, storage: Storage,
                  enqueue: Enqueue) -> tuple[Clip, bool]:
    """File a received upload as a clip and queue its analysis (after commit).

    The same athlete sending the same bytes again gets the existing clip back (False as the
    second value) and nothing new is queued, unless its analysis failed for a reason that
    told the athlete to upload again: then the stored file is restored if it went missing
    and the analysis starts over (queued after commit). Raises ``UnusableClipError`` (a 422)
    when the probe refuses the file. The received file is moved into storage or deleted, always.
    """
    try:
        existing = find_clip(session, athlete.pk, received.sha256)
        if existing is not None:
            _retry_failed(session, existing, received, storage, enqueue)
            return existing, False
        probe = probe_clip(received.path, min_duration_s=settings.min_clip_duration_s,
                           max_duration_s=settings.max_clip_duration_s,
                           min_fps=settings.min_clip_fps)
        key = clip_key(athlete.pk, received.sha256, probe.extension)
        storage.put(received.path, key)
    finally:
        with contextlib.suppress(OSError):
            received.path.unlink(missing_ok=True)
    clip = _new_clip(athlete.pk, received, options, probe, key)
    try:
        with session.begin_nested():
            session.add(clip)
            session.flush()
    except IntegrityError:
        # The same bytes arrived twice at once (a retry racing its original): one wins.
        existing = find_clip(session, athlete.pk, received.sha256)
        if existing is None:
            raise
        return existing, False
    job = AnalysisJob(clip_id=clip.id)  # type: ignore[arg-type]
    session.add(job)
    session.flush()
    job_id = job.id
    assert job_id is not None
    after_commit(session, lambda: enqueue(job_id))
    return clip, True


def _retry_failed(session: Session, clip: Clip, received: ReceivedFile, storage: Storage,
                  enqueue: Enqueue) -> None:
    job = job_for(session, clip.id)  # type: ignore[arg-type]
    if job is None or job.status != JobStatus.failed.value:
        return
    if job.error_code not in RETRY_ON_REUPLOAD:
        return  # the clip itself is the problem: the same bytes fail the same way
    if not storage.exists(clip.storage_key):
        storage.put(received.path, clip.storage_key)  # the same bytes (same sha256)
    job_id = job.id
    assert job_id is not None
    if leases.requeue_failed(session, job_id):
        after_commit(session, lambda: enqueue(job_id))


def _new_clip(athlete_id: int, received: ReceivedFile, options: Any, probe: ProbeResult,
              key: str) -> Clip:
    person_x = person_y = None
    if options.person_x is not None and options.person_y is not None:
        person_x, person_y = float(options.person_x), float(options.person_y)
    return Clip(
        athlete_id=athlete_id, sha256=received.sha256, size_bytes=received.size,
        storage_key=key,
        original_filename=displayable(received.filename, ORIGINAL_FILENAME_LENGTH),
        content_type=probe.content_type, view=str(options.view.value),
        person_x=person_x, person_y=person_y,
        treadmill_speed_kmh=options.treadmill_speed_kmh,
        recorded_at=options.recorded_at or probe.created_at or utcnow(),
        container=probe.container, codec=probe.codec, duration_s=probe.duration_s,
        fps=probe.fps, frame_count=probe.frame_count, width=probe.width, height=probe.height,
        rotation=probe.rotation)


def person_pixels(clip: Clip) -> tuple[float, float] | None:
    """The athlete's pick of the runner (fractions of the upright frame) in pixels."""
    if clip.person_x is None or clip.person_y is None:
        return None
    width, height = clip.width, clip.height
    if clip.rotation % 180:
        width, height = height, width
    return clip.person_x * width, clip.person_y * height


# --------------------------------------------------------------------------- reading

@dataclass
class ClipState:
    clip: Clip
    job: AnalysisJob | None
    report: AnalysisReport | None


def job_for(session: Session, clip_id: int) -> AnalysisJob | None:
    return session.exec(select(AnalysisJob).where(AnalysisJob.clip_id == clip_id)).first()


def report_for(session: Session, clip_id: int) -> AnalysisReport | None:
    return session.exec(select(AnalysisReport).where(AnalysisReport.clip_id == clip_id)).first()


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _error(job: AnalysisJob | None) -> JobError | None:
    if job is None or job.status != JobStatus.failed.value:
        return None
    return JobError(code=job.error_code, message=job.error_message or "The analysis failed.")


def clip_public(clip: Clip, job: AnalysisJob | None, report: AnalysisReport | None) -> ClipPublic:
    status = job.status if job else JobStatus.queued.value
    finished = job.finished_at if job and job.status in (JobStatus.succeeded.value,
                                                         JobStatus.failed.value) else None
    return ClipPublic(
        id=clip.id, athlete_id=clip.athlete_id, status=status,
        progress=job.progress if job else 0, stage=job.stage if job else None,
        attempts=job.attempts if job else 0, error=_error(job), view=clip.view,
        analysed_view=report.view if report else None, recorded_at=clip.recorded_at,
        duration_s=clip.duration_s, fps=clip.fps, width=clip.width, height=clip.height,
        size_bytes=clip.size_bytes, sha256=clip.sha256, original_filename=clip.original_filename,
        timings=Timings(
            uploaded_at=clip.created_at, started_at=job.started_at if job else None,
            finished_at=finished,
            queued_s=_seconds(clip.created_at, job.started_at if job else None),
            processing_s=_seconds(job.started_at if job else None, finished)),
        has_report=report is not None)


def read_clip(session: Session, clip: Clip) -> ClipPublic:
    return clip_public(clip, job_for(session, clip.id), report_for(session, clip.id))  # type: ignore[arg-type]


def list_clips(session: Session, athlete_id: int, *, limit: int,
               offset: int) -> tuple[list[ClipPublic], int]:
    """The athlete's clips, newest upload first."""
    total = session.exec(select(func.count()).select_from(Clip)
                         .where(Clip.athlete_id == athlete_id)).one()
    rows = session.exec(
        select(Clip, AnalysisJob, AnalysisReport)
        .join(AnalysisJob, col(AnalysisJob.clip_id) == col(Clip.id), isouter=True)
        .join(AnalysisReport, col(AnalysisReport.clip_id) == col(Clip.id), isouter=True)
        .where(Clip.athlete_id == athlete_id)
        .order_by(col(Clip.created_at).desc(), col(Clip.id).desc())
        .offset(offset).limit(limit)
    ).all()
    return [clip_public(c, j, r) for c, j, r in rows], int(total)


def clip_event(session: Session, clip_id: int) -> ClipEvent | None:
    job = job_for(session, clip_id)
    if job is None:
        return None
    return ClipEvent(status=job.status, progress=job.progress,
                     stage=job.stage, error=_error(job))


def require_report(session: Session, clip: Clip) -> AnalysisReport:
    report = report_for(session, clip.id)  # type: ignore[arg-type]
    if report is None:
        job = job_for(session, clip.id)  # type: ignore[arg-type]
        if job is not None and job.status == JobStatus.failed.value:
            raise NotFoundError(f"This clip has no report: its analysis failed. "
                                f"{job.error_message or ''}".strip(), code="analysis_failed")
        raise NotFoundError("The report is not ready yet: follow the clip's progress at "
                            f"/api/v1/clips/{clip.id}/events.", code="report_not_ready")
    return report


def report_public(report: AnalysisReport, base_url: str) -> ReportPublic:
    return ReportPublic(
        clip_id=report.clip_id, schema_version=report.schema_version, view=report.view,
        created_at=report.created_at, report=report.report,
        overlay_url=f"{base_url}/overlay" if report.overlay_key else None,
        keyframes=[KeyframePublic(name=k["name"], url=f"{base_url}/keyframes/{k['name']}",
                                  content_type=k["content_type"]) for k in report.keyframes])


def keyframe(report: AnalysisReport, name: str) -> dict[str, Any]:
    for entry in report.keyframes:
        if entry["name"] == name:
            return entry
    raise NotFoundError("No such key frame for this clip.", code="keyframe_not_found")


# --------------------------------------------------------------------------- results

@dataclass
class StoredOutputs:
    report: dict[str, Any]
    track_key: str
    track_sha256: str
    overlay_key: str | None
    overlay_sha256: str | None
    keyframes: list[dict[str, Any]]


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def save_analysis(session: Session, clip: Clip, outputs: StoredOutputs) -> AnalysisReport:
    """Write the report, its faults and metrics: exactly one report per clip, whatever the
    retries (existing rows of the clip are replaced)."""
    from backend.clips.pipeline import clean_json

    clip_id = clip.id
    assert clip_id is not None
    # PostgreSQL's JSON refuses NaN and infinity: whatever the caller passes, store clean JSON.
    report_dict: dict[str, Any] = clean_json(outputs.report)
    report = report_for(session, clip_id) or AnalysisReport(
        clip_id=clip_id, athlete_id=clip.athlete_id, schema_version="", view="", report={},
        track_key="", track_sha256="")
    report.schema_version = str(report_dict.get("schema_version", ""))[:32]
    view = report_dict.get("view")
    if isinstance(view, dict):  # a view block {"view": "rear", "inferred": ...}
        view = view.get("view") or view.get("name")
    report.view = str(view or clip.view)[:16]
    report.report = report_dict
    report.track_key, report.track_sha256 = outputs.track_key, outputs.track_sha256
    report.overlay_key, report.overlay_sha256 = outputs.overlay_key, outputs.overlay_sha256
    report.keyframes = outputs.keyframes
    report.created_at = utcnow()
    session.add(report)
    session.execute(delete(ClipFault).where(col(ClipFault.clip_id) == clip_id))
    session.execute(delete(ClipMetric).where(col(ClipMetric.clip_id) == clip_id))
    for fault in report_dict.get("faults") or []:
        if not isinstance(fault, dict) or not fault.get("code"):
            continue
        session.add(ClipFault(
            athlete_id=clip.athlete_id, clip_id=clip_id, code=str(fault["code"])[:64],
            side=str(fault["side"])[:16] if fault.get("side") else None,
            severity=str(fault.get("severity") or "")[:16], value=_float(fault.get("value")),
            confidence=_float(fault.get("confidence")) or 0.0, recorded_at=clip.recorded_at))
    metrics = report_dict.get("metrics") or {}
    for key, metric in metrics.items() if isinstance(metrics, dict) else ():
        if not isinstance(metric, dict):
            metric = {"value": metric}
        reason = metric.get("withheld_reason")
        session.add(ClipMetric(
            athlete_id=clip.athlete_id, clip_id=clip_id, key=str(key)[:64],
            value=_float(metric.get("value")), left=_float(metric.get("left")),
            right=_float(metric.get("right")), n_strides=_int(metric.get("n_strides")),
            unit=str(metric["unit"])[:32] if metric.get("unit") else None,
            withheld_reason=str(reason)[:500] if reason else None,
            recorded_at=clip.recorded_at))
    session.flush()
    return report


def update_plan(session: Session, clip: Clip, report: dict[str, Any]) -> None:
    """Let the plan know about the new analysis; its failure never loses the analysis."""
    try:
        from backend.plans import service as plans
    except ImportError:  # the plans domain is optional to the clips pipeline
        return
    athlete = session.get(User, clip.athlete_id)
    if athlete is None:
        return
    try:
        with session.begin_nested():
            plans.on_analysis(session, athlete, report, recorded_at=_date(clip.recorded_at))
    except Exception:
        logger.exception("clip %s: updating the plan after the analysis failed", clip.id)


def _date(value: datetime) -> date:
    return value.date()


def athlete_height_cm(session: Session, athlete_id: int) -> float | None:
    profile = session.get(AthleteProfile, athlete_id)
    return profile.height_cm if profile else None


# --------------------------------------------------------------------------- deleting

def delete_clip(session: Session, clip: Clip, storage: Storage) -> None:
    """Delete the clip, its job, report, faults and metrics; its files once committed.
    Plans keep working: they hold their own copy of what an analysis said."""
    keys = [clip.storage_key]
    prefix = results_prefix(clip.athlete_id, clip.sha256)
    session.execute(delete(ClipFault).where(col(ClipFault.clip_id) == clip.id))
    session.execute(delete(ClipMetric).where(col(ClipMetric.clip_id) == clip.id))
    session.execute(delete(AnalysisReport).where(col(AnalysisReport.clip_id) == clip.id))
    session.execute(delete(AnalysisJob).where(col(AnalysisJob.clip_id) == clip.id))
    session.delete(clip)
    session.flush()

    def remove_files() -> None:
        for key in keys:
            storage.delete(key)
        storage.delete_tree(prefix)

    after_commit(session, remove_files)


# --------------------------------------------------------------------------- resumable uploads

def new_upload(session: Session, upload_id: str, athlete: User, length: int | None,
               ttl: timedelta) -> ClipUpload:
    upload = ClipUpload(id=upload_id, athlete_id=athlete.pk, length=length,
                        expires_at=utcnow() + ttl)
    session.add(upload)
    session.flush()
    return upload


def is_upload_id(value: str) -> bool:
    return well_formed(value, HEX_DIGITS, UPLOAD_ID_LENGTH, min_length=UPLOAD_ID_LENGTH)


def owned_upload(session: Session, upload_id: str, athlete: User) -> ClipUpload:
    upload = session.get(ClipUpload, upload_id) if is_upload_id(upload_id) else None
    if upload is None or upload.athlete_id != athlete.id:
        raise NotFoundError("No such upload: start a new one.", code="upload_not_found")
    return upload


def upload_public(session: Session, upload: ClipUpload) -> UploadPublic:
    clip = session.get(Clip, upload.clip_id) if upload.clip_id is not None else None
    return UploadPublic(id=upload.id, length=upload.length,
                        complete=upload.completed_at is not None, created_at=upload.created_at,
                        expires_at=upload.expires_at,
                        clip=read_clip(session, clip) if clip is not None else None)
