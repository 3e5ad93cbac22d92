"""A clip the analysis refuses is a result, not a success: the API says so (outcome 'unfit',
fit false, the reasons and how to film again), nothing of it is stored as measured, and the
plan is never changed by it. A fit clip still updates the plan."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend import gait
from backend.accounts.models import Role, User
from backend.accounts.service import create_user
from backend.clips import service
from backend.clips.models import AnalysisReport, ClipFault, ClipMetric
from backend.core.db import make_engine
from backend.core.migrate import upgrade_database
from backend.gait.types import AthleteInfo, Report
from backend.jobs.runtime import JobRuntime
from backend.pose.track import Track
from backend.training import service as plans
from backend.training.models import PlanVersion
from tests.clips.conftest import upload, wait_for_clip
from tests.clips.media import make_clip
from tests.conftest import CLIPS_DIR, Accounts
from tests.gait.synthetic import make_runner

# 1.7 s of a person moving in front of the camera, not running: re-timed to pass the probe,
# the analysis finds it unfit ("Not enough running steps").
NOT_RUNNING_SOURCE = CLIPS_DIR / "single_person_front_portrait.mp4"
NOT_ENOUGH_STEPS = "Not enough running steps"
# The revision before the analysis's verdict had columns of its own.
BEFORE_VERDICT_COLUMNS = "63ce0cf76887"


@lru_cache(maxsize=1)
def _hip_drop_track() -> Track:
    return make_runner(pelvic_drop_deg=9.0).track


def _plan_versions(engine: Engine, athlete_id: int) -> list[PlanVersion]:
    with Session(engine) as session:
        return list(session.exec(select(PlanVersion)
                                 .where(PlanVersion.athlete_id == athlete_id)).all())


def _sse_done(body: str) -> dict[str, Any]:
    blocks = [dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
              for block in body.strip().split("\n\n")]
    done = [b for b in blocks if b.get("event") == "done"]
    assert len(done) == 1, body
    return dict(json.loads(done[0]["data"]))


async def test_unfit_clip_is_shown_as_such_and_leaves_the_plan(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine, jobs: JobRuntime,
        media_dir: Path, run_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    athlete_id = int(athlete["id"])  # type: ignore[call-overload]
    assert (await client.get("/api/v1/plans/current", headers=headers)).status_code == 200
    before = _plan_versions(engine, athlete_id)
    assert len(before) == 1

    # The real analysis of real footage of a person not running.
    not_running = make_clip(media_dir / f"not-running-{athlete_id}.mp4", seconds=3.2, fps=30,
                            source=NOT_RUNNING_SOURCE)
    accepted = await upload(client, headers, not_running, view="front")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["outcome"] is None and accepted.json()["fit"] is None
    clip_id = accepted.json()["id"]
    state = await wait_for_clip(client, headers, clip_id)
    # The job ran to its end; what it found is the outcome.
    assert state["status"] == "succeeded" and state["error"] is None, state
    assert state["outcome"] == "unfit" and state["fit"] is False, state
    assert any(NOT_ENOUGH_STEPS in r for r in state["unfit_reasons"]), state
    assert state["advice"] and all(isinstance(a, str) and a for a in state["advice"])
    assert state["needs_capture_fps"] is False and state["has_report"]
    # The same in the list, in the event stream, and in the report itself.
    listed = (await client.get("/api/v1/clips", headers=headers)).json()["items"]
    assert [(c["id"], c["outcome"], c["fit"]) for c in listed] == [(clip_id, "unfit", False)]
    assert listed[0]["unfit_reasons"] == state["unfit_reasons"]
    events = await client.get(f"/api/v1/clips/{clip_id}/events", headers=headers)
    done = _sse_done(events.text)
    assert (done["status"], done["outcome"], done["fit"]) == ("succeeded", "unfit", False)
    assert done["unfit_reasons"] == state["unfit_reasons"] and done["advice"] == state["advice"]
    report = (await client.get(f"/api/v1/clips/{clip_id}/report", headers=headers)).json()
    assert report["report"]["clip_quality"]["fit"] is False
    assert report["report"]["clip_quality"]["reasons"] == state["unfit_reasons"]

    # Nothing of it counts as measured, and the plan did not move.
    with Session(engine) as session:
        faults = session.exec(select(ClipFault).where(ClipFault.clip_id == clip_id)).all()
        metrics = session.exec(select(ClipMetric).where(ClipMetric.clip_id == clip_id)).all()
        row = session.exec(select(AnalysisReport)
                           .where(AnalysisReport.clip_id == clip_id)).one()
    assert faults == []
    assert metrics and all(m.value is None and m.left is None and m.right is None
                           and m.withheld_reason for m in metrics)
    assert row.fit is False and row.unfit_reasons == state["unfit_reasons"]
    after = _plan_versions(engine, athlete_id)
    assert [(v.plan_id, v.version) for v in after] == [(v.plan_id, v.version) for v in before]

    # A fit clip (the pose engine runs on the clip, the running-form analysis reads a
    # synthetic runner whose hip drops) updates the plan.
    real_analyze = gait.analyze

    def analyze_hip_drop(_track: Track, view: str = "auto", athlete: AthleteInfo | None = None,
                         capture_fps: float | None = None,
                         slow_motion_factor: float | None = None) -> Report:
        return real_analyze(_hip_drop_track(), view, athlete, capture_fps=capture_fps,
                            slow_motion_factor=slow_motion_factor)

    monkeypatch.setattr(gait, "analyze", analyze_hip_drop)
    fit_id = (await upload(client, headers, run_clip)).json()["id"]
    fit_state = await wait_for_clip(client, headers, fit_id)
    assert fit_state["status"] == "succeeded", fit_state
    assert (fit_state["outcome"], fit_state["fit"], fit_state["unfit_reasons"]) == (
        "analysed", True, [])
    updated = _plan_versions(engine, athlete_id)
    assert len(updated) == len(before) + 1, [(v.kind, v.reason) for v in updated]
    assert "hip_drop" in updated[-1].reason or updated[-1].kind == "analysis", updated[-1]


def _athlete(engine: Engine) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email="unfit@example.com", password="long-passphrase-1",
                           role=Role.athlete, display_name="Runner")
        session.commit()
        return user


UNFIT_REPORT: dict[str, Any] = {
    "schema_version": 1, "view": "rear",
    "clip_quality": {"fit": False, "reasons": ["Not enough running steps: 2 found."],
                     "advice": ["Film 10-20 s of steady running."]},
    # Whatever an unfit report carries, none of it is a measurement.
    "faults": [{"code": "hip_drop", "side": "left", "severity": "moderate", "value": 7.0,
                "confidence": 0.8}],
    "chain": [],
    "metrics": {"cadence_spm": {"value": 170.0, "unit": "spm", "n_strides": 2},
                "pelvic_drop_deg": {"value": None, "left": 7.0, "right": 3.0, "unit": "deg",
                                    "withheld_reason": None}},
}


def test_plans_ignore_an_unfit_report(engine: Engine) -> None:
    """The plans domain's own guard: an unfit analysis neither starts a plan nor changes one."""
    from datetime import date

    user = _athlete(engine)
    with Session(engine) as session:
        assert plans.on_analysis(session, user, UNFIT_REPORT, recorded_at=date.today()) is None
        session.commit()
    assert _plan_versions(engine, user.pk) == []
    with Session(engine) as session:
        plans.ensure_plan(session, user)
        session.commit()
    before = _plan_versions(engine, user.pk)
    with Session(engine) as session:
        assert plans.on_analysis(session, user, UNFIT_REPORT, recorded_at=date.today()) is None
        session.commit()
    assert len(_plan_versions(engine, user.pk)) == len(before) == 1
    # The same report, fit: the plan changes (the guard is what held it back).
    fit_report = {**UNFIT_REPORT, "clip_quality": {"fit": True}}
    with Session(engine) as session:
        assert plans.on_analysis(session, user, fit_report, recorded_at=date.today())
        session.commit()
    assert len(_plan_versions(engine, user.pk)) == 2


