"""What is worth a notification lands in the right feed: the athlete hears of their clip's
analysis and of the coach's changes; the coach hears of clips, pain of 4 or more and "not
feeling 100 %"."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.notifications import reactions
from tests.conftest import Accounts


async def _pair(client: httpx.AsyncClient, accounts: Accounts) -> tuple[dict[str, Any],
                                                                        dict[str, Any]]:
    athlete = await accounts.register("athlete", name="Ana Runner")
    coach = await accounts.register("coach", name="Carla")
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    resp = await client.post(f"/api/v1/invites/{code}/accept", headers=athlete["headers"])
    assert resp.status_code == 200
    return athlete, coach


async def _feed(client: httpx.AsyncClient, who: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(
        "/api/v1/notifications", headers=who["headers"])).json()["items"]
    return items


async def test_each_event_reaches_the_right_person(client: httpx.AsyncClient,
                                                   accounts: Accounts, engine: Engine) -> None:
    athlete, coach = await _pair(client, accounts)
    with Session(engine) as session:
        reactions.analysis_done(session, athlete["id"], 7, fit=False,
                                headline="The feet leave the frame: step back.")
        # The same event twice (a job run again) notifies once.
        reactions.analysis_done(session, athlete["id"], 7, fit=False,
                                headline="The feet leave the frame: step back.")
        reactions.coach_changed_plan(session, athlete["id"], coach["id"],
                                     "Swapped hip airplane for a clamshell.")
        assert reactions.pain_reported(session, athlete["id"], 3, "Single-leg deadlift") is None
        reactions.pain_reported(session, athlete["id"], 6, "Single-leg deadlift")
        reactions.not_feeling_100(session, athlete["id"], "Tomorrow's session was lightened.")
        session.commit()
    mine = await _feed(client, athlete)
    assert [(n["kind"], n["title"]) for n in mine] == [
        ("coach_change", "Carla updated your plan"),
        ("analysis", "Your clip could not be analysed")]
    assert mine[1]["body"] == "The feet leave the frame: step back."
    assert mine[1]["url"] == "/clips/7"
    theirs = await _feed(client, coach)
    assert [(n["kind"], n["title"]) for n in theirs] == [
        ("athlete_not_100", "Ana Runner is not feeling 100 %"),
        ("athlete_pain", "Ana Runner reported pain 6/10"),
        ("athlete_clip", "Ana Runner filmed a clip")]


async def test_an_athlete_without_a_coach_tells_nobody(client: httpx.AsyncClient,
                                                      accounts: Accounts, engine: Engine) -> None:
    athlete = await accounts.register("athlete")
    with Session(engine) as session:
        assert reactions.pain_reported(session, athlete["id"], 8, "Power raise") is None
        notes = reactions.analysis_done(session, athlete["id"], 3, fit=True,
                                        headline="Cadence 172 steps/min; no fault.")
        assert [n.kind for n in notes] == ["analysis"]
        session.commit()
