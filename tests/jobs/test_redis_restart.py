"""Redis restarted with jobs in flight: its queue is gone (no persistence), yet no job is lost:
the job rows in the database are the truth and the reaper sends again what waited too long."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine

from backend.core.config import Settings
from backend.jobs.models import AnalysisJob
from tests.clips.media import make_clip
from tests.jobs.conftest import Procs, free_port, job_of, register, upload, wait_until

postgres_only = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


class PrivateRedis:
    """A Redis server of this test's own, which it may restart (no persistence: a restart
    loses every queued message, the worst case)."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                conn.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@postgres_only
def test_a_redis_restart_loses_no_job(engine: Engine, procs: Procs, job_settings: Settings,
                                     private_redis: PrivateRedis, run_clip: Path,
                                     tmp_path: Path) -> None:
    procs.settings = job_settings.model_copy(update={"redis_url": private_redis.url})
    # A queued job is sent again after 3 s without a worker taking it.
    procs.extra_env["STRIDELAB_JOB_REQUEUE_AFTER_S"] = "3"
    _server, base = procs.serve()
    headers = register(base)
    queued = upload(base, headers, run_clip)
    private_redis.stop()
    # While Redis is down, an upload still succeeds: its job row is committed, and the
    # message that could not be sent is sent again later.
    during = upload(base, headers, make_clip(tmp_path / "second.mp4", seconds=4.0, fps=30,
                                              size=(180, 320)))
    assert during != queued
    private_redis.start()  # empty: the first job's message is gone too
    procs.start("worker")

    def done(clip_id: int) -> AnalysisJob | None:
        job = job_of(engine, clip_id)
        assert job is None or job.status != "failed", job.error_message if job else None
        return job if job is not None and job.status == "succeeded" else None

    for clip_id in (queued, during):
        wait_until(f"clip {clip_id}'s job to finish", lambda c=clip_id: done(c), 180,
                   procs.logs)
