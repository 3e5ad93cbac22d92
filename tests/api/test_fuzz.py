"""Property-based fuzzing of the whole API from its OpenAPI document: no input is a 5xx.

Schemathesis generates requests for every operation (valid ones, and invalid ones: wrong
types, values out of bounds, missing fields, odd strings with NUL bytes and emoji) and sends
them in-process to the ASGI app, as an athlete, as that athlete's coach, as an admin and
anonymously.
Path parameters are often the ids of real rows (the athlete's clip with its report, plan
session, calendar token, upload, invite code), so the fuzzer gets past the 404s, and one pass
puts a NUL in every string. Each response must not be a server error and must match the
documented response schema; an error must be the standard body ({"detail", "code"}) and come
from the route's validation, not from the database refusing the value.

Bounded and deterministic for CI: few examples per operation, derandomized (the same
examples on every run), on SQLite and PostgreSQL (PostgreSQL refuses NUL bytes in text,
which SQLite stores: the fuzzer must run there too).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import Role, User
from backend.accounts.service import create_user
from backend.core.config import Settings
from backend.notifications import service as notifications
from backend.training.models import CoachFlagEntry
from tests.clips.seed import seed_analysed_clip

# Examples per operation and role, over the three passes: ~45 operations x 4 roles x 2
# databases in about 40 s. A one-off run with 80 found nothing more.
MAX_EXAMPLES = 16

# Not fuzzed:
# - GET /clips/{id}/events is a server-sent event stream that only ends when the clip's job
#   ends; a clip whose job is queued would hold the stream open (tests/clips cover it).
# - PATCH /uploads/{uuid} appends the raw request body to a tus upload; the generator cannot
#   produce a body (the operation documents none), and its header checks are tested in
#   tests/clips/test_tus.py.
# Operations that must answer 2xx at least once: the seeded rows and the tokens work (most
# operations are one role's: anonymous reaches only the public ones, and of those the health
# check and the calendar feed for sure; whether a generated registration passes the password
# rules depends on the examples, which Hypothesis seeds with constants from the source, so a
# new module can shift them. Registration is tested in tests/accounts).
MIN_SUCCEEDING = {"athlete": 24, "coach": 18, "admin": 6, "anonymous": 2}
EXCLUDED = {("GET", "/api/v1/clips/{clip_id}/events"), ("PATCH", "/api/v1/uploads/{uuid}")}

PASSWORD = "a-long-enough-passphrase"
TUS = {"Tus-Resumable": "1.0.0"}
UPLOAD_METADATA = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                           {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear"}.items())


def _ok(resp: Any, expected: int = 200) -> Any:
    assert resp.status_code == expected, f"{resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def _account(client: asgi.ASGIClient, role: str, engine: Engine) -> dict[str, str]:
    email = f"fuzz-{role}@example.com"
    if role == "admin":  # not open to registration
        with Session(engine) as session:
            create_user(session, email=email, password=PASSWORD, role=Role.admin,
                        display_name="Fuzz admin")
            session.commit()
    else:
        _ok(client.post("/api/v1/auth/register", json={
            "email": email, "password": PASSWORD, "role": role,
            "display_name": f"Fuzz {role}"}), 201)
    token = _ok(client.post("/api/v1/auth/token",
                            data={"username": email, "password": PASSWORD}))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _seed_flag(engine: Engine, athlete_id: int) -> int:
    """An open flag of the athlete, for the coach's acknowledge and resolve."""
    with Session(engine) as session:
        flag = CoachFlagEntry(athlete_id=athlete_id, code="pain", message="Pain 5/10.",
                              plan_version=1)
        session.add(flag)
        session.commit()
        assert flag.id is not None
        return flag.id


def seed_world(client: asgi.ASGIClient, engine: Engine, settings: Settings,
               work: Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """An athlete with a plan, a calendar feed, an analysed clip and an unfinished upload, and
    their coach; the headers of each role and real values for every path parameter."""
    athlete = _account(client, "athlete", engine)
    coach = _account(client, "coach", engine)
    admin = _account(client, "admin", engine)
    me = _ok(client.get("/api/v1/users/me", headers=athlete))
    code = _ok(client.post("/api/v1/coach/invites", headers=coach), 201)["code"]
    _ok(client.post(f"/api/v1/invites/{code}/accept", headers=athlete))
    fresh_code = _ok(client.post("/api/v1/coach/invites", headers=coach), 201)["code"]
    plan = _ok(client.get("/api/v1/plans/current", headers=athlete))
    feed = _ok(client.post("/api/v1/plans/calendar", headers=athlete))
    seeded = seed_analysed_clip(engine, settings, int(me["id"]), work)
    upload = client.post("/api/v1/uploads", headers={
        **athlete, **TUS, "Upload-Length": "1000", "Upload-Metadata": UPLOAD_METADATA})
    assert upload.status_code == 201, upload.text
    device = _ok(client.post("/api/v1/push/subscriptions", headers=athlete, json={
        "endpoint": "https://push.example.com/send/fuzz",
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1X"
                           "V1ZuOXdSnjK6mJPyYdKVJQ", "auth": "tBHItJI5svbpez7KI4CCXg"}}), 201)
    with Session(engine) as session:
        user = session.get(User, int(me["id"]))
        assert user is not None
        note = notifications.notify(session, user, notifications.Kind.analysis,
                                    "Your clip is analysed", "No fault found.", "/clips/1")
        assert note is not None
        session.commit()
        notification_id = str(note.id)
    params = {"subscription_id": str(device["id"]), "notification_id": notification_id,
              "user_id": str(me["id"]),
              "athlete_id": str(me["id"]), "code": fresh_code,
              "session_id": plan["weeks"][0]["sessions"][0]["id"], "version": "1",
              "token": feed["token"], "clip_id": str(seeded.clip_id), "name": seeded.keyframe,
              "uuid": upload.headers["Location"].rstrip("/").rsplit("/", 1)[-1],
              "invite_code": _ok(client.post("/api/v1/coach/invites", headers=coach),
                                 201)["code"],
              "flag_id": str(_seed_flag(engine, int(me["id"]))),
              "note_id": str(_ok(client.post(
                  f"/api/v1/coach/athletes/{me['id']}/plan/notes", headers=coach,
                  json={"text": "Easy week"}))["version"])}
    return {"athlete": athlete, "coach": coach, "admin": admin, "anonymous": {}}, params


