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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import AthleteProfile, User
from backend.clips.events import AnalysisFinished, AnalysisRefused, ClipsChanged
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
    AnalysisVerdict,
    ClipEvent,
    ClipPublic,
    JobError,
    KeyframePublic,
    ReportPublic,
    Timings,
    UploadPublic,
)
from backend.clips.storage import Storage, clip_key, results_prefix
from backend.core import audit, events
from backend.core.config import API_PREFIX, Settings
from backend.core.errors import InvalidInputError, NotFoundError
from backend.core.text import HEX_DIGITS, displayable, well_formed
from backend.core.time import utcnow
from backend.gait.report_reader import MetricEntryRead, Verdict, read_report, read_verdict
from backend.jobs import lease as leases
from backend.jobs.admission import check_room
from backend.jobs.hooks import after_commit
from backend.jobs.models import AnalysisJob, JobStatus
from backend.jsonsafe import json_safe

logger = logging.getLogger(__name__)
# A capture rate this much below the clip's frame rate is refused (29.97 against 30 passes).
CAPTURE_FPS_SLACK = 0.02
# A video's own creation date this long before the upload is not believed (a fresh upload).
CONTAINER_DATE_WINDOW = timedelta(days=30)
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
    told the athlete to upload again, or the upload gives a new ``capture_fps``: then the
    stored file is restored if it went missing and the analysis starts over (queued after
    commit). Raises ``UnusableClipError`` (a 422) when the probe refuses the file, and
    ``InvalidInputError`` when ``capture_fps`` is below the clip's frame rate. The received
    file is moved into storage or deleted, always.
    """
    try:
        existing = find_clip(session, athlete.pk, received.sha256)
        if existing is not None:
            capture_fps = options.capture_fps
            if capture_fps is not None and capture_fps != existing.capture_fps:
                _restore_file(existing, received, storage)
                set_capture_fps(session, existing, capture_fps, enqueue, settings)
            else:
                _retry_failed(session, existing, received, storage, enqueue)
            return existing, False
        probe = probe_clip(received.path, min_duration_s=settings.min_clip_duration_s,
                           max_duration_s=settings.max_clip_duration_s,
                           min_fps=settings.min_clip_fps)
        check_capture_fps(options.capture_fps, probe.fps)
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
    _restore_file(clip, received, storage)
    job_id = job.id
    assert job_id is not None
    if leases.requeue_failed(session, job_id):
        after_commit(session, lambda: enqueue(job_id))


def _restore_file(clip: Clip, received: ReceivedFile, storage: Storage) -> None:
    if not storage.exists(clip.storage_key):
        storage.put(received.path, clip.storage_key)  # the same bytes (same sha256)


def check_capture_fps(capture_fps: float | None, fps: float) -> None:
    """A slow-motion clip is filmed faster than it plays: a capture rate below the clip's own
    frame rate (a little slack for 29.97 against 30) is a mistake, refused with a 422."""
    if capture_fps is not None and capture_fps < fps * (1 - CAPTURE_FPS_SLACK):
        raise InvalidInputError(
            f"capture_fps {capture_fps:g} is below the clip's own frame rate ({fps:.3g} fps): "
            "a slow-motion clip is filmed faster than it plays back. Give the rate the phone "
            "filmed at (its slow-motion setting, e.g. 120 or 240 fps), or leave capture_fps "
            "out for a clip that plays at normal speed.", code="capture_fps_below_fps")


def set_capture_fps(session: Session, clip: Clip, capture_fps: float | None,
                    enqueue: Enqueue, settings: Settings) -> bool:
    """Record the real capture rate of a slow-motion clip (None: not slow motion, or not
    known) and analyse the clip again, whatever its job's state (queued after commit): the
    new result replaces the report. The same value again changes nothing (False). A rate
    below the clip's own is refused (422) first; past the queue's bound the new analysis is
    refused like an upload (``QueueFullError``, a 503, nothing changed) unless the analysis
    is already waiting (it adds nothing to the queue's depth)."""
    check_capture_fps(capture_fps, clip.fps)
    if capture_fps == clip.capture_fps:
        return False
    job = job_for(session, clip.id)  # type: ignore[arg-type]
    if job is None or job.status != JobStatus.queued.value:
        check_room(session, settings, "the new capture rate was not applied (the clip and its "
                   "result are unchanged). Send it again")
    clip.capture_fps = capture_fps
    session.add(clip)
    session.flush()
    if job is None:  # every clip has its job; a row lost somehow is made again
        job = AnalysisJob(clip_id=clip.id)  # type: ignore[arg-type]
        session.add(job)
        session.flush()
    job_id = job.id
    assert job_id is not None
    leases.restart(session, job_id)
    after_commit(session, lambda: enqueue(job_id))
    return True


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
        treadmill_speed_kmh=options.treadmill_speed_kmh, capture_fps=options.capture_fps,
        recorded_at=options.recorded_at or plausible_recorded_at(probe.created_at, utcnow()),
        container=probe.container, codec=probe.codec, duration_s=probe.duration_s,
        fps=probe.fps, frame_count=probe.frame_count, width=probe.width, height=probe.height,
        rotation=probe.rotation)


