"""Numbers the database cannot hold are a 4xx, never a 500: ids beyond a 32-bit integer
column, offsets beyond a 64-bit one, and dates before year 1 once converted to UTC. The
routes bound them, and the error handler maps whatever the database still refuses."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from backend.accounts.models import Role
from backend.accounts.service import create_user
from backend.core.deps import SessionDep
from tests.conftest import Accounts

TOO_BIG_IDS = [2**31, 2**63, 2**64, 0, -1]


@pytest.mark.parametrize("value", TOO_BIG_IDS)
async def test_out_of_range_ids_are_refused(client: httpx.AsyncClient, accounts: Accounts,
                                            value: int) -> None:
    athlete = await accounts.register("athlete")
    coach = await accounts.register("coach")
    calls = [
        (athlete, "GET", f"/api/v1/clips/{value}"),
        (athlete, "DELETE", f"/api/v1/clips/{value}"),
        (athlete, "GET", f"/api/v1/clips/{value}/events"),
        (athlete, "GET", f"/api/v1/clips/{value}/report"),
        (coach, "GET", f"/api/v1/coach/athletes/{value}/clips"),
        (coach, "GET", f"/api/v1/coach/athletes/{value}/plan"),
        (athlete, "GET", f"/api/v1/clips?offset={value}"),
        (coach, "GET", f"/api/v1/coach/athletes/1/clips?offset={value}"),
    ]
    for who, method, url in calls:
        if "offset" in url and value in (0,):
            continue  # offset 0 is the first page
        resp = await client.request(method, url, headers=who["headers"])
        assert resp.status_code in (404, 422), f"{method} {url}: {resp.status_code} {resp.text}"
        assert resp.json()["detail"], url
    assert (await client.get("/healthz")).status_code == 200


async def test_the_largest_id_is_a_plain_not_found(client: httpx.AsyncClient,
                                                  accounts: Accounts) -> None:
    athlete = await accounts.register("athlete")
    resp = await client.get(f"/api/v1/clips/{2**31 - 1}", headers=athlete["headers"])
    assert resp.status_code == 404 and resp.json()["code"] == "clip_not_found"


async def test_database_range_errors_are_a_4xx(app: FastAPI, client: httpx.AsyncClient,
                                               engine: Engine) -> None:
    """The safety net: a value that reaches the database and is refused there (here a
    number too large for its integer type) is the client's error, not a 500."""

    def overflow(session: SessionDep) -> dict[str, int]:
        if engine.dialect.name == "postgresql":
            value = session.execute(text("SELECT CAST(:v AS INTEGER)"), {"v": 2**40}).scalar()
        else:  # SQLite's integers are 64-bit: the driver refuses a larger one
            value = session.execute(text("SELECT :v"), {"v": 2**64}).scalar()
        return {"value": int(value or 0)}

    app.add_api_route("/test/overflow", overflow, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())  # before the web app's catch-all
    resp = await client.get("/test/overflow")
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "value_out_of_range"
    assert "out of range" in resp.json()["detail"]


async def test_admin_offsets_are_bounded(client: httpx.AsyncClient, engine: Engine,
                                         accounts: Accounts) -> None:
    with Session(engine) as session:
        create_user(session, email="admin@example.com", password="admin-pass-phrase-1",
                    role=Role.admin, display_name="Admin")
        session.commit()
    token = await accounts.login("admin@example.com", "admin-pass-phrase-1")
    headers = {"Authorization": f"Bearer {token}"}
    resp = await client.get(f"/api/v1/admin/users?offset={2**63}", headers=headers)
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_input", resp.text


async def test_text_the_database_refuses_is_a_clear_4xx(app: FastAPI, client: httpx.AsyncClient,
                                                        engine: Engine) -> None:
    """The safety net for a NUL character that reaches PostgreSQL: a 422 saying so, not the
    message about numbers and dates."""

    def nul(session: SessionDep) -> dict[str, str]:
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT CAST(:v AS TEXT)"), {"v": "a\x00b"})
        else:  # SQLite stores a NUL: raise what psycopg raises
            raise DataError("SELECT :v", {}, Exception(
                "PostgreSQL text fields cannot contain NUL (0x00) bytes"))
        return {}

    app.add_api_route("/test/nul", nul, methods=["GET"])
    app.router.routes.insert(0, app.router.routes.pop())
    resp = await client.get("/test/nul")
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "nul_character" and "NUL" in resp.json()["detail"]


async def test_unreadable_bodies_say_what_to_send(client: httpx.AsyncClient) -> None:
    """A form body FastAPI cannot parse was a 400 "There was an error parsing the body"."""
    resp = await client.post("/api/v1/auth/token", content=b"--x\r\nbroken",
                             headers={"Content-Type": "multipart/form-data"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "body_unreadable", resp.text
    assert "Content-Type" in resp.json()["detail"]