# The error handler's safety net for values the database refused after the route ran: a
# fuzzer's input reaching it means a route did not validate that input itself.
SAFETY_NET_CODES = {"value_out_of_range", "nul_character"}


def clear_error(response: Any, case: Case) -> None:
    """A refusal is the standard error body, saying what is wrong; and the request was
    refused by validation, not by the database."""
    if response.status_code < 400:
        return
    if case.method.upper() == "HEAD":
        return  # a HEAD answer has no body
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], (
        f"{response.status_code} without a message: {response.text[:300]}")
    assert isinstance(body.get("code"), str) and body["code"], f"no code: {response.text[:300]}"
    assert body["code"] not in SAFETY_NET_CODES, (
        f"{case.method} {case.formatted_path}: the database refused the input "
        f"({body['code']}); validate it in the route: {case.path_parameters} {case.query} "
        f"{case.body!r:.300}")


def with_nul(value: Any) -> Any:
    """Every string in a JSON-like value with a NUL character in the middle."""
    if isinstance(value, str):
        return value[:1] + "\x00" + value[1:]
    if isinstance(value, dict):
        return {k: with_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_nul(v) for v in value]
    return value


def _order(item: tuple[str, str]) -> tuple[bool, bool, bool, str, str]:
    # What removes seeded rows or links (deleting the clip, leaving the coach, accepting an
    # invite) runs last, so the other operations still find them; logging out (which ends
    # the fuzzing account's login) after everything.
    method, path = item
    return path.endswith("/auth/logout"), method == "DELETE", "accept" in path, path, method


def fuzz_operation(operation: Any, client: asgi.ASGIClient, headers: dict[str, str],
                   params: dict[str, str]) -> set[int]:
    """Three passes: valid requests on real rows; the same with a NUL in every string
    (PostgreSQL refuses one in text; the generator rarely makes one on its own); and valid
    and invalid requests on real or made-up ids."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    mixed = st.one_of(positive, operation.as_strategy(GenerationMode.NEGATIVE))
    names = re.findall(r"\{(\w+)\}", operation.path)
    statuses: set[int] = set()
    passes = [(positive, st.just(True), True, MAX_EXAMPLES // 4),
              (positive, st.just(True), False, MAX_EXAMPLES // 4),
              (mixed, st.booleans(), False, MAX_EXAMPLES // 2)]
    for strategy, real_ids_strategy, with_nuls, examples in passes:

        @hypothesis.settings(max_examples=examples, derandomize=True, deadline=None,
                             database=None, phases=[hypothesis.Phase.explicit,
                                                    hypothesis.Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @given(case=strategy, real_ids=real_ids_strategy, nul=st.just(with_nuls))
        def run(case: Case, real_ids: bool, nul: bool) -> None:
            if real_ids and names:
                case.path_parameters = {**(case.path_parameters or {}),
                                        **{n: params[n] for n in names}}
            if nul:
                case.body = with_nul(case.body)
                # Text path parameters only: a NUL in an id is refused before any text is.
                case.path_parameters = {k: v if str(v).isdigit() else with_nul(str(v))
                                        for k, v in (case.path_parameters or {}).items()}
            response = case.call(session=client, headers=headers)
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])
            clear_error(response, case)

        run()
    return statuses


@pytest.mark.parametrize("role", ["athlete", "coach", "admin", "anonymous"])
def test_no_input_is_a_server_error(app: FastAPI, engine: Engine, settings: Settings,
                                    tmp_path: Path, role: str) -> None:
    with asgi.get_client(app) as client:
        roles, params = seed_world(client, engine, settings, tmp_path)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = {(op.method.upper(), op.path): op
                      for op in (r.ok() for r in schema.get_all_operations())}
        assert set(operations) >= EXCLUDED, "an excluded operation no longer exists"
        failures: list[str] = []
        succeeded = 0
        for key in sorted(set(operations) - EXCLUDED, key=_order):
            try:
                statuses = fuzz_operation(operations[key], client, roles[role], params)
                succeeded += any(200 <= code < 300 for code in statuses)
            # Every operation's failures, not only the first (schemathesis raises a group).
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{key[0]} {key[1]} as {role}:\n{exc}")
        assert not failures, "\n\n".join(failures)
        # The fuzzer got past authentication and the 404s: it reached the routes' work.
        assert succeeded >= MIN_SUCCEEDING[role], f"only {succeeded} operations answered 2xx"
        # Nothing above broke the app for the next caller.
        assert client.get("/healthz").status_code == 200
