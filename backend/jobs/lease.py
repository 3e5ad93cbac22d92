"""Claiming a job, holding its lease while it runs, and ending it.

Every state change is one conditional UPDATE on the job row, so two workers (or a worker and
the reaper) can never both believe they own a job:

- ``claim``: queued -> running, only if still queued; attempts + 1; lease = now + lease_s.
- ``Lease`` (a heartbeat thread): renews the lease every third of lease_s and writes progress,
  only while ``lease_owner`` is still this worker. If the row says otherwise (the reaper gave
  the job to another worker, or the clip was deleted), the lease is lost and the work stops.
- ``complete`` / ``fail`` / ``release`` / ``retry_later``: only while this worker owns the
  lease, in the caller's transaction; ``complete`` is written together with the results, so
  a worker that lost its lease writes nothing.
- ``requeue_failed`` (a failed job, uploaded again) and ``restart`` (any job, its input
  changed): back to the queue with attempts from 0; a worker running it loses its lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from backend.core.config import Settings
from backend.jobs import clock
from backend.jobs.models import AnalysisJob, JobStatus

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker (or a deletion) took the job: stop without writing anything."""


class WorkerStopping(Exception):
    """The worker is shutting down: hand the job back to the queue."""


class JobTimedOut(Exception):
    """The job ran longer than ``job_timeout_s``."""


def worker_id() -> str:
    return (f"{socket.gethostname()[:80]}:{os.getpid()}:{threading.get_ident() % 100000}:"
            f"{uuid.uuid4().hex[:8]}")


def _owned(job_id: int, owner: str) -> tuple[Any, ...]:
    return (col(AnalysisJob.id) == job_id, col(AnalysisJob.lease_owner) == owner,
            col(AnalysisJob.status) == JobStatus.running.value)


