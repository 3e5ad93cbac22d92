"""The job runtime of one process: its queue, the tasks it can run, and (when it runs jobs)
the huey consumer threads and the housekeeping thread (reaper, upload clean-up).

``create_app`` makes one for enqueueing; ``stridelab serve`` also starts its consumer when no
Redis is configured (the embedded default), and ``stridelab worker`` starts one and waits.
Tests start and stop it explicitly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from huey.consumer import Consumer
from sqlalchemy.engine import Engine

from backend.core.config import Settings
from backend.jobs.queue import build_huey, describe
from backend.jobs.reaper import ReapResult, reap

logger = logging.getLogger(__name__)


class _QuietConsumer(Consumer):
    """huey's consumer without its signal handlers: the host process (uvicorn, the worker
    command) owns the signals and stops the consumer itself."""

    def _set_signal_handlers(self) -> None:
        pass


class JobRuntime:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.huey = build_huey(settings)
        self.stopping = threading.Event()
        self._consumer: _QuietConsumer | None = None
        self._housekeeper: threading.Thread | None = None
        self._stop_housekeeping = threading.Event()
        # The one task: its name is stable, so any process can run what another queued.
        self._analyse = self.huey.task(name="analyse_clip")(self._run_analysis)

    @property
    def description(self) -> str:
        return describe(self.settings)

    @property
    def running(self) -> bool:
        return self._consumer is not None

    # ----------------------------------------------------------------- queueing

    def enqueue(self, job_id: int, delay_s: float | None = None) -> None:
        if delay_s:
            self._analyse.schedule(args=(job_id,), delay=delay_s)
        else:
            self._analyse(job_id)

    def after_commit_enqueue(self, job_id: int) -> Callable[[], None]:
        return lambda: self.enqueue(job_id)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def _run_analysis(self, job_id: int) -> None:
        from backend.clips.tasks import run_analysis_job

        run_analysis_job(self, job_id)

    # ----------------------------------------------------------------- running

    def housekeeping(self) -> ReapResult:
        """One round of the periodic work: the reaper, then expired uploads and abandoned
        files (partial multipart uploads, export archives, orphan tus files)."""
        result = reap(self.engine, self.settings, self.enqueue)
        try:
            from backend.clips.tasks import purge_expired_uploads, purge_stale_files

            purge_expired_uploads(self)
            purge_stale_files(self)
        except Exception:
            logger.exception("clean-up of expired uploads failed")
        return result

    def start(self, workers: int | None = None) -> None:
        """Start the consumer threads and the housekeeping thread (idempotent)."""
        if self._consumer is not None:
            return
        self.stopping.clear()
        self._stop_housekeeping.clear()
        try:
            self.housekeeping()  # recover what a previous run left behind, before taking work
        except Exception:
            logger.exception("reaper failed at start-up")
        consumer = _QuietConsumer(
            self.huey, workers=workers or self.settings.job_workers, periodic=False,
            worker_type="thread", initial_delay=0.1, backoff=1.15, max_delay=1.0,
            scheduler_interval=1, check_worker_health=True, shutdown_timeout=30)
        consumer.start()
        self._consumer = consumer
        self._housekeeper = threading.Thread(target=self._housekeeping_loop,
                                             name="stridelab-housekeeping", daemon=True)
        self._housekeeper.start()
        logger.info("jobs: %s worker thread(s) on %s", consumer.workers, self.description)

    def _housekeeping_loop(self) -> None:
        while not self._stop_housekeeping.wait(self.settings.reaper_interval_s):
            try:
                self.housekeeping()
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
