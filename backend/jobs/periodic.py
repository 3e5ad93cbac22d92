"""Periodic tasks on the job lease: each run is taken with one conditional UPDATE of the
task's ``periodic_task`` row (only when it is due and no live lease holds it), so however
many processes run jobs, a periodic task runs once per interval. A process that dies while
running one leaves a lease that expires after ``job_lease_s``; the next interval runs as
usual.

When a run is due is read from the wall clock (the one clock all processes share through the
row), but how long this process waits before asking again is kept on the monotonic clock
(``JobRuntime.run_due``): a clock that jumps forward does not make a task run twice in one
real interval, and one that jumps back does not stop it (the schedule is brought back to one
interval below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from backend.jobs import clock
from backend.jobs.models import PeriodicTaskRun


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def take(engine: Engine, name: str, owner: str, interval_s: float,
         lease_s: float) -> tuple[bool, datetime]:
    """Take the run of ``name`` that is due now: (True, when the next one is due) when this
    process runs it, else (False, when the next one is due)."""
    now = clock.now()
    with Session(engine, expire_on_commit=False) as session:
        if session.get(PeriodicTaskRun, name) is None:
            session.add(PeriodicTaskRun(name=name, next_run_at=now))
            try:
                session.commit()
            except IntegrityError:  # another process created it first
                session.rollback()
        else:
            # End the read first: on SQLite a transaction that read and then writes cannot
            # wait for the write lock (a stale snapshot fails at once, "database is locked");
            # one that starts with its write waits for it (busy_timeout).
            session.rollback()
        next_run = now + timedelta(seconds=interval_s)
        # A run is never scheduled further ahead than one interval, nor a lease taken for
        # longer than lease_s: instants beyond twice that were written before the clock went
        # back. Brought back to one interval (one lease) from now, the task runs again one
        # interval after the jump, rather than never until the clock catches up.
        session.execute(
            update(PeriodicTaskRun)
            .where(col(PeriodicTaskRun.name) == name,
                   col(PeriodicTaskRun.next_run_at) > now + timedelta(seconds=2 * interval_s))
            .values(next_run_at=next_run))
        session.execute(
            update(PeriodicTaskRun)
            .where(col(PeriodicTaskRun.name) == name,
                   col(PeriodicTaskRun.lease_expires_at) > now + timedelta(seconds=2 * lease_s))
            .values(lease_expires_at=now + timedelta(seconds=lease_s)))
        result = session.execute(
            update(PeriodicTaskRun)
            .where(col(PeriodicTaskRun.name) == name, col(PeriodicTaskRun.next_run_at) <= now,
                   or_(col(PeriodicTaskRun.lease_owner).is_(None),
                       col(PeriodicTaskRun.lease_expires_at) < now))
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                    last_started_at=now, next_run_at=next_run,
                    runs=col(PeriodicTaskRun.runs) + 1))
        session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True, next_run
        row = session.get(PeriodicTaskRun, name, populate_existing=True)
        return False, _aware(row.next_run_at) if row is not None else next_run


def finish(engine: Engine, name: str, owner: str, error: str | None = None) -> bool:
    """The run is over: the lease is given up (only by its owner), the error kept."""
    with Session(engine) as session:
        result = session.execute(
            update(PeriodicTaskRun)
            .where(col(PeriodicTaskRun.name) == name, col(PeriodicTaskRun.lease_owner) == owner)
            .values(lease_owner=None, lease_expires_at=None, last_finished_at=clock.now(),
                    last_error=error))
        session.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
