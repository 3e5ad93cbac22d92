"""Fixtures of the clips tests: test media, a job consumer running in the test process (the
embedded default: SqliteHuey in the data dir), and helpers to upload and wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from backend.jobs.runtime import JobRuntime
from tests.clips.media import bad_corpus, make_clip

TERMINAL = ("succeeded", "failed")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def run_clip(media_dir: Path) -> Path:
    """3.2 s of real footage (re-timed from the 1.67 s source), small frames: analysed in
    about two seconds."""
    return make_clip(media_dir / "run.mp4", seconds=3.2, fps=30, size=(360, 640))


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus of bad files (tests/clips/media.py), made once for the session."""
    return bad_corpus(tmp_path_factory.mktemp("bad"))


@pytest.fixture
def jobs(app: FastAPI) -> Iterator[JobRuntime]:
    """The app's job consumer, running in this process as 'stridelab serve' runs it."""
    runtime: JobRuntime = app.state.jobs
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.close()


async def upload(client: httpx.AsyncClient, headers: dict[str, str], path: Path,
                 **fields: str) -> httpx.Response:
    return await client.post("/api/v1/clips", headers=headers,
                             files={"file": (path.name, path.read_bytes(), "video/mp4")},
                             data={"view": "rear", **fields})


async def wait_for_clip(client: httpx.AsyncClient, headers: dict[str, str], clip_id: int,
                        timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll the clip until its analysis ends; the last state seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        resp = await client.get(f"/api/v1/clips/{clip_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"clip {clip_id} still {body['status']}: {body}"
        await _sleep(0.2)


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)
