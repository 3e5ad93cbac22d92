"""The plans API end to end: creation, logging and adaptation, coach edits, the ICS feed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import User
from backend.training import service
from tests.conftest import Accounts

HIP_DROP_AND_ARMS_REPORT: dict[str, Any] = {
    "schema_version": 1,
    "faults": [
        {"code": "hip_drop", "severity": "moderate", "side": "left", "confidence": 0.8},
        {"code": "crossover_gait", "severity": "mild", "side": None, "confidence": 0.7},
        {"code": "arm_crossover", "severity": "moderate", "side": "right", "confidence": 0.75},
    ],
    "chain": [
        {"link": "posterior_oblique_sling", "confidence": 0.7,
         "reasoning": "Arms cross the midline while the feet cross over."},
        {"link": "activation", "confidence": 0.6, "reasoning": "Hip drop without knee collapse."},
    ],
}


async def _onboarded_athlete(client: httpx.AsyncClient, accounts: Accounts,
                             equipment: list[str] | None = None) -> dict[str, Any]:
    athlete = await accounts.register("athlete")
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
        "running_background": "intermediate", "weekly_volume_km": 30,
        "equipment": equipment or ["dumbbells"], "strength_days": [0, 2, 4],
        "time_zone": "Europe/London"})
    assert resp.status_code == 200, resp.text
    return athlete


async def _coach_of(client: httpx.AsyncClient, accounts: Accounts,
                    athlete: dict[str, Any]) -> dict[str, Any]:
    coach = await accounts.register("coach")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    assert (await client.post(f"/api/v1/invites/{code}/accept",
                              headers=athlete["headers"])).status_code == 200
    return coach


def _first_session(plan: dict[str, Any]) -> dict[str, Any]:
    return plan["weeks"][0]["sessions"][0]


async def test_plan_exists_after_onboarding(client: httpx.AsyncClient,
                                            accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    resp = await client.get("/api/v1/plans/current", headers=athlete["headers"])
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    assert 4 <= len(plan["weeks"]) <= 8
    assert plan["version"] == 1 and plan["kind"] == "onboarding"
    assert plan["cue_of_week"]["text"]
    codes = {e["code"] for w in plan["weeks"] for s in w["sessions"] for e in s["exercises"]}
    assert {"power_raise", "single_leg_deadlift", "hip_airplane"} <= codes
    session = _first_session(plan)
    assert date.fromisoformat(session["date"]).weekday() in (0, 2, 4)
    ex = session["exercises"][0]
    for key in ("code", "level", "sets", "reps", "tempo", "load_guidance", "cues"):
        assert key in ex
    assert plan["weeks"][-1]["film_again"]
    # Saving the same answers again does not churn the plan.
    await client.put("/api/v1/users/me/profile", headers=athlete["headers"],
                     json={"weekly_volume_km": 30})
    again = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert again["plan_id"] == plan["plan_id"] and again["version"] == 1


async def test_athlete_without_onboarding_still_gets_a_plan(client: httpx.AsyncClient,
                                                            accounts: Accounts) -> None:
    athlete = await accounts.register("athlete")
    resp = await client.get("/api/v1/plans/current", headers=athlete["headers"])
    assert resp.status_code == 200
    days = {date.fromisoformat(s["date"]).weekday()
            for w in resp.json()["weeks"] for s in w["sessions"]}
    assert days == {0, 2, 4}


async def test_end_to_end_analysis_pain_and_calendar(client: httpx.AsyncClient,
                                                     accounts: Accounts,
                                                     engine: Engine) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    coach = await _coach_of(client, accounts, athlete)

    link = (await client.post("/api/v1/plans/calendar", headers=athlete["headers"])).json()
    ics_before = Calendar.from_ical((await client.get(link["url"])).content)
    uids_before = {str(e["UID"]) for e in ics_before.walk("VEVENT")}
    assert uids_before

    # An analysis with hip drop and arms across the midline lands.
    with Session(engine) as db:
        user = db.get(User, athlete["id"])
        assert user is not None
        stored = service.on_analysis(db, user, HIP_DROP_AND_ARMS_REPORT,
                                     recorded_at=date.today())
        assert stored is not None and stored.kind == "new_analysis", stored
        db.commit()

    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert plan["version"] == 2
    emphasis_faults = {f for e in plan["emphasis"] for f in e["faults"]}
    assert {"hip_drop", "arm_crossover"} <= emphasis_faults
    assert plan["cue_of_week"]["fault"] in {"hip_drop", "crossover_gait", "arm_crossover"}
    all_cues = " ".join(c for w in plan["weeks"] for s in w["sessions"]
                        for e in s["exercises"] for c in e["cues"]).lower()
    assert "opposite" in " ".join(e["reason"] for e in plan["emphasis"]).lower() or \
        "opposite" in all_cues

    # Pain on one exercise: that exercise goes down a level, and the coach is flagged.
    session = next(s for w in plan["weeks"] for s in w["sessions"]
                   if date.fromisoformat(s["date"]) >= date.today())
    painful = next(e for e in session["exercises"] if e["code"] == "single_leg_deadlift")
    later = next(s for w in plan["weeks"] for s in w["sessions"]
                 if s["date"] > session["date"]
                 and any(e["code"] == "single_leg_deadlift" for e in s["exercises"]))
    level_before = next(e["level"] for e in later["exercises"]
                        if e["code"] == "single_leg_deadlift")
    body = {"rpe": 7, "exercises": [
        {"code": e["code"], "pain": 6 if e["code"] == "single_leg_deadlift" else 0,
         "sets": [{"reps": e["reps"], "hold_s": e["hold_s"]}] * e["sets"]}
        for e in session["exercises"]]}
    resp = await client.post(f"/api/v1/sessions/{session['id']}/log",
                             headers=athlete["headers"], json=body)
    assert resp.status_code == 200, resp.text
    change = resp.json()
    assert change["changed"] and change["version"] == 3
    assert any(f["code"] == "pain" for f in change["coach_flags"])

    plan3 = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    later3 = next(s for w in plan3["weeks"] for s in w["sessions"] if s["id"] == later["id"])
    level_after = next(e["level"] for e in later3["exercises"]
                       if e["code"] == "single_leg_deadlift")
    if level_before > 1:
        assert level_after == level_before - 1
    else:
        assert level_after == 1
    assert painful["level"] >= level_after
    logged = next(s for w in plan3["weeks"] for s in w["sessions"] if s["id"] == session["id"])
    assert logged["logged"]

    flags = (await client.get(f"/api/v1/coach/athletes/{athlete['id']}/flags",
                              headers=coach["headers"])).json()
    assert any(f["code"] == "pain" and f["exercise_code"] == "single_leg_deadlift"
               for f in flags)

    versions = (await client.get("/api/v1/plans/current/versions",
                                 headers=athlete["headers"])).json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert all(v["reason"] for v in versions)
    old = (await client.get("/api/v1/plans/current/versions/1",
                            headers=athlete["headers"])).json()
    assert old["version"] == 1

    # The calendar changes in place: same UIDs, new content for the changed session.
    ics_after = Calendar.from_ical((await client.get(link["url"])).content)
    after = {str(e["UID"]): e for e in ics_after.walk("VEVENT")}
    assert set(after) == uids_before
    before = {str(e["UID"]): e for e in ics_before.walk("VEVENT")}
    changed = [uid for uid in after
               if after[uid].get("DESCRIPTION") != before[uid].get("DESCRIPTION")]
    assert changed
    assert any(int(after[uid].get("SEQUENCE", 0)) > int(before[uid].get("SEQUENCE", 0))
               for uid in changed)


async def test_logging_validation(client: httpx.AsyncClient, accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    session = _first_session(plan)
    resp = await client.post("/api/v1/sessions/w99-s9/log", headers=athlete["headers"],
                             json={"rpe": 5})
    assert resp.status_code == 404 and "No session" in resp.json()["detail"]
    resp = await client.post(f"/api/v1/sessions/{session['id']}/log",
                             headers=athlete["headers"], json={"rpe": 11})
    assert resp.status_code == 422
    ex = session["exercises"][0]
    resp = await client.post(f"/api/v1/sessions/{session['id']}/log", headers=athlete["headers"],
                             json={"rpe": 5, "exercises": [
                                 {"code": ex["code"], "sets": [{"reps": 1}] * 30}]})
    assert resp.status_code == 422
    resp = await client.post(f"/api/v1/sessions/{session['id']}/log", headers=athlete["headers"],
                             json={"rpe": 5, "exercises": [{"code": "bench_press"}]})
    assert resp.status_code == 422 and "bench_press" in resp.json()["detail"]
    # Nothing was stored by the rejected logs.
    again = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert again["version"] == plan["version"]
    assert not _first_session(again)["logged"]


async def test_feeling_lightens_next_days(client: httpx.AsyncClient, accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    resp = await client.post("/api/v1/plans/current/feeling", headers=athlete["headers"],
                             json={"not_100": True})
    assert resp.status_code == 200
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    lightened = [s for w in plan["weeks"] for s in w["sessions"] if s["lightened"]]
    if resp.json()["changed"]:
        assert lightened
        assert all(date.fromisoformat(s["date"]) <= date.today() + timedelta(days=7)
                   for s in lightened)
    else:
        # No session falls within the next days (e.g. a plan starting later in the week).
        assert not lightened


async def test_coach_edits_are_versioned_and_visible(client: httpx.AsyncClient,
                                                     accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    coach = await _coach_of(client, accounts, athlete)
    stranger = await accounts.register("coach")
    base = f"/api/v1/coach/athletes/{athlete['id']}"
    resp = await client.post(f"{base}/plan/cues", headers=coach["headers"],
                             json={"text": "Quiet feet on landing"})
    assert resp.status_code == 200 and resp.json()["changed"], resp.text
    resp = await client.post(f"{base}/plan/notes", headers=coach["headers"],
                             json={"text": "Go easy after Sunday's race"})
    assert resp.status_code == 200 and resp.json()["changed"]
    resp = await client.post(f"{base}/plan/level", headers=coach["headers"],
                             json={"exercise_code": "hip_airplane", "to_level": 1})
    assert resp.status_code == 200
    resp = await client.post(f"{base}/plan/swap", headers=coach["headers"],
                             json={"from_code": "hip_airplane", "to_code": "no_such_exercise"})
    assert resp.status_code == 422 and resp.json()["detail"]
    resp = await client.post(f"{base}/plan/cues", headers=stranger["headers"],
                             json={"text": "Not my athlete"})
    assert resp.status_code == 404

    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    text = str(plan)
    assert "Quiet feet on landing" in text
    assert "Go easy after Sunday's race" in text
    versions = (await client.get("/api/v1/plans/current/versions",
                                 headers=athlete["headers"])).json()
    assert any(v["created_by_id"] == coach["id"] for v in versions)
    coach_view = (await client.get(f"{base}/plan", headers=coach["headers"])).json()
    assert coach_view["version"] == plan["version"]


async def test_calendar_token_regeneration(client: httpx.AsyncClient,
                                           accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    first = (await client.post("/api/v1/plans/calendar", headers=athlete["headers"])).json()
    same = (await client.post("/api/v1/plans/calendar", headers=athlete["headers"])).json()
    assert first["token"] == same["token"]
    resp = await client.get(first["url"])
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/calendar")
    new = (await client.post("/api/v1/plans/calendar?regenerate=true",
                             headers=athlete["headers"])).json()
    assert new["token"] != first["token"]
    assert (await client.get(first["url"])).status_code == 404
    assert (await client.get(new["url"])).status_code == 200


async def test_compliance(client: httpx.AsyncClient, accounts: Accounts) -> None:
    athlete = await _onboarded_athlete(client, accounts)
    resp = await client.get("/api/v1/plans/current/compliance", headers=athlete["headers"])
    assert resp.status_code == 200
    body = resp.json()
    # Issue 13: nothing due read 1.0 / 1.0 / 1.0. Nothing due is null, with the count.
    assert set(body) == {"days_7", "days_30", "days_90", "sessions_due_7", "sessions_due_30",
                         "sessions_due_90"}
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    today = datetime.now(ZoneInfo("Europe/London")).date()
    due = [s for w in plan["weeks"] for s in w["sessions"]
           if date.fromisoformat(s["date"]) < today]
    if not due:  # a block that starts today: nothing was due yet
        assert body["days_7"] is None and body["sessions_due_7"] == 0


def test_missed_weeks_repeat_once(engine: Engine) -> None:
    from backend.accounts.models import Role
    from backend.accounts.service import create_user

    with Session(engine) as db:
        user = create_user(db, email="miss@example.com", password="a-long-enough-passphrase",
                           role=Role.athlete, display_name="Miss")
        row = service.ensure_plan(db, user)
        from backend import planner

        plan = planner.Plan.from_dict(row.data)
        after_week_one = plan.weeks[0].end + timedelta(days=1)
        stored = service.reconcile_missed_weeks(db, user, after_week_one)
        assert len(stored) == 1 and stored[0].kind == "missed_sessions"
        assert "missed" in stored[0].reason
        assert service.reconcile_missed_weeks(db, user, after_week_one) == []
        flags = service.coach_flags(db, user.pk)
        assert [f.code for f in flags] == ["missed_sessions"]
        db.commit()


async def test_text_and_numbers_the_database_cannot_hold(client: httpx.AsyncClient,
                                                         accounts: Accounts) -> None:
    """Found by tests/api/test_fuzz.py on PostgreSQL: a NUL in a coach's cue or note, or in a
    calendar token, and a plan version past 32 bits, were refused by the database after the
    route ran. Now validation answers, and the plan keeps its version."""
    athlete = await _onboarded_athlete(client, accounts)
    coach = await _coach_of(client, accounts, athlete)
    base = f"/api/v1/coach/athletes/{athlete['id']}"
    before = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    for path in ("plan/cues", "plan/notes"):
        resp = await client.post(f"{base}/{path}", headers=coach["headers"],
                                 json={"text": "Run\x00 tall"})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_input", resp.text
        assert "text" in resp.json()["detail"] and "NUL" in resp.json()["detail"]
    after = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert after["version"] == before["version"]
    resp = await client.get("/api/v1/calendar/%00.ics")
    assert resp.status_code == 404 and resp.json()["code"] == "calendar_not_found"
    for version in (2**31, 2**63, 0):
        resp = await client.get(f"/api/v1/plans/current/versions/{version}",
                                headers=athlete["headers"])
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_input", resp.text


async def test_log_dates_must_be_real(client: httpx.AsyncClient, accounts: Accounts) -> None:
    """A session logged in year 9999 or year 1 was stored as it came. Now a day ahead of the
    profile's time zone (a phone travelling east) and up to a week before the plan (started
    early) count; anything further is refused and nothing is stored."""
    athlete = await _onboarded_athlete(client, accounts)
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    session = _first_session(plan)
    today = datetime.now(ZoneInfo("Europe/London")).date()  # the profile's zone
    block_start = date.fromisoformat(plan["weeks"][0]["start"])
    refused = ((today + timedelta(days=2), "logged_on_in_future"),
               (date(9999, 12, 31), "logged_on_in_future"),
               (block_start - timedelta(days=8), "logged_on_before_plan"),
               (date(1, 1, 1), "logged_on_before_plan"))
    for day, code in refused:
        resp = await client.post(f"/api/v1/sessions/{session['id']}/log",
                                 headers=athlete["headers"],
                                 json={"rpe": 5, "logged_on": day.isoformat()})
        assert resp.status_code == 422 and resp.json()["code"] == code, (day, resp.text)
        assert "logged_on" in resp.json()["detail"]
    again = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert not _first_session(again)["logged"]
    for day in (today + timedelta(days=1), block_start - timedelta(days=7)):
        resp = await client.post(f"/api/v1/sessions/{session['id']}/log",
                                 headers=athlete["headers"],
                                 json={"rpe": 5, "logged_on": day.isoformat()})
        assert resp.status_code == 200, (day, resp.text)
