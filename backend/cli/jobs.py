"""``stridelab worker`` and ``stridelab jobs ...`` (``stridelab analyze``, one clip without a
server, lives with the running-form analysis in ``backend/cli/gait.py``)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register(app: typer.Typer) -> None:
    jobs_app = typer.Typer(help="Analysis jobs: their state, and recovery.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")

    @app.command()
    def worker(
        workers: int | None = typer.Option(
            None, help="Jobs run at once by this process (default STRIDELAB_JOB_WORKERS)."),
    ) -> None:
        """Run analysis jobs until stopped (Ctrl-C or SIGTERM hand running jobs back).

        With STRIDELAB_REDIS_URL set, start as many workers as you like, on any machines that
        share the database and the storage folder; 'stridelab serve' then runs none itself.
        """
        from backend.core.config import get_settings
        from backend.core.db import get_engine
        from backend.wiring import job_runtime

        _setup_logging()
        settings = get_settings()
        if not settings.redis_url:
            console.print("STRIDELAB_REDIS_URL is not set: taking jobs from the SQLite queue in "
                          f"{settings.resolved_data_dir} (this machine only).")
        runtime = job_runtime(settings, get_engine())
        stop = threading.Event()

        def _stop(signum: int, _frame: Any) -> None:
            console.print(f"{signal.Signals(signum).name}: stopping, running jobs go back to "
                          "the queue.")
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        runtime.start(workers)
        console.print(f"Worker ready: {workers or settings.job_workers} job(s) at once from "
                      f"{runtime.description}.")
        while not stop.wait(1.0):
            pass
        runtime.close()
        console.print("Worker stopped.")

    @jobs_app.command("status")
    def jobs_status() -> None:
        """How many jobs are queued, running, succeeded and failed."""
        from sqlalchemy import func
        from sqlmodel import Session, select

        from backend.core.config import get_settings
        from backend.core.db import get_engine
        from backend.jobs.models import AnalysisJob
        from backend.jobs.queue import build_huey, describe

        settings = get_settings()
        with Session(get_engine()) as session:
            counts = dict(session.exec(select(AnalysisJob.status, func.count())
                                       .group_by(AnalysisJob.status)).all())
        table = Table("status", "jobs")
        for status in ("queued", "running", "succeeded", "failed"):
            table.add_row(status, str(counts.get(status, 0)))
        Console().print(table)
        console.print(f"Queue {describe(settings)}: {build_huey(settings).pending_count()} "
                      "message(s) waiting.")

    @jobs_app.command("reap")
    def jobs_reap() -> None:
        """Re-queue jobs whose worker died (expired lease) and re-send lost queue messages."""
        from backend.core.config import get_settings
        from backend.core.db import get_engine
        from backend.wiring import job_runtime

        runtime = job_runtime(get_settings(), get_engine())
        result = runtime.housekeeping()["jobs.reap"]
        console.print(f"Re-queued {len(result.requeued)}, failed {len(result.failed)}, "
                      f"re-sent {len(result.resent)}.")