def plausible_recorded_at(container_date: datetime | None, uploaded_at: datetime) -> datetime:
    """When a fresh upload was recorded: the video's own creation time when it is plausible
    (within ``CONTAINER_DATE_WINDOW`` before the upload, not after it beyond a day of clock
    skew), else the upload time. Phones and editors write dates of years ago (a factory
    default, a re-encoded file): such a date would make the newest clip look old. The
    athlete can correct the date (PATCH the clip's recorded_at)."""
    if container_date is None:
        return uploaded_at
    if container_date.tzinfo is None:
        container_date = container_date.replace(tzinfo=UTC)
    if uploaded_at - CONTAINER_DATE_WINDOW <= container_date <= uploaded_at + timedelta(days=1):
        return container_date
    return uploaded_at


def set_recorded_at(session: Session, clip: Clip, recorded_at: datetime) -> bool:
    """The athlete's correction of when the clip was filmed: the clip, its fault and metric
    rows are re-dated and the diagnosis rebuilt (``ClipsChanged``). The same date again
    changes nothing (False)."""
    if clip.recorded_at is not None and _aware(clip.recorded_at) == recorded_at:
        return False
    clip.recorded_at = recorded_at
    session.add(clip)
    for row in session.exec(select(ClipFault).where(ClipFault.clip_id == clip.id)).all():
        row.recorded_at = recorded_at
        session.add(row)
    for metric in session.exec(select(ClipMetric).where(ClipMetric.clip_id == clip.id)).all():
        metric.recorded_at = recorded_at
        session.add(metric)
    session.flush()
    events.publish(ClipsChanged(session=session, athlete_id=clip.athlete_id,
                                clip_id=clip.id, what="recorded_at"))  # type: ignore[arg-type]
    return True


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def _verdict(job: AnalysisJob | None, report: AnalysisReport | None) -> dict[str, Any]:
    """The analysis's verdict, once the job succeeded: while a new analysis runs (after a
    capture rate was given) or when it failed, the previous report says nothing current."""
    if job is None or job.status != JobStatus.succeeded.value or report is None:
        return dict(outcome=None, fit=None, unfit_reasons=[], advice=[], slow_motion=None,
                    needs_capture_fps=False)
    return dict(outcome="analysed" if report.fit else "unfit", fit=report.fit,
                unfit_reasons=list(report.unfit_reasons), advice=list(report.advice),
                slow_motion=report.slow_motion, needs_capture_fps=report.needs_capture_fps)


