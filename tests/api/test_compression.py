"""Text goes compressed to a client that accepts gzip (the web app's scripts, the API's
JSON); video and images go as they are, so range requests and players keep working."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from backend.core.config import Settings
from tests.clips.seed import seed_analysed_clip
from tests.conftest import Accounts

GZIP = {"Accept-Encoding": "gzip"}


async def test_json_is_compressed_and_media_is_not(client: httpx.AsyncClient,
                                                   accounts: Accounts, engine: Engine,
                                                   settings: Settings, tmp_path: Path) -> None:
    resp = await client.get("/openapi.json", headers=GZIP)
    assert resp.status_code == 200 and resp.headers["content-encoding"] == "gzip"
    assert resp.json()["openapi"]  # httpx decodes it: the body is whole
    # A client that does not ask for it gets it plain.
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == resp.json()

    athlete = await accounts.register("athlete")
    seeded = seed_analysed_clip(engine, settings, int(athlete["id"]), tmp_path)
    headers = {**athlete["headers"], **GZIP}
    for path in (f"/api/v1/clips/{seeded.clip_id}/video",
                 f"/api/v1/clips/{seeded.clip_id}/overlay",
                 f"/api/v1/clips/{seeded.clip_id}/keyframes/{seeded.keyframe}"):
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        assert "content-encoding" not in resp.headers, path
    ranged = await client.get(f"/api/v1/clips/{seeded.clip_id}/video",
                              headers={**headers, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
