"""The job runtime of one process: its queue, the registered tasks it can run, and (when it
runs jobs) the huey consumer threads and the housekeeping thread that runs the periodic
tasks when they are due (``backend/jobs/periodic.py``: once per interval across processes).

Tasks come from a :class:`~backend.jobs.registry.TaskRegistry` (the application's, filled by
each domain's ``tasks.py``); this module imports no domain. The reaper is the jobs package's
own periodic task (``jobs.reap``, every ``reaper_interval_s``).

``create_app`` makes one for enqueueing; ``stridelab serve`` also starts its consumer when no
Redis is configured (the embedded default), and ``stridelab worker`` starts one and waits.
Tests start and stop it explicitly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy.engine import Engine

from backend.core.config import Settings
from backend.jobs import clock, periodic
from backend.jobs.lease import worker_id
from backend.jobs.models import ROW_TASK
from backend.jobs.queue import build_huey, describe
from backend.jobs.reaper import ReapResult, reap
from backend.jobs.registry import PeriodicTask, TaskRegistry, registry

logger = logging.getLogger(__name__)


class UnknownTaskError(KeyError):
    """No task of that name is registered (its domain's tasks.py was not imported)."""


class _QuietConsumer(Consumer):
    """huey's consumer without its signal handlers: the host process (uvicorn, the worker
    command) owns the signals and stops the consumer itself."""

    def _set_signal_handlers(self) -> None:
        pass


class JobRuntime:
    def __init__(self, settings: Settings, engine: Engine,
                 tasks: TaskRegistry | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = tasks if tasks is not None else registry
        self.huey = build_huey(settings)
        self.stopping = threading.Event()
        self.owner = worker_id()  # holds the leases of the periodic runs it takes
        self._bound: dict[str, TaskWrapper] = {}
        self._bind_lock = threading.Lock()
        # When to ask again whether each periodic task is due, on the monotonic clock.
        self._next_due: dict[str, float] = {}
        self._jumps = clock.JumpWatch()
        self._hold_reaping_until = 0.0
        self._consumer: _QuietConsumer | None = None
        self._housekeeper: threading.Thread | None = None
        self._stop_housekeeping = threading.Event()

    @property
    def description(self) -> str:
        return describe(self.settings)

    @property
    def running(self) -> bool:
        return self._consumer is not None

    # ----------------------------------------------------------------- queueing

    def _bind(self) -> None:
        """Give huey every registered task (by its stable name) not given yet."""
        with self._bind_lock:
            for name, task in list(self.registry.tasks.items()):
                if name not in self._bound:
                    handler = task.handler

                    def run(*args: Any, _handler: Callable[..., Any] = handler) -> None:
                        _handler(self, *args)

                    self._bound[name] = self.huey.task(name=name)(run)

    def send(self, name: str, *args: Any, delay_s: float | None = None) -> None:
        """Queue the task ``name`` with ``args`` (after ``delay_s`` seconds)."""
        if name not in self._bound:
            self._bind()
        wrapper = self._bound.get(name)
        if wrapper is None:
            raise UnknownTaskError(name)
        if delay_s:
            wrapper.schedule(args=args, delay=delay_s)
        else:
            wrapper(*args)

    def enqueue(self, job_id: int, delay_s: float | None = None) -> None:
        """Queue the run of an ``analysis_job`` row (the task its domain registered)."""
        self.send(ROW_TASK, job_id, delay_s=delay_s)

    def after_commit_enqueue(self, job_id: int) -> Callable[[], None]:
        return lambda: self.enqueue(job_id)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    # ----------------------------------------------------------------- periodic tasks

    def watch_clock(self) -> float:
        """Notice a jump of this process's wall clock (the seconds it jumped, else 0.0).
        After a jump forward, leases written before it look expired although their workers
        are alive: expired leases are left alone for one lease, while the workers renew."""
        jump = self._jumps.check()
        if jump:
            logger.warning("the wall clock jumped by %+.1f s", jump)
            if jump > 0:
                self._hold_reaping_until = clock.monotonic() + self.settings.job_lease_s
        return jump

    def reap(self) -> ReapResult:
        """Expired leases back to the queue, lost messages sent again (backend/jobs/reaper)."""
        self.watch_clock()
        holding = clock.monotonic() < self._hold_reaping_until
        return reap(self.engine, self.settings, self.enqueue, take_expired=not holding)

    def _run_one(self, task: PeriodicTask) -> tuple[Any, str | None]:
        try:
            return task.handler(self), None
        except Exception as exc:
            logger.exception("periodic task %s failed (will run again)", task.name)
            return None, f"{type(exc).__name__}: {exc}"[:2000]

    def run_due(self) -> dict[str, Any]:
        """Run the periodic tasks that are due and that no other process took; their results
        by name."""
        results: dict[str, Any] = {}
        self.watch_clock()
        for task in list(self.registry.periodic_tasks.values()):
            check_at = self._next_due.get(task.name)
            if check_at is not None and clock.monotonic() < check_at:
                continue
            interval = task.interval_s(self.settings)
            try:
                taken, due = periodic.take(self.engine, task.name, self.owner, interval,
                                           self.settings.job_lease_s)
                # Wait on the monotonic clock (at most one interval): a wall clock that
                # jumps neither brings the next run forward nor puts it off.
                wait = min(max((due - clock.now()).total_seconds(), 0.0), interval)
                self._next_due[task.name] = clock.monotonic() + wait
            except Exception:
                logger.exception("periodic task %s: cannot take its run (will retry)",
                                 task.name)
                continue
            if not taken:
                continue
            results[task.name], error = self._run_one(task)
            try:
                periodic.finish(self.engine, task.name, self.owner, error)
            except Exception:
                logger.exception("periodic task %s: cannot end its run", task.name)
        return results

    def housekeeping(self, *, at_start_only: bool = False) -> dict[str, Any]:
        """Run every periodic task now, whatever its schedule (start-up recovery, ``stridelab
        jobs reap``, tests); their results by name."""
        return {task.name: self._run_one(task)[0]
                for task in list(self.registry.periodic_tasks.values())
                if task.at_start or not at_start_only}

    # ----------------------------------------------------------------- running

    def start(self, workers: int | None = None) -> None:
        """Start the consumer threads and the housekeeping thread (idempotent)."""
        if self._consumer is not None:
            return
        self.stopping.clear()
        self._stop_housekeeping.clear()
        self._bind()
        # Recover what a previous run left behind, before taking work.
        self.housekeeping(at_start_only=True)
        consumer = _QuietConsumer(
            self.huey, workers=workers or self.settings.job_workers, periodic=False,
            worker_type="thread", initial_delay=0.1, backoff=1.15, max_delay=1.0,
            scheduler_interval=1, check_worker_health=True, shutdown_timeout=30)
        consumer.start()
        self._consumer = consumer
        self._housekeeper = threading.Thread(target=self._housekeeping_loop,
                                             name="stridelab-housekeeping", daemon=True)
        self._housekeeper.start()
        logger.info("jobs: %s worker thread(s) on %s; tasks %s; periodic %s", consumer.workers,
                    self.description, sorted(self.registry.tasks),
                    sorted(self.registry.periodic_tasks))

    def _tick_s(self) -> float:
        intervals = [t.interval_s(self.settings) for t in self.registry.periodic_tasks.values()]
        return max(0.05, min([1.0, *(i / 2 for i in intervals)]))

    def _housekeeping_loop(self) -> None:
        while not self._stop_housekeeping.wait(self._tick_s()):
            try:
                self.run_due()
            except Exception:
                logger.exception("housekeeping failed (will retry)")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs; running jobs go back to the queue at their next progress step."""
        self.stopping.set()
        self._stop_housekeeping.set()
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.shutdown_timeout = timeout_s
            consumer.stop(graceful=True)
        if self._housekeeper is not None:
            self._housekeeper.join(timeout=5)
            self._housekeeper = None

    def close(self) -> None:
        self.stop()
        try:
            self.huey.storage.close()
        except Exception:  # closing a pool that was never opened
            logger.debug("closing the queue storage failed", exc_info=True)


@registry.periodic("jobs.reap", every=lambda settings: settings.reaper_interval_s)
def reap_jobs(runtime: JobRuntime) -> ReapResult:
    """The reaper, on its schedule (and once when a process starts taking jobs)."""
    return runtime.reap()
