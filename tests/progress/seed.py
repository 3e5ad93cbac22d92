"""Rows for the progress tests: clips with their analysis verdict, fault and metric rows
written straight to the database (the analysis itself is tested in tests/clips), and
sessions logged through the real API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import User
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric
from backend.jobs.models import AnalysisJob, JobStatus
from backend.training import service as training


def add_clip(engine: Engine, athlete_id: int, recorded_at: datetime, *, view: str = "rear",
             fit: bool = True, faults: Sequence[tuple[str, str, float | None]] = (),
             metrics: dict[str, float | None] | None = None) -> int:
    """A clip and its analysis: ``faults`` as (code, severity, value)."""
    with Session(engine) as session:
        clip = Clip(athlete_id=athlete_id, sha256=uuid.uuid4().hex, size_bytes=1000,
                    storage_key=f"athletes/{athlete_id}/clips/x.mp4", view=view,
                    recorded_at=recorded_at, container="mov,mp4", codec="h264",
                    duration_s=6.0, fps=30.0, frame_count=180, width=360, height=640)
        session.add(clip)
        session.flush()
        assert clip.id is not None
        # The report and its rows agree, as clips.service.save_analysis writes them; the job
        # succeeded (the diagnosis reads only those).
        report = {"schema_version": "t", "view": view,
                  "clip_quality": {"fit": fit, "reasons": [] if fit else ["too few steps"]},
                  "faults": [{"code": code, "severity": severity, "side": "left",
                              "value": value, "confidence": 0.8}
                             for code, severity, value in faults] if fit else []}
        session.add(AnalysisReport(clip_id=clip.id, athlete_id=athlete_id, schema_version="t",
                                   view=view, report=report, track_key="t", track_sha256="t",
                                   fit=fit, unfit_reasons=[] if fit else ["too few steps"]))
        session.add(AnalysisJob(clip_id=clip.id, status=JobStatus.succeeded.value,
                                attempts=1))
        for code, severity, value in faults:
            session.add(ClipFault(athlete_id=athlete_id, clip_id=clip.id, code=code,
                                  side="left", severity=severity, value=value, confidence=0.8,
                                  recorded_at=recorded_at))
        for key, value in (metrics or {}).items():
            session.add(ClipMetric(athlete_id=athlete_id, clip_id=clip.id, key=key, value=value,
                                   unit="deg", n_strides=6, recorded_at=recorded_at,
                                   withheld_reason=None if value is not None else "unfit"))
        session.commit()
        return clip.id


def start_block(engine: Engine, athlete_id: int, start: date) -> None:
    """A plan block whose first day is ``start`` (in the past: sessions already due)."""
    with Session(engine) as session:
        athlete = session.get(User, athlete_id)
        assert athlete is not None
        training.generate_block(session, athlete, reason_kind="generated", start=start)
        session.commit()


def full_sets(exercise: dict[str, Any]) -> list[dict[str, int]]:
    """Every prescribed set of one exercise of the plan's public form, done in full."""
    n = exercise["sets"] * (2 if exercise["unilateral"] else 1)
    if exercise["unilateral"] and exercise["side"]:
        n += exercise["side"]["extra_sets"]
    one = {"reps": exercise["reps"]} if exercise["reps"] is not None else {
        "hold_s": exercise["hold_s"]}
    return [one] * n


async def log_session(client: httpx.AsyncClient, headers: dict[str, str],
                      training_session: dict[str, Any], *, done: bool = True, pain: int = 0,
                      rpe: int = 6) -> httpx.Response:
    body = {"rpe": rpe, "logged_on": training_session["date"], "exercises": [
        {"code": e["code"], "sets": full_sets(e) if done else [], "pain": pain}
        for e in training_session["exercises"]]}
    resp = await client.post(f"/api/v1/sessions/{training_session['id']}/log", json=body,
                             headers=headers)
    assert resp.status_code == 200, resp.text
    return resp


def sessions_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for w in plan["weeks"] for s in w["sessions"]]
