"""Logins that can end: short-lived access tokens renewed with a rotating refresh token;
logout, a password change, a reset and an admin disabling the account revoke them; a stolen
refresh token used twice ends its login; register and reset requests are rate limited."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import Role
from backend.accounts.service import create_user
from backend.api.app import create_app
from backend.core.config import Settings
from tests.conftest import Accounts

PASSWORD = "a-long-enough-passphrase"


async def _login(client: httpx.AsyncClient, email: str, password: str = PASSWORD
                 ) -> dict[str, Any]:
    resp = await client.post("/api/v1/auth/token", data={"username": email,
                                                          "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _h(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _me(client: httpx.AsyncClient, tokens: dict[str, Any]) -> httpx.Response:
    return await client.get("/api/v1/users/me", headers=_h(tokens))


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(
        client: httpx.AsyncClient, accounts: Accounts, settings: Settings) -> None:
    user = await accounts.register("athlete")
    first = await _login(client, user["email"])
    assert first["expires_in"] == settings.access_token_expire_minutes * 60 == 1800
    assert first["refresh_expires_in"] == 30 * 86400
    second = (await client.post("/api/v1/auth/refresh",
                                json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await _me(client, second)).status_code == 200
    # The old refresh token again: copied by someone. The login ends for both holders.
    stolen = await client.post("/api/v1/auth/refresh",
                               json={"refresh_token": first["refresh_token"]})
    assert stolen.status_code == 401 and "log in again" in stolen.json()["detail"]
    assert (await _me(client, second)).status_code == 401
    again = await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401
    bogus = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40})
    assert bogus.status_code == 401


async def test_logout_ends_this_login_only(client: httpx.AsyncClient,
                                           accounts: Accounts) -> None:
    user = await accounts.register("athlete")
    phone, laptop = await _login(client, user["email"]), await _login(client, user["email"])
    assert (await client.post("/api/v1/auth/logout", headers=_h(phone))).status_code == 204
    gone = await _me(client, phone)
    assert gone.status_code == 401 and gone.json()["code"] == "session_revoked"
    refresh = await client.post("/api/v1/auth/refresh",
                                json={"refresh_token": phone["refresh_token"]})
    assert refresh.status_code == 401
    assert (await _me(client, laptop)).status_code == 200


async def test_a_password_change_ends_every_other_login(client: httpx.AsyncClient,
                                                        accounts: Accounts) -> None:
    user = await accounts.register("coach")
    here, elsewhere = await _login(client, user["email"]), await _login(client, user["email"])
    wrong = await client.post("/api/v1/users/me/password", headers=_h(here), json={
        "current_password": "not-the-password", "new_password": "a-brand-new-passphrase"})
    assert wrong.status_code == 422 and "current password is wrong" in wrong.json()["detail"]
    weak = await client.post("/api/v1/users/me/password", headers=_h(here), json={
        "current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422
    ok = await client.post("/api/v1/users/me/password", headers=_h(here), json={
        "current_password": PASSWORD, "new_password": "a-brand-new-passphrase"})
    assert ok.status_code == 204
    assert (await _me(client, here)).status_code == 200
    assert (await _me(client, elsewhere)).status_code == 401
    old = await client.post("/api/v1/auth/token", data={"username": user["email"],
                                                         "password": PASSWORD})
    assert old.status_code == 401
    await _login(client, user["email"], "a-brand-new-passphrase")


async def test_an_admin_disabling_an_account_ends_its_logins(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    user = await accounts.register("athlete")
    tokens = await _login(client, user["email"])
    with Session(engine) as session:
        create_user(session, email="root@example.com", password="admin-pass-phrase-1",
                    role=Role.admin, display_name="Admin")
        session.commit()
    admin = await _login(client, "root@example.com", "admin-pass-phrase-1")
    off = await client.patch(f"/api/v1/admin/users/{user['id']}", headers=_h(admin),
                             json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (await _me(client, tokens)).status_code == 401
    assert (await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    login = await client.post("/api/v1/auth/token", data={"username": user["email"],
                                                           "password": PASSWORD})
    assert login.status_code == 401
    on = await client.patch(f"/api/v1/admin/users/{user['id']}", headers=_h(admin),
                            json={"is_active": True})
    assert on.status_code == 200
    await _login(client, user["email"])
    me = (await _me(client, admin)).json()
    self_off = await client.patch(f"/api/v1/admin/users/{me['id']}", headers=_h(admin),
                                  json={"is_active": False})
    assert self_off.status_code == 422
    missing = await client.patch("/api/v1/admin/users/999999", headers=_h(admin),
                                 json={"is_active": False})
    assert missing.status_code == 404


async def test_a_password_reset_by_email(client: httpx.AsyncClient, accounts: Accounts,
                                         settings: Settings) -> None:
    user = await accounts.register("athlete")
    before = await _login(client, user["email"])
    outbox = settings.resolved_data_dir / "outbox"
    unknown = await client.post("/api/v1/auth/password-reset",
                                json={"email": "nobody@example.com"})
    known = await client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
    # The same answer either way: the endpoint does not tell which emails have accounts.
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == 1
    mail = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    assert mail["To"] == user["email"]
    body = mail.get_body()
    assert body is not None
    text = body.get_content()
    match = re.search(r"reset-password#token=([A-Za-z0-9_\-]+)", text)
    assert match is not None
    token = match.group(1)
    done = await client.post("/api/v1/auth/password-reset/confirm",
                             json={"token": token, "new_password": "reset-to-this-phrase"})
    assert done.status_code == 204
    assert (await _me(client, before)).status_code == 401  # every login ended
    reused = await client.post("/api/v1/auth/password-reset/confirm",
                               json={"token": token, "new_password": "and-again-this-one"})
    assert reused.status_code == 422 and "invalid, used or expired" in reused.json()["detail"]
    await _login(client, user["email"], "reset-to-this-phrase")


async def test_register_and_reset_requests_are_rate_limited(tmp_path: Path, engine: Engine,
                                                           settings: Settings) -> None:
    limited = settings.model_copy(update={"register_max_per_hour": 2})
    app: FastAPI = create_app(limited, engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        for i in range(2):
            resp = await client.post("/api/v1/auth/register", json={
                "email": f"r{i}@example.com", "password": PASSWORD, "display_name": "R"})
            assert resp.status_code == 201
        third = await client.post("/api/v1/auth/register", json={
            "email": "r3@example.com", "password": PASSWORD, "display_name": "R"})
        assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
        assert "try again in" in third.json()["detail"]


async def test_password_and_account_changes_are_audited(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    from backend.core.audit import events_about

    user = await accounts.register("athlete")
    tokens = await _login(client, user["email"])
    await client.post("/api/v1/users/me/password", headers=_h(tokens), json={
        "current_password": PASSWORD, "new_password": "a-brand-new-passphrase"})
    with Session(engine) as session:
        create_user(session, email="auditor@example.com", password="admin-pass-phrase-1",
                    role=Role.admin, display_name="Admin")
        session.commit()
    admin = await _login(client, "auditor@example.com", "admin-pass-phrase-1")
    await client.patch(f"/api/v1/admin/users/{user['id']}", headers=_h(admin),
                       json={"is_active": False})
    with Session(engine) as session:
        events = [(e.action, e.actor_id == user["id"]) for e in events_about(session, user["id"])]
    assert events == [("account_disabled", False), ("password_changed", True)]