def test_unfit_report_is_stored_as_unmeasured(engine: Engine) -> None:
    from backend.clips.models import Clip
    from backend.core.time import utcnow

    user = _athlete(engine)
    with Session(engine, expire_on_commit=False) as session:
        clip = Clip(athlete_id=user.pk, sha256="c" * 64, size_bytes=10, storage_key="k",
                    recorded_at=utcnow(), container="mp4", codec="h264", duration_s=4.0,
                    fps=30.0, frame_count=120, width=360, height=640)
        session.add(clip)
        session.flush()
        outputs = service.StoredOutputs(report=UNFIT_REPORT, track_key="t", track_sha256="s",
                                        overlay_key=None, overlay_sha256=None, keyframes=[])
        saved = service.save_analysis(session, clip, outputs)
        service.announce_analysis(session, clip, UNFIT_REPORT)
        session.commit()
        clip_id = clip.id
    assert saved.fit is False and saved.unfit_reasons == ["Not enough running steps: 2 found."]
    assert saved.advice == ["Film 10-20 s of steady running."] and not saved.needs_capture_fps
    with Session(engine) as session:
        assert session.exec(select(ClipFault).where(ClipFault.clip_id == clip_id)).all() == []
        metrics = {m.key: m for m in session.exec(
            select(ClipMetric).where(ClipMetric.clip_id == clip_id)).all()}
    assert set(metrics) == {"cadence_spm", "pelvic_drop_deg"}
    for metric in metrics.values():
        assert (metric.value, metric.left, metric.right, metric.n_strides) == (None,) * 4
        assert metric.withheld_reason is not None
        assert "unfit" in metric.withheld_reason and "2 found" in metric.withheld_reason
    assert metrics["cadence_spm"].unit == "spm"
    assert _plan_versions(engine, user.pk) == []  # nothing announced: the plan is left alone


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_gives_existing_reports_their_verdict(backend: str, tmp_path: Path) -> None:
    """Reports stored before the verdict columns get theirs from their JSON."""
    from tests.conftest import _create_pg_database, _drop_pg_database, postgres_admin_url

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'before.db'}"
    else:
        admin = postgres_admin_url()
        url = _create_pg_database(admin)
    try:
        upgrade_database(url, BEFORE_VERDICT_COLUMNS)
        engine = make_engine(url)
        reports = {
            1: UNFIT_REPORT,
            2: {"schema_version": 1, "view": "side",
                "clip_quality": {"fit": True, "advice": ["Film square on."],
                                 "slow_motion": True, "needs_capture_fps": True}},
            3: {"schema_version": "seed", "view": "rear"},  # no clip_quality at all
        }
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO \"user\" (id, email, hashed_password, role, display_name, "
                "is_active, time_zone, created_at) VALUES (1, 'a@example.com', 'x', 'athlete', "
                "'A', true, 'UTC', CURRENT_TIMESTAMP)"))
            for n, report in reports.items():
                conn.execute(text(
                    "INSERT INTO clip (id, athlete_id, sha256, size_bytes, storage_key, "
                    "content_type, view, recorded_at, container, codec, duration_s, fps, "
                    "frame_count, width, height, rotation, created_at) VALUES (:n, 1, :sha, "
                    "10, 'k', 'video/mp4', 'rear', CURRENT_TIMESTAMP, 'mp4', 'h264', 4, 30, "
                    "120, 360, 640, 0, CURRENT_TIMESTAMP)"), {"n": n, "sha": str(n) * 64})
                conn.execute(text(
                    "INSERT INTO analysis_report (id, clip_id, athlete_id, schema_version, view, "
                    "report, track_key, track_sha256, keyframes, created_at) VALUES (:n, :n, 1, "
                    "'1', 'rear', :report, 't', 's', '[]', CURRENT_TIMESTAMP)"),
                    {"n": n, "report": json.dumps(report)})
        engine.dispose()
        upgrade_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            rows = {r.id: r for r in session.exec(select(AnalysisReport)).all()}
        engine.dispose()
    finally:
        if backend == "postgresql":
            from sqlalchemy.engine import make_url

            _drop_pg_database(admin, make_url(url).database or "")
    assert (rows[1].fit, rows[1].unfit_reasons, rows[1].advice) == (
        False, ["Not enough running steps: 2 found."], ["Film 10-20 s of steady running."])
    assert (rows[1].slow_motion, rows[1].needs_capture_fps) == (None, False)
    assert (rows[2].fit, rows[2].unfit_reasons, rows[2].advice) == (True, [], ["Film square on."])
    assert (rows[2].slow_motion, rows[2].needs_capture_fps) == (True, True)
    assert (rows[3].fit, rows[3].unfit_reasons, rows[3].advice) == (True, [], [])
