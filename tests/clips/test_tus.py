"""Resumable uploads (tus 1.0) with the tuspy client against a real server on a loopback port:
an upload interrupted half way and resumed by a new client (from the offset HEAD reports)
becomes the same clip as a one-shot multipart upload of the same file; termination works;
uploads need an athlete's token and are invisible to everyone else."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError

from backend.accounts.models import utcnow
from backend.clips.models import ClipUpload
from backend.clips.tus import CLIP_ID_HEADER
from backend.core.config import Settings
from tests.conftest import Accounts

CHUNK = 64 * 1024
METADATA = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The test app served by uvicorn in a thread, on a loopback port."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _athlete(base: str) -> dict[str, str]:
    email = f"tus-{uuid.uuid4().hex[:8]}@example.com"
    password = "a-long-enough-passphrase"
    resp = httpx.post(f"{base}/api/v1/auth/register", json={
        "email": email, "password": password, "role": "athlete", "display_name": "Tus"})
    assert resp.status_code == 201, resp.text
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_interrupted_upload_resumes_into_the_same_clip(live_server: str,
                                                       run_clip: Path) -> None:
    base = live_server
    endpoint = f"{base}/api/v1/uploads/"
    headers = _athlete(base)
    size = run_clip.stat().st_size
    assert size > 3 * CHUNK

    # First session: two chunks, then the app is closed.
    first = tus.TusClient(endpoint, headers=headers).uploader(
        file_path=str(run_clip), chunk_size=CHUNK, metadata=METADATA)
    first.upload_chunk()
    first.upload_chunk()
    url = first.url
    assert url and first.offset == 2 * CHUNK
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    status = httpx.get(f"{base}/api/v1/uploads/{upload_id}", headers=headers).json()
    assert status["complete"] is False and status["clip"] is None

    # Second session, a new client: it asks the server where to go on (HEAD), and finishes.
    second = tus.TusClient(endpoint, headers=headers).uploader(
        file_path=str(run_clip), url=url, chunk_size=CHUNK, metadata=METADATA)
    assert second.offset == 2 * CHUNK
    second.upload()
    assert second.offset == size
    # The last PATCH names the clip (tuspy keeps the headers in lower case).
    clip_id = int(second.request.response_headers[CLIP_ID_HEADER.lower()])

    status = httpx.get(f"{base}/api/v1/uploads/{upload_id}", headers=headers).json()
    assert status["complete"] is True and status["clip"]["id"] == clip_id
    clip = httpx.get(f"{base}/api/v1/clips/{clip_id}", headers=headers).json()
    assert clip["sha256"] == hashlib.sha256(run_clip.read_bytes()).hexdigest()
    assert clip["size_bytes"] == size and clip["view"] == "rear"
    assert clip["status"] in ("queued", "running", "succeeded")
    stored = httpx.get(f"{base}/api/v1/clips/{clip_id}/video", headers=headers)
    assert stored.content == run_clip.read_bytes()

    # The same file sent in one multipart request: the same clip.
    one_shot = httpx.post(f"{base}/api/v1/clips", headers=headers,
                          files={"file": ("run.mp4", run_clip.read_bytes(), "video/mp4")},
                          data={"view": "rear"})
    assert one_shot.status_code == 202, one_shot.text
    assert one_shot.json()["id"] == clip_id
    assert httpx.get(f"{base}/api/v1/clips", headers=headers).json()["total"] == 1


def test_termination_auth_and_ownership(live_server: str, run_clip: Path,
                                        settings: Settings) -> None:
    base = live_server
    endpoint = f"{base}/api/v1/uploads/"
    owner, stranger = _athlete(base), _athlete(base)

    # No token: no upload.
    with pytest.raises(TusCommunicationError) as refused:
        tus.TusClient(endpoint).uploader(file_path=str(run_clip), chunk_size=CHUNK,
                                         metadata=METADATA).upload_chunk()
    assert refused.value.status_code == 401

    uploader = tus.TusClient(endpoint, headers=owner).uploader(
        file_path=str(run_clip), chunk_size=CHUNK, metadata=METADATA)
    uploader.upload_chunk()
    url = uploader.url
    assert url
    tus_headers = {"Tus-Resumable": "1.0.0"}

    # Another athlete can neither see, continue nor end it.
    for method in ("HEAD", "PATCH", "DELETE"):
        resp = httpx.request(method, url, headers={
            **stranger, **tus_headers, "Upload-Offset": str(CHUNK),
            "Content-Type": "application/offset+octet-stream"}, content=b"x" * 10)
        assert resp.status_code == 404, (method, resp.status_code, resp.text)
    assert httpx.head(url, headers={**tus_headers}).status_code == 401
    head = httpx.head(url, headers={**owner, **tus_headers})
    assert head.status_code == 200 and int(head.headers["Upload-Offset"]) == CHUNK

    # Termination: gone for good, its bytes deleted.
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    partial = settings.resolved_storage_dir / "_tus" / upload_id
    assert partial.stat().st_size == CHUNK
    ended = httpx.delete(url, headers={**owner, **tus_headers})
    assert ended.status_code == 204, ended.text
    assert httpx.head(url, headers={**owner, **tus_headers}).status_code in (404, 410)
    resp = httpx.patch(url, headers={**owner, **tus_headers, "Upload-Offset": str(CHUNK),
                                     "Content-Type": "application/offset+octet-stream"},
                       content=b"x" * 10)
    assert resp.status_code in (404, 410)
    assert httpx.get(f"{base}/api/v1/clips", headers=owner).json()["total"] == 0
    assert not partial.exists() and not partial.with_suffix(".info").exists()


def test_refusals_at_creation(live_server: str) -> None:
    """Bad requests are refused before any byte is sent, with a message saying what to do."""
    base = live_server
    headers = {**_athlete(base), "Tus-Resumable": "1.0.0"}
    no_metadata = httpx.post(f"{base}/api/v1/uploads", headers={**headers,
                                                                "Upload-Length": "1000"})
    assert no_metadata.status_code == 422
    assert "filename" in no_metadata.json()["detail"]
    too_big = httpx.post(f"{base}/api/v1/uploads", headers={
        **headers, "Upload-Length": str(10 * 1024**3),
        "Upload-Metadata": "filename cnVuLm1wNA==,filetype dmlkZW8vbXA0"})
    assert too_big.status_code == 413, too_big.text
    assert "larger than" in too_big.json()["detail"]


async def test_unfinished_uploads_expire(client: httpx.AsyncClient, accounts: Accounts,
                                         app: FastAPI, engine: Engine,
                                         settings: Settings) -> None:
    """Housekeeping deletes resumable uploads past their expiry: the row and the bytes."""
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    created = await client.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": "1000",
        "Upload-Metadata": "filename cnVuLm1wNA==,filetype dmlkZW8vbXA0"})
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    patched = await client.patch(url, headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=b"x" * 100)
    assert patched.status_code == 204, patched.text
    partial = settings.resolved_storage_dir / "_tus" / upload_id
    assert partial.stat().st_size == 100

    app.state.jobs.housekeeping()  # not expired yet: kept
    assert partial.exists()
    with Session(engine) as session:
        upload = session.get(ClipUpload, upload_id)
        assert upload is not None
        upload.expires_at = utcnow() - timedelta(minutes=1)
        session.add(upload)
        session.commit()
    app.state.jobs.housekeeping()
    assert not partial.exists() and not partial.with_suffix(".info").exists()
    with Session(engine) as session:
        assert session.get(ClipUpload, upload_id) is None
    head = await client.head(url, headers=tus_headers)
    assert head.status_code == 404
