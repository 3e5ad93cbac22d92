"""The events of training and of refused clips reach the right feed through the real API:
a coach's change or note (and its deletion) tells the athlete and lands in the audit log;
pain of 4 or more and "not feeling 100 %" tell the coach; a refused clip or a failed job
tells the athlete why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend.clips import service as clips
from backend.clips.models import Clip
from backend.core.audit import AuditEvent
from backend.core.config import Settings
from tests.clips.seed import seed_analysed_clip
from tests.conftest import Accounts


async def _feed(client: httpx.AsyncClient, who: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/notifications", headers=who["headers"])
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _audit(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(col(AuditEvent.id))))


async def test_a_coach_note_tells_the_athlete_is_audited_and_can_be_deleted(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine) -> None:
    athlete, coach = await accounts.coached_athlete()
    base = f"/api/v1/coach/athletes/{athlete['id']}/plan"
    resp = await client.post(f"{base}/notes", headers=coach["headers"],
                             json={"text": "Go easy after Sunday's race"})
    assert resp.status_code == 200 and resp.json()["changed"], resp.text
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    [note] = plan["notes"]
    assert note["text"] == "Go easy after Sunday's race" and note["note_id"] == plan["version"]

    feed = await _feed(client, athlete)
    assert [(n["kind"], n["title"]) for n in feed] == [("coach_change",
                                                        "Carla updated your plan")]
    assert "Go easy after Sunday's race" in feed[0]["body"]
    [edit] = _audit(engine, "coach_plan_edit")
    assert (edit.actor_id, edit.subject_user_id) == (coach["id"], athlete["id"])
    assert edit.detail["kind"] == "coach_note" and edit.detail["version"] == plan["version"]

    # A note that is not there: 404 naming what to do; the plan is untouched.
    resp = await client.delete(f"{base}/notes/{note['note_id'] + 50}", headers=coach["headers"])
    assert resp.status_code == 404 and "note_id" in resp.json()["detail"], resp.text
    # Another coach cannot delete it.
    stranger = await accounts.register("coach")
    resp = await client.delete(f"{base}/notes/{note['note_id']}", headers=stranger["headers"])
    assert resp.status_code == 404
    # The athlete cannot either (coach endpoint).
    resp = await client.delete(f"{base}/notes/{note['note_id']}", headers=athlete["headers"])
    assert resp.status_code == 403

    resp = await client.delete(f"{base}/notes/{note['note_id']}", headers=coach["headers"])
    assert resp.status_code == 200, resp.text
    change = resp.json()
    assert change["changed"] and change["kind"] == "coach_note_deleted"
    assert "deleted the note" in change["reason"]
    after = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert after["notes"] == [] and after["version"] == plan["version"] + 1
    assert [e.detail["kind"] for e in _audit(engine, "coach_plan_edit")] == [
        "coach_note", "coach_note_deleted"]
    # Deleting it again: it is gone.
    resp = await client.delete(f"{base}/notes/{note['note_id']}", headers=coach["headers"])
    assert resp.status_code == 404


async def test_a_session_note_is_deleted_from_the_session(client: httpx.AsyncClient,
                                                         accounts: Accounts) -> None:
    athlete, coach = await accounts.coached_athlete()
    base = f"/api/v1/coach/athletes/{athlete['id']}/plan"
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    last = plan["weeks"][-1]["sessions"][-1]
    resp = await client.post(f"{base}/notes", headers=coach["headers"],
                             json={"text": "Film a re-test clip after this one",
                                   "session_key": last["id"]})
    assert resp.status_code == 200, resp.text
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert plan["weeks"][-1]["sessions"][-1]["notes"] == ["Film a re-test clip after this one"]
    note_id = plan["notes"][0]["note_id"]
    resp = await client.delete(f"{base}/notes/{note_id}", headers=coach["headers"])
    assert resp.status_code == 200 and resp.json()["changed"], resp.text
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert plan["weeks"][-1]["sessions"][-1]["notes"] == []


async def test_pain_and_not_feeling_100_tell_the_coach(client: httpx.AsyncClient,
                                                      accounts: Accounts) -> None:
    athlete, coach = await accounts.coached_athlete()
    plan = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    first, second = plan["weeks"][0]["sessions"][:2]

    def log(session: dict[str, Any], pain: int) -> dict[str, Any]:
        return {"rpe": 6, "exercises": [
            {"code": e["code"], "pain": pain if i == 0 else 0,
             "sets": [{"reps": e["reps"], "hold_s": e["hold_s"]}] * e["sets"]}
            for i, e in enumerate(session["exercises"])]}

    # Pain 3: below the threshold, the coach is not disturbed.
    resp = await client.post(f"/api/v1/sessions/{first['id']}/log", headers=athlete["headers"],
                             json=log(first, 3))
    assert resp.status_code == 200, resp.text
    assert await _feed(client, coach) == []
    resp = await client.post(f"/api/v1/sessions/{second['id']}/log", headers=athlete["headers"],
                             json=log(second, 5))
    assert resp.status_code == 200, resp.text
    [pain] = await _feed(client, coach)
    assert (pain["kind"], pain["title"]) == ("athlete_pain", "Ana Runner reported pain 5/10")
    assert pain["body"].startswith(f"Session {second['id']}, ")
    assert pain["url"] == f"/coach/athletes/{athlete['id']}"

    resp = await client.post("/api/v1/plans/current/feeling", headers=athlete["headers"],
                             json={"not_100": True})
    assert resp.status_code == 200, resp.text
    feed = await _feed(client, coach)
    assert [(n["kind"], n["title"]) for n in feed] == [
        ("athlete_not_100", "Ana Runner is not feeling 100 %"),
        ("athlete_pain", "Ana Runner reported pain 5/10")]
    assert feed[0]["body"] == resp.json()["reason"]
    # Feeling well again tells no one.
    resp = await client.post("/api/v1/plans/current/feeling", headers=athlete["headers"],
                             json={"not_100": False})
    assert resp.status_code == 200
    assert len(await _feed(client, coach)) == 2


async def test_a_refused_clip_tells_the_athlete_why(client: httpx.AsyncClient,
                                                   accounts: Accounts, engine: Engine,
                                                   settings: Settings, tmp_path: Path) -> None:
    athlete, coach = await accounts.coached_athlete()
    seeded = seed_analysed_clip(engine, settings, int(athlete["id"]), tmp_path)
    before = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    unfit = {"schema_version": "seed", "view": "side", "faults": [], "metrics": {},
             "clip_quality": {"fit": False,
                              "reasons": ["The feet leave the frame in most steps."],
                              "advice": ["Step back so the whole body stays in frame."]}}
    with Session(engine) as session:
        clip = session.get(Clip, seeded.clip_id)
        assert clip is not None
        clips.announce_analysis(session, clip, unfit)
        session.commit()
    [note] = await _feed(client, athlete)
    assert note["title"] == "Your clip could not be analysed"
    assert note["body"] == ("The feet leave the frame in most steps. "
                            "Step back so the whole body stays in frame.")
    assert note["url"] == f"/clips/{seeded.clip_id}"
    [told] = await _feed(client, coach)
    assert "refused" in told["body"]
    # Nothing was measured: the plan did not change.
    after = (await client.get("/api/v1/plans/current", headers=athlete["headers"])).json()
    assert after["version"] == before["version"]


async def test_deleting_a_clip_and_exporting_are_audited(client: httpx.AsyncClient,
                                                        accounts: Accounts, engine: Engine,
                                                        settings: Settings,
                                                        tmp_path: Path) -> None:
    athlete, _ = await accounts.coached_athlete()
    seeded = seed_analysed_clip(engine, settings, int(athlete["id"]), tmp_path)
    resp = await client.get("/api/v1/users/me/export", headers=athlete["headers"])
    assert resp.status_code == 200
    [exported] = _audit(engine, "data_exported")
    assert exported.actor_id == athlete["id"] and exported.detail["size_bytes"] == len(
        resp.content)
    resp = await client.delete(f"/api/v1/clips/{seeded.clip_id}", headers=athlete["headers"])
    assert resp.status_code == 204
    [deleted] = _audit(engine, "clip_deleted")
    assert (deleted.actor_id, deleted.detail["clip_id"]) == (athlete["id"], seeded.clip_id)


async def test_a_failed_job_tells_the_athlete_why(client: httpx.AsyncClient,
                                                 accounts: Accounts, engine: Engine,
                                                 settings: Settings) -> None:
    """The job runs for real on a clip whose file went missing: it fails with a message,
    and that message is the athlete's notification (in the same transaction)."""
    from backend.clips.tasks import run_analysis_job
    from backend.core.time import utcnow
    from backend.jobs.models import AnalysisJob
    from backend.jobs.runtime import JobRuntime

    athlete, _ = await accounts.coached_athlete()
    with Session(engine, expire_on_commit=False) as session:
        clip = Clip(athlete_id=athlete["id"], sha256="b" * 64, size_bytes=10,
                    storage_key=f"athletes/{athlete['id']}/clips/{'b' * 64}.mp4",
                    recorded_at=utcnow(), container="mp4", codec="h264", duration_s=4.0,
                    fps=30.0, frame_count=120, width=360, height=640)
        session.add(clip)
        session.flush()
        job = AnalysisJob(clip_id=clip.id)  # type: ignore[arg-type]
        session.add(job)
        session.commit()
    runtime = JobRuntime(settings, engine)
    runtime.enqueue = lambda job_id, delay_s=None: None  # type: ignore[method-assign]
    run_analysis_job(runtime, job.id)  # type: ignore[arg-type]
    with Session(engine) as session:
        failed = session.get(AnalysisJob, job.id)
        assert failed is not None and failed.error_code == "clip_missing"
    [note] = await _feed(client, athlete)
    assert note["title"] == "Your clip could not be analysed"
    assert note["body"] == failed.error_message and note["url"] == f"/clips/{clip.id}"
