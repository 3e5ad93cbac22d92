"""Coach invites, accepting, rosters and leaving."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.coaching.models import CoachInvite
from backend.core.time import utcnow
from tests.conftest import Accounts


async def test_invite_accept_roster_leave(client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach = await accounts.register("coach", name="Carla")
    athlete = await accounts.register("athlete", name="Abe")
    resp = await client.post("/api/v1/coach/invites", headers=coach["headers"])
    assert resp.status_code == 201
    code = resp.json()["code"]
    assert len(code) == 10

    resp = await client.post(f"/api/v1/invites/{code.lower()}/accept", headers=athlete["headers"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["coach_display_name"] == "Carla"

    resp = await client.get("/api/v1/coach/athletes", headers=coach["headers"])
    assert [a["id"] for a in resp.json()] == [athlete["id"]]

    resp = await client.get("/api/v1/users/me/coach", headers=athlete["headers"])
    assert resp.json()["coach_id"] == coach["id"]

    resp = await client.delete("/api/v1/users/me/coach", headers=athlete["headers"])
    assert resp.status_code == 204
    resp = await client.get("/api/v1/coach/athletes", headers=coach["headers"])
    assert resp.json() == []
    resp = await client.get(f"/api/v1/coach/athletes/{athlete['id']}", headers=coach["headers"])
    assert resp.status_code == 404


async def test_coach_sees_only_own_athletes(client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach_a = await accounts.register("coach")
    coach_b = await accounts.register("coach")
    athlete = await accounts.register("athlete")
    code = (await client.post("/api/v1/coach/invites", headers=coach_a["headers"])).json()["code"]
    await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
    assert (await client.get("/api/v1/coach/athletes", headers=coach_b["headers"])).json() == []
    for path in (f"/api/v1/coach/athletes/{athlete['id']}",
                 f"/api/v1/coach/athletes/{athlete['id']}/profile"):
        assert (await client.get(path, headers=coach_a["headers"])).status_code == 200
        resp = await client.get(path, headers=coach_b["headers"])
        assert resp.status_code == 404
        assert resp.json()["code"] == "athlete_not_found"


async def test_invite_reuse_and_second_coach(client: httpx.AsyncClient,
                                             accounts: Accounts) -> None:
    coach_a = await accounts.register("coach")
    coach_b = await accounts.register("coach")
    first = await accounts.register("athlete")
    second = await accounts.register("athlete")
    code = (await client.post("/api/v1/coach/invites", headers=coach_a["headers"])).json()["code"]
    assert (await client.post(f"/api/v1/invites/{code}/accept",
                              headers=first["headers"])).status_code == 200
    # Accepting twice is harmless; someone else reusing the code is refused.
    assert (await client.post(f"/api/v1/invites/{code}/accept",
                              headers=first["headers"])).status_code == 200
    resp = await client.post(f"/api/v1/invites/{code}/accept", headers=second["headers"])
    assert resp.status_code == 409 and resp.json()["code"] == "invite_used"

    code_b = (await client.post("/api/v1/coach/invites",
                                headers=coach_b["headers"])).json()["code"]
    resp = await client.post(f"/api/v1/invites/{code_b}/accept", headers=first["headers"])
    assert resp.status_code == 409 and "leave them first" in resp.json()["detail"]

    resp = await client.post("/api/v1/invites/NOSUCHCODE/accept", headers=first["headers"])
    assert resp.status_code == 404


async def test_expired_invite(client: httpx.AsyncClient, accounts: Accounts,
                              engine: Engine) -> None:
    coach = await accounts.register("coach")
    athlete = await accounts.register("athlete")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    with Session(engine) as session:
        invite = session.exec(select(CoachInvite).where(CoachInvite.code == code)).one()
        invite.expires_at = utcnow() - timedelta(minutes=1)
        session.add(invite)
        session.commit()
    resp = await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
    assert resp.status_code == 409 and resp.json()["code"] == "invite_expired"


async def test_leave_without_coach(client: httpx.AsyncClient, accounts: Accounts) -> None:
    athlete = await accounts.register("athlete")
    resp = await client.delete("/api/v1/users/me/coach", headers=athlete["headers"])
    assert resp.status_code == 404
    assert resp.json()["detail"] == "You have no coach to leave."


async def test_malformed_invite_codes_are_not_found(client: httpx.AsyncClient,
                                                    accounts: Accounts) -> None:
    """A NUL in the code reached the database (PostgreSQL refuses it): tests/api/test_fuzz.py.
    Any code that cannot be one is simply not found."""
    athlete = await accounts.register("athlete")
    for code in ("%00", "AB%00CD", "x" * 200, "%F0%9F%8F%83"):
        resp = await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
        assert resp.status_code == 404, (code, resp.text)
        assert resp.json()["code"] == "invite_not_found"
