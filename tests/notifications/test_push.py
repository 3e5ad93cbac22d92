"""Web Push against a real push endpoint on loopback: the VAPID signature checked, the
payload decrypted and read; the feed and the push are one record; gone devices are forgotten;
a busy push service is retried with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.accounts.models import User
from backend.core.config import Settings
from backend.core.time import utcnow
from backend.notifications import service
from backend.notifications.models import Notification, PushSubscription
from backend.notifications.tasks import send_weekly_plans
from tests.conftest import Accounts
from tests.notifications.push_service import BrowserKeys, PushService, b64url, verify_vapid

ZONE = "Europe/Berlin"


async def athlete_due_now(client: httpx.AsyncClient, accounts: Accounts) -> dict[str, Any]:
    """An onboarded athlete whose weekly moment (midnight of today, their time) has passed."""
    athlete = await accounts.register("athlete")
    today = datetime.now(ZoneInfo(ZONE))
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
        "running_background": "intermediate", "weekly_volume_km": 30,
        "equipment": ["dumbbells"], "strength_days": [0, 2, 4], "time_zone": ZONE,
        "notify_weekday": today.weekday(), "notify_time": "00:00"})
    assert resp.status_code == 200, resp.text
    return athlete


async def subscribe(client: httpx.AsyncClient, athlete: dict[str, Any], endpoint: str,
                    keys: BrowserKeys) -> None:
    resp = await client.post("/api/v1/push/subscriptions", headers=athlete["headers"], json={
        "endpoint": endpoint, "expirationTime": None,
        "keys": {"p256dh": keys.p256dh, "auth": b64url(keys.auth)}})
    assert resp.status_code == 201, resp.text


async def test_the_weekly_plan_reaches_a_real_push_endpoint_signed_and_encrypted(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        settings: Settings) -> None:
    athlete = await athlete_due_now(client, accounts)
    keys = BrowserKeys()
    with PushService() as vendor:
        await subscribe(client, athlete, vendor.endpoint("phone"), keys)
        assert send_weekly_plans(engine) == 1
        with Session(engine) as session:
            sweep = service.push_due(session, settings)
        assert sweep.sent == 1, sweep
        assert len(vendor.received) == 1
        got = vendor.received[0]
    assert got.path == "/push/phone"
    assert got.headers["content-encoding"] == "aes128gcm"
    assert int(got.headers["ttl"]) > 0
    public_key = (await client.get("/api/v1/push/public-key")).json()["public_key"]
    claims = verify_vapid(got.headers["authorization"], public_key, vendor.origin)
    assert claims["sub"] == settings.vapid_subject
    assert claims["exp"] > utcnow().timestamp()
    pushed = keys.decrypt(got.body)
    # The plan summary: this week's strength sessions and the cue of the week.
    assert pushed["title"].startswith("This week: ") and "strength session" in pushed["title"]
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    cues = {w["cue_of_week"]["text"] for w in plan["weeks"]}
    assert any(f"Cue of the week: {cue}" in pushed["body"] for cue in cues), pushed["body"]
    assert "Power raise L" in pushed["body"]
    assert pushed["kind"] == "weekly_plan" and pushed["url"] == "/plan"
    # The feed and the push are the same record.
    feed = (await client.get("/api/v1/notifications", headers=athlete["headers"])).json()
    assert feed["total"] == 1 and feed["unread"] == 1
    item = feed["items"][0]
    assert (item["id"], item["title"], item["body"], item["url"]) == (
        pushed["id"], pushed["title"], pushed["body"], pushed["url"])
    assert item["push_state"] == "sent"
    # A second sweep pushes nothing again.
    with PushService() as other, Session(engine) as session:
        assert service.push_due(session, settings).sent == 0 and not other.received


async def test_a_gone_subscription_is_removed_and_the_feed_keeps_the_notification(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        settings: Settings) -> None:
    athlete = await athlete_due_now(client, accounts)
    with PushService() as vendor:
        vendor.statuses = [410]
        await subscribe(client, athlete, vendor.endpoint("old-laptop"), BrowserKeys())
        send_weekly_plans(engine)
        with Session(engine) as session:
            sweep = service.push_due(session, settings)
            assert sweep.subscriptions_removed == 1 and sweep.no_device == 1
            assert session.exec(select(PushSubscription)).all() == []
        assert len(vendor.received) == 1
    feed = (await client.get("/api/v1/notifications", headers=athlete["headers"])).json()
    assert feed["total"] == 1 and feed["items"][0]["push_state"] == "no_device"


@pytest.mark.parametrize("status", [429, 503])
async def test_a_busy_push_service_is_retried_with_backoff(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine, settings: Settings,
        status: int) -> None:
    athlete = await athlete_due_now(client, accounts)
    keys = BrowserKeys()
    with PushService() as vendor:
        vendor.statuses = [status]
        await subscribe(client, athlete, vendor.endpoint("phone"), keys)
        send_weekly_plans(engine)
        now = utcnow()
        with Session(engine) as session:
            assert service.push_due(session, settings, now).retried == 1
            note = session.exec(select(Notification)).one()
            assert note.push_state == "pending" and note.push_after is not None
            # 429 says Retry-After: 60; a 5xx gets the first backoff step.
            assert note.push_after - now >= timedelta(seconds=30)
            # Not before its time ...
            assert service.push_due(session, settings, now + timedelta(seconds=5)).sent == 0
            # ... then delivered.
            later = note.push_after + timedelta(seconds=1)
            assert service.push_due(session, settings, later).sent == 1
        assert len(vendor.received) == 2
        assert keys.decrypt(vendor.received[1].body)["kind"] == "weekly_plan"
    # The subscription survives a busy service.
    with Session(engine) as session:
        assert len(session.exec(select(PushSubscription)).all()) == 1


async def test_an_unreachable_push_service_is_retried_then_given_up(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        settings: Settings) -> None:
    athlete = await athlete_due_now(client, accounts)
    with PushService() as vendor:
        endpoint = vendor.endpoint("phone")
    # The service is gone: connections are refused.
    await subscribe(client, athlete, endpoint, BrowserKeys())
    send_weekly_plans(engine)
    now = utcnow()
    with Session(engine) as session:
        for _ in range(service.PUSH_MAX_ATTEMPTS):
            service.push_due(session, settings, now)
            note = session.exec(select(Notification)).one()
            now = (note.push_after or now) + timedelta(seconds=1)
        assert note.push_state == "failed" and note.push_attempts == service.PUSH_MAX_ATTEMPTS
    feed = (await client.get("/api/v1/notifications", headers=athlete["headers"])).json()
    assert feed["items"][0]["push_state"] == "failed"


async def test_quiet_hours_hold_a_push_until_morning(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    athlete = await accounts.register("athlete")
    with Session(engine) as session:
        user = session.get(User, athlete["id"])
        assert user is not None
        service.update_preferences(session, user, quiet_start=time(22, 0),
                                   quiet_end=time(7, 0))
        # 23:30 in UTC (the account's zone): held until 07:00 the next morning.
        at = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
        note = service.notify(session, user, service.Kind.analysis, "Your clip is analysed",
                              "2 faults found.", "/clips/1", now=at)
        assert note is not None and note.push_after == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
        # Out of the quiet hours: at once.
        note = service.notify(session, user, service.Kind.analysis, "t", "b", "/clips/2",
                              now=datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
        assert note is not None and note.push_after is None
        session.commit()
