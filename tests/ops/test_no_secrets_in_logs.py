"""No secret reaches the server's logs: the calendar feed's token travels in its URL, which
uvicorn's access log writes; a real server's output never shows it."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import serve
from tests.test_cli import STRIDELAB, _env

PASSWORD = "a-long-enough-passphrase"


def test_the_calendar_token_is_masked_in_the_access_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with serve([*STRIDELAB, "serve"], _env(tmp_path), log) as base:
        httpx.post(f"{base}/api/v1/auth/register", json={
            "email": "cal@example.com", "password": PASSWORD, "display_name": "Cal"})
        tokens = httpx.post(f"{base}/api/v1/auth/token", data={
            "username": "cal@example.com", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        feed = httpx.post(f"{base}/api/v1/plans/calendar", headers=headers).json()
        secret = feed["token"]
        ics = httpx.get(f"{base}/api/v1/calendar/{secret}.ics")
        assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    out = log.read_text()
    assert "GET /api/v1/calendar/***.ics" in out, out[-2000:]
    assert secret not in out
    assert tokens["access_token"] not in out and tokens["refresh_token"] not in out
