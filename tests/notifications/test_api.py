"""The notifications API: devices, the feed, preferences; bad input answered with a 4xx that
says what to do."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import User
from backend.notifications import service
from tests.conftest import Accounts

KEYS = {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XV1ZuOXdSnjK"
                  "6mJPyYdKVJQ", "auth": "tBHItJI5svbpez7KI4CCXg"}


def _notify(engine: Engine, user_id: int, kind: service.Kind, title: str) -> int | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        note = service.notify(session, user, kind, title, "body", "/clips/1")
        session.commit()
        return None if note is None else note.id


async def test_devices_subscribe_and_unsubscribe(client: httpx.AsyncClient,
                                                 accounts: Accounts) -> None:
    athlete: dict[str, Any] = await accounts.register("athlete")
    h = athlete["headers"]
    key = (await client.get("/api/v1/push/public-key")).json()["public_key"]
    assert len(key) == 87  # 65 bytes, base64url: an uncompressed P-256 point
    assert (await client.get("/api/v1/push/public-key")).json()["public_key"] == key
    phone = await client.post("/api/v1/push/subscriptions", headers=h, json={
        "endpoint": "https://push.example.com/phone", "keys": KEYS})
    laptop = await client.post("/api/v1/push/subscriptions", headers=h, json={
        "endpoint": "https://push.example.com/laptop", "keys": KEYS})
    assert phone.status_code == laptop.status_code == 201
    # The same browser again: one subscription, its keys updated.
    again = await client.post("/api/v1/push/subscriptions", headers=h, json={
        "endpoint": "https://push.example.com/phone", "keys": KEYS})
    assert again.json()["id"] == phone.json()["id"]
    bad = await client.post("/api/v1/push/subscriptions", headers=h, json={
        "endpoint": "ftp://push.example.com/x", "keys": KEYS})
    assert bad.status_code == 422 and "PushSubscription.toJSON()" in bad.text
    gone = await client.delete(f"/api/v1/push/subscriptions/{phone.json()['id']}", headers=h)
    assert gone.status_code == 204
    again = await client.delete(f"/api/v1/push/subscriptions/{phone.json()['id']}", headers=h)
    assert again.status_code == 404 and "No such push subscription" in again.json()["detail"]


async def test_the_feed_pages_and_marks_read(client: httpx.AsyncClient, accounts: Accounts,
                                            engine: Engine) -> None:
    athlete: dict[str, Any] = await accounts.register("athlete")
    other: dict[str, Any] = await accounts.register("athlete")
    ids = [_notify(engine, athlete["id"], service.Kind.analysis, f"Clip {i}") for i in range(3)]
    h = athlete["headers"]
    page = (await client.get("/api/v1/notifications?limit=2", headers=h)).json()
    assert page["total"] == 3 and page["unread"] == 3 and len(page["items"]) == 2
    assert [i["title"] for i in page["items"]] == ["Clip 2", "Clip 1"]  # newest first
    read = await client.post(f"/api/v1/notifications/{ids[0]}/read", headers=h)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (await client.get("/api/v1/notifications?unread_only=true", headers=h)).json()
    assert unread["total"] == 2 and unread["unread"] == 2
    # Someone else's notification is not there for them.
    stranger = await client.post(f"/api/v1/notifications/{ids[1]}/read",
                                 headers=other["headers"])
    assert stranger.status_code == 404
    assert (await client.post("/api/v1/notifications/read-all", headers=h)).json() == {
        "marked": 2}
    assert (await client.get("/api/v1/notifications", headers=h)).json()["unread"] == 0
    assert (await client.get("/api/v1/notifications?limit=0", headers=h)).status_code == 422


async def test_preferences_turn_kinds_off_and_set_quiet_hours(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    athlete: dict[str, Any] = await accounts.register("athlete")
    h = athlete["headers"]
    prefs = (await client.get("/api/v1/notifications/preferences", headers=h)).json()
    assert prefs["kinds"] == {"weekly_plan": True, "session_day": False, "analysis": True,
                              "coach_change": True}
    assert prefs["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    resp = await client.put("/api/v1/notifications/preferences", headers=h, json={
        "kinds": {"analysis": False, "session_day": True},
        "quiet_hours": {"start": "21:30", "end": "06:45"},
        "weekly_plan_weekday": 0, "weekly_plan_time": "07:15"})
    assert resp.status_code == 200, resp.text
    prefs = resp.json()
    assert prefs["kinds"]["analysis"] is False and prefs["kinds"]["session_day"] is True
    assert prefs["quiet_hours"] == {"start": "21:30:00", "end": "06:45:00"}
    assert prefs["weekly_plan"]["weekday"] == 0 and prefs["weekly_plan"]["time"] == "07:15:00"
    # A kind turned off makes no notification at all.
    assert _notify(engine, athlete["id"], service.Kind.analysis, "Clip") is None
    assert (await client.get("/api/v1/notifications", headers=h)).json()["total"] == 0
    off = await client.put("/api/v1/notifications/preferences", headers=h,
                           json={"no_quiet_hours": True})
    assert off.json()["quiet_hours"] is None
    unknown = await client.put("/api/v1/notifications/preferences", headers=h,
                               json={"kinds": {"coach_digest": False}})
    assert unknown.status_code == 422 and "weekly_plan" in unknown.json()["detail"]
    empty = await client.put("/api/v1/notifications/preferences", headers=h,
                             json={"quiet_hours": {"start": "22:00", "end": "22:00"}})
    assert empty.status_code == 422 and "different times" in empty.json()["detail"]


async def test_a_coach_has_the_coach_kinds_and_no_weekly_plan(
        client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach: dict[str, Any] = await accounts.register("coach")
    h = coach["headers"]
    prefs = (await client.get("/api/v1/notifications/preferences", headers=h)).json()
    assert set(prefs["kinds"]) == {"athlete_clip", "athlete_pain", "athlete_not_100",
                                   "coach_digest"}
    assert prefs["weekly_plan"] is None
    off = await client.put("/api/v1/notifications/preferences", headers=h,
                           json={"kinds": {"coach_digest": False}})
    assert off.status_code == 200 and off.json()["kinds"]["coach_digest"] is False
    weekly = await client.put("/api/v1/notifications/preferences", headers=h,
                              json={"weekly_plan_weekday": 1})
    assert weekly.status_code == 422 and "Only athletes" in weekly.json()["detail"]
