"""Real processes for the job tests: 'stridelab serve' and 'stridelab worker' started as a user
starts them, against the test database, a real Redis server and a shared data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.core.config import Settings
from backend.jobs.models import AnalysisJob
from tests.clips.conftest import media_dir, run_clip  # noqa: F401 (shared fixtures)
from tests.conftest import TEST_SECRET
from tests.servers import free_port

STRIDELAB = [sys.executable, "-m", "backend.cli.main"]
REDIS_ENV = "STRIDELAB_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis server 'make test' starts; without it these tests fail, they do not skip."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(f"{REDIS_ENV} is not set: the job tests need the Redis server that "
                    "'make test' starts (scripts/services.sh start).")
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} does not answer ({exc}): run scripts/services.sh start.")
    yield url
    conn.close()


@dataclass
class Procs:
    """Processes started by a test, each logging to a file; all stopped at the end."""

    settings: Settings
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    started: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
        s = self.settings
        env.update({
            "STRIDELAB_ENVIRONMENT": "test", "STRIDELAB_SECRET_KEY": TEST_SECRET,
            "STRIDELAB_DATA_DIR": str(s.resolved_data_dir),
            "STRIDELAB_DATABASE_URL": s.sqlalchemy_url,
            "STRIDELAB_QUEUE_NAME": s.queue_name,
            "STRIDELAB_JOB_LEASE_S": str(s.job_lease_s),
            "STRIDELAB_REAPER_INTERVAL_S": str(s.reaper_interval_s),
        })
        if s.redis_url:
            env["STRIDELAB_REDIS_URL"] = s.redis_url
        env.update(self.extra_env)
        return env

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{args[0]}-{len(self.started)}.log"
        handle = log.open("wb")
        proc = subprocess.Popen([*STRIDELAB, *args], env=self.env(), stdout=handle,
                                stderr=subprocess.STDOUT)
        handle.close()
        self.started.append((proc, log))
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        for p, path in self.started:
            if p is proc:
                return path.read_text(errors="replace")[-4000:]
        return ""

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for _, path in self.started)

    def serve(self) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        proc = self.start("serve", "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited:\n{self.log(proc)}"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start:\n{self.log(proc)}"
            time.sleep(0.2)

    def stop(self, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=timeout_s)

    def stop_server(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM, and a clean shutdown (uvicorn re-raises the signal once it is done)."""
        code = self.stop(proc)
        log = self.log(proc)
        assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in log, log

    def stop_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    """A short lease and reaper interval, and a queue of this test's own."""
    return settings.model_copy(update={"job_lease_s": 4.0, "reaper_interval_s": 0.5,
                                       "queue_name": f"test-{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def procs(job_settings: Settings, tmp_path: Path) -> Iterator[Procs]:
    started = Procs(job_settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def wait_until(what: str, check: Callable[[], Any], timeout_s: float,
               logs: Callable[[], str] = lambda: "", every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{logs()}"
        time.sleep(every_s)


def job_of(engine: Engine, clip_id: int) -> AnalysisJob | None:
    with Session(engine) as session:
        return session.exec(select(AnalysisJob).where(AnalysisJob.clip_id == clip_id)).first()


def register(base: str) -> dict[str, str]:
    email = f"jobs-{uuid.uuid4().hex[:8]}@example.com"
    password = "a-long-enough-passphrase"
    resp = httpx.post(f"{base}/api/v1/auth/register", json={
        "email": email, "password": password, "role": "athlete", "display_name": "Jobs"})
    assert resp.status_code == 201, resp.text
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def upload(base: str, headers: dict[str, str], path: Path) -> int:
    resp = httpx.post(f"{base}/api/v1/clips", headers=headers, timeout=60,
                      files={"file": (path.name, path.read_bytes(), "video/mp4")},
                      data={"view": "rear"})
    assert resp.status_code == 202, resp.text
    return int(resp.json()["id"])
