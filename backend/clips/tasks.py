"""The analysis job: claim the job row, run the pipeline under a renewed lease, store the
files, and write the results together with 'succeeded' in one transaction, only while this
worker still holds the lease (a clip the analysis finds unfit is such a result: its report
says so, and the plan is not updated from it). Every way it can end is a state of the job
row, never a crash:

- the clip is unusable -> failed, with the message the pipeline gave;
- the worker is stopping -> back to the queue (the attempt does not count);
- the lease was lost (another worker has the job, or the clip was deleted) -> nothing written;
- an unexpected error -> queued again after a pause, failed after ``job_max_attempts``.

The tasks are registered here, with the job runtime's registry: the analysis (the task that
runs an ``analysis_job`` row) and the clean-up of expired and abandoned uploads (periodic, on
the reaper's interval). The process that runs jobs imports this module (``backend/wiring.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, delete, select

from backend.clips import service
from backend.clips.events import AnalysisRefused
from backend.clips.models import Clip, ClipUpload
from backend.clips.pipeline import KEYFRAME_SUFFIXES, AnalysisFailed, analyse_clip, athlete_info
from backend.clips.storage import LocalStorage, Storage, get_storage, results_prefix, sha256_file
from backend.core.time import utcnow
from backend.jobs import lease as leases
from backend.jobs.lease import JobTimedOut, Lease, LeaseLost, WorkerStopping
from backend.jobs.models import ROW_TASK, AnalysisJob
from backend.jobs.registry import registry

if TYPE_CHECKING:
    from backend.jobs.runtime import JobRuntime

logger = logging.getLogger(__name__)

TIMED_OUT_MESSAGE = ("The analysis took too long and was stopped. Upload a shorter clip "
                     "(10-20 s of steady running is enough).")
INTERNAL_MESSAGE = ("The analysis failed because of a problem on our side, not with your "
                    "clip. Upload it again later.")


@registry.task(ROW_TASK)
def run_analysis_job(runtime: JobRuntime, job_id: int) -> None:
    """Entry point of the queued task (at least once per job id; idempotent)."""
    owner = leases.worker_id()
    job = leases.claim(runtime.engine, job_id, owner, runtime.settings.job_lease_s)
    if job is None:
        logger.info("job %s: not queued any more, nothing to do", job_id)
        return
    # The lease owner is in the name: a worker that lost the job and one that took it over
    # may run the same attempt number at once, each in a folder of its own.
    work = (runtime.settings.resolved_data_dir / "tmp" / "jobs"
            / f"{job_id}-{job.attempts}-{_owner_tag(owner)}")
    shutil.rmtree(work, ignore_errors=True)
    logger.info("job %s: attempt %s by %s", job_id, job.attempts, owner)
    try:
        with Lease(runtime.engine, job_id, owner, runtime.settings,
                   stopping=runtime.stopping) as held:
            _run(runtime, job, held, work)
    except Exception:
        logger.exception("job %s: unexpected error outside the analysis", job_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(runtime: JobRuntime, job: AnalysisJob, held: Lease, work: Path) -> None:
    engine, settings = runtime.engine, runtime.settings
    storage = get_storage(settings)
    with Session(engine, expire_on_commit=False) as session:
        clip = session.get(Clip, job.clip_id)
        height_cm = service.athlete_height_cm(session, clip.athlete_id) if clip else None
    if clip is None:
        return  # deleted meanwhile: the job row went with it
    clip_path = storage.local_path(clip.storage_key)
    if not clip_path.is_file():
        _end(runtime, held, "fail", "clip_missing", "The clip's file is missing from storage, "
             "so it cannot be analysed. Upload the clip again.")
        return
    try:
        output = analyse_clip(
            clip_path, view=clip.view, person=service.person_pixels(clip),
            athlete=athlete_info(height_cm, clip.treadmill_speed_kmh), out_dir=work,
            progress=held.report, capture_fps=clip.capture_fps)
    except Exception as exc:
        _handle_failure(runtime, held, job, exc)
        return

    prefix = results_prefix(clip.athlete_id, clip.sha256)
    # Each attempt writes under a folder of its own, so a worker that lost its lease (and
    # does not know it yet) can never overwrite files a report already points at.
    attempt_prefix = f"{prefix}/{attempt_folder(job.id, job.attempts, held.owner)}"  # type: ignore[arg-type]
    try:
        outputs = _store_outputs(storage, attempt_prefix, output.report, output.track_path,
                                 output.overlay_path, output.keyframe_paths)
        with Session(engine, expire_on_commit=False) as session:
            if not leases.complete(session, job.id, held.owner):  # type: ignore[arg-type]
                session.rollback()
                logger.warning("job %s: lease lost before saving; results discarded", job.id)
                storage.delete_tree(attempt_prefix)
                if session.get(Clip, clip.id) is None:
                    storage.delete_tree(prefix)  # the clip was deleted while it was analysed
                return
            fresh = session.get(Clip, clip.id)
            if fresh is None:
                session.rollback()
                storage.delete_tree(attempt_prefix)
                return
            service.save_analysis(session, fresh, outputs)
            # A fit clip adapts the plan; an unfit one measured nothing: only the athlete
            # hears why (clips.service.announce_analysis).
            service.announce_analysis(session, fresh, outputs.report)
            session.commit()
    except BaseException:
        storage.delete_tree(attempt_prefix)
        raise
    # Committed: the report points at this attempt's files; earlier attempts' go.
    _delete_other_attempts(storage, prefix, attempt_prefix)
    logger.info("job %s: succeeded", job.id)


def _handle_failure(runtime: JobRuntime, held: Lease, job: AnalysisJob, exc: Exception) -> None:
    # The lease going away explains whatever the pipeline raised while it did.
    reason = held.reason()
    if isinstance(exc, LeaseLost) or reason is LeaseLost:
        logger.warning("job %s: lease lost, stopping without writing", job.id)
        return
    if isinstance(exc, WorkerStopping) or reason is WorkerStopping:
        logger.info("job %s: worker stopping, back to the queue", job.id)
        _end(runtime, held, "release", requeue=True)
        return
    if isinstance(exc, JobTimedOut) or reason is JobTimedOut:
        _end(runtime, held, "fail", "timed_out", TIMED_OUT_MESSAGE)
        return
    if isinstance(exc, AnalysisFailed):
        logger.info("job %s: clip unusable (%s)", job.id, exc.code)
        _end(runtime, held, "fail", exc.code, exc.message)
        return
    logger.exception("job %s: analysis failed unexpectedly", job.id, exc_info=exc)
    if job.attempts < runtime.settings.job_max_attempts:
        delay = min(300.0, 5.0 * 2 ** (job.attempts - 1))
        _end(runtime, held, "retry", message=f"{INTERNAL_MESSAGE} (retrying)", requeue=True,
             delay_s=delay)
    else:
        _end(runtime, held, "fail", "internal_error", INTERNAL_MESSAGE)


def _end(runtime: JobRuntime, held: Lease, how: str, code: str = "", message: str = "",
         requeue: bool = False, delay_s: float | None = None) -> None:
    job_id = held.job_id
    with Session(runtime.engine) as session:
        if how == "fail":
            ok = leases.fail(session, job_id, held.owner, code, message)
            job = session.get(AnalysisJob, job_id) if ok else None
            clip = session.get(Clip, job.clip_id) if job is not None else None
            if clip is not None:
                service.announce(session, AnalysisRefused(
                    session=session, athlete_id=clip.athlete_id, clip_id=clip.id,  # type: ignore[arg-type]
                    reasons=(message,)), clip.id)  # type: ignore[arg-type]
        elif how == "release":
            ok = leases.release(session, job_id, held.owner)
        else:
            ok = leases.retry_later(session, job_id, held.owner, message)
        session.commit()
    if ok and requeue:
        runtime.enqueue(job_id, delay_s=delay_s)


def _owner_tag(owner: str) -> str:
    """A short, file-name-safe token of the lease owner (host:pid:thread:random)."""
    return hashlib.sha256(owner.encode()).hexdigest()[:12]


def attempt_folder(job_id: int, attempt: int, owner: str) -> str:
    """The results folder of one attempt of one job by one worker."""
    return f"job-{job_id}-attempt-{attempt}-{_owner_tag(owner)}"


def _delete_other_attempts(storage: Storage, prefix: str, keep: str) -> None:
    folders = {key[len(prefix) + 1:].split("/", 1)[0] for key in storage.keys(prefix)}
    keep_name = keep[len(prefix) + 1:]
    for folder in folders - {keep_name}:
        storage.delete_tree(f"{prefix}/{folder}")


def _store_outputs(storage: LocalStorage, prefix: str, report: dict[str, object],
                   track_path: Path, overlay_path: Path | None,
                   keyframe_paths: list[Path]) -> service.StoredOutputs:
    """Move the results into storage under ``prefix`` (the attempt's own folder)."""
    track_sha, _ = sha256_file(track_path)
    track_key = f"{prefix}/track.npz"
    storage.put(track_path, track_key)
    overlay_key = overlay_sha = None
    if overlay_path is not None:
        overlay_sha, _ = sha256_file(overlay_path)
        overlay_key = f"{prefix}/overlay.mp4"
        storage.put(overlay_path, overlay_key)
    keyframes = []
    for path in keyframe_paths:
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in path.name)
        digest, _ = sha256_file(path)
        key = f"{prefix}/keyframes/{name}"
        storage.put(path, key)
        keyframes.append({"name": name, "key": key, "sha256": digest,
                          "content_type": KEYFRAME_SUFFIXES.get(path.suffix.lower(),
                                                                "application/octet-stream")})
    return service.StoredOutputs(report=dict(report), track_key=track_key,
                                 track_sha256=track_sha, overlay_key=overlay_key,
                                 overlay_sha256=overlay_sha, keyframes=keyframes)


