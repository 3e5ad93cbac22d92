"""Trends, the coach's dashboard and the exercise list through the real app, on SQLite and
PostgreSQL, with real rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.clips.diagnosis import diagnosis_for
from backend.core.time import utcnow
from backend.planner import EXERCISES
from tests.conftest import Accounts
from tests.progress.seed import add_clip, log_session, sessions_of, start_block


async def _coach_with(client: httpx.AsyncClient, accounts: Accounts, n: int,
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    coach = await accounts.register("coach", name="Carla")
    athletes = []
    for i in range(n):
        athlete = await accounts.register("athlete", name=f"Runner {chr(65 + i)}")
        code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()
        resp = await client.post(f"/api/v1/invites/{code['code']}/accept",
                                 headers=athlete["headers"])
        assert resp.status_code == 200, resp.text
        athletes.append(athlete)
    return coach, athletes


async def _dashboard(client: httpx.AsyncClient, coach: dict[str, Any],
                     **params: Any) -> dict[str, Any]:
    resp = await client.get("/api/v1/coach/dashboard", headers=coach["headers"], params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _row(page: dict[str, Any], athlete: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in page["athletes"] if r["id"] == athlete["id"])


async def test_dashboard_rows(client: httpx.AsyncClient, accounts: Accounts,
                              engine: Engine) -> None:
    coach, (worse, quiet, improving) = await _coach_with(client, accounts, 3)
    now = utcnow()
    # Worse: hip drop from mild to marked between two rear clips; a side clip between them
    # is another view and compared with nothing.
    add_clip(engine, worse["id"], now - timedelta(days=20), faults=[("hip_drop", "mild", 5.0)])
    add_clip(engine, worse["id"], now - timedelta(days=10), view="side",
             faults=[("overstride", "moderate", 12.0)])
    add_clip(engine, worse["id"], now - timedelta(days=3),
             faults=[("hip_drop", "marked", 11.0)])
    # An unfit clip after them is the last clip, but never the diagnosis nor a comparison.
    add_clip(engine, worse["id"], now - timedelta(days=1), fit=False)
    # Improving: the fault shrank; the last clip is old.
    add_clip(engine, improving["id"], now - timedelta(days=80),
             faults=[("overstride", "marked", 20.0)])
    add_clip(engine, improving["id"], now - timedelta(days=50), faults=[])

    page = await _dashboard(client, coach)
    assert page["total"] == 3 and page["sort"] == "-attention"
    row = _row(page, worse)
    # The combined diagnosis: the rear clip's hip drop and the side clip's overstride.
    assert row["headline"] == "Contralateral hip drop (marked, left) (+1 more)"
    assert row["last_clip"]["recorded_at"][:10] == str((now - timedelta(days=1)).date())
    assert [a["code"] for a in row["attention"]] == ["fault_worse"]
    assert "went from mild to marked (rear view)" in row["attention"][0]["message"]
    # A new plan (from today) has nothing due yet: null, not 100 %.
    assert row["compliance_7"] == {"value": None, "sessions_due": 0}
    assert row["compliance_30"] == {"value": None, "sessions_due": 0}
    row = _row(page, quiet)
    assert row["headline"] is None and row["last_clip"] is None
    assert [a["code"] for a in row["attention"]] == ["no_recent_clip"]
    row = _row(page, improving)
    assert row["headline"] == "No fault needs work; no side clip yet"
    assert [a["code"] for a in row["attention"]] == ["no_recent_clip"]
    assert "time to film again" in row["attention"][0]["message"]


async def test_compliance_drop_and_pain_need_attention(client: httpx.AsyncClient,
                                                       accounts: Accounts,
                                                       engine: Engine) -> None:
    coach, (dropped, steady) = await _coach_with(client, accounts, 2)
    today = utcnow().date()
    for athlete in (dropped, steady):
        start_block(engine, athlete["id"], today - timedelta(days=36))
        plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
        for key in [s["id"] for s in sessions_of(plan)]:
            # Each log may adapt the sessions after it: log what the plan says now.
            plan = (await client.get("/api/v1/plans/current",
                                     headers=athlete["headers"])).json()
            s = next(s for s in sessions_of(plan) if s["id"] == key)
            day = s["date"]
            recent = day > str(today - timedelta(days=7))
            if day > str(today):
                continue
            # `dropped` did every session until the last 7 days, then none.
            if athlete is dropped and recent:
                continue
            await log_session(client, athlete["headers"], s,
                              pain=5 if athlete is steady and recent else 0)
    page = await _dashboard(client, coach)
    row = _row(page, dropped)
    assert row["compliance_7"]["sessions_due"] >= 1
    assert row["compliance_7"]["value"] == 0.0
    assert row["compliance_30"]["value"] is not None and row["compliance_30"]["value"] < 1.0
    codes = [a["code"] for a in row["attention"]]
    assert "compliance_dropped" in codes and "pain_reported" not in codes
    assert "from 100% (the 30 days before) to 0% (last 7 days)" in next(
        a["message"] for a in row["attention"] if a["code"] == "compliance_dropped")
    row = _row(page, steady)
    assert row["compliance_7"]["value"] == 1.0
    codes = [a["code"] for a in row["attention"]]
    assert "pain_reported" in codes and "compliance_dropped" not in codes
    # Pain of 4+ raised flags the coach has not seen yet.
    assert row["open_flags"] >= 1 and row["unacknowledged_flags"] == row["open_flags"]


async def test_sort_and_pages(client: httpx.AsyncClient, accounts: Accounts,
                              engine: Engine) -> None:
    coach, athletes = await _coach_with(client, accounts, 4)
    now = utcnow()
    for i, athlete in enumerate(athletes[:3]):
        add_clip(engine, athlete["id"], now - timedelta(days=3 + i))
    names = [r["display_name"] for r in (await _dashboard(client, coach, sort="name"))["athletes"]]
    assert names == ["Runner A", "Runner B", "Runner C", "Runner D"]
    page = await _dashboard(client, coach, sort="-name", limit=2, offset=1)
    assert [r["display_name"] for r in page["athletes"]] == ["Runner C", "Runner B"]
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1
    # Latest clip first; an athlete without a clip comes last in either direction.
    page = await _dashboard(client, coach, sort="-last_clip")
    assert [r["display_name"] for r in page["athletes"]] == [
        "Runner A", "Runner B", "Runner C", "Runner D"]
    page = await _dashboard(client, coach, sort="last_clip")
    assert [r["display_name"] for r in page["athletes"]] == [
        "Runner C", "Runner B", "Runner A", "Runner D"]
    page = await _dashboard(client, coach)  # most reasons first: D has no clip
    assert page["athletes"][0]["display_name"] == "Runner D"
    assert (await _dashboard(client, coach, offset=10))["athletes"] == []


async def test_bad_dashboard_params_are_422_with_a_message(client: httpx.AsyncClient,
                                                           accounts: Accounts) -> None:
    coach, _ = await _coach_with(client, accounts, 1)
    resp = await client.get("/api/v1/coach/dashboard", headers=coach["headers"],
                            params={"sort": "shoe_size"})
    assert resp.status_code == 422
    detail = resp.json()["detail"]
    assert "sort" in detail and "'-attention'" in detail and "'compliance_7'" in detail
    for params in ({"limit": 0}, {"limit": 1000}, {"offset": -1}):
        resp = await client.get("/api/v1/coach/dashboard", headers=coach["headers"],
                                params=params)
        assert resp.status_code == 422, params
        assert next(iter(params)) in resp.json()["detail"]


async def test_dashboard_is_a_fixed_number_of_queries(client: httpx.AsyncClient,
                                                      accounts: Accounts,
                                                      engine: Engine) -> None:
    """No N+1: the statements for a roster of 6 are as many as for a roster of 1."""
    counts = []
    for n in (1, 6):
        coach, athletes = await _coach_with(client, accounts, n)
        now = utcnow()
        for athlete in athletes:
            add_clip(engine, athlete["id"], now - timedelta(days=9),
                     faults=[("hip_drop", "mild", 5.0)])
            add_clip(engine, athlete["id"], now - timedelta(days=2),
                     faults=[("hip_drop", "moderate", 7.0)])
            await client.get("/api/v1/plans/current", headers=athlete["headers"])
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any,
                  seen: list[str] = statements) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = await _dashboard(client, coach)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page["total"] == n
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 15, counts


async def test_trends(client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    coach, (athlete,) = await _coach_with(client, accounts, 1)
    other_athlete = await accounts.register("athlete")
    other_coach = await accounts.register("coach")
    now = utcnow()
    first = add_clip(engine, athlete["id"], now - timedelta(days=40),
                     faults=[("hip_drop", "marked", 11.0)], metrics={"pelvic_drop_deg": 11.0})
    add_clip(engine, athlete["id"], now - timedelta(days=20), fit=False,
             metrics={"pelvic_drop_deg": None})
    last = add_clip(engine, athlete["id"], now - timedelta(days=5),
                    faults=[("hip_drop", "mild", 5.5)],
                    metrics={"pelvic_drop_deg": 5.5, "cadence_spm": 172.0})
    start_block(engine, athlete["id"], now.date() - timedelta(days=13))
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    done = [s for s in sessions_of(plan) if s["date"] < str(now.date())]
    await log_session(client, athlete["headers"], done[0], rpe=7, pain=2)

    url = f"/api/v1/athletes/{athlete['id']}/trends"
    for caller in (athlete, coach):
        resp = await client.get(url, headers=caller["headers"], params={"weeks": 8})
        assert resp.status_code == 200, resp.text
    body = resp.json()
    # Only fit analyses: the unfit clip is not a point.
    assert [c["clip_id"] for c in body["clips"]] == [first, last]
    (hip,) = body["faults"]
    assert hip["code"] == "hip_drop" and hip["title"] == "Contralateral hip drop"
    assert [(p["severity"], p["value"]) for p in hip["points"]] == [("marked", 11.0),
                                                                  ("mild", 5.5)]
    metrics = {m["key"]: m for m in body["metrics"]}
    assert [p["value"] for p in metrics["pelvic_drop_deg"]["points"]] == [11.0, 5.5]
    assert [p["value"] for p in metrics["cadence_spm"]["points"]] == [172.0]
    weeks = body["weeks"]
    assert len(weeks) == 8
    # Weeks before the block: nothing due is null, not 100 %.
    assert weeks[0]["compliance"] == {"value": None, "sessions_due": 0}
    assert weeks[0]["mean_rpe"] is None and weeks[0]["max_pain"] is None
    logged = [w for w in weeks if w["sessions_logged"]]
    assert len(logged) == 1 and logged[0]["mean_rpe"] == 7 and logged[0]["max_pain"] == 2
    assert sum(w["compliance"]["sessions_due"] for w in weeks) == len(done)
    assert logged[0]["compliance"]["value"] is not None

    for caller in (other_athlete, other_coach):
        resp = await client.get(url, headers=caller["headers"])
        assert resp.status_code == 404 and resp.json()["detail"]
    resp = await client.get(url, headers=athlete["headers"], params={"weeks": 0})
    assert resp.status_code == 422 and "weeks" in resp.json()["detail"]


async def test_exercise_list(client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach = await accounts.register("coach")
    resp = await client.get("/api/v1/exercises", headers=coach["headers"])
    assert resp.status_code == 200
    body = resp.json()
    assert [e["code"] for e in body] == list(EXERCISES)
    swap = next(e for e in body if e["code"] == "hip_airplane")
    assert swap["levels"][0]["number"] == 1 and swap["name"]


async def test_dashboard_headline_is_the_athletes_diagnosis(client: httpx.AsyncClient,
                                                            accounts: Accounts,
                                                            engine: Engine) -> None:
    """The roster reads, for every athlete at once, the headline the athlete's own
    diagnosis gives (clips.diagnosis.diagnosis_for): views combined, unfit clips ignored."""
    coach, athletes = await _coach_with(client, accounts, 4)
    now = utcnow()
    rear_only, both, side_then_unfit, _none = athletes
    add_clip(engine, rear_only["id"], now - timedelta(days=9),
             faults=[("crossover_gait", "mild", 2.0), ("hip_drop", "moderate", 7.0)])
    add_clip(engine, both["id"], now - timedelta(days=30), faults=[("hip_drop", "marked", 12.0)])
    add_clip(engine, both["id"], now - timedelta(days=5), faults=[("hip_drop", "mild", 4.0)])
    add_clip(engine, both["id"], now - timedelta(days=2), view="side",
             faults=[("overstride", "moderate", 11.0)])
    add_clip(engine, side_then_unfit["id"], now - timedelta(days=4), view="side", faults=[])
    add_clip(engine, side_then_unfit["id"], now - timedelta(days=1), view="side", fit=False)
    page = await _dashboard(client, coach)
    with Session(engine) as session:
        expected = {a["id"]: diagnosis_for(session, a["id"]).headline for a in athletes}
    got = {r["id"]: r["headline"] for r in page["athletes"]}
    assert got[rear_only["id"]] == expected[rear_only["id"]] == (
        "Contralateral hip drop (moderate, left) (+1 more); no side clip yet")
    # The later rear clip wins (mild), the side clip adds its fault: the moderate one leads.
    assert got[both["id"]] == expected[both["id"]] == "Overstride (moderate, left) (+1 more)"
    assert got[side_then_unfit["id"]] == expected[side_then_unfit["id"]] == (
        "No fault needs work; no rear clip yet")
    assert got[_none["id"]] is None
