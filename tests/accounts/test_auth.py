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
    expired = jwt.encode({"sub": str(user["id"]), "sid": "0" * 32, "typ": "access",
                          "iat": past, "exp": past + timedelta(minutes=1)}, settings.jwt_secret,
                         algorithm="HS256")
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"
    forged = jwt.encode({"sub": str(user["id"]), "sid": "0" * 32, "typ": "access",
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


async def test_nul_characters_are_refused_before_the_database(client: httpx.AsyncClient,
                                                               accounts: Accounts) -> None:
    """PostgreSQL refuses a NUL in text: found by tests/api/test_fuzz.py as a database
    refusal after the route ran. Now a validation error naming the field, on both
    databases, and nothing stored changes."""
    resp = await client.post("/api/v1/auth/register", json={
        "email": "nul@example.com", "password": "a-long-enough-passphrase",
        "display_name": "A\x00B"})
    assert resp.status_code == 422
    assert "display_name" in resp.json()["detail"] and "NUL" in resp.json()["detail"]
    athlete = await accounts.register("athlete")
    await client.put("/api/v1/users/me/profile", headers=athlete["headers"],
                     json={"injuries": ["ITB 2024"]})
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"],
                            json={"injuries": ["knee\x00"], "weekly_volume_km": 50})
    assert resp.status_code == 422 and "injuries" in resp.json()["detail"]
    profile = (await client.get("/api/v1/users/me/profile", headers=athlete["headers"])).json()
    assert profile["injuries"] == ["ITB 2024"] and profile["weekly_volume_km"] != 50
    # No account has a NUL in its email: the usual answer, not a database error.
    resp = await client.post("/api/v1/auth/token",
                             data={"username": "x\x00@example.com", "password": "whatever-pass"})
    assert resp.status_code == 401 and resp.json()["code"] == "bad_credentials"


async def test_blank_names_long_injuries_and_offset_times_are_refused(
        client: httpx.AsyncClient, accounts: Accounts) -> None:
    resp = await client.post("/api/v1/auth/register", json={
        "email": "blank@example.com", "password": "a-long-enough-passphrase",
        "display_name": "   "})
    assert resp.status_code == 422 and "display_name" in resp.json()["detail"]
    athlete = await accounts.register("athlete")
    for bad, field in (({"injuries": ["x" * 101]}, "injuries"),
                       ({"notify_time": "07:30:00+02:00"}, "notify_time")):
        resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json=bad)
        assert resp.status_code == 422, resp.text
        assert field in resp.json()["detail"]
    profile = (await client.get("/api/v1/users/me/profile", headers=athlete["headers"])).json()
    assert profile["notify_time"] == "18:00:00"


async def test_notify_time_is_documented_as_a_local_time(client: httpx.AsyncClient) -> None:
    """JSON Schema's "time" format is RFC 3339's, which needs an offset: the fuzzer's
    response-schema check refused "18:00:00". The document now says what is sent."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    documented = schemas["ProfilePublic"]["properties"]["notify_time"]
    assert "format" not in documented
    assert documented["pattern"] and "no offset" in documented["description"]
