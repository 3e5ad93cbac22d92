"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, and an async client.

Database tests run once on SQLite and once on the PostgreSQL server that ``make test`` starts
(``STRIDELAB_TEST_POSTGRES_URL``). Without that server the PostgreSQL half fails loudly, it does
not skip: run the suite through ``make test``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.db import make_engine
from backend.core.migrate import upgrade_database
from backend.models import metadata

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
CLIPS_DIR = SHARED_DIR / "clips"
POSTGRES_ENV = "STRIDELAB_TEST_POSTGRES_URL"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: the PostgreSQL half of the database tests needs the "
            "server that 'make test' starts (scripts/services.sh start)."
        )
    return url


_pg_state: dict[str, str] = {}


def _create_pg_database(admin_url: str) -> str:
    name = f"stridelab_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_engines: dict[str, Engine] = {}


def _engine_for(backend: str, tmp_root: Path) -> Engine:
    if backend in _engines:
        return _engines[backend]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_root / 'test.db'}"
    else:
        admin_url = postgres_admin_url()
        url = _create_pg_database(admin_url)
        _pg_state["admin_url"] = admin_url
        _pg_state["name"] = make_url(url).database or ""
    upgrade_database(url)
    _engines[backend] = make_engine(url)
    return _engines[backend]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for engine in _engines.values():
        engine.dispose()
    if _pg_state:
        _drop_pg_database(_pg_state["admin_url"], _pg_state["name"])


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database, emptied after each test."""
    root = tmp_path_factory.getbasetemp() / "db"
    root.mkdir(exist_ok=True)
    eng = _engine_for(request.param, root)
    try:
        yield eng
    finally:
        _truncate(eng)


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", secret_key=TEST_SECRET,
                    database_url=engine.url.render_as_string(hide_password=False))


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class Accounts:
    """Registers accounts through the real API and keeps their tokens."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._n = 0

    async def register(self, role: str = "athlete", name: str | None = None,
                       password: str = "a-long-enough-passphrase") -> dict[str, object]:
        self._n += 1
        email = f"{role}{self._n}-{uuid.uuid4().hex[:6]}@example.com"
        resp = await self.client.post("/api/v1/auth/register", json={
            "email": email, "password": password, "role": role,
            "display_name": name or f"{role.title()} {self._n}"})
        assert resp.status_code == 201, resp.text
        user = resp.json()
        token = await self.login(email, password)
        return {"id": user["id"], "email": email, "password": password, "token": token,
                "headers": {"Authorization": f"Bearer {token}"}}

    async def login(self, email: str, password: str) -> str:
        resp = await self.client.post("/api/v1/auth/token",
                                      data={"username": email, "password": password})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    async def coached_athlete(self, athlete_name: str = "Ana Runner",
                              coach_name: str = "Carla",
                              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An onboarded athlete (three strength days, London) who accepted a coach's invite."""
        athlete: dict[str, Any] = await self.register("athlete", name=athlete_name)
        resp = await self.client.put("/api/v1/users/me/profile", headers=athlete["headers"],
                                     json={"running_background": "intermediate",
                                           "weekly_volume_km": 30, "equipment": ["dumbbells"],
                                           "strength_days": [0, 2, 4],
                                           "time_zone": "Europe/London"})
        assert resp.status_code == 200, resp.text
        coach: dict[str, Any] = await self.register("coach", name=coach_name)
        resp = await self.client.post("/api/v1/coach/invites", headers=coach["headers"])
        resp = await self.client.post(f"/api/v1/invites/{resp.json()['code']}/accept",
                                      headers=athlete["headers"])
        assert resp.status_code == 200, resp.text
        return athlete, coach


@pytest.fixture
def accounts(client: httpx.AsyncClient) -> Accounts:
    return Accounts(client)