def clip_public(clip: Clip, job: AnalysisJob | None, report: AnalysisReport | None) -> ClipPublic:
    status = job.status if job else JobStatus.queued.value
    finished = job.finished_at if job and job.status in (JobStatus.succeeded.value,
                                                         JobStatus.failed.value) else None
    return ClipPublic(
        **_verdict(job, report),
        id=clip.id, athlete_id=clip.athlete_id, status=status,
        progress=job.progress if job else 0, stage=job.stage if job else None,
        attempts=job.attempts if job else 0, error=_error(job), view=clip.view,
        analysed_view=report.view if report else None, recorded_at=clip.recorded_at,
        duration_s=clip.duration_s, fps=clip.fps, capture_fps=clip.capture_fps,
        width=clip.width, height=clip.height,
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
    report = report_for(session, clip_id) if job.status == JobStatus.succeeded.value else None
    return ClipEvent(**_verdict(job, report), status=job.status, progress=job.progress,
                     stage=job.stage, error=_error(job))


def require_report(session: Session, clip: Clip) -> AnalysisReport:
    report = report_for(session, clip.id)  # type: ignore[arg-type]
    if report is None:
        job = job_for(session, clip.id)  # type: ignore[arg-type]
        if job is not None and job.status == JobStatus.failed.value:
            raise NotFoundError(f"This clip has no report: its analysis failed. "
                                f"{job.error_message or ''}".strip(), code="analysis_failed")
        raise NotFoundError("The report is not ready yet: follow the clip's progress at "
                            f"{API_PREFIX}/clips/{clip.id}/events.", code="report_not_ready")
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


def verdict_of(report: dict[str, Any]) -> AnalysisVerdict:
    """The verdict a report's ``clip_quality`` gives (``backend.gait.report_reader``)."""
    return _verdict_public(read_verdict(report))


def _verdict_public(v: Verdict) -> AnalysisVerdict:
    return AnalysisVerdict(
        outcome="analysed" if v.fit else "unfit", fit=v.fit,
        unfit_reasons=list(v.unfit_reasons), advice=list(v.advice),
        slow_motion=v.slow_motion, needs_capture_fps=v.needs_capture_fps)


def is_fit(report: dict[str, Any]) -> bool:
    return read_verdict(report).fit


def save_analysis(session: Session, clip: Clip, outputs: StoredOutputs) -> AnalysisReport:
    """Write the report, its faults and metrics: exactly one report per clip, whatever the
    retries (existing rows of the clip are replaced). The report's verdict on the clip goes
    into columns; of an unfit clip nothing counts as measured: no fault rows, and every
    metric row withheld (no values, the reason why)."""
    clip_id = clip.id
    assert clip_id is not None
    # PostgreSQL's JSON refuses NaN and infinity: whatever the caller passes, store clean JSON.
    report_dict: dict[str, Any] = json_safe(outputs.report)
    report = report_for(session, clip_id) or AnalysisReport(
        clip_id=clip_id, athlete_id=clip.athlete_id, schema_version="", view="", report={},
        track_key="", track_sha256="")
    read = read_report(report_dict)
    report.schema_version = read.schema_version[:32]
    report.view = str(read.view or clip.view)[:16]
    report.report = report_dict
    report.track_key, report.track_sha256 = outputs.track_key, outputs.track_sha256
    report.overlay_key, report.overlay_sha256 = outputs.overlay_key, outputs.overlay_sha256
    report.keyframes = outputs.keyframes
    verdict = read.verdict
    fit = verdict.fit
    report.fit, report.unfit_reasons = fit, list(verdict.unfit_reasons)
    report.advice, report.slow_motion = list(verdict.advice), verdict.slow_motion
    report.needs_capture_fps = verdict.needs_capture_fps
    report.created_at = utcnow()
    session.add(report)
    session.execute(delete(ClipFault).where(col(ClipFault.clip_id) == clip_id))
    session.execute(delete(ClipMetric).where(col(ClipMetric.clip_id) == clip_id))
    unfit_reason = ("the clip is unfit for analysis: " + " ".join(verdict.unfit_reasons)
                    if verdict.unfit_reasons else "the clip is unfit for analysis")
    for fault in read.faults if fit else ():
        session.add(ClipFault(
            athlete_id=clip.athlete_id, clip_id=clip_id, code=fault.code[:64],
            side=fault.side[:16] if fault.side else None, severity=fault.severity[:16],
            value=fault.value, confidence=fault.confidence or 0.0,
            recorded_at=clip.recorded_at))
    for metric in read.metrics:
        if not fit:
            metric = MetricEntryRead(key=metric.key, unit=metric.unit,
                                     withheld_reason=metric.withheld_reason or unfit_reason)
        reason = metric.withheld_reason
        session.add(ClipMetric(
            athlete_id=clip.athlete_id, clip_id=clip_id, key=metric.key[:64],
            value=metric.value, left=metric.left, right=metric.right,
            n_strides=metric.n_strides, unit=metric.unit[:32] if metric.unit else None,
            withheld_reason=reason[:500] if reason else None,
            recorded_at=clip.recorded_at))
    session.flush()
    return report


def announce_analysis(session: Session, clip: Clip, report: dict[str, Any]) -> None:
    """Tell the other domains how the analysis ended: ``AnalysisFinished`` for a fit clip
    (the plan adapts, see backend/flows.py), ``AnalysisRefused`` for an unfit one (it
    measured nothing: only the athlete hears why). A reaction that fails never loses the
    analysis."""
    verdict = read_verdict(report)
    event: AnalysisFinished | AnalysisRefused
    if verdict.fit:
        event = AnalysisFinished(session=session, athlete_id=clip.athlete_id,
                                 clip_id=clip.id, report=report,  # type: ignore[arg-type]
                                 recorded_at=_date(clip.recorded_at))
    else:
        event = AnalysisRefused(session=session, athlete_id=clip.athlete_id,
                                clip_id=clip.id,  # type: ignore[arg-type]
                                reasons=tuple(verdict.unfit_reasons),
                                advice=tuple(verdict.advice))
    announce(session, event, clip.id)  # type: ignore[arg-type]


def announce(session: Session, event: object, clip_id: int) -> None:
    """Publish ``event`` in a savepoint: a reaction that fails is logged, never fails the
    work that was done."""
    try:
        with session.begin_nested():
            events.publish(event)
    except Exception:
        logger.exception("clip %s: a reaction to the analysis failed", clip_id)


def _date(value: datetime) -> date:
    return value.date()


def athlete_height_cm(session: Session, athlete_id: int) -> float | None:
    profile = session.get(AthleteProfile, athlete_id)
    return profile.height_cm if profile else None


# --------------------------------------------------------------------------- deleting

def delete_clip(session: Session, clip: Clip, storage: Storage) -> None:
    """Delete the clip, its job, report, faults and metrics; its files once committed;
    the diagnosis is rebuilt without it."""
    keys = [clip.storage_key]
    prefix = results_prefix(clip.athlete_id, clip.sha256)
    session.execute(delete(ClipFault).where(col(ClipFault.clip_id) == clip.id))
    session.execute(delete(ClipMetric).where(col(ClipMetric.clip_id) == clip.id))
    session.execute(delete(AnalysisReport).where(col(AnalysisReport.clip_id) == clip.id))
    session.execute(delete(AnalysisJob).where(col(AnalysisJob.clip_id) == clip.id))
    athlete_id, clip_id = clip.athlete_id, clip.id
    audit.record(session, "clip_deleted", actor_id=athlete_id, subject_user_id=athlete_id,
                 clip_id=clip_id, recorded_at=clip.recorded_at.isoformat())
    session.delete(clip)
    session.flush()
    # The diagnosis is rebuilt from the clips that remain: a plan is never built on a clip
    # that is gone (backend/flows.py).
    events.publish(ClipsChanged(session=session, athlete_id=athlete_id,
                                clip_id=clip_id, what="deleted"))  # type: ignore[arg-type]

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