@registry.periodic("clips.purge_expired_uploads", every=lambda s: s.reaper_interval_s)
def purge_expired_uploads(runtime: JobRuntime) -> int:
    """Delete resumable uploads past their expiry (files and rows)."""
    from backend.clips.tus import purge_expired

    now = utcnow()
    storage = get_storage(runtime.settings)
    with Session(runtime.engine) as session:
        expired = list(session.exec(select(ClipUpload.id)
                                    .where(col(ClipUpload.expires_at) < now)).all())
        if not expired:
            return 0
        purge_expired(storage.tus_dir, expired)
        session.exec(delete(ClipUpload).where(col(ClipUpload.id).in_(expired)))
        session.commit()
    return len(expired)


@registry.periodic("clips.purge_stale_files", every=lambda s: s.reaper_interval_s)
def purge_stale_files(runtime: JobRuntime) -> int:
    """Delete files nothing will finish or fetch, untouched for ``upload_expire_hours``:
    multipart uploads cut off mid-body and export archives whose download never ended (both
    in ``_incoming``), and tus files without an upload row (a crash between the file and the
    row, or a row purged while its file was locked). A file still being written is touched
    by every chunk, so it never looks stale."""
    storage = get_storage(runtime.settings)
    cutoff = time.time() - runtime.settings.upload_expire_hours * 3600
    removed = 0
    for path in _files(storage.incoming_dir):
        if _older(path, cutoff):
            removed += _unlink(path)
    tus_files = _files(storage.tus_dir)
    if tus_files:
        with Session(runtime.engine) as session:
            known = set(session.exec(select(ClipUpload.id)).all())
        for path in tus_files:
            upload_id = path.name.lstrip(".").split(".", 1)[0]
            if upload_id not in known and _older(path, cutoff):
                removed += _unlink(path)
    return removed


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if p.is_file()]


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except OSError:
        return False


def _unlink(path: Path) -> int:
    with contextlib.suppress(OSError):
        path.unlink()
        return 1
    return 0
