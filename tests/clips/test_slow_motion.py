"""Slow-motion clips: the real capture rate (capture_fps) is given with the upload (a form
field, or tus Upload-Metadata) or afterwards, when the analysis asks for it
(needs_capture_fps), with PATCH /api/v1/clips/{id}, which analyses the clip again. It reaches
``backend.gait.analyze`` through the pipeline; out-of-range values are clear 422s."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend import gait
from backend.clips.models import AnalysisReport, Clip
from backend.clips.tus import CLIP_ID_HEADER
from backend.gait.types import AthleteInfo, Report
from backend.jobs.models import AnalysisJob
from backend.jobs.runtime import JobRuntime
from backend.pose.track import Track
from tests.clips.conftest import upload, wait_for_clip
from tests.conftest import Accounts


def _metadata(**fields: str) -> str:
    values = {"filename": "run.mp4", "filetype": "video/mp4", "view": "rear", **fields}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _queue_in_list(app: FastAPI) -> list[int]:
    """No consumer: the jobs queued land in a list."""
    queued: list[int] = []
    app.state.jobs.enqueue = lambda job_id, **_: queued.append(job_id)
    return queued


async def test_capture_fps_is_validated(app: FastAPI, client: httpx.AsyncClient,
                                        accounts: Accounts, run_clip: Path) -> None:
    _queue_in_list(app)
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    for value in ("10", "5000", "nan", "inf", "fast"):
        resp = await upload(client, headers, run_clip, capture_fps=value)
        assert resp.status_code == 422, (value, resp.text)
        assert resp.json()["code"] == "invalid_input"
        assert "capture_fps" in resp.json()["detail"], resp.text
    # In range, but slower than the clip plays (30 fps): a time-lapse, not slow motion.
    resp = await upload(client, headers, run_clip, capture_fps="24")
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "capture_fps_below_fps"
    assert "frame rate" in resp.json()["detail"] and "240" in resp.json()["detail"]
    assert (await client.get("/api/v1/clips", headers=headers)).json()["total"] == 0
    # tus: refused at creation, before any byte is sent.
    tus_headers = {**headers, "Tus-Resumable": "1.0.0"}
    resp = await client.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": "1000", "Upload-Metadata": _metadata(capture_fps="2")})
    assert resp.status_code == 422, resp.text
    assert "capture_fps" in resp.json()["detail"]

    # A valid rate (29.97 against 30 is the same rate) is kept, from either kind of upload.
    resp = await upload(client, headers, run_clip, capture_fps="29.97")
    assert resp.status_code == 202, resp.text
    assert resp.json()["capture_fps"] == 29.97


async def test_capture_fps_through_tus(app: FastAPI, client: httpx.AsyncClient,
                                       accounts: Accounts, run_clip: Path) -> None:
    queued = _queue_in_list(app)
    athlete = await accounts.register("athlete")
    tus_headers = {**athlete["headers"], "Tus-Resumable": "1.0.0"}
    data = run_clip.read_bytes()
    created = await client.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": _metadata(capture_fps="240")})
    assert created.status_code == 201, created.text
    done = await client.patch(created.headers["Location"], content=data, headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204, done.text
    clip_id = int(done.headers[CLIP_ID_HEADER])
    clip = (await client.get(f"/api/v1/clips/{clip_id}", headers=athlete["headers"])).json()
    assert clip["capture_fps"] == 240 and clip["status"] == "queued" and len(queued) == 1


async def test_capture_fps_reaches_the_analysis_and_patch_analyses_again(
        client: httpx.AsyncClient, accounts: Accounts, engine: Engine, jobs: JobRuntime,
        run_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real pipeline; the running-form analysis is the real one, told (as the analysis
    # says of a slow-motion clip it has no rate for) that the capture rate is needed.
    real_analyze = gait.analyze
    seen: list[float | None] = []

    def analyze_slow_motion(track: Track, view: str = "auto",
                            athlete: AthleteInfo | None = None,
                            capture_fps: float | None = None,
                            slow_motion_factor: float | None = None) -> Report:
        seen.append(capture_fps)
        report = real_analyze(track, view, athlete, capture_fps=capture_fps,
                                slow_motion_factor=slow_motion_factor)
        report.clip_quality.slow_motion = True
        report.clip_quality.capture_fps = capture_fps
        report.clip_quality.needs_capture_fps = capture_fps is None
        return report

    monkeypatch.setattr(gait, "analyze", analyze_slow_motion)
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    clip_id = (await upload(client, headers, run_clip)).json()["id"]
    first = await wait_for_clip(client, headers, clip_id)
    assert first["status"] == "succeeded" and seen == [None], (first, seen)
    assert first["needs_capture_fps"] is True and first["slow_motion"] is True
    assert first["capture_fps"] is None
    with Session(engine) as session:
        old_report = session.exec(select(AnalysisReport)
                                  .where(AnalysisReport.clip_id == clip_id)).one()

    # Only the clip's athlete may give it; a coach or another athlete never reaches it.
    coach = await accounts.register("coach")
    other = await accounts.register("athlete")
    for who, expected in ((coach, 403), (other, 404)):
        resp = await client.patch(f"/api/v1/clips/{clip_id}", headers=who["headers"],
                                  json={"capture_fps": 240})
        assert resp.status_code == expected, resp.text
    for body in ({"capture_fps": 12}, {"capture_fps": 2000}, {"capture_fps": "fast"}, {},
                 {"capture_fps": 25}):
        resp = await client.patch(f"/api/v1/clips/{clip_id}", headers=headers, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert "capture_fps" in resp.json()["detail"], resp.text

    resp = await client.patch(f"/api/v1/clips/{clip_id}", headers=headers,
                              json={"capture_fps": 240})
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["capture_fps"] == 240 and body["status"] in ("queued", "running")
    assert body["outcome"] is None and body["needs_capture_fps"] is False
    again = await wait_for_clip(client, headers, clip_id)
    assert again["status"] == "succeeded" and again["attempts"] == 1, again
    assert seen == [None, 240.0]
    assert again["needs_capture_fps"] is False and again["slow_motion"] is True
    report = (await client.get(f"/api/v1/clips/{clip_id}/report", headers=headers)).json()
    assert report["report"]["clip_quality"]["capture_fps"] == 240
    with Session(engine) as session:
        reports = session.exec(select(AnalysisReport)
                               .where(AnalysisReport.clip_id == clip_id)).all()
    assert len(reports) == 1 and reports[0].created_at > old_report.created_at
    assert reports[0].track_key != old_report.track_key  # the new attempt's files

    # The same value again (a retried request) analyses nothing again.
    same = await client.patch(f"/api/v1/clips/{clip_id}", headers=headers,
                              json={"capture_fps": 240})
    assert same.status_code == 202 and same.json()["status"] == "succeeded"
    assert seen == [None, 240.0]


async def test_reupload_with_a_capture_rate_analyses_again(
        app: FastAPI, client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        run_clip: Path) -> None:
    """The same bytes sent again with a capture rate the clip did not have: the clip is
    analysed again with it (the same rate again, or none, changes nothing)."""
    queued = _queue_in_list(app)
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    clip_id = (await upload(client, headers, run_clip)).json()["id"]
    with Session(engine) as session:
        job = session.exec(select(AnalysisJob).where(AnalysisJob.clip_id == clip_id)).one()
        job.status, job.stage, job.progress, job.attempts = "succeeded", "done", 100, 1
        session.add(job)
        session.commit()
    again = await upload(client, headers, run_clip, capture_fps="120")
    assert again.status_code == 202, again.text
    body = again.json()
    assert body["id"] == clip_id and body["capture_fps"] == 120
    assert body["status"] == "queued" and body["attempts"] == 0
    assert queued == [queued[0], queued[0]]
    for fields in ({"capture_fps": "120"}, {}):
        same = await upload(client, headers, run_clip, **fields)
        assert same.json()["capture_fps"] == 120 and len(queued) == 2
    with Session(engine) as session:
        assert len(session.exec(select(Clip)).all()) == 1
