"""An upload in progress holds no database connection: phones send their bytes for minutes,
and a few slow uploads must not exhaust the pool for everyone else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.db import make_engine
from tests.clips.test_tus import _create
from tests.conftest import Accounts

POOL_SIZE = 2
POOL_TIMEOUT_S = 1.0
CHUNKS = 12
CHUNK_PAUSE_S = 0.25  # each upload takes 3 s: longer than a request may wait for the pool
BOUNDARY = "stridelab-slow-boundary"


@pytest.fixture
def small_pool(engine: Engine) -> Iterator[Engine]:
    small = make_engine(engine.url.render_as_string(hide_password=False),
                        pool_size=POOL_SIZE, max_overflow=0, pool_timeout=POOL_TIMEOUT_S)
    try:
        yield small
    finally:
        small.dispose()


@pytest.fixture
def app(settings: Settings, small_pool: Engine) -> FastAPI:
    return create_app(settings, small_pool)


def _pieces(data: bytes) -> list[bytes]:
    size = -(-len(data) // CHUNKS)
    return [data[i:i + size] for i in range(0, len(data), size)]


async def _slowly(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
        await anyio.sleep(CHUNK_PAUSE_S)


def _multipart(data: bytes) -> list[bytes]:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"view\"\r\n\r\nrear\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"run.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    pieces = _pieces(data)
    return [head + pieces[0], *pieces[1:-1], pieces[-1] + tail]


async def test_slow_uploads_leave_the_pool_to_others(client: httpx.AsyncClient,
                                                     accounts: Accounts,
                                                     run_clip: Path) -> None:
    data = run_clip.read_bytes()
    uploaders = [await accounts.register("athlete") for _ in range(4)]
    reader = await accounts.register("athlete")
    tus_urls = []
    for who in uploaders[2:]:
        tus_urls.append(await _create(client, {**who["headers"], "Tus-Resumable": "1.0.0"},
                                      len(data)))
    results: dict[str, httpx.Response] = {}
    reads: list[int] = []

    async def multipart(n: int) -> None:
        results[f"multipart-{n}"] = await client.post(
            "/api/v1/clips", content=_slowly(_multipart(data)), headers={
                **uploaders[n]["headers"],
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})

    async def tus_patch(n: int) -> None:
        results[f"tus-{n}"] = await client.patch(
            tus_urls[n], content=_slowly(_pieces(data)), headers={
                **uploaders[2 + n]["headers"], "Tus-Resumable": "1.0.0",
                "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(data))})

    async def read_meanwhile() -> None:
        await anyio.sleep(0.5)  # every upload is under way
        for _ in range(5):
            resp = await client.get("/api/v1/clips", headers=reader["headers"])
            reads.append(resp.status_code)
            missing = await client.get(f"/api/v1/clips/{2**31 - 1}?x={uuid.uuid4().hex}",
                                      headers=reader["headers"])
            reads.append(missing.status_code)
            await anyio.sleep(0.3)

    async with anyio.create_task_group() as group:
        for n in range(2):
            group.start_soon(multipart, n)
            group.start_soon(tus_patch, n)
        group.start_soon(read_meanwhile)

    assert reads == [200, 404] * 5, reads
    for name, resp in results.items():
        expected = 202 if name.startswith("multipart") else 204
        assert resp.status_code == expected, (name, resp.status_code, resp.text)
