"""Authorization matrix: every endpoint, called by each role and by strangers.

The expected outcome of every (route, caller) pair is written down below; a route added without
an entry fails the test, so nobody can ship an endpoint whose access rules were not decided.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts import sessions
from backend.accounts.models import Role, User
from backend.accounts.service import create_user
from backend.core.config import Settings
from backend.notifications import service as notifications
from backend.training.models import CoachFlagEntry
from tests.clips.media import make_clip
from tests.clips.seed import seed_analysed_clip
from tests.conftest import Accounts

CALLERS = ("anonymous", "athlete", "other_athlete", "coach", "other_coach", "admin")


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    content: bytes | None = None
    upload: bool = False  # a multipart clip upload (a real, valid clip)


PUBLIC = frozenset(CALLERS)
ANY_USER = frozenset(CALLERS) - {"anonymous"}
ATHLETES = frozenset({"athlete", "other_athlete"})
COACHES = frozenset({"coach", "other_coach"})
# A clip: its athlete, and the athlete's own coach (to look at the clip with them).
CLIP_READERS = frozenset({"athlete", "coach"})
TUS = {"Tus-Resumable": "1.0.0"}
UPLOAD_METADATA = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                           {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}.items())

MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(PUBLIC),
    ("POST", "/api/v1/auth/register"): Rule(PUBLIC),
    ("POST", "/api/v1/auth/token"): Rule(PUBLIC),
    ("GET", "/api/v1/users/me"): Rule(ANY_USER),
    ("GET", "/api/v1/users/me/profile"): Rule(ATHLETES),
    ("PUT", "/api/v1/users/me/profile"): Rule(ATHLETES, body={"weekly_volume_km": 30}),
    ("GET", "/api/v1/users/me/coach"): Rule(frozenset({"athlete"})),
    ("DELETE", "/api/v1/users/me/coach"): Rule(frozenset({"athlete"})),
    ("POST", "/api/v1/coach/invites"): Rule(COACHES),
    ("GET", "/api/v1/coach/athletes"): Rule(COACHES),
    # Only the athlete's own coach reaches the athlete.
    ("GET", "/api/v1/coach/athletes/{athlete_id}"): Rule(frozenset({"coach"})),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/profile"): Rule(frozenset({"coach"})),
    # Any athlete holding a valid code may accept it: the code is the credential.
    ("POST", "/api/v1/invites/{code}/accept"): Rule(ATHLETES),
    ("GET", "/api/v1/admin/users"): Rule(frozenset({"admin"})),
    ("PATCH", "/api/v1/admin/users/{user_id}"): Rule(frozenset({"admin"}),
                                                    body={"is_active": True}),
    # Login sessions: a refresh or reset token is the credential, whoever holds it; logging
    # out and changing the password are anyone's own (run last: logout ends the caller's
    # login).
    ("POST", "/api/v1/auth/refresh"): Rule(PUBLIC),
    ("POST", "/api/v1/auth/logout"): Rule(ANY_USER),
    ("POST", "/api/v1/auth/password-reset"): Rule(PUBLIC, body={"email": "nobody@example.com"}),
    ("POST", "/api/v1/auth/password-reset/confirm"): Rule(PUBLIC),
    ("POST", "/api/v1/users/me/password"): Rule(ANY_USER),
    # Plans: athletes reach their own plan; "/me"-style routes cannot name someone else's.
    ("GET", "/api/v1/plans/current"): Rule(ATHLETES),
    ("GET", "/api/v1/plans/current/versions"): Rule(ATHLETES),
    ("GET", "/api/v1/plans/current/versions/{version}"): Rule(ATHLETES),
    ("GET", "/api/v1/plans/current/compliance"): Rule(ATHLETES),
    ("POST", "/api/v1/plans/current/feeling"): Rule(ATHLETES, body={"not_100": True}),
    ("POST", "/api/v1/plans/calendar"): Rule(ATHLETES),
    ("POST", "/api/v1/sessions/{session_id}/log"): Rule(ATHLETES, body={"rpe": 5}),
    # The feed's secret token is the credential (calendar apps cannot send a bearer token):
    # whoever holds it reads the feed; a wrong or revoked token is a 404
    # (tests/training/test_plans_api.py::test_calendar_token_regeneration).
    ("GET", "/api/v1/calendar/{token}.ics"): Rule(PUBLIC),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/plan"): Rule(frozenset({"coach"})),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/plan/versions"): Rule(frozenset({"coach"})),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/flags"): Rule(frozenset({"coach"})),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/compliance"): Rule(frozenset({"coach"})),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/plan/swap"): Rule(
        frozenset({"coach"}), body={"from_code": "hip_airplane", "to_code": "arm_swing_drill"}),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/plan/level"): Rule(
        frozenset({"coach"}), body={"exercise_code": "power_raise", "to_level": 1}),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/plan/cues"): Rule(
        frozenset({"coach"}), body={"text": "Run tall"}),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/plan/notes"): Rule(
        frozenset({"coach"}), body={"text": "Nice work"}),
    # Clips: athletes upload and list their own; a clip is reached by id by its athlete and
    # their coach only; changing or deleting it is the athlete's alone.
    ("POST", "/api/v1/clips"): Rule(ATHLETES, upload=True),
    ("GET", "/api/v1/clips"): Rule(ATHLETES),
    ("GET", "/api/v1/clips/{clip_id}"): Rule(CLIP_READERS),
    ("GET", "/api/v1/clips/{clip_id}/events"): Rule(CLIP_READERS),
    ("GET", "/api/v1/clips/{clip_id}/report"): Rule(CLIP_READERS),
    ("GET", "/api/v1/clips/{clip_id}/video"): Rule(CLIP_READERS),
    ("GET", "/api/v1/clips/{clip_id}/overlay"): Rule(CLIP_READERS),
    ("GET", "/api/v1/clips/{clip_id}/keyframes/{name}"): Rule(CLIP_READERS),
    ("DELETE", "/api/v1/clips/{clip_id}"): Rule(frozenset({"athlete"})),
    # Giving a slow-motion clip's capture rate (which analyses it again) is the athlete's
    # alone. The value the clip already has (none), so the seeded clip is not sent back to
    # the queue (its event stream, called by the matrix too, ends only with its job).
    ("PATCH", "/api/v1/clips/{clip_id}"): Rule(frozenset({"athlete"}),
                                               body={"capture_fps": None}),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/clips"): Rule(frozenset({"coach"})),
    # Issue 13: the diagnosis, the re-test and new blocks: the athlete's own, and their coach.
    ("GET", "/api/v1/diagnosis"): Rule(ATHLETES),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/diagnosis"): Rule(frozenset({"coach"})),
    ("GET", "/api/v1/plans/current/retest"): Rule(ATHLETES),
    ("GET", "/api/v1/coach/athletes/{athlete_id}/plan/retest"): Rule(frozenset({"coach"})),
    ("POST", "/api/v1/plans/blocks"): Rule(ATHLETES),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/plan/blocks"): Rule(frozenset({"coach"})),
    # Every account exports its own data ("/me": nobody else's can be named).
    ("GET", "/api/v1/users/me/export"): Rule(ANY_USER),
    # Resumable uploads (tus): athletes create them; an upload is its creator's alone.
    # OPTIONS is tus discovery (versions, extensions, size limit), for those who may upload;
    # a browser's CORS preflight never reaches it (the CORS middleware answers that).
    ("OPTIONS", "/api/v1/uploads/"): Rule(ATHLETES, headers=TUS),
    ("POST", "/api/v1/uploads"): Rule(ATHLETES, headers={
        **TUS, "Upload-Length": "1000", "Upload-Metadata": UPLOAD_METADATA}),
    ("GET", "/api/v1/uploads/{uuid}"): Rule(frozenset({"athlete"})),
    ("HEAD", "/api/v1/uploads/{uuid}"): Rule(frozenset({"athlete"}), headers=TUS),
    ("PATCH", "/api/v1/uploads/{uuid}"): Rule(frozenset({"athlete"}), headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=b"x" * 100),
    ("DELETE", "/api/v1/uploads/{uuid}"): Rule(frozenset({"athlete"}), headers=TUS),
    # Notifications: everyone has their own feed, devices and preferences; a notification or
    # a subscription is reached by its owner alone. The VAPID key is public by design.
    ("GET", "/api/v1/push/public-key"): Rule(PUBLIC),
    ("POST", "/api/v1/push/subscriptions"): Rule(ANY_USER, body={
        "endpoint": "https://push.example.com/send/matrix",
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1X"
                           "V1ZuOXdSnjK6mJPyYdKVJQ", "auth": "tBHItJI5svbpez7KI4CCXg"}}),
    ("DELETE", "/api/v1/push/subscriptions/{subscription_id}"): Rule(frozenset({"athlete"})),
    ("GET", "/api/v1/notifications"): Rule(ANY_USER),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Rule(frozenset({"athlete"})),
    ("POST", "/api/v1/notifications/read-all"): Rule(ANY_USER),
    ("GET", "/api/v1/notifications/preferences"): Rule(ANY_USER),
    ("PUT", "/api/v1/notifications/preferences"): Rule(ANY_USER, body={"no_quiet_hours": True}),
    # Issue 13: invites listed and revoked by their coach (each coach sees only their own:
    # another coach's code is a 404); flags worked through by the athlete's own coach.
    ("GET", "/api/v1/coach/invites"): Rule(COACHES),
    ("DELETE", "/api/v1/coach/invites/{invite_code}"): Rule(frozenset({"coach"})),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/flags/{flag_id}/acknowledge"): Rule(
        frozenset({"coach"})),
    ("POST", "/api/v1/coach/athletes/{athlete_id}/flags/{flag_id}/resolve"): Rule(
        frozenset({"coach"})),
    ("DELETE", "/api/v1/coach/athletes/{athlete_id}/plan/notes/{note_id}"): Rule(
        frozenset({"coach"})),
    # Trends: the athlete themself and their coach; the dashboard: any coach (their own
    # roster); the exercise list: anyone logged in (coaches choosing swaps, athletes reading).
    ("GET", "/api/v1/athletes/{athlete_id}/trends"): Rule(CLIP_READERS),
    ("GET", "/api/v1/coach/dashboard"): Rule(COACHES),
    ("GET", "/api/v1/exercises"): Rule(ANY_USER),
}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the API offers, read from its OpenAPI document."""
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items()
            for method in ops]


