"""Load on a real server: concurrent athletes uploading real clips (multipart and resumable
tus) and reading their plans, coaches reading their dashboards and athletes' trends, bounded
in count and time. Per endpoint p50 / p95 / p99 and errors, queue depth over time, the time
from upload to report, and what saturates first.

    eval "$(scripts/services.sh env)"
    .venv/bin/python bench/load.py --backend sqlite   [--athletes 12 --coaches 2 --duration 120]
    .venv/bin/python bench/load.py --backend postgres [--workers 2]

``sqlite``: the embedded default, one ``stridelab serve`` (SQLite, local files, the job
consumer in the same process). ``postgres``: a fresh database on STRIDELAB_TEST_POSTGRES_URL's
server, Redis (STRIDELAB_TEST_REDIS_URL), one ``serve`` and ``--workers`` ``stridelab worker``
processes. Clips are real footage (tests/clips/media.py) at phone-like sizes.

Every request's status is counted; any 5xx or transport error is an error. A 503 with
Retry-After (the queue is full) is counted apart: that is the designed degradation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402

from backend.clips.tus import CLIP_ID_HEADER  # noqa: E402
from backend.core.db import make_engine  # noqa: E402
from backend.core.migrate import upgrade_database  # noqa: E402
from bench._common import fresh_postgres, postgres_admin_url  # noqa: E402
from tests.clips.media import make_clip  # noqa: E402

STRIDELAB = [sys.executable, "-m", "backend.cli.main"]
PASSWORD = "a-long-enough-passphrase"


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: list[str] = field(default_factory=list)
    queue_full: int = 0
    rate_limited: int = 0
    time_to_report: list[float] = field(default_factory=list)
    queue_depth: list[tuple[float, int]] = field(default_factory=list)

    async def call(self, client: httpx.AsyncClient, name: str, method: str, url: str,
                   **kwargs: Any) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            resp = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.errors.append(f"{name}: {type(exc).__name__} {exc}")
            return None
        self.latencies[name].append(time.perf_counter() - start)
        self.statuses[name][resp.status_code] += 1
        if resp.status_code == 503 and _code(resp) == "queue_full":
            self.queue_full += 1  # the designed refusal, with Retry-After: not an error
        elif resp.status_code == 429:
            self.rate_limited += 1
        elif resp.status_code >= 500:
            self.errors.append(f"{name}: {resp.status_code} {resp.text[:200]}")
        return resp


def _code(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _retry_after(resp: httpx.Response | None) -> float | None:
    """The wait a 503 (queue full) or 429 asks for, None for any other answer."""
    if resp is None or resp.status_code not in (429, 503):
        return None
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _account(client: httpx.AsyncClient, stats: Stats, role: str) -> dict[str, str]:
    email = f"load-{role}-{uuid.uuid4().hex[:8]}@example.com"
    await stats.call(client, "POST /auth/register", "POST", "/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "role": role, "display_name": f"Load {role}"})
    resp = await stats.call(client, "POST /auth/token", "POST", "/api/v1/auth/token",
                            data={"username": email, "password": PASSWORD})
    assert resp is not None and resp.status_code == 200, resp.text if resp else "no answer"
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def _tus_upload(client: httpx.AsyncClient, stats: Stats, headers: dict[str, str],
                      data: bytes) -> tuple[int | None, float | None]:
    import base64

    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}.items())
    tus = {"Tus-Resumable": "1.0.0"}
    resp = await stats.call(client, "POST /uploads (tus)", "POST", "/api/v1/uploads",
                            headers={**headers, **tus, "Upload-Length": str(len(data)),
                                     "Upload-Metadata": meta})
    if resp is None or resp.status_code != 201:
        return None, _retry_after(resp)
    url = resp.headers["Location"]
    chunk = 256 * 1024
    clip_id = None
    for offset in range(0, len(data), chunk):
        part = await stats.call(client, "PATCH /uploads/{id} (tus)", "PATCH", url,
                                headers={**headers, **tus, "Upload-Offset": str(offset),
                                         "Content-Type": "application/offset+octet-stream"},
                                content=data[offset:offset + chunk])
        if part is None or part.status_code != 204:
            return None, _retry_after(part)
        clip_id = part.headers.get(CLIP_ID_HEADER) or clip_id
    return (int(clip_id) if clip_id else None), None


async def athlete(client: httpx.AsyncClient, stats: Stats, clip: bytes, deadline: float,
                  use_tus: bool, coach_invite: str | None) -> None:
    headers = await _account(client, stats, "athlete")
    await stats.call(client, "PUT /users/me/profile", "PUT", "/api/v1/users/me/profile",
                     headers=headers, json={"running_background": "intermediate",
                                            "weekly_volume_km": 30, "equipment": ["none"],
                                            "strength_days": [0, 2, 4]})
    if coach_invite:
        await stats.call(client, "POST /invites/{code}/accept", "POST",
                         f"/api/v1/invites/{coach_invite}/accept", headers=headers)
    # As the app does: an upload refused for a full queue (503) or too many uploads (429)
    # is sent again after its Retry-After, until the run ends.
    clip_id: int | None = None
    while clip_id is None and time.monotonic() < deadline:
        started = time.monotonic()
        if use_tus:
            clip_id, wait = await _tus_upload(client, stats, headers, clip)
        else:
            resp = await stats.call(client, "POST /clips (multipart)", "POST", "/api/v1/clips",
                                    headers=headers, data={"view": "rear"},
                                    files={"file": ("run.mp4", clip, "video/mp4")})
            clip_id = resp.json()["id"] if resp is not None and resp.status_code == 202 \
                else None
            wait = _retry_after(resp)
        if clip_id is None:
            if wait is None:
                break  # refused for good (counted as an error if it was one)
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
    done = False
    while time.monotonic() < deadline:
        if clip_id is not None and not done:
            resp = await stats.call(client, "GET /clips/{id}", "GET", f"/api/v1/clips/{clip_id}",
                                    headers=headers)
            if resp is not None and resp.status_code == 200 and resp.json()["status"] in (
                    "succeeded", "failed"):
                done = True
                stats.time_to_report.append(time.monotonic() - started)
                await stats.call(client, "GET /clips/{id}/report", "GET",
                                 f"/api/v1/clips/{clip_id}/report", headers=headers)
        await stats.call(client, "GET /plans/current", "GET", "/api/v1/plans/current",
                         headers=headers)
        await asyncio.sleep(random.uniform(0.5, 1.5))


async def coach(client: httpx.AsyncClient, stats: Stats, headers: dict[str, str],
                deadline: float) -> None:
    while time.monotonic() < deadline:
        resp = await stats.call(client, "GET /coach/dashboard", "GET", "/api/v1/coach/dashboard",
                                headers=headers)
        rows = resp.json().get("items", []) if resp is not None and resp.status_code == 200 \
            else []
        for row in rows[:3]:
            athlete_id = row.get("athlete_id") or row.get("id")
            await stats.call(client, "GET /athletes/{id}/trends", "GET",
                             f"/api/v1/athletes/{athlete_id}/trends", headers=headers)
        await asyncio.sleep(random.uniform(1.0, 2.0))


async def queue_watch(client: httpx.AsyncClient, stats: Stats, engine_url: str,
                      deadline: float) -> None:
    engine = make_engine(engine_url)
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            depth = conn.execute(text(
                "SELECT COUNT(*) FROM analysis_job WHERE status IN ('queued', 'running')"
            )).scalar_one()
        stats.queue_depth.append((time.monotonic() - t0, int(depth)))
        await asyncio.sleep(2.0)
    engine.dispose()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([*STRIDELAB, *args], env=env, stdout=handle,
                            stderr=subprocess.STDOUT)


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start")


async def drive(base: str, engine_url: str, args: argparse.Namespace, clip: bytes) -> Stats:
    stats = Stats()
    # Idle connections are dropped before uvicorn's keep-alive (5 s) closes them: a request
    # sent on a connection the server is closing at that moment fails with a ReadError,
    # the client's race, not the server's error.
    limits = httpx.Limits(max_connections=args.athletes + args.coaches + 4,
                          keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as client:
        deadline = time.monotonic() + args.duration
        coach_headers = [await _account(client, stats, "coach") for _ in range(args.coaches)]
        invites = []
        for i in range(args.athletes):
            headers = coach_headers[i % args.coaches] if args.coaches else None
            code = None
            if headers is not None:
                resp = await stats.call(client, "POST /coach/invites", "POST",
                                        "/api/v1/coach/invites", headers=headers)
                code = resp.json()["code"] if resp is not None and resp.status_code == 201 \
                    else None
            invites.append(code)
        tasks = [athlete(client, stats, clip, deadline, i % 2 == 1, invites[i])
                 for i in range(args.athletes)]
        tasks += [coach(client, stats, h, deadline) for h in coach_headers]
        tasks.append(queue_watch(client, stats, engine_url, deadline))
        await asyncio.gather(*tasks)
    return stats


def report(stats: Stats, args: argparse.Namespace) -> None:
    workers = args.workers if args.backend == "postgres" else "in serve"
    print(f"\nbackend {args.backend}, {args.athletes} athletes, {args.coaches} coaches, "
          f"{args.duration:.0f} s, workers {workers}")
    print(f"{'endpoint':34} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for name in sorted(stats.latencies):
        lat = stats.latencies[name]
        codes = ", ".join(f"{c}x{n}" for c, n in sorted(stats.statuses[name].items()))
        print(f"{name:34} {len(lat):6d} {_pct(lat, .5):8.1f} {_pct(lat, .95):8.1f} "
              f"{_pct(lat, .99):8.1f}  {codes}")
    print(f"errors: {len(stats.errors)}; queue full (503 + Retry-After): {stats.queue_full}; "
          f"rate limited (429): {stats.rate_limited}")
    for err in stats.errors[:10]:
        print("  ", err)
    if stats.time_to_report:
        print(f"upload to report: n={len(stats.time_to_report)}, median "
              f"{statistics.median(stats.time_to_report):.1f} s, max "
              f"{max(stats.time_to_report):.1f} s")
    if stats.queue_depth:
        peak = max(d for _, d in stats.queue_depth)
        print(f"queue depth (queued + running; the bound counts queued only): peak {peak}; "
              + " ".join(f"{t:.0f}s:{d}" for t, d in stats.queue_depth[::5]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--athletes", type=int, default=12)
    parser.add_argument("--coaches", type=int, default=2)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clip-seconds", type=float, default=6.0)
    parser.add_argument("--queue-max-depth", type=int, default=None,
                        help="STRIDELAB_QUEUE_MAX_DEPTH of the server (default: its own)")
    parser.add_argument("--queue-retry-after", type=int, default=None,
                        help="STRIDELAB_QUEUE_FULL_RETRY_AFTER_S of the server")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stridelab-load-"))
    clip = make_clip(tmp / "run.mp4", seconds=args.clip_seconds, fps=30,
                     size=(360, 640)).read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env.update({"STRIDELAB_DATA_DIR": str(tmp / "data"), "STRIDELAB_ENVIRONMENT": "test",
                "STRIDELAB_SECRET_KEY": secrets.token_urlsafe(48),
                "STRIDELAB_REGISTER_MAX_PER_HOUR": "100000"})
    if args.queue_max_depth is not None:
        env["STRIDELAB_QUEUE_MAX_DEPTH"] = str(args.queue_max_depth)
    if args.queue_retry_after is not None:
        env["STRIDELAB_QUEUE_FULL_RETRY_AFTER_S"] = str(args.queue_retry_after)
    cleanup = ExitStack()
    if args.backend == "postgres":
        redis_url = os.environ.get("STRIDELAB_TEST_REDIS_URL")
        if not postgres_admin_url() or not redis_url:
            raise SystemExit("postgres needs STRIDELAB_TEST_POSTGRES_URL and "
                             "STRIDELAB_TEST_REDIS_URL: eval \"$(scripts/services.sh env)\"")
        url = cleanup.enter_context(fresh_postgres("stridelab_load"))
        env.update({"STRIDELAB_DATABASE_URL": url, "STRIDELAB_REDIS_URL": redis_url,
                    "STRIDELAB_QUEUE_NAME": f"load-{uuid.uuid4().hex[:6]}"})
        upgrade_database(url)
    else:
        url = f"sqlite:///{tmp / 'data' / 'stridelab.db'}"
    port = 18000 + random.randint(0, 999)
    procs = [_start(["serve", "--port", str(port)], env, tmp / "serve.log")]
    base = f"http://127.0.0.1:{port}"
    stats: Stats | None = None
    try:
        _wait_healthy(base, procs[0])
        if args.backend == "postgres":
            procs += [_start(["worker"], env, tmp / f"worker-{i}.log")
                      for i in range(args.workers)]
        stats = asyncio.run(drive(base, url, args, clip))
        report(stats, args)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        cleanup.close()
    return 1 if stats is None or stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
