"""The command line, run as a user runs it: real processes, a real server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import serve

STRIDELAB = [sys.executable, "-m", "backend.cli.main"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env["STRIDELAB_DATA_DIR"] = str(data_dir)
    return env


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STRIDELAB, *args], env=_env(data_dir), capture_output=True,
                          text=True, timeout=120, check=False)


def test_db_upgrade_and_demo_seed(tmp_path: Path) -> None:
    tmp_path = tmp_path / "fresh" / "var"  # a data dir that does not exist yet
    result = run_cli("db", "upgrade", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "stridelab.db").exists()
    result = run_cli("demo", "seed", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Demo data created" in result.stderr
    result = run_cli("demo", "seed", data_dir=tmp_path)
    assert "already present" in result.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serve([*STRIDELAB, "serve"], _env(tmp_path), tmp_path / "server.log") as base:
        yield base


def test_serve_migrates_and_answers(server: str) -> None:
    health = httpx.get(f"{server}/healthz").json()
    assert health["status"] == "ok" and health["database"] == "sqlite"
    assert httpx.get(f"{server}/docs").status_code == 200
    openapi = httpx.get(f"{server}/openapi.json").json()
    assert "/api/v1/users/me" in openapi["paths"]
    assert httpx.get(f"{server}/api/v1/users/me").status_code == 401
    resp = httpx.post(f"{server}/api/v1/auth/register", json={
        "email": "first@example.com", "password": "a-long-enough-passphrase",
        "role": "athlete", "display_name": "First"})
    assert resp.status_code == 201
    token = httpx.post(f"{server}/api/v1/auth/token", data={
        "username": "first@example.com", "password": "a-long-enough-passphrase"}).json()
    me = httpx.get(f"{server}/api/v1/users/me",
                   headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "first@example.com"
