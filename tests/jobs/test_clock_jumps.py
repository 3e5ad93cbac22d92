"""The wall clock jumps (an NTP step, a VM resumed, a hand-set date), forward and back, while
jobs run and periodic tasks keep their schedule. The jobs' clock seam (backend/jobs/clock.py)
moves the wall clock of this process; the monotonic clock and real time go on as they do.

What must hold: a live worker's lease is not taken by the reaper because of a jump, and a
dead worker's job is still taken back within a lease or two of real time (not after the whole
jump); a periodic task runs neither twice within one real interval nor stops running."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from backend.core.config import Settings
from backend.core.time import utcnow
from backend.jobs import clock
from backend.jobs import lease as leases
from backend.jobs.registry import TaskRegistry
from backend.jobs.runtime import JobRuntime
from tests.jobs.test_lease_and_reaper import _clip_with_job, _job

LEASE_S = 3.0
HOUR = 3600.0


class JumpingClock:
    """Real time, with a wall clock that can be stepped by ``jump``."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic()

    def jump(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def wall() -> Iterator[JumpingClock]:
    with clock.use(JumpingClock()) as jumping:
        assert isinstance(jumping, JumpingClock)
        yield jumping


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_lease_s": LEASE_S, "job_max_attempts": 5})


@pytest.fixture
def runtime(job_settings: Settings, engine: Engine) -> Iterator[JobRuntime]:
    """A process's runtime whose reaper sends re-queued ids to a list (no consumer)."""
    jobs = JobRuntime(job_settings, engine, tasks=TaskRegistry())
    jobs.sent = []  # type: ignore[attr-defined]
    jobs.enqueue = jobs.sent.append  # type: ignore[method-assign,attr-defined]
    try:
        yield jobs
    finally:
        jobs.close()


def _reap_for(runtime: JobRuntime, seconds: float) -> list[int]:
    """Reap every 0.25 s for ``seconds`` of real time (a fast reaper); the jobs taken back."""
    taken: list[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        taken += runtime.reap().requeued
        time.sleep(0.25)
    return taken


@pytest.mark.parametrize("jump_s", [HOUR, -HOUR])
def test_a_jump_neither_steals_a_live_lease_nor_strands_a_dead_one(
        engine: Engine, job_settings: Settings, runtime: JobRuntime, wall: JumpingClock,
        jump_s: float) -> None:
    _, live_id = _clip_with_job(engine, sha="c" * 64)
    _, dead_id = _clip_with_job(engine, sha="d" * 64)
    assert runtime.reap().requeued == []  # the reaper has seen the clock before the jump
    live_job = leases.claim(engine, live_id, "live-worker", lease_s=LEASE_S)
    assert live_job is not None
    # The dead worker claimed its job, then died: its lease is never renewed.
    assert leases.claim(engine, dead_id, "dead-worker", lease_s=LEASE_S) is not None

    with leases.Lease(engine, live_id, "live-worker", job_settings,
                      stopping=threading.Event()) as live:
        wall.jump(jump_s)
        # A lease and a half of real time: the live lease is renewed through it, whatever
        # the clock did; the dead one is not taken back yet when the clock went forward (the
        # reaper holds off for one lease after the jump) ...
        taken = _reap_for(runtime, 1.5 * LEASE_S)
        assert live_id not in taken and not live.lost.is_set()
        # ... and within two leases of real time after the jump, whichever way it went.
        taken += _reap_for(runtime, 1.5 * LEASE_S)
        assert live_id not in taken and not live.lost.is_set(), "a live lease was taken"
        assert taken == [dead_id], "the dead worker's job was not taken back"
        running = _job(engine, live_id)
        assert running.status == "running" and running.lease_owner == "live-worker"
    assert _job(engine, dead_id).status == "queued"


@pytest.mark.parametrize("jump_s", [HOUR, -HOUR])
def test_a_periodic_task_runs_once_per_real_interval_around_a_jump(
        engine: Engine, job_settings: Settings, wall: JumpingClock, jump_s: float) -> None:
    """Two processes share the task; the clock jumps in the middle of an interval."""
    interval = 1.0
    runs: list[float] = []
    registry = TaskRegistry()

    @registry.periodic("test.clock_tick", every=interval, at_start=False)
    def tick(_: JobRuntime) -> None:
        runs.append(time.monotonic())

    processes = [JobRuntime(job_settings, engine, tasks=registry) for _ in range(2)]
    try:
        start = time.monotonic()
        jumped_at = None
        while time.monotonic() - start < 6 * interval:
            if jumped_at is None and time.monotonic() - start > 2.5 * interval:
                wall.jump(jump_s)
                jumped_at = time.monotonic()
            for process in processes:
                process.run_due()
            time.sleep(0.05)
    finally:
        for process in processes:
            process.close()
    assert jumped_at is not None
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert min(gaps) > 0.9 * interval, f"ran twice in one interval: {gaps}"
    assert max(gaps) < 2.2 * interval, f"stopped running: {gaps}"
    assert any(r > jumped_at + 0.5 * interval for r in runs), f"none after the jump: {runs}"
    assert len(runs) >= 4, runs
