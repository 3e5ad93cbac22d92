"""The disk fills up under an upload: a clear error (507, what to do), no clip row, no
half-written file left in storage; the service goes on once there is room."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from backend.api.app import create_app
from backend.core.config import Settings
from tests.clips.conftest import upload
from tests.clips.media import make_clip
from tests.conftest import Accounts


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 1 MB (tmpfs): root on this machine kind, as in CI."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    assert os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1024k", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_an_upload_that_fills_the_disk_is_refused_cleanly(
        small_disk: Path, engine: Engine, settings: Settings, tmp_path: Path) -> None:
    app: FastAPI = create_app(settings.model_copy(update={"storage_dir": small_disk}), engine)
    big = make_clip(tmp_path / "big.mp4", seconds=8.0, fps=30, size=(720, 1280))
    small = make_clip(tmp_path / "small.mp4", seconds=3.5, fps=30, size=(90, 160))
    assert big.stat().st_size > 1024 * 1024 > small.stat().st_size
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        athlete = await Accounts(client).register("athlete")
        resp = await upload(client, athlete["headers"], big)
        assert resp.status_code == 507, resp.text
        assert "storage is full" in resp.json()["detail"]
        assert _files(small_disk) == []  # nothing half-written is left
        clips = (await client.get("/api/v1/clips", headers=athlete["headers"])).json()
        assert clips["total"] == 0
        # With room, uploads work again.
        ok = await upload(client, athlete["headers"], small)
        assert ok.status_code == 202, ok.text
