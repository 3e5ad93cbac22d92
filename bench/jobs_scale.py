"""Analysis throughput with one and then two 'stridelab worker' processes on a real Redis
server: a batch of clips through each, clips per minute side by side, in one run.

    eval "$(scripts/services.sh env)"
    .venv/bin/python bench/jobs_scale.py [--clips 6] [--seconds 6] [--workers 1,2]

Each round starts its worker processes (as an operator would, on one machine here), waits
until they are ready, then uploads the batch through the API (a fresh athlete per round, so
every round analyses every clip afresh) and times until the last job row says succeeded.
Worker start-up is outside the timing; loading the pose model on the first job is inside it.
The database is a fresh PostgreSQL database on STRIDELAB_TEST_POSTGRES_URL's server (SQLite in
a temporary folder without one), the queue is Redis (--redis-url, default
STRIDELAB_TEST_REDIS_URL). Clips are real footage re-timed to --seconds (tests/clips/media.py).

Scaling is bounded by the CPU cores: each worker runs one job at a time and the pose engine
uses two threads, so on a 2-core machine two workers compete for the same cores and the ratio
shows how much the cores were idle with one (decoding, analysis, writing) rather than a
doubling. On N machines sharing the database, Redis and storage it grows with N.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from backend.api.app import create_app  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.db import make_engine  # noqa: E402
from backend.core.migrate import upgrade_database  # noqa: E402
from backend.jobs.models import AnalysisJob  # noqa: E402
from bench._common import fresh_postgres, postgres_admin_url  # noqa: E402
from tests.clips.media import make_clip  # noqa: E402

STRIDELAB = [sys.executable, "-m", "backend.cli.main"]


@dataclass
class Round:
    workers: int
    clips: int
    seconds: float
    mean_job_s: float

    @property
    def per_minute(self) -> float:
        return self.clips / self.seconds * 60


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env.update({"STRIDELAB_DATA_DIR": str(settings.resolved_data_dir),
                "STRIDELAB_DATABASE_URL": settings.sqlalchemy_url,
                "STRIDELAB_REDIS_URL": settings.redis_url or "",
                "STRIDELAB_QUEUE_NAME": settings.queue_name,
                "STRIDELAB_SECRET_KEY": settings.secret_key or ""})
    return env


def _start_workers(settings: Settings, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    procs, paths = [], []
    for i in range(count):
        path = logs / f"{settings.queue_name}-worker-{i}.log"
        with path.open("wb") as handle:
            procs.append(subprocess.Popen([*STRIDELAB, "worker"], env=_worker_env(settings),
                                          stdout=handle, stderr=subprocess.STDOUT))
        paths.append(path)
    deadline = time.monotonic() + 120
    while not all("Worker ready" in p.read_text(errors="replace") for p in paths):
        for proc, path in zip(procs, paths, strict=True):
            if proc.poll() is not None:
                raise SystemExit(f"a worker exited:\n{path.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start within 120 s")
        time.sleep(0.2)
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


def run_round(engine: Engine, base: Settings, clips: list[Path], workers: int,
              logs: Path) -> Round:
    settings = base.model_copy(update={"queue_name": f"bench-{uuid.uuid4().hex[:8]}"})
    procs = _start_workers(settings, workers, logs)
    try:
        client = TestClient(create_app(settings, engine))  # queues only: no lifespan, no jobs
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        client.post("/api/v1/auth/register", json={
            "email": email, "password": "a-long-enough-passphrase", "role": "athlete",
            "display_name": "Bench"}).raise_for_status()
        token = client.post("/api/v1/auth/token", data={
            "username": email, "password": "a-long-enough-passphrase"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        ids = []
        for path in clips:
            resp = client.post("/api/v1/clips", headers=headers, data={"view": "rear"},
                               files={"file": (path.name, path.read_bytes(), "video/mp4")})
            resp.raise_for_status()
            ids.append(int(resp.json()["id"]))
        while True:
            with Session(engine) as session:
                jobs = session.exec(select(AnalysisJob)
                                    .where(col(AnalysisJob.clip_id).in_(ids))).all()
            if all(j.status in ("succeeded", "failed") for j in jobs) and len(jobs) == len(ids):
                break
            if time.perf_counter() - started > 1800:
                raise SystemExit("the batch did not finish within 30 minutes")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        _stop(procs)
    failed = [j for j in jobs if j.status != "succeeded"]
    if failed:
        raise SystemExit(f"{len(failed)} job(s) failed: {failed[0].error_message}")
    durations = [(j.finished_at - j.started_at).total_seconds() for j in jobs
                 if j.finished_at and j.started_at]
    return Round(workers=workers, clips=len(ids), seconds=elapsed,
                 mean_job_s=sum(durations) / len(durations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=6, help="clips per batch")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each clip")
    parser.add_argument("--size", default="360x640", help="frame size WxH of the clips")
    parser.add_argument("--workers", default="1,2", help="worker processes per round")
    parser.add_argument("--redis-url", default=os.environ.get("STRIDELAB_TEST_REDIS_URL"))
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print("$", shlex.join([Path(sys.executable).name, *sys.argv]), flush=True)
    if not args.redis_url:
        raise SystemExit("No Redis: pass --redis-url or run 'eval \"$(scripts/services.sh env)\"' "
                         "(scripts/services.sh start starts one).")
    width, height = (int(v) for v in args.size.lower().split("x"))
    counts = [int(v) for v in args.workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="stridelab-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with ExitStack() as cleanup:
            # The given database, else a fresh PostgreSQL one when the test server runs, else
            # SQLite in the temporary folder.
            if args.database_url:
                url = args.database_url
            elif postgres_admin_url():
                url = cleanup.enter_context(fresh_postgres("stridelab_bench"))
            else:
                url = f"sqlite:///{tmp / 'bench.db'}"
            upgrade_database(url)
            engine = make_engine(url)
            settings = Settings(environment="development", data_dir=tmp / "data",
                                database_url=url, redis_url=args.redis_url,
                                secret_key=secrets.token_urlsafe(48))
            print(f"making {args.clips} clips of {args.seconds:g} s ({width}x{height}, 30 fps)"
                  "...", flush=True)
            clips = [make_clip(tmp / f"clip-{i}.mp4", seconds=args.seconds + i / 30, fps=30,
                               size=(width, height)) for i in range(args.clips)]
            rounds = []
            for count in counts:
                print(f"round: {count} worker(s)...", flush=True)
                rounds.append(run_round(engine, settings, clips, count, tmp))
            engine.dispose()

    print(f"\nbatch: {args.clips} clips of {args.seconds:g} s at {width}x{height}, 30 fps; "
          f"{os.cpu_count()} CPU cores; database {url.split('://')[0]}; Redis queue")
    print(f"{'workers':>7}  {'batch s':>8}  {'clips/min':>9}  {'mean job s':>10}  {'vs 1':>5}")
    first = rounds[0].per_minute
    for r in rounds:
        print(f"{r.workers:>7}  {r.seconds:>8.1f}  {r.per_minute:>9.1f}  {r.mean_job_s:>10.2f}  "
              f"{r.per_minute / first:>5.2f}")


if __name__ == "__main__":
    main()
