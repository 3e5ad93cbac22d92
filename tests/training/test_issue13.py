"""Issue 13, part A, end to end over HTTP on SQLite and PostgreSQL: one diagnosis from a rear
and a side clip, plans generated from it (not from the last clip), immutable plan history,
compliance that says "nothing due", answers that say why nothing changed, new blocks and the
re-test loop. Each test names the bug it pins; each failed on the code before the fix."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend import flows
from backend.accounts.models import User
from backend.clips import service as clips
from backend.clips.models import Clip
from backend.core.time import utcnow
from backend.jobs.models import AnalysisJob, JobStatus
from backend.training import service
from backend.training.models import PlanVersion, SessionLogEntry
from tests.conftest import Accounts

ZONE = "Europe/London"


def _fault(code: str, severity: str, side: str | None, value: float, metric: str,
           confidence: float = 0.8) -> dict[str, Any]:
    return {"code": code, "severity": severity, "side": side, "value": value,
            "confidence": confidence, "evidence": {"metric": metric}}


REAR = {"schema_version": "t", "view": "rear", "clip_quality": {"fit": True},
        "faults": [_fault("hip_drop", "moderate", "left", 9.5, "pelvic_drop_deg")],
        "metrics": {"pelvic_drop_deg": {"value": 9.0, "left": 9.5, "right": 5.0,
                                        "unit": "deg"},
                    "cadence_spm": {"value": 158.0, "unit": "steps/min"}}}
SIDE = {"schema_version": "t", "view": "side", "clip_quality": {"fit": True},
        "faults": [_fault("overstride", "moderate", "left", 0.17, "foot_ahead_of_hip_norm")],
        "metrics": {"foot_ahead_of_hip_norm": {"value": 0.16, "left": 0.17, "right": 0.15},
                    "cadence_spm": {"value": 162.0, "unit": "steps/min"}}}
FRONT_NO_FAULT = {"schema_version": "t", "view": "front", "clip_quality": {"fit": True},
                  "faults": [], "metrics": {"pelvic_drop_deg": {"value": 4.0}}}
REAR_AFTER = {"schema_version": "t", "view": "rear", "clip_quality": {"fit": True},
              "faults": [_fault("hip_drop", "mild", "left", 6.0, "pelvic_drop_deg")],
              "metrics": {"pelvic_drop_deg": {"value": 5.5, "left": 6.0, "right": 5.0}}}
UNFIT = {"schema_version": "t", "view": "side",
         "clip_quality": {"fit": False, "reasons": ["too dark"]},
         "faults": [_fault("trunk_lean", "marked", None, 25.0, "trunk_forward_lean_deg")]}


def seed_analysis(engine: Engine, athlete_id: int, report: dict[str, Any],
                  recorded_at: datetime | None = None) -> int:
    """A clip whose analysis succeeded with ``report``, announced as the worker does (the
    flows react: diagnosis, then plan)."""
    flows.install()
    recorded_at = recorded_at or utcnow()
    digest = hashlib.sha256(f"{athlete_id}-{recorded_at}-{report}".encode()).hexdigest()
    with Session(engine, expire_on_commit=False) as session:
        clip = Clip(athlete_id=athlete_id, sha256=digest, size_bytes=10,
                    storage_key=f"clips/{digest}.mp4", view=str(report.get("view", "auto")),
                    recorded_at=recorded_at, container="mp4", codec="h264", duration_s=10.0,
                    fps=60.0, frame_count=600, width=720, height=1280)
        session.add(clip)
        session.flush()
        assert clip.id is not None
        now = utcnow()
        session.add(AnalysisJob(clip_id=clip.id, status=JobStatus.succeeded.value,
                                progress=100, stage="done", attempts=1, started_at=now,
                                finished_at=now))
        clips.save_analysis(session, clip, clips.StoredOutputs(
            report=report, track_key="t", track_sha256="0" * 64, overlay_key=None,
            overlay_sha256=None, keyframes=[]))
        clips.announce_analysis(session, clip, report)
        session.commit()
        return clip.id


async def _athlete(client: httpx.AsyncClient, accounts: Accounts,
                   days: list[int] | None = None) -> dict[str, Any]:
    athlete: dict[str, Any] = dict(await accounts.register("athlete"))
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
        "running_background": "intermediate", "weekly_volume_km": 30,
        "equipment": ["dumbbells"], "strength_days": days or [0, 2, 4], "time_zone": ZONE})
    assert resp.status_code == 200, resp.text
    return athlete


async def _coach_of(client: httpx.AsyncClient, accounts: Accounts, athlete: dict[str, Any],
                    name: str = "Coach Carla") -> dict[str, Any]:
    coach: dict[str, Any] = dict(await accounts.register("coach", name=name))
    code = (await client.post("/api/v1/coach/invites", headers=coach["headers"])).json()["code"]
    assert (await client.post(f"/api/v1/invites/{code}/accept",
                              headers=athlete["headers"])).status_code == 200
    return coach


async def _plan(client: httpx.AsyncClient, athlete: dict[str, Any]) -> dict[str, Any]:
    resp = await client.get("/api/v1/plans/current", headers=athlete["headers"])
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _stored(engine: Engine, athlete_id: int) -> list[PlanVersion]:
    with Session(engine) as session:
        return list(session.exec(select(PlanVersion).where(PlanVersion.athlete_id == athlete_id)
                                 .order_by(PlanVersion.id)).all())  # type: ignore[arg-type]


def _today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def _faults_of(plan_row: PlanVersion) -> set[str]:
    return {f["code"] for f in (plan_row.data["analysis"] or {}).get("faults", [])}


async def test_rear_and_side_clips_make_one_diagnosis_and_a_refused_clip_changes_nothing(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bug: a front-view clip replaced every side-view fault. End to end: a rear and a side
    clip give one diagnosis holding both views' faults; a front clip replaces only the rear
    one's; a refused (unfit) clip changes no plan version."""
    athlete = await _athlete(client, accounts)
    rear = seed_analysis(engine, athlete["id"], REAR, utcnow() - timedelta(days=2))
    side = seed_analysis(engine, athlete["id"], SIDE, utcnow() - timedelta(days=1))
    diagnosis = (await client.get("/api/v1/diagnosis", headers=athlete["headers"])).json()
    assert {f["code"]: f["clip_id"] for f in diagnosis["faults"]} == {
        "hip_drop": rear, "overstride": side}
    assert diagnosis["frontal"]["clip_id"] == rear and diagnosis["sagittal"]["clip_id"] == side
    assert "hip drop" in diagnosis["headline"].lower() or "drop" in diagnosis["headline"]
    latest = _stored(engine, athlete["id"])[-1]
    assert _faults_of(latest) == {"hip_drop", "overstride"}

    versions = len(_stored(engine, athlete["id"]))
    seed_analysis(engine, athlete["id"], UNFIT)
    assert len(_stored(engine, athlete["id"])) == versions

    seed_analysis(engine, athlete["id"], FRONT_NO_FAULT)  # newer frontal clip: no hip drop
    assert _faults_of(_stored(engine, athlete["id"])[-1]) == {"overstride"}