def test_every_route_has_a_rule(app: FastAPI) -> None:
    missing = sorted(set(api_routes(app)) - set(MATRIX))
    assert not missing, f"routes without an authorization rule: {missing}"
    stale = sorted(set(MATRIX) - set(api_routes(app)))
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def valid_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real clip that passes the probe (small frames: the matrix never analyses it)."""
    return make_clip(tmp_path_factory.mktemp("matrix") / "run.mp4", seconds=3.2, fps=30,
                     size=(90, 160))


@pytest.fixture
async def world(client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> dict[str, Any]:
    callers: dict[str, Any] = {"anonymous": {"headers": {}}}
    for name in ("athlete", "other_athlete"):
        callers[name] = await accounts.register("athlete", name=name)
    for name in ("coach", "other_coach"):
        callers[name] = await accounts.register("coach", name=name)
    with Session(engine) as session:
        create_user(session, email="admin@example.com", password="admin-pass-phrase-1",
                    role=Role.admin, display_name="Admin")
        session.commit()
    token = await accounts.login("admin@example.com", "admin-pass-phrase-1")
    callers["admin"] = {"headers": {"Authorization": f"Bearer {token}"}}
    return callers


async def _link(client: httpx.AsyncClient, world: dict[str, Any]) -> str:
    """Make `coach` the coach of `athlete`; return a fresh unused invite code."""
    resp = await client.post("/api/v1/coach/invites", headers=world["coach"]["headers"])
    await client.post(f"/api/v1/invites/{resp.json()['code']}/accept",
                      headers=world["athlete"]["headers"])
    fresh = await client.post("/api/v1/coach/invites", headers=world["coach"]["headers"])
    return str(fresh.json()["code"])


def _seed_flag(engine: Engine, athlete_id: int) -> int:
    with Session(engine) as session:
        flag = CoachFlagEntry(athlete_id=athlete_id, code="pain", message="Pain 5/10.",
                              plan_version=1)
        session.add(flag)
        session.commit()
        assert flag.id is not None
        return flag.id


async def _new_upload(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    resp = await client.post("/api/v1/uploads", headers={
        **headers, **TUS, "Upload-Length": "1000", "Upload-Metadata": UPLOAD_METADATA})
    assert resp.status_code == 201, resp.text
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.parametrize("caller", CALLERS)
async def test_matrix(client: httpx.AsyncClient, world: dict[str, Any], caller: str,
                      app: FastAPI, engine: Engine, settings: Settings, valid_clip: Path,
                      tmp_path: Path) -> None:
    code = await _link(client, world)
    plan = (await client.get("/api/v1/plans/current", headers=world["athlete"]["headers"])).json()
    # Another athlete's session and version must not be reachable through these paths.
    feed = (await client.post("/api/v1/plans/calendar", headers=world["athlete"]["headers"])).json()
    # The athlete's analysed clip and unfinished resumable upload.
    seeded = seed_analysed_clip(engine, settings, int(world["athlete"]["id"]), tmp_path)
    upload_id = await _new_upload(client, world["athlete"]["headers"])
    # An unused invite of `coach` to revoke, and an open flag of the athlete to work through.
    revocable = (await client.post("/api/v1/coach/invites",
                                   headers=world["coach"]["headers"])).json()["code"]
    flag_id = _seed_flag(engine, int(world["athlete"]["id"]))
    noted = await client.post(f"/api/v1/coach/athletes/{world['athlete']['id']}/plan/notes",
                              headers=world["coach"]["headers"], json={"text": "Easy week"})
    assert noted.status_code == 200, noted.text
    device = await client.post("/api/v1/push/subscriptions", headers=world["athlete"]["headers"],
                               json=MATRIX[("POST", "/api/v1/push/subscriptions")].body)
    with Session(engine) as session:
        athlete_user = session.get(User, int(world["athlete"]["id"]))
        assert athlete_user is not None
        note = notifications.notify(session, athlete_user, notifications.Kind.analysis,
                                    "Your clip is analysed", "No fault found.", "/clips/1")
        assert note is not None
        session.commit()
        notification_id = note.id
    # Credentials that are tokens in a body: a login's refresh token, a password reset's.
    refresh_token = (await client.post("/api/v1/auth/token", data={
        "username": "admin@example.com", "password": "admin-pass-phrase-1"})).json()[
        "refresh_token"]
    with Session(engine) as session:
        # Of an account outside the callers: the reset ends that account's logins.
        create_user(session, email="reset-target@example.com", password="a-long-passphrase-3",
                    role=Role.athlete, display_name="Reset target")
        found = sessions.start_password_reset(session, "reset-target@example.com")
        assert found is not None
        reset_token = found[1]
        session.commit()
    params = {"subscription_id": str(device.json()["id"]), "user_id": str(world["athlete"]["id"]),
              "notification_id": str(notification_id),
              "athlete_id": str(world["athlete"]["id"]), "code": code,
              "session_id": plan["weeks"][0]["sessions"][0]["id"], "version": "1",
              "token": feed["token"], "clip_id": str(seeded.clip_id), "name": seeded.keyframe,
              "uuid": upload_id, "invite_code": revocable, "flag_id": str(flag_id),
              "note_id": str(noted.json()["version"])}
    failures = []
    # Routes that change the links run last, so they do not change what the others see; a
    # note is deleted before a new block (which starts without the old block's notes).
    def order(route: tuple[str, str]) -> tuple[bool, ...]:
        method, path = route
        deletes_note = path.endswith("/plan/notes/{note_id}")
        return (path == "/api/v1/auth/logout",
                (method == "DELETE" and not deletes_note) or "accept" in path,
                "accept" in path, "/blocks" in path)

    ordered = sorted(MATRIX.items(), key=lambda kv: order(kv[0]))
    for (method, path), rule in ordered:
        url = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)
        kwargs: dict[str, Any] = {"headers": world[caller]["headers"]}
        if path == "/api/v1/auth/register":
            kwargs["json"] = {"email": f"new-{caller}@example.com",
                              "password": "a-long-enough-passphrase", "role": "athlete",
                              "display_name": "New"}
        elif path == "/api/v1/auth/token":
            kwargs["data"] = {"username": "admin@example.com", "password": "admin-pass-phrase-1"}
        elif path == "/api/v1/auth/refresh":
            kwargs["json"] = {"refresh_token": refresh_token}
        elif path == "/api/v1/auth/password-reset/confirm":
            kwargs["json"] = {"token": reset_token, "new_password": "a-new-long-passphrase-9"}
        elif path == "/api/v1/users/me/password":
            current = world[caller].get("password", "admin-pass-phrase-1")
            kwargs["json"] = {"current_password": current,
                              "new_password": "another-long-passphrase-7"}
        elif rule.body is not None:
            kwargs["json"] = rule.body
        elif rule.upload:
            kwargs["files"] = {"file": ("run.mp4", valid_clip.read_bytes(), "video/mp4")}
            kwargs["data"] = {"view": "rear"}
        if rule.headers:
            kwargs["headers"] = {**kwargs["headers"], **rule.headers}
        if rule.content is not None:
            kwargs["content"] = rule.content
        resp = await client.request(method, url, **kwargs)
        allowed = caller in rule.allowed
        reached = resp.status_code < 400
        if allowed != reached:
            failures.append(f"{method} {path} as {caller}: {resp.status_code} {resp.text[:120]}")
        if not allowed:
            expected = {401} if caller == "anonymous" else {403, 404}
            if resp.status_code not in expected:
                failures.append(f"{method} {path} as {caller}: denied with {resp.status_code}, "
                                f"expected one of {sorted(expected)}")
        if not reached and method != "HEAD":  # a HEAD answer has no body
            assert resp.json().get("detail"), f"{method} {path}: error without a message"
    assert not failures, "\n".join(failures)
