"""No secret reaches the server's logs: the calendar feed's token travels in its URL, which
uvicorn's access log writes; a real server's output never shows it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import STRIDELAB, _env, _free_port

PASSWORD = "a-long-enough-passphrase"


def test_the_calendar_token_is_masked_in_the_access_log(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([*STRIDELAB, "serve", "--port", str(port)], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "server exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /healthz within 60 s")
            time.sleep(0.2)
        httpx.post(f"{base}/api/v1/auth/register", json={
            "email": "cal@example.com", "password": PASSWORD, "display_name": "Cal"})
        tokens = httpx.post(f"{base}/api/v1/auth/token", data={
            "username": "cal@example.com", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        feed = httpx.post(f"{base}/api/v1/plans/calendar", headers=headers).json()
        secret = feed["token"]
        ics = httpx.get(f"{base}/api/v1/calendar/{secret}.ics")
        assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "GET /api/v1/calendar/***.ics" in out, out[-2000:]
    assert secret not in out
    assert tokens["access_token"] not in out and tokens["refresh_token"] not in out
