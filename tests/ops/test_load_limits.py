"""Overload is refused early and cleanly (issue 16): a full analysis queue answers 503 with
Retry-After, and an athlete sending clips too fast 429 with Retry-After; neither keeps anything
of the refused upload (no clip row, no job, no file, nothing sent to the queue), and uploads
are accepted again once there is room. The real app and its real queue: SqliteHuey on SQLite
(the embedded default) and Redis on PostgreSQL, with the real job consumer draining it."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from backend.api.app import create_app
from backend.clips.models import Clip, ClipUpload
from backend.core.config import Settings
from backend.jobs.models import TERMINAL, AnalysisJob
from backend.jobs.runtime import JobRuntime
from tests.clips.conftest import bad_files, media_dir, run_clip  # noqa: F401 (shared fixtures)
from tests.clips.media import make_clip
from tests.conftest import Accounts

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}
DEPTH = 2
# The embedded default (SQLite, its queue in the data dir) and the grown shape (PostgreSQL,
# Redis): the queue bound reads the job rows, whichever queue carries the messages.
SHAPES = pytest.mark.parametrize(("engine", "queue"), [("sqlite", "embedded"),
                                                      ("postgresql", "redis")],
                                 indirect=["engine"])


@pytest.fixture
def queue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def limited(settings: Settings, queue: str) -> Settings:
    update: dict[str, object] = {"queue_max_depth": DEPTH, "queue_full_retry_after_s": 42,
                                 "queue_name": f"limits-{uuid.uuid4().hex[:8]}"}
    if queue == "redis":
        url = os.environ.get("STRIDELAB_TEST_REDIS_URL")
        if not url:
            pytest.fail("STRIDELAB_TEST_REDIS_URL is not set: run scripts/services.sh start")
        update["redis_url"] = url
    return settings.model_copy(update=update)


@pytest.fixture
def app(limited: Settings, engine: Engine) -> Iterator[FastAPI]:
    app = create_app(limited, engine)
    yield app
    runtime: JobRuntime = app.state.jobs
    if limited.redis_url:  # this test's queue only
        conn = redis.Redis.from_url(limited.redis_url)
        for key in conn.scan_iter(f"huey*{limited.queue_name}*"):
            conn.delete(key)
        conn.close()
    runtime.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def other_clips(media_dir: Path) -> list[Path]:  # noqa: F811
    """Three more real clips with bytes of their own (one athlete, three new clips)."""
    return [make_clip(media_dir / f"limits-{i}.mp4", seconds=3.2 + 0.1 * i, fps=30,
                      size=(240, 426)) for i in range(3)]


async def _upload(client: httpx.AsyncClient, headers: dict[str, str],
                  path: Path) -> httpx.Response:
    return await client.post("/api/v1/clips", headers=headers,
                             files={"file": (path.name, path.read_bytes(), "video/mp4")},
                             data={"view": "rear"})


def _metadata() -> str:
    values = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (session.exec(select(func.count()).select_from(Clip)).one(),
                session.exec(select(func.count()).select_from(AnalysisJob)).one(),
                session.exec(select(func.count()).select_from(ClipUpload)).one())


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.resolved_storage_dir
    return sorted(p for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts)


def _assert_busy(resp: httpx.Response, refused: str = "nothing of it was kept") -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["Retry-After"] == "42"
    body = resp.json()
    assert body["code"] == "queue_full"
    assert "busy" in body["detail"] and "in 42 s" in body["detail"]
    assert refused in body["detail"]


async def _fill_queue(client: httpx.AsyncClient, accounts: Accounts,
                      clip: Path) -> list[dict[str, object]]:
    """DEPTH athletes with one clip each, waiting: the consumer is not running yet."""
    athletes = [await accounts.register("athlete") for _ in range(DEPTH)]
    for athlete in athletes:
        resp = await _upload(client, athlete["headers"], clip)  # type: ignore[arg-type]
        assert resp.status_code == 202, resp.text
    return athletes


async def _drain(runtime: JobRuntime, engine: Engine, timeout_s: float = 180) -> None:
    runtime.start()
    deadline = time.monotonic() + timeout_s
    while True:
        with Session(engine) as session:
            waiting = session.exec(select(func.count()).select_from(AnalysisJob).where(
                AnalysisJob.status == "queued")).one()
        if waiting == 0:
            return
        assert time.monotonic() < deadline, f"{waiting} jobs still queued"
        time.sleep(0.2)


@SHAPES
async def test_full_queue_refuses_uploads_before_storing_anything(
        client: httpx.AsyncClient, app: FastAPI, accounts: Accounts, engine: Engine,
        limited: Settings, run_clip: Path) -> None:  # noqa: F811
    runtime: JobRuntime = app.state.jobs
    await _fill_queue(client, accounts, run_clip)
    assert runtime.pending() == DEPTH  # the real queue holds their messages
    before, files = _counts(engine), _stored_files(limited)

    late = await accounts.register("athlete")
    headers: dict[str, str] = late["headers"]  # type: ignore[assignment]
    _assert_busy(await _upload(client, headers, run_clip))
    # tus: refused at creation, before the upload exists.
    _assert_busy(await client.post("/api/v1/uploads", headers={
        **headers, **TUS, "Upload-Length": str(run_clip.stat().st_size),
        "Upload-Metadata": _metadata()}))

    assert _counts(engine) == before, "a refused upload left a row"
    assert _stored_files(limited) == files, "a refused upload left a file"
    assert runtime.pending() == DEPTH, "a refused upload was queued"

    # Room again once the worker has taken the queue down: the same upload is accepted.
    await _drain(runtime, engine)
    again = await _upload(client, headers, run_clip)
    assert again.status_code == 202, again.text


@SHAPES
async def test_queue_filled_during_a_resumable_upload(
        client: httpx.AsyncClient, app: FastAPI, accounts: Accounts, engine: Engine,
        limited: Settings, run_clip: Path) -> None:  # noqa: F811
    """Room at creation, none at the last PATCH: 503, the upload is over (HEAD 404, nothing of
    it left in storage) and no clip; the athlete sends it again later and it is accepted."""
    athlete = await accounts.register("athlete")
    headers: dict[str, str] = {**athlete["headers"], **TUS}  # type: ignore[dict-item]
    data = run_clip.read_bytes()
    created = await client.post("/api/v1/uploads", headers={
        **headers, "Upload-Length": str(len(data)), "Upload-Metadata": _metadata()})
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    half = len(data) // 2
    first = await client.patch(url, headers={**PATCH, **headers, "Upload-Offset": "0"},
                               content=data[:half])
    assert first.status_code == 204, first.text

    await _fill_queue(client, accounts, run_clip)
    clips_before = _counts(engine)[0]
    last = await client.patch(url, headers={**PATCH, **headers, "Upload-Offset": str(half)},
                              content=data[half:])
    _assert_busy(last)
    assert (await client.head(url, headers=headers)).status_code == 404
    assert _counts(engine)[0] == clips_before
    tus_dir = limited.resolved_storage_dir / "_tus"
    assert not [p for p in tus_dir.iterdir() if p.is_file()], "the refused upload was kept"

    await _drain(app.state.jobs, engine)
    again = await client.post("/api/v1/uploads", headers={
        **headers, "Upload-Length": str(len(data)), "Upload-Metadata": _metadata()})
    assert again.status_code == 201, again.text
    done = await client.patch(again.headers["Location"], content=data,
                              headers={**PATCH, **headers, "Upload-Offset": "0"})
    assert done.status_code == 204 and done.headers["Stridelab-Clip-Id"], done.text


@SHAPES
async def test_new_capture_rate_waits_for_room_like_an_upload(
        client: httpx.AsyncClient, app: FastAPI, accounts: Accounts, engine: Engine,
        other_clips: list[Path], run_clip: Path) -> None:  # noqa: F811
    """A new capture_fps queues the clip's analysis again: with the queue full it is refused
    (503, the clip and its result unchanged; a rate below the clip's own is still a 422)
    unless the analysis is already waiting, which adds nothing to the queue's depth; with
    room again it is accepted."""
    runtime: JobRuntime = app.state.jobs
    athlete = await accounts.register("athlete")
    headers: dict[str, str] = athlete["headers"]  # type: ignore[assignment]
    done = await _upload(client, headers, other_clips[0])
    assert done.status_code == 202, done.text
    clip_id = done.json()["id"]
    await _drain(runtime, engine)
    deadline = time.monotonic() + 180
    while (await client.get(f"/api/v1/clips/{clip_id}", headers=headers)
           ).json()["status"] not in TERMINAL:
        assert time.monotonic() < deadline, "the first analysis did not finish"
        await asyncio.sleep(0.2)
    runtime.stop()
    analysed = (await client.get(f"/api/v1/clips/{clip_id}", headers=headers)).json()

    waiting = await _fill_queue(client, accounts, run_clip)
    _assert_busy(await client.patch(f"/api/v1/clips/{clip_id}", headers=headers,
                                    json={"capture_fps": 240}),
                 refused="the new capture rate was not applied")
    after = (await client.get(f"/api/v1/clips/{clip_id}", headers=headers)).json()
    assert after["capture_fps"] is None and after["status"] == analysed["status"]
    wrong = await client.patch(f"/api/v1/clips/{clip_id}", headers=headers,
                               json={"capture_fps": 25})
    assert wrong.status_code == 422 and wrong.json()["code"] == "capture_fps_below_fps"

    # A clip still waiting: its new rate is taken and the queue's depth is unchanged.
    queued_headers: dict[str, str] = waiting[0]["headers"]  # type: ignore[assignment]
    mine = (await client.get("/api/v1/clips", headers=queued_headers)).json()["items"][0]
    resp = await client.patch(f"/api/v1/clips/{mine['id']}", headers=queued_headers,
                              json={"capture_fps": 240})
    assert resp.status_code == 202, resp.text
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AnalysisJob).where(
            AnalysisJob.status == "queued")).one() == DEPTH

    await _drain(runtime, engine)
    resp = await client.patch(f"/api/v1/clips/{clip_id}", headers=headers,
                              json={"capture_fps": 240})
    assert resp.status_code == 202, resp.text
    assert resp.json()["capture_fps"] == 240


@pytest.mark.parametrize(("engine", "queue"), [("sqlite", "embedded")], indirect=["engine"])
async def test_upload_rate_per_athlete(client: httpx.AsyncClient, app: FastAPI,
                                       accounts: Accounts, engine: Engine, limited: Settings,
                                       other_clips: list[Path],
                                       bad_files: dict[str, Path],  # noqa: F811
                                       run_clip: Path) -> None:  # noqa: F811
    """At most upload_max_per_window new clips per athlete (here 2, with room in the queue);
    refused files and the same clip sent again (a phone retrying) use up nothing."""
    app.state.settings = limited.model_copy(update={
        "upload_max_per_window": 2, "upload_window_s": 600, "queue_max_depth": 100})
    athlete = await accounts.register("athlete")
    headers: dict[str, str] = athlete["headers"]  # type: ignore[assignment]
    for name in ("too_short", "random_bytes", "low_fps"):
        refused = await _upload(client, headers, bad_files[name])
        assert 400 <= refused.status_code < 500 and refused.status_code != 429, refused.text
    first = await _upload(client, headers, other_clips[0])
    assert first.status_code == 202, first.text
    retry = await _upload(client, headers, other_clips[0])  # the same bytes: the same clip
    assert retry.status_code == 202 and retry.json()["id"] == first.json()["id"]
    assert (await _upload(client, headers, other_clips[1])).status_code == 202

    before, files = _counts(engine), _stored_files(limited)
    third = await _upload(client, headers, other_clips[2])
    assert third.status_code == 429, third.text
    wait = int(third.headers["Retry-After"])
    assert 0 < wait <= 600
    body = third.json()
    assert body["code"] == "uploads_rate_limited"
    assert "Too many uploads" in body["detail"] and f"in {wait} s" in body["detail"]
    tus = await client.post("/api/v1/uploads", headers={
        **headers, **TUS, "Upload-Length": "1000", "Upload-Metadata": _metadata()})
    assert tus.status_code == 429 and tus.headers["Retry-After"], tus.text
    assert _counts(engine) == before and _stored_files(limited) == files

    # Another athlete is not held back by this one.
    other = await accounts.register("athlete")
    ok = await _upload(client, other["headers"], run_clip)  # type: ignore[arg-type]
    assert ok.status_code == 202, ok.text



@pytest.mark.parametrize(("engine", "queue"), [("sqlite", "embedded")], indirect=["engine"])
async def test_uploads_run_no_database_statement_on_the_event_loop(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        run_clip: Path) -> None:  # noqa: F811
    """Found under load (bench/load.py on SQLite): tuspyserver calls the creation hook on the
    event loop, and its INSERT waited there for SQLite's write lock, so every request stalled
    (the lock's holder too, whose commit needs the loop) until busy_timeout, and then they all
    failed with 503. A statement on the loop thread is that hazard: none may run there, from
    a tus upload (creation, PATCH, completion) or a multipart one."""
    on_loop: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: the loop goes on meanwhile
        on_loop.append(statement.split("\n")[0][:80])

    athlete = await accounts.register("athlete")
    headers: dict[str, str] = {**athlete["headers"], **TUS}  # type: ignore[dict-item]
    data = run_clip.read_bytes()
    event.listen(engine, "before_cursor_execute", watch)
    try:
        created = await client.post("/api/v1/uploads", headers={
            **headers, "Upload-Length": str(len(data)), "Upload-Metadata": _metadata()})
        assert created.status_code == 201, created.text
        done = await client.patch(created.headers["Location"], content=data,
                                  headers={**PATCH, **headers, "Upload-Offset": "0"})
        assert done.status_code == 204, done.text
        other = await accounts.register("athlete")
        assert (await _upload(client, other["headers"], run_clip)).status_code == 202
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert not on_loop, f"statements run on the event loop: {on_loop}"
