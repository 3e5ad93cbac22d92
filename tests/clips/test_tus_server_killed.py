"""The server killed (SIGKILL) in the middle of a resumable upload: started again, it reports
an offset that matches what it kept, the upload resumes from there and the clip is intact."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus

from backend.clips.tus import CLIP_ID_HEADER
from backend.core.config import Settings
from tests.jobs.conftest import Procs, register

CHUNK = 32 * 1024
METADATA = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def server_procs(settings: Settings, tmp_path: Path) -> Iterator[Procs]:
    started = Procs(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@sqlite_only
def test_a_killed_server_resumes_the_upload_intact(server_procs: Procs, run_clip: Path) -> None:
    data = run_clip.read_bytes()
    assert len(data) > 3 * CHUNK
    server, base = server_procs.serve()
    headers = register(base)
    endpoint = f"{base}/api/v1/uploads/"
    first = tus.TusClient(endpoint, headers=headers).uploader(
        file_path=str(run_clip), chunk_size=CHUNK, metadata=METADATA)
    first.upload_chunk()
    url = first.url
    assert url is not None

    # The rest in one slow PATCH; the server is killed while the bytes stream in.
    sent = threading.Event()

    def slow_body() -> Iterator[bytes]:
        for i in range(CHUNK, len(data), 4096):
            if i >= 2 * CHUNK:
                sent.set()
            yield data[i:i + 4096]
            time.sleep(0.02)

    def patch() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.patch(url, headers={**headers, "Tus-Resumable": "1.0.0",
                                      "Upload-Offset": str(CHUNK),
                                      "Content-Type": "application/offset+octet-stream"},
                        content=slow_body(), timeout=30)

    sender = threading.Thread(target=patch)
    sender.start()
    assert sent.wait(30)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    sender.join(timeout=30)

    _again, base2 = server_procs.serve()
    url2 = url.replace(base, base2)
    head = httpx.head(url2, headers={**headers, "Tus-Resumable": "1.0.0"})
    assert head.status_code == 200, head.text
    offset = int(head.headers["Upload-Offset"])
    assert CHUNK <= offset < len(data)

    resumed = tus.TusClient(f"{base2}/api/v1/uploads/", headers=headers).uploader(
        file_path=str(run_clip), url=url2, chunk_size=CHUNK, metadata=METADATA)
    assert resumed.offset == offset
    resumed.upload()
    clip_id = int(resumed.request.response_headers[CLIP_ID_HEADER.lower()])
    clip = httpx.get(f"{base2}/api/v1/clips/{clip_id}", headers=headers).json()
    assert clip["sha256"] == hashlib.sha256(data).hexdigest()
    video = httpx.get(f"{base2}/api/v1/clips/{clip_id}/video", headers=headers)
    assert video.content == data
