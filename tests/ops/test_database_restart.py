"""PostgreSQL restarted under the API: requests meanwhile get a 503 with Retry-After (never a
500, nothing of them applied), and the API recovers by itself when the server is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.db import make_engine
from backend.core.migrate import upgrade_database
from tests.conftest import TEST_SECRET, Accounts
from tests.ops.private_postgres import PrivatePostgres


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


async def test_the_api_answers_503_while_postgres_restarts_and_recovers(
        postgres: PrivatePostgres, tmp_path: Path) -> None:
    upgrade_database(postgres.url)
    settings = Settings(environment="test", data_dir=tmp_path / "data", secret_key=TEST_SECRET,
                        database_url=postgres.url)
    engine = make_engine(postgres.url)
    app = create_app(settings, engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        accounts = Accounts(client)
        athlete = await accounts.register("athlete")
        me = await client.get("/api/v1/users/me", headers=athlete["headers"])
        assert me.status_code == 200

        postgres.stop()
        for method, path, body in (
                ("GET", "/healthz", None),
                ("GET", "/api/v1/users/me", None),
                ("POST", "/api/v1/auth/register", {"email": "during@example.com",
                                                   "password": "a-long-enough-passphrase",
                                                   "display_name": "During"})):
            resp = await client.request(method, path, json=body, headers=athlete["headers"])
            assert resp.status_code == 503, (path, resp.text)
            assert int(resp.headers["Retry-After"]) > 0
            assert "try again in" in resp.json()["detail"]

        postgres.start()
        # Back by itself: the pool checks its connections before use.
        assert (await client.get("/healthz")).status_code == 200
        me = await client.get("/api/v1/users/me", headers=athlete["headers"])
        assert me.status_code == 200
    # The registration made during the outage was not half-applied.
    with engine.connect() as conn:
        emails = conn.execute(text('SELECT email FROM "user"')).scalars().all()
    engine.dispose()
    assert emails == [athlete["email"]]
