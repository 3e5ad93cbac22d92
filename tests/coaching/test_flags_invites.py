"""A coach works through flags (acknowledge, resolve) and manages invites (list, revoke)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from backend.core.time import utcnow
from tests.conftest import Accounts
from tests.progress.seed import log_session, sessions_of, start_block


async def _linked(client: httpx.AsyncClient, accounts: Accounts,
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    coach = await accounts.register("coach")
    athlete = await accounts.register("athlete")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    resp = await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
    assert resp.status_code == 200
    return coach, athlete


async def test_acknowledge_and_resolve_a_flag(client: httpx.AsyncClient, accounts: Accounts,
                                              engine: Engine) -> None:
    coach, athlete = await _linked(client, accounts)
    other_coach = await accounts.register("coach")
    start_block(engine, athlete["id"], utcnow().date() - timedelta(days=6))
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    await log_session(client, athlete["headers"], sessions_of(plan)[0], pain=6)
    base = f"/api/v1/coach/athletes/{athlete['id']}/flags"
    flags = (await client.get(base, headers=coach["headers"])).json()
    assert flags and flags[0]["code"] == "pain" and flags[0]["acknowledged_at"] is None
    flag_id = flags[0]["id"]
    dashboard = (await client.get("/api/v1/coach/dashboard", headers=coach["headers"])).json()
    assert dashboard["athletes"][0]["unacknowledged_flags"] == len(flags)

    resp = await client.post(f"{base}/{flag_id}/acknowledge", headers=coach["headers"])
    assert resp.status_code == 200, resp.text
    seen = resp.json()["acknowledged_at"]
    assert seen and resp.json()["resolved_at"] is None
    # Again: nothing changes. Still open, now seen.
    again = await client.post(f"{base}/{flag_id}/acknowledge", headers=coach["headers"])
    assert again.json()["acknowledged_at"] == seen
    flags = (await client.get(base, headers=coach["headers"])).json()
    assert next(f for f in flags if f["id"] == flag_id)["acknowledged_at"] == seen
    dashboard = (await client.get("/api/v1/coach/dashboard", headers=coach["headers"])).json()
    assert dashboard["athletes"][0]["unacknowledged_flags"] == len(flags) - 1

    resp = await client.post(f"{base}/{flag_id}/resolve", headers=coach["headers"])
    assert resp.status_code == 200 and resp.json()["resolved_at"]
    assert flag_id not in [f["id"] for f in
                           (await client.get(base, headers=coach["headers"])).json()]
    resp = await client.post(f"{base}/{flag_id}/acknowledge", headers=coach["headers"])
    assert resp.status_code == 409 and "resolved" in resp.json()["detail"]
    # Resolving twice is fine; an unknown flag, or one of someone else's athlete, is a 404.
    assert (await client.post(f"{base}/{flag_id}/resolve",
                              headers=coach["headers"])).status_code == 200
    assert (await client.post(f"{base}/999999/resolve",
                              headers=coach["headers"])).status_code == 404
    assert (await client.post(f"{base}/{flag_id}/resolve",
                              headers=other_coach["headers"])).status_code == 404
    assert (await client.post(f"{base}/0/resolve",
                              headers=coach["headers"])).status_code == 422


async def test_list_and_revoke_invites(client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach = await accounts.register("coach")
    other_coach = await accounts.register("coach")
    athlete = await accounts.register("athlete")
    used = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    pending = (await client.post("/api/v1/coach/invites",
                                 headers=coach["headers"])).json()["code"]
    await client.post(f"/api/v1/invites/{used}/accept", headers=athlete["headers"])
    listed = (await client.get("/api/v1/coach/invites", headers=coach["headers"])).json()
    assert [(i["code"], i["status"]) for i in listed] == [(pending, "pending"),
                                                           (used, "accepted")]
    assert listed[1]["accepted_by_id"] == athlete["id"]
    assert (await client.get("/api/v1/coach/invites",
                             headers=other_coach["headers"])).json() == []

    # Another coach cannot revoke it; an accepted one is a conflict that says what to do.
    assert (await client.delete(f"/api/v1/coach/invites/{pending}",
                                headers=other_coach["headers"])).status_code == 404
    resp = await client.delete(f"/api/v1/coach/invites/{used}", headers=coach["headers"])
    assert resp.status_code == 409 and "already accepted" in resp.json()["detail"]
    resp = await client.delete(f"/api/v1/coach/invites/{pending}", headers=coach["headers"])
    assert resp.status_code == 204
    newcomer = await accounts.register("athlete")
    resp = await client.post(f"/api/v1/invites/{pending}/accept", headers=newcomer["headers"])
    assert resp.status_code == 404
    assert (await client.delete(f"/api/v1/coach/invites/{pending}",
                                headers=coach["headers"])).status_code == 404
    assert (await client.delete("/api/v1/coach/invites/not-a-code",
                                headers=coach["headers"])).status_code == 404