def claim(engine: Engine, job_id: int, owner: str, lease_s: float) -> AnalysisJob | None:
    """Take a queued job; None when it is not queued (done, running elsewhere, deleted)."""
    now = clock.now()
    with Session(engine, expire_on_commit=False) as session:
        result = session.execute(
            update(AnalysisJob)
            .where(col(AnalysisJob.id) == job_id,
                   col(AnalysisJob.status) == JobStatus.queued.value)
            .values(status=JobStatus.running.value, attempts=col(AnalysisJob.attempts) + 1,
                    lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                    started_at=now, finished_at=None, progress=0, stage="starting",
                    error_code=None, error_message=None, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        session.commit()
        return session.get(AnalysisJob, job_id)


def _end(session: Session, job_id: int, owner: str, **values: object) -> bool:
    now = clock.now()
    values.setdefault("updated_at", now)
    result = session.execute(update(AnalysisJob).where(*_owned(job_id, owner)).values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def complete(session: Session, job_id: int, owner: str) -> bool:
    now = clock.now()
    return _end(session, job_id, owner, status=JobStatus.succeeded.value, progress=100,
                stage="done", finished_at=now, lease_owner=None, lease_expires_at=None)


def fail(session: Session, job_id: int, owner: str, code: str, message: str) -> bool:
    now = clock.now()
    return _end(session, job_id, owner, status=JobStatus.failed.value, stage="failed",
                error_code=code[:64], error_message=message, finished_at=now,
                lease_owner=None, lease_expires_at=None)


def release(session: Session, job_id: int, owner: str) -> bool:
    """Back to the queue without counting the attempt (the worker is shutting down)."""
    now = clock.now()
    return _end(session, job_id, owner, status=JobStatus.queued.value, stage="queued",
                progress=0, attempts=col(AnalysisJob.attempts) - 1, lease_owner=None,
                lease_expires_at=None, enqueued_at=now)


def retry_later(session: Session, job_id: int, owner: str, message: str) -> bool:
    """Back to the queue after an unexpected error; the attempt counts."""
    now = clock.now()
    return _end(session, job_id, owner, status=JobStatus.queued.value, stage="retrying",
                progress=0, error_message=message, lease_owner=None, lease_expires_at=None,
                enqueued_at=now)


def requeue_failed(session: Session, job_id: int) -> bool:
    """A failed job starts over (attempts from 0, error cleared), only if it is still failed:
    the athlete sent the clip again after a failure that was not the clip's fault."""
    now = clock.now()
    result = session.execute(
        update(AnalysisJob)
        .where(col(AnalysisJob.id) == job_id, col(AnalysisJob.status) == JobStatus.failed.value)
        .values(status=JobStatus.queued.value, stage="queued", progress=0, attempts=0,
                error_code=None, error_message=None, lease_owner=None, lease_expires_at=None,
                started_at=None, finished_at=None, enqueued_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch"))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def restart(session: Session, job_id: int) -> bool:
    """The job starts over from the queue (attempts from 0, error and timings cleared),
    whatever its state: what the analysis reads changed (the clip's capture rate). A worker
    running it loses its lease, so it stops at its next progress step and writes nothing."""
    now = clock.now()
    result = session.execute(
        update(AnalysisJob)
        .where(col(AnalysisJob.id) == job_id)
        .values(status=JobStatus.queued.value, stage="queued", progress=0, attempts=0,
                error_code=None, error_message=None, lease_owner=None, lease_expires_at=None,
                started_at=None, finished_at=None, enqueued_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch"))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class Lease:
    """The running worker's hold on a job: a heartbeat thread renews it and writes progress.

    ``report(fraction, stage)`` is what the analysis calls as it goes; it raises
    :class:`LeaseLost`, :class:`WorkerStopping` or :class:`JobTimedOut` so the work stops at
    the next progress step. ``reason()`` says the same without raising, for callers that
    caught some other exception raised while the lease was going away.
    """

    def __init__(self, engine: Engine, job_id: int, owner: str, settings: Settings,
                 stopping: threading.Event | None = None) -> None:
        self.engine = engine
        self.job_id = job_id
        self.owner = owner
        self.lease_s = settings.job_lease_s
        self.timeout_s = settings.job_timeout_s
        self.stopping = stopping or threading.Event()
        self.progress = 0
        self.stage = "starting"
        self.lost = threading.Event()
        self.timed_out = threading.Event()
        self._done = threading.Event()
        self._dirty = threading.Event()
        self._started = clock.monotonic()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def reason(self) -> type[Exception] | None:
        if self.lost.is_set():
            return LeaseLost
        if self.timed_out.is_set():
            return JobTimedOut
        if self.stopping.is_set():
            return WorkerStopping
        return None

    def check(self) -> None:
        reason = self.reason()
        if reason is not None:
            raise reason()

    def report(self, fraction: float, stage: str | None = None) -> None:
        percent = max(0, min(99, int(fraction * 100)))
        if percent != self.progress or (stage and stage != self.stage):
            self.progress = max(self.progress, percent)
            if stage:
                self.stage = stage
            self._dirty.set()
        self.check()

    def _beat(self) -> None:
        renew_every = self.lease_s / 3
        last = clock.monotonic()
        while not self._done.wait(min(0.5, renew_every)):
            now = clock.monotonic()
            if now - self._started > self.timeout_s:
                # Stop renewing: the work stops at its next progress step, and a hung worker
                # loses the job to the reaper when the lease runs out.
                self.timed_out.set()
                return
            if not self._dirty.is_set() and now - last < renew_every:
                continue
            self._dirty.clear()
            try:
                if not self._renew():
                    logger.warning("job %s: lease lost by %s", self.job_id, self.owner)
                    self.lost.set()
                    return
                last = now
            except Exception:
                logger.exception("job %s: cannot renew the lease (will retry)", self.job_id)

    def _renew(self) -> bool:
        expires: datetime = clock.now() + timedelta(seconds=self.lease_s)
        with Session(self.engine) as session:
            ok = _end(session, self.job_id, self.owner, lease_expires_at=expires,
                      progress=self.progress, stage=self.stage)
            session.commit()
        return ok
