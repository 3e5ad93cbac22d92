"""The weekly plan notification comes once per athlete per ISO week at the athlete's own
weekday and local time: across time zones, over daylight-saving changes, and however many
times the scheduler restarts or runs at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine, create_engine
from sqlmodel import Session, col, select

from backend.notifications.models import Notification
from backend.notifications.tasks import send_weekly_plans
from tests.conftest import Accounts

STEP = timedelta(minutes=15)


async def _athlete(client: httpx.AsyncClient, accounts: Accounts, zone: str, weekday: int,
                   at: str) -> dict[str, Any]:
    athlete = await accounts.register("athlete")
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
        "running_background": "intermediate", "weekly_volume_km": 30,
        "equipment": ["none"], "strength_days": [1, 3], "time_zone": zone,
        "notify_weekday": weekday, "notify_time": at})
    assert resp.status_code == 200, resp.text
    return athlete


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _weekly(engine: Engine) -> dict[int, list[tuple[str | None, datetime]]]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(
            Notification.kind == "weekly_plan").order_by(col(Notification.created_at))).all()
    out: dict[int, list[tuple[str | None, datetime]]] = {}
    for n in rows:
        out.setdefault(n.user_id, []).append((n.dedupe_key, n.created_at))
    return out


async def test_each_athlete_gets_one_weekly_notification_at_their_local_time_across_dst(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    # Sunday 02:30 does not exist on the nights the clocks go forward (New York 2027-03-14,
    # Berlin 2027-03-28): it comes at the first local time after, 03:00.
    new_york = await _athlete(client, accounts, "America/New_York", 6, "02:30")
    berlin = await _athlete(client, accounts, "Europe/Berlin", 6, "02:30")
    tokyo = await _athlete(client, accounts, "Asia/Tokyo", 4, "21:30")
    expected = {
        new_york["id"]: [("weekly_plan:2027-W10", _utc(2027, 3, 14, 7, 0)),  # 03:00 EDT
                         ("weekly_plan:2027-W11", _utc(2027, 3, 21, 6, 30)),  # 02:30 EDT
                         ("weekly_plan:2027-W12", _utc(2027, 3, 28, 6, 30))],
        berlin["id"]: [("weekly_plan:2027-W10", _utc(2027, 3, 14, 1, 30)),  # 02:30 CET
                       ("weekly_plan:2027-W11", _utc(2027, 3, 21, 1, 30)),
                       ("weekly_plan:2027-W12", _utc(2027, 3, 28, 1, 0))],  # 03:00 CEST
        tokyo["id"]: [("weekly_plan:2027-W10", _utc(2027, 3, 12, 12, 30)),
                      ("weekly_plan:2027-W11", _utc(2027, 3, 19, 12, 30)),
                      ("weekly_plan:2027-W12", _utc(2027, 3, 26, 12, 30))],
    }
    # From Tuesday of ISO week 10: the moments of week 9 are more than a day old (a day is
    # the catch-up for a missed moment), so the first notifications are week 10's.
    now = _utc(2027, 3, 9, 0, 0)
    restarted = False
    while now < _utc(2027, 3, 29, 0, 0):
        send_weekly_plans(engine, now)
        if not restarted and now >= _utc(2027, 3, 21, 7, 0):
            # The scheduler restarts (a new process, a new connection pool) and runs again
            # at once: nothing is sent twice.
            fresh = create_engine(engine.url)
            try:
                assert send_weekly_plans(fresh, now) == 0
            finally:
                fresh.dispose()
            restarted = True
        now += STEP
    assert _weekly(engine) == expected


async def test_two_schedulers_at_once_send_one_notification(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    athlete = await _athlete(client, accounts, "Europe/London", 0, "07:00")
    moment = _utc(2027, 1, 4, 7, 5)  # Monday 07:05 in London (GMT)
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def run() -> None:
        barrier.wait()
        counts.append(send_weekly_plans(engine, moment))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 1
    assert [k for k, _ in _weekly(engine)[athlete["id"]]] == ["weekly_plan:2027-W01"]


async def test_a_week_without_the_moment_reached_sends_nothing(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    await _athlete(client, accounts, "Asia/Tokyo", 6, "20:00")
    # Sunday 19:59 in Tokyo: not yet.
    assert send_weekly_plans(engine, _utc(2027, 1, 10, 10, 59)) == 0
    assert send_weekly_plans(engine, _utc(2027, 1, 10, 11, 0)) == 1


async def test_a_missed_moment_is_caught_up_within_a_day_not_later(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    await _athlete(client, accounts, "UTC", 0, "08:00")
    # The service was down on Monday 08:00; back at 20:00: the week's notification comes.
    assert send_weekly_plans(engine, _utc(2027, 1, 4, 20, 0)) == 1
    other = await _athlete(client, accounts, "UTC", 0, "08:00")
    # Joined on Wednesday: nothing until next Monday 08:00.
    assert send_weekly_plans(engine, _utc(2027, 1, 6, 12, 0)) == 0
    assert send_weekly_plans(engine, _utc(2027, 1, 11, 8, 0)) == 2
    assert [k for k, _ in _weekly(engine)[other["id"]]] == ["weekly_plan:2027-W02"]


async def test_session_day_reminders_come_on_session_mornings_to_those_who_want_them(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    from datetime import date, time

    from backend.notifications.tasks import send_session_day_reminders

    athlete = await _athlete(client, accounts, "UTC", 0, "08:00")
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    first = plan["weeks"][0]["sessions"][0]
    day = date.fromisoformat(first["date"])
    morning = datetime.combine(day, time(7, 5), tzinfo=UTC)
    # Off by default.
    assert send_session_day_reminders(engine, morning) == 0
    resp = await client.put("/api/v1/notifications/preferences", headers=athlete["headers"],
                            json={"kinds": {"session_day": True}, "no_quiet_hours": True})
    assert resp.status_code == 200
    assert send_session_day_reminders(engine, morning - timedelta(minutes=10)) == 0  # 06:55
    assert send_session_day_reminders(engine, morning) == 1
    assert send_session_day_reminders(engine, morning + timedelta(hours=1)) == 0  # once
    rest_day = day + timedelta(days=1)
    assert not any(s["date"] == rest_day.isoformat() for w in plan["weeks"]
                   for s in w["sessions"])
    assert send_session_day_reminders(
        engine, datetime.combine(rest_day, time(7, 5), tzinfo=UTC)) == 0
    feed = (await client.get("/api/v1/notifications", headers=athlete["headers"])).json()
    assert [n["title"] for n in feed["items"]] == ["Strength session today"]
    assert "Cue of the week: " in feed["items"][0]["body"]


async def test_the_coach_digest_comes_monday_morning_once_and_can_be_turned_off(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    from backend.accounts.models import User
    from backend.notifications.tasks import send_coach_digests

    carla = await accounts.register("coach", name="Carla")
    dario = await accounts.register("coach", name="Dario")
    off = await client.put("/api/v1/notifications/preferences", headers=dario["headers"],
                           json={"kinds": {"coach_digest": False}})
    assert off.status_code == 200
    asked: list[int] = []

    def attention(session: Session, coach: User) -> list[tuple[str, list[str]]]:
        asked.append(coach.pk)
        return [("Ana", ["pain reported", "no clip for six weeks"]),
                ("Ben", ["a fault got worse"])]

    sunday = _utc(2027, 1, 10, 20, 0)
    monday = _utc(2027, 1, 11, 8, 0)  # 08:00 UTC, the coaches' zone
    assert send_coach_digests(engine, sunday, attention) == 0
    assert send_coach_digests(engine, monday, attention) == 1  # Dario turned it off
    assert send_coach_digests(engine, monday + timedelta(hours=2), attention) == 0
    feed = (await client.get("/api/v1/notifications", headers=carla["headers"])).json()
    assert [n["title"] for n in feed["items"]] == ["2 athletes need your attention"]
    assert feed["items"][0]["body"] == (
        "Ana: pain reported, no clip for six weeks; Ben: a fault got worse.")
    assert (await client.get("/api/v1/notifications",
                             headers=dario["headers"])).json()["total"] == 0
