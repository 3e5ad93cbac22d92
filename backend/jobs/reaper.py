"""The reaper: jobs whose worker died go back to the queue; lost queue messages are re-sent.

Runs every ``reaper_interval_s`` in every process that runs jobs (and once at start-up), so
recovery needs no extra service. Each change is a conditional UPDATE, so any number of
reapers may run at once: at worst a job id is queued twice, and the second delivery finds the
job no longer queued and does nothing.

- A running job whose lease expired (its worker was killed, lost power, or hangs) goes back to
  'queued' and is queued again; after ``job_max_attempts`` attempts it fails with a message.
- A job 'queued' for longer than ``job_requeue_after_s`` is queued again: its message may have
  been lost (Redis restarted without persistence, or the enqueue after commit failed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend.core.config import Settings
from backend.jobs import clock
from backend.jobs.models import AnalysisJob, JobStatus

logger = logging.getLogger(__name__)


@dataclass
class ReapResult:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


def interrupted_message(attempts: int) -> str:
    return (f"The analysis was interrupted {attempts} times (the server running it stopped "
            "before it finished), so it was given up. Upload the clip again later; if this "
            "keeps happening, try a shorter clip (10-20 s).")


def reap(engine: Engine, settings: Settings, enqueue: Callable[[int], None], *,
         take_expired: bool = True) -> ReapResult:
    """One pass of the reaper. ``take_expired`` False leaves expired leases alone for this
    pass (this process's wall clock just jumped forward: a lease that looks expired may be
    alive and about to be renewed; ``JobRuntime.reap`` decides)."""
    now = clock.now()
    result = ReapResult()
    with Session(engine) as session:
        # A lease is never renewed further ahead than job_lease_s, so one lying further than
        # twice that was written before the clock went back (or by a process whose clock is
        # ahead): brought back to one lease from now, a dead worker's job is still taken back
        # within a lease or two of real time, not after the whole jump.
        session.execute(
            update(AnalysisJob)
            .where(col(AnalysisJob.status) == JobStatus.running.value,
                   col(AnalysisJob.lease_expires_at)
                   > now + timedelta(seconds=2 * settings.job_lease_s))
            .values(lease_expires_at=now + timedelta(seconds=settings.job_lease_s)))
        expired = [] if not take_expired else session.exec(
            select(AnalysisJob.id, AnalysisJob.attempts).where(
                col(AnalysisJob.status) == JobStatus.running.value,
                col(AnalysisJob.lease_expires_at) < now)
        ).all()
        for job_id, attempts in expired:
            still_expired = (col(AnalysisJob.id) == job_id,
                             col(AnalysisJob.status) == JobStatus.running.value,
                             col(AnalysisJob.lease_expires_at) < now)
            if attempts >= settings.job_max_attempts:
                values: dict[str, object] = dict(
                    status=JobStatus.failed.value, stage="failed", error_code="interrupted",
                    error_message=interrupted_message(attempts), finished_at=now,
                    lease_owner=None, lease_expires_at=None, updated_at=now)
                target = result.failed
            else:
                values = dict(status=JobStatus.queued.value, stage="queued", progress=0,
                              lease_owner=None, lease_expires_at=None, enqueued_at=now,
                              updated_at=now)
                target = result.requeued
            done = session.execute(update(AnalysisJob).where(*still_expired).values(**values))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                target.append(int(job_id))  # type: ignore[arg-type]

        cutoff = now - timedelta(seconds=settings.job_requeue_after_s)
        stale = session.exec(
            select(AnalysisJob.id).where(col(AnalysisJob.status) == JobStatus.queued.value,
                                         col(AnalysisJob.enqueued_at) < cutoff)
        ).all()
        for job_id in stale:
            done = session.execute(
                update(AnalysisJob)
                .where(col(AnalysisJob.id) == job_id,
                       col(AnalysisJob.status) == JobStatus.queued.value,
                       col(AnalysisJob.enqueued_at) < cutoff)
                .values(enqueued_at=now, updated_at=now))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                result.resent.append(int(job_id))  # type: ignore[arg-type]
        session.commit()

    for job_id in result.requeued + result.resent:
        try:
            enqueue(job_id)
        except Exception:
            logger.exception("reaper: cannot queue job %s (will retry)", job_id)
    if result.requeued or result.failed or result.resent:
        logger.warning("reaper: re-queued %s (lease expired), failed %s (too many attempts), "
                       "re-sent %s (queued too long)", result.requeued, result.failed,
                       result.resent)
    return result
