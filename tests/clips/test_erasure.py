"""Deleting an account (DELETE /api/v1/users/me) erases every row and file about it, on
SQLite and PostgreSQL (whose foreign keys would refuse a row left behind), keeps what
belongs to others, and records the deletion in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.clips.storage import athlete_prefix, get_storage
from backend.core.audit import AuditEvent
from backend.core.config import Settings
from backend.core.db import metadata
from tests.clips.seed import seed_analysed_clip
from tests.conftest import Accounts

PASSWORD_FIELD = "password"


def _rows_naming(engine: Engine, user_id: int) -> dict[str, int]:
    """Rows of every table (but the audit log) whose user columns name ``user_id``."""
    found: dict[str, int] = {}
    with Session(engine) as session:
        for table in metadata.sorted_tables:
            if table.name == "audit_event":
                continue
            columns = [c for c in table.columns
                       if any(fk.column.table.name == "user" for fk in c.foreign_keys)]
            if table.name == "user":
                columns = [table.c.id]
            if not columns:
                continue
            n = len(session.execute(select(table).where(
                or_(*(c == user_id for c in columns)))).all())
            if n:
                found[table.name] = n
    return found


async def _athlete_with_everything(client: httpx.AsyncClient, accounts: Accounts,
                                   engine: Engine, settings: Settings, tmp_path: Path,
                                   ) -> tuple[dict[str, Any], dict[str, Any], int]:
    athlete, coach = await accounts.coached_athlete("Ana")
    seeded = seed_analysed_clip(engine, settings, int(athlete["id"]), tmp_path)
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    first = plan["weeks"][0]["sessions"][0]
    resp = await client.post(f"/api/v1/sessions/{first['id']}/log", headers=athlete["headers"],
                             json={"rpe": 6, "exercises": [
                                 {"code": e["code"], "pain": 5,
                                  "sets": [{"reps": e["reps"], "hold_s": e["hold_s"]}]}
                                 for e in first["exercises"]]})
    assert resp.status_code == 200, resp.text
    resp = await client.post(f"/api/v1/coach/athletes/{athlete['id']}/plan/notes",
                             headers=coach["headers"], json={"text": "Easy week"})
    assert resp.status_code == 200, resp.text
    assert (await client.post("/api/v1/plans/calendar",
                              headers=athlete["headers"])).status_code in (200, 201)
    resp = await client.post("/api/v1/push/subscriptions", headers=athlete["headers"], json={
        "endpoint": "https://push.example.com/send/erase",
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1X"
                           "V1ZuOXdSnjK6mJPyYdKVJQ", "auth": "tBHItJI5svbpez7KI4CCXg"}})
    assert resp.status_code == 201, resp.text
    return athlete, coach, seeded.clip_id


async def test_an_athlete_deletes_their_account(client: httpx.AsyncClient, accounts: Accounts,
                                                engine: Engine, settings: Settings,
                                                tmp_path: Path) -> None:
    athlete, coach, clip_id = await _athlete_with_everything(client, accounts, engine,
                                                             settings, tmp_path)
    athlete_id = int(athlete["id"])
    storage = get_storage(settings)
    assert list(storage.keys(athlete_prefix(athlete_id)))
    before = _rows_naming(engine, athlete_id)
    assert {"user", "clip", "plan_version", "session_log", "set_log", "coach_link",
            "notification", "push_subscription", "calendar_feed"} <= set(before), before

    # A wrong password: refused with why, and nothing is lost.
    resp = await client.request("DELETE", "/api/v1/users/me", headers=athlete["headers"],
                                json={PASSWORD_FIELD: "not-the-password"})
    assert resp.status_code == 403 and "password" in resp.json()["detail"], resp.text
    assert _rows_naming(engine, athlete_id) == before
    # No body: a 422 that names the field.
    resp = await client.request("DELETE", "/api/v1/users/me", headers=athlete["headers"])
    assert resp.status_code == 422

    resp = await client.request("DELETE", "/api/v1/users/me", headers=athlete["headers"],
                                json={PASSWORD_FIELD: athlete["password"]})
    assert resp.status_code == 204, resp.text
    assert _rows_naming(engine, athlete_id) == {}
    assert list(storage.keys(athlete_prefix(athlete_id))) == []
    # The token that deleted it opens nothing any more.
    resp = await client.get(f"/api/v1/clips/{clip_id}", headers=athlete["headers"])
    assert resp.status_code == 401
    # The coach keeps their account; the athlete left their roster.
    roster = (await client.get("/api/v1/coach/athletes", headers=coach["headers"])).json()
    assert roster == []
    assert "user" in _rows_naming(engine, int(coach["id"]))
    with Session(engine) as session:
        records = session.execute(select(AuditEvent.action).where(
            AuditEvent.subject_user_id == athlete_id)).scalars().all()
    assert "account_deleted" in records


async def test_a_coach_deletes_their_account_and_the_athletes_keep_their_plans(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine, settings: Settings,
        tmp_path: Path) -> None:
    athlete, coach, _ = await _athlete_with_everything(client, accounts, engine, settings,
                                                       tmp_path)
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    resp = await client.request("DELETE", "/api/v1/users/me", headers=coach["headers"],
                                json={PASSWORD_FIELD: coach["password"]})
    assert resp.status_code == 204, resp.text
    assert _rows_naming(engine, int(coach["id"])) == {}
    # The plan the coach edited stays, whole, with the coach's name cleared from it.
    after = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert after["version"] == plan["version"] and after["notes"] == plan["notes"]
    resp = await client.get("/api/v1/users/me/coach", headers=athlete["headers"])
    assert resp.status_code == 404
    clips = (await client.get("/api/v1/clips", headers=athlete["headers"])).json()
    assert clips["total"] == 1