async def test_deleting_a_clip_rebuilds_the_diagnosis_and_the_plan(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bug: deleting the clip left the plan built on it."""
    athlete = await _athlete(client, accounts)
    seed_analysis(engine, athlete["id"], REAR, utcnow() - timedelta(days=2))
    side = seed_analysis(engine, athlete["id"], SIDE, utcnow() - timedelta(days=1))
    resp = await client.delete(f"/api/v1/clips/{side}", headers=athlete["headers"])
    assert resp.status_code == 204
    latest = _stored(engine, athlete["id"])[-1]
    assert _faults_of(latest) == {"hip_drop"}
    diagnosis = (await client.get("/api/v1/diagnosis", headers=athlete["headers"])).json()
    assert diagnosis["sagittal"] is None and "no side clip" in diagnosis["headline"]


def test_an_implausible_container_date_falls_back_to_the_upload_time() -> None:
    """Bug: a clip whose container said 2024 drove today's plan ("New analysis of
    2024-07-13")."""
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert clips.plausible_recorded_at(datetime(2024, 7, 13, tzinfo=UTC), now) == now
    assert clips.plausible_recorded_at(now + timedelta(days=3), now) == now
    yesterday = now - timedelta(days=1)
    assert clips.plausible_recorded_at(yesterday, now) == yesterday
    assert clips.plausible_recorded_at(None, now) == now


async def test_the_athlete_corrects_the_recorded_date(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    athlete = await _athlete(client, accounts)
    clip_id = seed_analysis(engine, athlete["id"], REAR)
    when = (utcnow() - timedelta(days=3)).replace(microsecond=0)
    resp = await client.patch(f"/api/v1/clips/{clip_id}", headers=athlete["headers"],
                              json={"recorded_at": when.isoformat()})
    assert resp.status_code == 200, resp.text
    assert datetime.fromisoformat(resp.json()["recorded_at"]).astimezone(UTC) == when
    future = await client.patch(f"/api/v1/clips/{clip_id}", headers=athlete["headers"],
                                json={"recorded_at": "2099-01-01T00:00:00Z"})
    assert future.status_code == 422 and "future" in future.text
    empty = await client.patch(f"/api/v1/clips/{clip_id}", headers=athlete["headers"], json={})
    assert empty.status_code == 422


async def test_a_coach_swap_survives_a_new_analysis(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bug: a later analysis silently dropped the coach's swap; and the reason read "Coach
    coach carla swapped" (a display name's capitals lowered)."""
    athlete = await _athlete(client, accounts)
    coach = await _coach_of(client, accounts, athlete)
    seed_analysis(engine, athlete["id"], REAR, utcnow() - timedelta(days=1))
    resp = await client.post(f"/api/v1/coach/athletes/{athlete['id']}/plan/swap",
                             headers=coach["headers"],
                             json={"from_code": "power_raise", "to_code": "cadence_drill"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["reason"].startswith("Coach Carla swapped the power raise")
    seed_analysis(engine, athlete["id"], SIDE)
    latest = _stored(engine, athlete["id"])[-1]
    assert latest.kind == "new_analysis"
    assert "swap of the power raise for the cadence work stays" in latest.reason
    today = _today()
    coming = [s for w in latest.data["weeks"] for s in w["sessions"]
              if date.fromisoformat(s["date"]) >= today]
    assert coming and all("cadence_drill" in [e["code"] for e in s["exercises"]]
                          and "power_raise" not in [e["code"] for e in s["exercises"]]
                          for s in coming)


def _past_block(engine: Engine, athlete_id: int, weeks_ago: int = 2) -> None:
    with Session(engine) as session:
        athlete = session.get(User, athlete_id)
        assert athlete is not None
        service.generate_block(session, athlete, reason_kind="generated",
                               start=_today() - timedelta(days=7 * weeks_ago))
        session.commit()


def _log_body(session_json: dict[str, Any], rpe: int = 7) -> dict[str, Any]:
    return {"rpe": rpe, "logged_on": session_json["date"], "exercises": [
        {"code": e["code"], "sets": [{"reps": e["reps"], "hold_s": e["hold_s"]}] * 2, "pain": 0}
        for e in session_json["exercises"]]}


async def test_reads_never_write_and_the_same_log_twice_is_one_version(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bugs: GET /plans/current wrote versions (missed weeks) as a side effect; the same
    session logged twice made two identical versions."""
    athlete: dict[str, Any] = dict(await accounts.register("athlete"))
    _past_block(engine, athlete["id"])
    before = len(_stored(engine, athlete["id"]))
    plan = await _plan(client, athlete)
    await _plan(client, athlete)
    assert len(_stored(engine, athlete["id"])) == before

    first = plan["weeks"][1]["sessions"][0]
    url = f"/api/v1/sessions/{first['id']}/log"
    one = await client.post(url, headers=athlete["headers"], json=_log_body(first))
    assert one.status_code == 200, one.text
    after_one = len(_stored(engine, athlete["id"]))
    assert after_one > before  # the log (and the finished week's count) made versions
    two = await client.post(url, headers=athlete["headers"], json=_log_body(first))
    assert two.status_code == 200
    assert two.json()["changed"] is False and "already logged" in two.json()["reason"]
    assert len(_stored(engine, athlete["id"])) == after_one


async def test_coach_edits_never_rewrite_logged_weeks(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bug: a coach level edit with a past from_date rewrote weeks already logged
    (30-day compliance 0.92 -> 0.84)."""
    athlete: dict[str, Any] = dict(await accounts.register("athlete"))
    coach = await _coach_of(client, accounts, athlete)
    _past_block(engine, athlete["id"])
    plan = await _plan(client, athlete)
    logged = plan["weeks"][0]["sessions"][0]
    assert (await client.post(f"/api/v1/sessions/{logged['id']}/log", headers=athlete["headers"],
                              json=_log_body(logged))).status_code == 200
    compliance = (await client.get("/api/v1/plans/current/compliance",
                                   headers=athlete["headers"])).json()
    resp = await client.post(f"/api/v1/coach/athletes/{athlete['id']}/plan/level",
                             headers=coach["headers"],
                             json={"exercise_code": "single_leg_deadlift", "to_level": 4,
                                   "from_date": plan["weeks"][0]["start"]})
    assert resp.status_code == 422 and resp.json()["code"] == "from_date_in_past"
    resp = await client.post(f"/api/v1/coach/athletes/{athlete['id']}/plan/level",
                             headers=coach["headers"],
                             json={"exercise_code": "single_leg_deadlift", "to_level": 4})
    assert resp.status_code == 200 and resp.json()["changed"] is True
    now = await _plan(client, athlete)
    old_sessions = {s["id"]: s for w in plan["weeks"] for s in w["sessions"]}
    for w in now["weeks"]:
        for s in w["sessions"]:
            if date.fromisoformat(s["date"]) < _today() or s["id"] == logged["id"]:
                assert s["exercises"] == old_sessions[s["id"]]["exercises"], s["id"]
    again = (await client.get("/api/v1/plans/current/compliance",
                              headers=athlete["headers"])).json()
    assert again == compliance


async def test_compliance_with_nothing_due_is_null_and_no_change_says_why(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bugs: compliance with nothing due read 1.0 / 1.0 / 1.0; "not feeling 100 %" with no
    session in the next days answered "No change." with no reason."""
    weekday = _today().weekday()
    athlete = await _athlete(client, accounts, days=[(weekday + 3) % 7, (weekday + 4) % 7])
    body = (await client.get("/api/v1/plans/current/compliance",
                             headers=athlete["headers"])).json()
    assert body["days_7"] is None and body["sessions_due_7"] == 0
    assert body["days_90"] is None
    plan = await _plan(client, athlete)
    first = min(date.fromisoformat(s["date"]) for w in plan["weeks"] for s in w["sessions"])
    resp = await client.post("/api/v1/plans/current/feeling", headers=athlete["headers"],
                             json={"not_100": True})
    assert resp.status_code == 200
    assert first > _today() + timedelta(days=2)
    out = resp.json()
    assert out["changed"] is False
    assert out["reason"] != "No change." and "No session to lighten" in out["reason"]
    off = (await client.post("/api/v1/plans/current/feeling", headers=athlete["headers"],
                             json={"not_100": False})).json()
    assert off["changed"] is False and "planned dose" in off["reason"]


async def test_changing_strength_days_after_logging_starts_a_block_on_the_new_days(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """Bug: changing strength days in the profile answered 200 and the plan kept the old
    days."""
    athlete: dict[str, Any] = dict(await accounts.register("athlete"))
    _past_block(engine, athlete["id"], weeks_ago=1)
    plan = await _plan(client, athlete)
    s0 = plan["weeks"][0]["sessions"][0]
    assert (await client.post(f"/api/v1/sessions/{s0['id']}/log", headers=athlete["headers"],
                              json=_log_body(s0))).status_code == 200
    resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"],
                            json={"strength_days": [1, 3], "time_zone": ZONE})
    assert resp.status_code == 200
    now = await _plan(client, athlete)
    assert now["plan_id"] != plan["plan_id"] and now["kind"] == "profile"
    assert "strength days Tue, Thu" in now["reason"]
    assert {date.fromisoformat(s["date"]).weekday() for w in now["weeks"]
            for s in w["sessions"]} == {1, 3}
    with Session(engine) as session:  # the logged session stays on the old block
        assert session.exec(select(SessionLogEntry).where(
            SessionLogEntry.athlete_id == athlete["id"])).one().plan_id == plan["plan_id"]


async def test_before_and_after_clips_show_the_fault_that_shrank_and_a_next_block(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    """The re-test loop: the clip before the block and the clip after, fault by fault, with
    the smallest detectable change; then a new block that follows from the comparison."""
    athlete = await _athlete(client, accounts)
    coach = await _coach_of(client, accounts, athlete)
    seed_analysis(engine, athlete["id"], REAR, utcnow() - timedelta(days=3))
    early = await client.get("/api/v1/plans/current/retest", headers=athlete["headers"])
    assert early.status_code == 200
    assert early.json()["after_recorded_at"] is None
    assert early.json()["faults"][0]["outcome"] == "not_refilmed"
    assert early.json()["film_again"]

    seed_analysis(engine, athlete["id"], REAR_AFTER)
    retest = (await client.get(f"/api/v1/coach/athletes/{athlete['id']}/plan/retest",
                               headers=coach["headers"])).json()
    hip = next(f for f in retest["faults"] if f["code"] == "hip_drop")
    assert hip["outcome"] == "shrank"
    assert hip["before_value"] == 9.5 and hip["after_value"] == 6.0
    assert hip["before_severity"] == "moderate" and hip["after_severity"] == "mild"
    assert hip["smallest_detectable_change"] == 2.8 and hip["change"] == -3.5

    plan = await _plan(client, athlete)
    resp = await client.post(f"/api/v1/coach/athletes/{athlete['id']}/plan/blocks",
                             headers=coach["headers"])
    assert resp.status_code == 201, resp.text
    assert resp.json()["kind"] == "new_block"
    assert "Re-test of the block" in resp.json()["reason"]
    assert "Contralateral hip drop" in resp.json()["reason"] or "hip drop" in resp.json()["reason"]
    new = await _plan(client, athlete)
    assert new["plan_id"] != plan["plan_id"]
