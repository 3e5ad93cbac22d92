"""Resumable uploads (tus 1.0) with the tuspy client against a real server on a loopback port:
an upload interrupted half way and resumed by a new client (from the offset HEAD reports)
becomes the same clip as a one-shot multipart upload of the same file; termination works;
uploads need an athlete's token and are invisible to everyone else."""

from __future__ import annotations

import base64
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
from sqlmodel import Session, select
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError

from backend.clips.models import Clip, ClipUpload
from backend.clips.tus import CLIP_ID_HEADER
from backend.core.config import Settings
from backend.core.time import utcnow
from backend.jobs.models import AnalysisJob
from tests.conftest import Accounts
from tests.servers import free_port

CHUNK = 64 * 1024
METADATA = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The test app served by uvicorn in a thread, on a loopback port."""
    port = free_port()
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


def _metadata(**fields: str) -> str:
    values = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear", **fields}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def _create(client: httpx.AsyncClient, headers: dict[str, str], length: int,
                  **fields: str) -> str:
    created = await client.post("/api/v1/uploads", headers={
        **headers, "Upload-Length": str(length), "Upload-Metadata": _metadata(**fields)})
    assert created.status_code == 201, created.text
    return str(created.headers["Location"])


async def _offset(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> int:
    head = await client.head(url, headers=headers)
    assert head.status_code == 200, head.status_code
    return int(head.headers["Upload-Offset"])


async def test_refused_patch_writes_nothing(client: httpx.AsyncClient, accounts: Accounts,
                                            settings: Settings) -> None:
    """A PATCH refused for its headers leaves the upload exactly as it was (tuspyserver
    itself checks them only after writing the body)."""
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    url = await _create(client, tus_headers, 1000)
    partial = settings.resolved_storage_dir / "_tus" / url.rstrip("/").rsplit("/", 1)[-1]

    wrong_type = await client.patch(url, headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
        content=b"x" * 100)
    assert wrong_type.status_code == 415, wrong_type.text
    assert "application/offset+octet-stream" in wrong_type.json()["detail"]
    no_version = await client.patch(url, headers={
        **athlete["headers"], "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"}, content=b"x" * 100)
    assert no_version.status_code == 412, no_version.text
    assert no_version.headers["Tus-Version"] == "1.0.0"
    assert await _offset(client, tus_headers, url) == 0
    assert partial.stat().st_size == 0

    good = await client.patch(url, headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=b"y" * 100)
    assert good.status_code == 204, good.text
    assert await _offset(client, tus_headers, url) == 100
    assert partial.read_bytes() == b"y" * 100


async def test_creation_needs_a_valid_length_and_details(client: httpx.AsyncClient,
                                                         accounts: Accounts) -> None:
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    for length_headers in ({"Upload-Length": "-5"}, {}, {"Upload-Defer-Length": "2"}):
        resp = await client.post("/api/v1/uploads", headers={
            **tus_headers, **length_headers, "Upload-Metadata": _metadata()})
        assert resp.status_code == 400, (length_headers, resp.text)
        assert "Upload-Length" in resp.json()["detail"]
    # A date the database cannot store (year 0 in UTC) is refused before any byte is sent.
    resp = await client.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": "1000",
        "Upload-Metadata": _metadata(recorded_at="0001-01-01T00:00:00+14:00")})
    assert resp.status_code == 422, resp.text
    assert "recorded_at" in resp.json()["detail"]


async def test_malformed_upload_ids_are_not_found(client: httpx.AsyncClient,
                                                  accounts: Accounts) -> None:
    """A NUL in the upload id reached the database (PostgreSQL refuses it):
    tests/api/test_fuzz.py. An id that cannot be one is simply not found, on every route."""
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    for upload_id in ("%00", "ab%00cd", "Z" * 32):
        resp = await client.get(f"/api/v1/uploads/{upload_id}", headers=athlete["headers"])
        assert resp.status_code == 404 and resp.json()["code"] == "upload_not_found", resp.text
        for method in ("HEAD", "DELETE"):
            resp = await client.request(method, f"/api/v1/uploads/{upload_id}",
                                        headers=tus_headers)
            assert resp.status_code == 404, (method, upload_id, resp.status_code)
        resp = await client.patch(f"/api/v1/uploads/{upload_id}", content=b"x", headers={
            **tus_headers, "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
        assert resp.status_code == 404, ("PATCH", upload_id, resp.status_code)


async def test_completion_runs_once(client: httpx.AsyncClient, accounts: Accounts,
                                    engine: Engine, run_clip: Path) -> None:
    """A client that missed the last response and sends an empty PATCH at the end offset
    hears the same clip again; nothing is filed twice."""
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    data = run_clip.read_bytes()
    url = await _create(client, tus_headers, len(data))
    patch_headers = {**tus_headers, "Content-Type": "application/offset+octet-stream"}
    last = await client.patch(url, headers={**patch_headers, "Upload-Offset": "0"},
                              content=data)
    assert last.status_code == 204, last.text
    clip_id = int(last.headers[CLIP_ID_HEADER])
    again = await client.patch(url, headers={**patch_headers, "Upload-Offset": str(len(data))},
                               content=b"")
    assert again.status_code == 204, again.text
    assert int(again.headers[CLIP_ID_HEADER]) == clip_id
    assert await _offset(client, tus_headers, url) == len(data)
    with Session(engine) as session:
        assert len(session.exec(select(Clip)).all()) == 1
        assert len(session.exec(select(AnalysisJob)).all()) == 1
    clip = await client.get(f"/api/v1/clips/{clip_id}", headers=athlete["headers"])
    assert clip.status_code == 200 and clip.json()["sha256"] == hashlib.sha256(data).hexdigest()


async def test_failed_completion_ends_the_upload(client: httpx.AsyncClient, accounts: Accounts,
                                                 engine: Engine, run_clip: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error while filing the finished upload ends it (HEAD: gone) with a
    message saying to upload again, never an upload stuck at its end with no clip."""
    from backend.clips import service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("storage went away")

    monkeypatch.setattr(service, "register_clip", broken)
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    data = run_clip.read_bytes()
    url = await _create(client, tus_headers, len(data))
    last = await client.patch(url, headers={
        **tus_headers, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
        content=data)
    assert last.status_code == 500, last.text
    assert last.json()["code"] == "upload_failed"
    assert "Upload the clip again" in last.json()["detail"]
    assert (await client.head(url, headers=tus_headers)).status_code == 404
    with Session(engine) as session:
        assert not session.exec(select(Clip)).all()


async def test_abandoned_files_are_cleaned(client: httpx.AsyncClient, accounts: Accounts,
                                           app: FastAPI, settings: Settings) -> None:
    """Housekeeping deletes what nothing will finish: multipart bodies cut off half way and
    export archives left in _incoming, tus files with no upload row, once untouched for
    upload_expire_hours; anything recent, or belonging to a live upload, stays."""
    import os

    from backend.clips.storage import get_storage

    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    url = await _create(client, tus_headers, 1000)
    live = settings.resolved_storage_dir / "_tus" / url.rstrip("/").rsplit("/", 1)[-1]
    storage = get_storage(settings)
    old = time.time() - settings.upload_expire_hours * 3600 - 60

    def made(path: Path, stale: bool) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
        if stale:
            os.utime(path, (old, old))
        return path

    stale_files = [made(storage.new_incoming(), True), made(storage.new_incoming(".zip"), True),
                   made(storage.tus_dir / ("f" * 32), True),
                   made(storage.tus_dir / f"{'f' * 32}.info", True)]
    fresh_files = [made(storage.new_incoming(), False), made(storage.tus_dir / ("e" * 32), False)]
    for path in (live, live.with_suffix(".info")):
        os.utime(path, (old, old))  # an old upload, but its row is there: expiry decides

    app.state.jobs.housekeeping()
    assert not [p for p in stale_files if p.exists()]
    assert all(p.exists() for p in fresh_files)
    assert live.exists() and live.with_suffix(".info").exists()


async def test_bad_files_through_tus(client: httpx.AsyncClient, accounts: Accounts,
                                     engine: Engine, bad_files: dict[str, Path]) -> None:
    """The corpus of bad files sent as resumable uploads: the same readable 4xx as a
    multipart upload (at creation for an empty file, else on the last PATCH), the upload
    ended, and no clip stored."""
    from tests.clips.test_uploads import EXPECTED

    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    for name, path in bad_files.items():
        data = path.read_bytes()
        what, how = EXPECTED[name]
        if not data:
            resp = await client.post("/api/v1/uploads", headers={
                **tus_headers, "Upload-Length": "0", "Upload-Metadata": _metadata()})
        else:
            url = await _create(client, tus_headers, len(data))
            resp = await client.patch(url, headers={
                **tus_headers, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"}, content=data)
            assert (await client.head(url, headers=tus_headers)).status_code == 404, name
        assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.text)
        detail = resp.json()["detail"]
        assert what in detail and how in detail, (name, detail)
    with Session(engine) as session:
        assert not session.exec(select(Clip)).all()
    assert (await client.get("/healthz")).status_code == 200


def test_connection_dropped_mid_patch(live_server: str, run_clip: Path) -> None:
    """The phone loses its connection half way through a PATCH: what arrived is kept, HEAD
    says how much, and the rest sent from there makes the same clip."""
    from urllib.parse import urlsplit

    base = live_server
    headers = _athlete(base)
    tus_headers = {**headers, "Tus-Resumable": "1.0.0"}
    data = run_clip.read_bytes()
    created = httpx.post(f"{base}/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": str(len(data)), "Upload-Metadata": _metadata()})
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    parts = urlsplit(url)
    half = len(data) // 2
    head_lines = [f"PATCH {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
                  f"Authorization: {headers['Authorization']}", "Tus-Resumable: 1.0.0",
                  "Upload-Offset: 0", "Content-Type: application/offset+octet-stream",
                  f"Content-Length: {len(data)}"]
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.sendall(("\r\n".join(head_lines) + "\r\n\r\n").encode() + data[:half])
        time.sleep(0.5)  # the server reads what was sent; then the connection drops

    deadline = time.monotonic() + 20
    while True:  # the server saves the offset once it notices the disconnect
        head = httpx.head(url, headers=tus_headers)
        offset = int(head.headers.get("Upload-Offset", "0")) if head.status_code == 200 else 0
        if offset > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 0 < offset <= half, (head.status_code, offset)

    rest = httpx.patch(url, headers={**tus_headers, "Upload-Offset": str(offset),
                                     "Content-Type": "application/offset+octet-stream"},
                       content=data[offset:])
    assert rest.status_code == 204, rest.text
    clip_id = int(rest.headers[CLIP_ID_HEADER])
    clip = httpx.get(f"{base}/api/v1/clips/{clip_id}", headers=headers).json()
    assert clip["sha256"] == hashlib.sha256(data).hexdigest()
    stored = httpx.get(f"{base}/api/v1/clips/{clip_id}/video", headers=headers)
    assert stored.content == data
