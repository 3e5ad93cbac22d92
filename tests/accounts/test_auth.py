"""Registration, login, tokens, throttling and onboarding through the real API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt

from backend.core.config import Settings
from tests.conftest import Accounts


async def test_register_login_and_me(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/register", json={
        "email": "Runner@Example.com", "password": "correct horse battery",
        "role": "athlete", "display_name": "Rita"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["email"] == "runner@example.com"
    assert body["role"] == "athlete"
    assert "password" not in str(body).lower()

    resp = await client.post("/api/v1/auth/token",
                             data={"username": "runner@example.com",
                                   "password": "correct horse battery"})
    assert resp.status_code == 200
    token = resp.json()
    assert token["token_type"] == "bearer" and token["access_token"]

    resp = await client.get("/api/v1/users/me",
                            headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == 200
    assert resp.json()["id"] == body["id"]


async def test_me_without_token_is_401_with_message(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/users/me")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert "log in" in resp.json()["detail"].lower()


async def test_garbage_and_expired_tokens_are_401(client: httpx.AsyncClient,
                                                  accounts: Accounts,
                                                  settings: Settings) -> None:
    resp = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_token"
    user = await accounts.register()
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = jwt.encode({"sub": str(user["id"]), "typ": "access", "iat": past,
                          "exp": past + timedelta(minutes=1)}, settings.jwt_secret,
                         algorithm="HS256")
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"
    forged = jwt.encode({"sub": str(user["id"]), "typ": "access",
                         "exp": datetime.now(UTC) + timedelta(hours=1)},
                        "some-other-secret-that-is-long-enough", algorithm="HS256")
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    body = {"email": "dup@example.com", "password": "correct horse battery",
            "role": "coach", "display_name": "C"}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    resp = await client.post("/api/v1/auth/register", json={**body, "email": "DUP@example.com"})
    assert resp.status_code == 409
    assert "already exists" in resp.json()["detail"]


async def test_password_policy(client: httpx.AsyncClient) -> None:
    for password, fragment in (("short", "too short"), ("password123", "too easy"),
                               ("aaaaaaaaaaaa", "too easy")):
        resp = await client.post("/api/v1/auth/register", json={
            "email": "p@example.com", "password": password, "role": "athlete",
            "display_name": "P"})
        assert resp.status_code == 422, password
        assert fragment in resp.json()["detail"].lower()


async def test_admin_role_cannot_be_self_assigned(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/register", json={
        "email": "boss@example.com", "password": "correct horse battery", "role": "admin",
        "display_name": "Boss"})
    assert resp.status_code == 422
    assert "role" in resp.json()["detail"]


async def test_bad_json_gives_readable_422(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/register", content=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("Invalid request")


async def test_wrong_password_then_rate_limited(client: httpx.AsyncClient,
                                                accounts: Accounts,
                                                settings: Settings) -> None:
    user = await accounts.register()
    for _ in range(settings.login_max_failures):
        resp = await client.post("/api/v1/auth/token",
                                 data={"username": user["email"], "password": "wrong-password!"})
        assert resp.status_code == 401
        assert resp.json()["detail"] == "Wrong email or password."
    resp = await client.post("/api/v1/auth/token",
                             data={"username": user["email"], "password": user["password"]})
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) > 0
    assert "try again" in resp.json()["detail"]


async def test_unknown_email_gives_same_message(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/token",
                             data={"username": "nobody@example.com", "password": "whatever-pass"})
    assert resp.status_code == 401
    assert resp.json()["detail"] == "Wrong email or password."


async def test_onboarding_profile(client: httpx.AsyncClient, accounts: Accounts) -> None:
    athlete = await accounts.register("athlete")
    resp = await client.get("/api/v1/users/me/profile", headers=athlete["headers"])
    assert resp.status_code == 200
    assert resp.json()["strength_days"] == [0, 2, 4]
    assert resp.json()["onboarded_at"] is None
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
        "running_background": "advanced", "weekly_volume_km": 60, "injuries": ["ITB 2024"],
        "equipment": ["dumbbells", "kettlebell"], "strength_days": [3, 1],
        "time_zone": "Europe/Berlin", "notify_weekday": 0, "notify_time": "07:30:00"})
    assert resp.status_code == 200, resp.text
    profile = resp.json()
    assert profile["strength_days"] == [1, 3]
    assert profile["equipment"] == ["dumbbells", "kettlebell"]
    assert profile["onboarded_at"] is not None
    assert profile["notify_time"] == "07:30:00"
    for bad in ({"strength_days": [1]}, {"time_zone": "Mars/Olympus"},
                {"equipment": ["barbell"]}, {"weekly_volume_km": -3}):
        resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json=bad)
        assert resp.status_code == 422, bad
        assert resp.json()["detail"]
    # Nothing stored was lost by the rejected updates.
    resp = await client.get("/api/v1/users/me/profile", headers=athlete["headers"])
    assert resp.json()["time_zone"] == "Europe/Berlin"


async def test_coach_has_no_athlete_profile(client: httpx.AsyncClient, accounts: Accounts) -> None:
    coach = await accounts.register("coach")
    resp = await client.get("/api/v1/users/me/profile", headers=coach["headers"])
    assert resp.status_code == 403
    assert resp.json()["code"] == "athlete_only"
