"""The generic job runner: tasks registered by name and periodic tasks, run by the runtime
without any change to it, on the real databases (SQLite and PostgreSQL) and the real queue;
a periodic task runs once per interval however many workers run it (a lease on its row)."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.core.config import Settings
from backend.core.time import utcnow
from backend.jobs.models import ROW_TASK, PeriodicTaskRun
from backend.jobs.registry import DuplicateTaskError, TaskRegistry, registry
from backend.jobs.runtime import JobRuntime, UnknownTaskError
from tests.jobs.conftest import wait_until


def _row(engine: Engine, name: str) -> PeriodicTaskRun | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(PeriodicTaskRun, name)


def test_a_second_task_runs_without_changing_the_runtime(engine: Engine,
                                                         job_settings: Settings) -> None:
    tasks = TaskRegistry()
    seen: list[tuple[Any, ...]] = []

    @tasks.task("greet")
    def greet(runtime: JobRuntime, name: str, times: int) -> None:
        assert runtime.engine is engine
        seen.append((name, times))

    @tasks.task("count")
    def count(runtime: JobRuntime, n: int) -> None:
        seen.append(("count", n))

    runtime = JobRuntime(job_settings, engine, tasks)
    runtime.start()
    try:
        runtime.send("greet", "Ada", 2)
        runtime.send("count", 7, delay_s=0.5)
        wait_until("both tasks ran", lambda: len(seen) == 2, timeout_s=30)
    finally:
        runtime.close()
    assert sorted(seen) == [("Ada", 2), ("count", 7)]
    with pytest.raises(UnknownTaskError):
        runtime.send("nobody_registered_this")


def test_a_name_is_one_task() -> None:
    tasks = TaskRegistry()
    tasks.add_task("a", print)
    tasks.add_task("a", print)  # the same handler again (a module imported twice): fine
    with pytest.raises(DuplicateTaskError):
        tasks.add_task("a", repr)
    with pytest.raises(DuplicateTaskError):
        tasks.add_periodic("p", print, every=1)
        tasks.add_periodic("p", repr, every=1)


def test_the_application_registers_its_tasks_where_it_is_assembled() -> None:
    from backend.wiring import install

    install()
    assert ROW_TASK in registry.tasks
    assert {"jobs.reap", "clips.purge_expired_uploads",
            "clips.purge_stale_files"} <= set(registry.periodic_tasks)
    settings = Settings(reaper_interval_s=7.0)
    assert registry.periodic_tasks["jobs.reap"].interval_s(settings) == 7.0


def test_a_periodic_task_runs_once_per_interval_whoever_asks(engine: Engine,
                                                             job_settings: Settings) -> None:
    tasks = TaskRegistry()
    runs: list[str] = []
    tasks.add_periodic("weekly", lambda runtime: runs.append(runtime.owner), every=3600)
    a = JobRuntime(job_settings, engine, tasks)
    b = JobRuntime(job_settings, engine, tasks)

    # Both workers ask at the same moment: one runs it.
    barrier = threading.Barrier(2)

    def ask(runtime: JobRuntime) -> None:
        barrier.wait()
        runtime.run_due()

    threads = [threading.Thread(target=ask, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 1
    row = _row(engine, "weekly")
    assert row is not None and row.runs == 1 and row.lease_owner is None
    assert row.last_finished_at is not None and row.last_error is None
    # Not due again for an hour, in either worker.
    assert a.run_due() == {} and b.run_due() == {} and len(runs) == 1

    # The hour has passed: one run again.
    with Session(engine) as session:
        stored = session.get(PeriodicTaskRun, "weekly")
        assert stored is not None
        stored.next_run_at = utcnow() - timedelta(seconds=1)
        session.add(stored)
        session.commit()
    a._next_due.clear()
    b._next_due.clear()
    b.run_due()
    a.run_due()
    assert len(runs) == 2 and runs[1] == b.owner


def test_a_running_periodic_task_is_not_run_twice(engine: Engine,
                                                  job_settings: Settings) -> None:
    """Due again while a worker still runs it (under its lease): the other worker waits."""
    tasks = TaskRegistry()
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(runtime: JobRuntime) -> None:
        runs.append(runtime.owner)
        started.set()
        release.wait(10)

    tasks.add_periodic("slow", slow, every=0.01)
    a = JobRuntime(job_settings, engine, tasks)
    b = JobRuntime(job_settings, engine, tasks)
    thread = threading.Thread(target=a.run_due)
    thread.start()
    assert started.wait(10)
    time.sleep(0.05)  # due again by now, but a holds the lease
    assert b.run_due() == {} and runs == [a.owner]
    release.set()
    thread.join()
    time.sleep(0.05)
    assert "slow" in b.run_due() and runs == [a.owner, b.owner]


def test_a_failing_periodic_task_keeps_its_error_and_runs_again(
        engine: Engine, job_settings: Settings) -> None:
    tasks = TaskRegistry()

    def broken(runtime: JobRuntime) -> None:
        raise RuntimeError("disk full")

    tasks.add_periodic("broken", broken, every=0.01)
    runtime = JobRuntime(job_settings, engine, tasks)
    runtime.run_due()
    row = _row(engine, "broken")
    assert row is not None and row.last_error == "RuntimeError: disk full"
    assert row.lease_owner is None
    time.sleep(0.05)
    runtime.run_due()
    row = _row(engine, "broken")
    assert row is not None and row.runs == 2


def test_two_running_workers_share_one_schedule(engine: Engine, job_settings: Settings) -> None:
    """Two started runtimes (their housekeeping threads on the real clock): the task runs
    about once per interval in all, never twice in one interval."""
    interval = 0.5
    tasks = TaskRegistry()
    stamps: list[float] = []
    lock = threading.Lock()

    def tick(runtime: JobRuntime) -> None:
        with lock:
            stamps.append(time.monotonic())

    tasks.add_periodic("tick", tick, every=interval, at_start=False)
    workers = [JobRuntime(job_settings, engine, tasks) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(3.2)
    finally:
        for worker in workers:
            worker.close()
    assert 3 <= len(stamps) <= 7, stamps
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= interval * 0.9, gaps
