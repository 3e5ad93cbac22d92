"""Jobs across real processes: 'stridelab serve' and 'stridelab worker' on a real Redis server
and PostgreSQL; a worker killed with SIGKILL mid-job; a server restarted with jobs queued."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from huey import RedisHuey
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.clips.models import AnalysisReport, Clip, ClipMetric
from backend.clips.storage import get_storage
from backend.core.config import Settings
from backend.jobs.models import AnalysisJob
from tests.clips.media import make_clip
from tests.jobs.conftest import Procs, job_of, register, upload, wait_until

postgres_only = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def redis_settings(job_settings: Settings, redis_url: str) -> Settings:
    return job_settings.model_copy(update={"redis_url": redis_url})


@pytest.fixture
def redis_procs(procs: Procs, redis_settings: Settings) -> Procs:
    procs.settings = redis_settings
    return procs


def _succeeded(engine: Engine, clip_id: int) -> AnalysisJob | None:
    job = job_of(engine, clip_id)
    assert job is None or job.status != "failed", f"job failed: {job.error_message}"
    return job if job is not None and job.status == "succeeded" else None


def _reports(engine: Engine, clip_id: int) -> list[AnalysisReport]:
    with Session(engine) as session:
        return list(session.exec(select(AnalysisReport)
                                 .where(AnalysisReport.clip_id == clip_id)).all())


@postgres_only
def test_redis_worker_runs_what_serve_queues(engine: Engine, redis_procs: Procs,
                                             redis_settings: Settings, run_clip: Path) -> None:
    """With STRIDELAB_REDIS_URL set, 'serve' runs no jobs; a 'stridelab worker' does."""
    server, base = redis_procs.serve()
    headers = register(base)
    clip_id = upload(base, headers, run_clip)
    time.sleep(3)  # time enough for a consumer in 'serve' to have taken it, were there one
    job = job_of(engine, clip_id)
    assert job is not None and job.status == "queued" and job.attempts == 0
    queue = RedisHuey(redis_settings.queue_name, url=redis_settings.redis_url)
    assert queue.pending_count() == 1

    worker = redis_procs.start("worker")
    wait_until("the worker to finish the job", lambda: _succeeded(engine, clip_id), 120,
               redis_procs.logs)
    clip = httpx.get(f"{base}/api/v1/clips/{clip_id}", headers=headers).json()
    assert clip["status"] == "succeeded" and clip["progress"] == 100
    report = httpx.get(f"{base}/api/v1/clips/{clip_id}/report", headers=headers)
    assert report.status_code == 200 and report.json()["report"]["metrics"]
    assert queue.pending_count() == 0
    # SIGTERM: the worker stops cleanly.
    assert redis_procs.stop(worker) == 0, redis_procs.log(worker)
    assert "Worker stopped." in redis_procs.log(worker)
    redis_procs.stop_server(server)


@postgres_only
def test_worker_killed_mid_job(engine: Engine, redis_procs: Procs, redis_settings: Settings,
                               tmp_path: Path) -> None:
    """SIGKILL in the middle of a job; a new worker; the reaper hands the job over when the
    lease expires: it finishes, with exactly one report, and the clip intact."""
    server, base = redis_procs.serve()
    headers = register(base)
    # Long enough to be caught in the middle (the analysis takes several seconds).
    clip_path = make_clip(tmp_path / "long-run.mp4", seconds=9, fps=30, size=(360, 640))
    digest = hashlib.sha256(clip_path.read_bytes()).hexdigest()
    first = redis_procs.start("worker")
    clip_id = upload(base, headers, clip_path)

    def mid_job() -> AnalysisJob | None:
        job = job_of(engine, clip_id)
        assert job is not None and job.status != "succeeded", "finished before the kill"
        return job if job.status == "running" and job.progress > 0 else None

    running = wait_until("the job to be running", mid_job, 90, redis_procs.logs, every_s=0.05)
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    killed_owner = running.lease_owner
    assert running.attempts == 1 and killed_owner

    redis_procs.start("worker")
    done = wait_until("the new worker to finish the job", lambda: _succeeded(engine, clip_id),
                      120, redis_procs.logs)
    assert done.attempts == 2 and done.progress == 100
    assert done.lease_owner is None and done.error_message is None
    assert len(_reports(engine, clip_id)) == 1
    with Session(engine) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        keys = [m.key for m in session.exec(select(ClipMetric)
                                            .where(ClipMetric.clip_id == clip_id)).all()]
    assert keys and len(keys) == len(set(keys))
    stored = get_storage(redis_settings).local_path(clip.storage_key)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest == clip.sha256
    report = httpx.get(f"{base}/api/v1/clips/{clip_id}/report", headers=headers)
    assert report.status_code == 200
    overlay = httpx.get(f"{base}{report.json()['overlay_url']}", headers=headers)
    assert overlay.status_code == 200 and overlay.headers["content-type"] == "video/mp4"
    redis_procs.stop_server(server)


@sqlite_only
def test_server_restart_loses_no_queued_job(engine: Engine, procs: Procs,
                                            job_settings: Settings, tmp_path: Path) -> None:
    """The embedded default: the server is stopped while one job runs and others wait; the
    next start finishes them all, each once."""
    server, base = procs.serve()
    headers = register(base)
    clips = [make_clip(tmp_path / f"restart-{i}.mp4", seconds=3.2 + i / 10, fps=30,
                       size=(270, 480)) for i in range(3)]
    clip_ids = [upload(base, headers, path) for path in clips]
    wait_until("a job to start", lambda: any(
        (j := job_of(engine, c)) is not None and j.status == "running" for c in clip_ids),
        60, procs.logs, every_s=0.05)
    procs.stop_server(server)
    states = [job_of(engine, c) for c in clip_ids]
    assert all(j is not None and j.status in ("queued", "succeeded") for j in states), \
        [(j.status, j.progress) for j in states if j]
    assert any(j is not None and j.status == "queued" for j in states)

    server, base = procs.serve()
    for clip_id in clip_ids:
        wait_until(f"clip {clip_id} to be analysed", lambda c=clip_id: _succeeded(engine, c),
                   120, procs.logs)
        assert len(_reports(engine, clip_id)) == 1
    listed = httpx.get(f"{base}/api/v1/clips", headers=headers).json()
    assert [c["status"] for c in listed["items"]] == ["succeeded"] * 3
    procs.stop_server(server)
