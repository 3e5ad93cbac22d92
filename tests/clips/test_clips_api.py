"""Upload to report on the embedded default: the consumer runs in this process (SqliteHuey in
the data dir), as inside 'stridelab serve'. One real analysis of real footage per database
carries the whole path: upload, progress (polling and server-sent events), the report, the
overlay and key frames, the stored fault and metric rows, the clip list, idempotent retries,
deletion and export."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import gait
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric
from backend.core.config import Settings
from backend.gait.types import AthleteInfo, Report
from backend.jobs.models import AnalysisJob
from backend.jobs.runtime import JobRuntime
from backend.pose.track import Track
from tests.clips.conftest import upload, wait_for_clip
from tests.conftest import Accounts
from tests.gait.synthetic import make_runner


def _sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


@lru_cache(maxsize=1)
def _hip_drop_track() -> Track:
    """A synthetic runner whose pelvis drops 9 degrees each stance: the analysis finds
    hip_drop on both sides (the real test footage, people walking, yields no faults)."""
    return make_runner(pelvic_drop_deg=9.0).track


async def test_upload_to_report(client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
                                settings: Settings, jobs: JobRuntime, run_clip: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The pose engine runs on the clip as usual; the running-form analysis reads the
    # synthetic runner's track instead, so that the report has faults to store as rows.
    real_analyze = gait.analyze

    def analyze_hip_drop(_track: Track, view: str = "auto", athlete: AthleteInfo | None = None,
                         capture_fps: float | None = None,
                         slow_motion_factor: float | None = None) -> Report:
        return real_analyze(_hip_drop_track(), view, athlete, capture_fps=capture_fps,
                            slow_motion_factor=slow_motion_factor)

    monkeypatch.setattr(gait, "analyze", analyze_hip_drop)
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    resp = await upload(client, headers, run_clip, treadmill_speed_kmh="11.5")
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    clip_id = accepted["id"]
    assert accepted["status"] in ("queued", "running")
    assert accepted["sha256"] == hashlib.sha256(run_clip.read_bytes()).hexdigest()

    # The event stream follows the job from wherever it is to its end.
    events_resp = await client.get(f"/api/v1/clips/{clip_id}/events", headers=headers)
    assert events_resp.status_code == 200
    assert events_resp.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(events_resp.text)
    assert events[-1][0] == "done" and events[-1][1]["status"] == "succeeded", events
    assert all(name == "progress" for name, _ in events[:-1])
    assert all(e["status"] in ("queued", "running") for _, e in events[:-1])
    assert any(e["status"] == "running" and 0 < e["progress"] < 100 for _, e in events), events
    progress = [e["progress"] for _, e in events]
    assert progress == sorted(progress) and progress[-1] == 100

    state = await wait_for_clip(client, headers, clip_id)
    assert state["status"] == "succeeded", state
    assert state["progress"] == 100 and state["attempts"] == 1 and state["error"] is None
    assert state["outcome"] == "analysed" and state["fit"] is True
    assert state["unfit_reasons"] == [] and state["capture_fps"] is None
    assert state["has_report"] and state["view"] == "rear"
    timings = state["timings"]
    assert timings["started_at"] and timings["finished_at"] and timings["processing_s"] > 0
    assert abs(state["duration_s"] - 3.2) < 0.1 and state["fps"] == 30

    report_resp = await client.get(f"/api/v1/clips/{clip_id}/report", headers=headers)
    assert report_resp.status_code == 200, report_resp.text
    report: dict[str, Any] = report_resp.json()
    body = report["report"]
    assert report["schema_version"] == str(body["schema_version"]) and body["schema_version"]
    assert isinstance(body["metrics"], dict) and body["metrics"]
    assert isinstance(body["faults"], list)
    assert "cadence_spm" in body["metrics"]

    overlay = await client.get(report["overlay_url"], headers=headers)
    assert overlay.status_code == 200
    assert overlay.headers["content-type"] == "video/mp4"
    assert overlay.content[4:8] == b"ftyp"
    assert report["keyframes"], "the analysis drew no key frames"
    for frame in report["keyframes"]:
        image = await client.get(frame["url"], headers=headers)
        assert image.status_code == 200
        # The key frames at the fault moments, lines drawn (backend.analysis): PNG pictures.
        assert image.headers["content-type"] == "image/png"
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    video = await client.get(f"/api/v1/clips/{clip_id}/video", headers=headers)
    assert video.headers["content-type"] == "video/mp4"
    assert video.content == run_clip.read_bytes()

    # Trends are queries: one fault row per fault of the report, one metric row per metric.
    with Session(engine) as session:
        faults = session.exec(select(ClipFault).where(ClipFault.clip_id == clip_id)).all()
        metrics = session.exec(select(ClipMetric).where(ClipMetric.clip_id == clip_id)).all()
        clip_row = session.get(Clip, clip_id)
    assert clip_row is not None
    assert body["faults"], "the synthetic runner's hip drop was not reported"
    assert {(f["code"], f["side"]) for f in body["faults"]} == {("hip_drop", "left"),
                                                                ("hip_drop", "right")}
    assert len(faults) == len(body["faults"])
    rows = {(f.code, f.side): f for f in faults}
    for fault in body["faults"]:
        row = rows[(fault["code"], fault.get("side"))]
        assert row.athlete_id == athlete["id"] and row.clip_id == clip_id
        assert row.severity == fault["severity"]
        assert row.value == pytest.approx(fault["value"])
        assert row.confidence == pytest.approx(fault["confidence"])
        assert row.recorded_at == clip_row.recorded_at
    assert {m.key for m in metrics} == set(body["metrics"])
    cadence = next(m for m in metrics if m.key == "cadence_spm")
    assert cadence.value == body["metrics"]["cadence_spm"]["value"]
    assert clip_row.treadmill_speed_kmh == 11.5

    # A retried upload of the same bytes is the same clip; nothing new is queued.
    again = await upload(client, headers, run_clip)
    assert again.status_code == 202 and again.json()["id"] == clip_id
    assert again.json()["status"] == "succeeded"
    # Another athlete sending the same file gets a clip of their own.
    other = await accounts.register("athlete")
    theirs = await upload(client, other["headers"], run_clip)
    assert theirs.status_code == 202 and theirs.json()["id"] != clip_id
    with Session(engine) as session:
        assert len(session.exec(select(Clip).where(Clip.athlete_id == athlete["id"])).all()) == 1
        assert len(session.exec(select(AnalysisJob)
                                .where(AnalysisJob.clip_id == clip_id)).all()) == 1
    # ...which the first athlete cannot see.
    hidden = await client.get(f"/api/v1/clips/{theirs.json()['id']}", headers=headers)
    assert hidden.status_code == 404


async def test_clip_list_newest_first_paginated(
        client: httpx.AsyncClient, accounts: Accounts, media_dir: Path) -> None:
    """No consumer runs here: the clips stay queued, which the list shows."""
    from tests.clips.media import make_clip

    athlete = await accounts.register("athlete")
    ids = []
    for i in range(3):
        clip = make_clip(media_dir / f"list-{i}-{athlete['id']}.mp4", seconds=3.1 + i / 10,
                         fps=30, size=(90, 160))
        resp = await upload(client, athlete["headers"], clip)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    first = (await client.get("/api/v1/clips?limit=2", headers=athlete["headers"])).json()
    assert first["total"] == 3 and first["limit"] == 2 and first["offset"] == 0
    assert [c["id"] for c in first["items"]] == ids[::-1][:2]
    assert all(c["status"] == "queued" and c["progress"] == 0 for c in first["items"])
    rest = (await client.get("/api/v1/clips?limit=2&offset=2",
                             headers=athlete["headers"])).json()
    assert [c["id"] for c in rest["items"]] == ids[:1]
    report = await client.get(f"/api/v1/clips/{ids[0]}/report", headers=athlete["headers"])
    assert report.status_code == 404 and "not ready" in report.json()["detail"]


async def test_delete_clip_and_export(client: httpx.AsyncClient, accounts: Accounts,
                                      engine: Engine, settings: Settings, jobs: JobRuntime,
                                      run_clip: Path) -> None:
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    plan = await client.get("/api/v1/plans/current", headers=headers)
    assert plan.status_code == 200, plan.text
    clip_id = (await upload(client, headers, run_clip)).json()["id"]
    state = await wait_for_clip(client, headers, clip_id)
    assert state["status"] == "succeeded", state
    athlete_dir = settings.resolved_storage_dir / "athletes" / str(athlete["id"])
    stored = sorted(p.relative_to(athlete_dir).as_posix()
                    for p in athlete_dir.rglob("*") if p.is_file())
    assert any(p.startswith("clips/") for p in stored)
    assert any(p.endswith("overlay.mp4") for p in stored)

    # Export: one ZIP with the rows and the files.
    export = await client.get("/api/v1/users/me/export", headers=headers)
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        names = set(archive.namelist())
        clips = json.loads(archive.read("data/clip.json"))
        reports = json.loads(archive.read("data/analysis_report.json"))
        users = json.loads(archive.read("data/user.json"))
        assert {f"files/athletes/{athlete['id']}/{p}" for p in stored} <= names
        video = archive.read(f"files/{clips[0]['storage_key']}")
    assert [c["id"] for c in clips] == [clip_id]
    assert reports[0]["clip_id"] == clip_id and reports[0]["report"]["metrics"]
    assert "hashed_password" not in users[0]
    assert "data/clip_metric.json" in names and "data/analysis_job.json" in names
    assert video == run_clip.read_bytes()

    # Deletion: rows and files go; the plan keeps working.
    resp = await client.delete(f"/api/v1/clips/{clip_id}", headers=headers)
    assert resp.status_code == 204
    assert (await client.get(f"/api/v1/clips/{clip_id}", headers=headers)).status_code == 404
    with Session(engine) as session:
        for model in (Clip, AnalysisJob, AnalysisReport, ClipFault, ClipMetric):
            column = Clip.id if model is Clip else model.clip_id  # type: ignore[attr-defined]
            assert not session.exec(select(model).where(col(column) == clip_id)).all(), model
    assert not [p for p in athlete_dir.rglob("*") if p.is_file()]
    assert (await client.get("/api/v1/plans/current", headers=headers)).status_code == 200
    listed = (await client.get("/api/v1/clips", headers=headers)).json()
    assert listed["total"] == 0
    # Uploading it again after deleting makes a new clip, analysed afresh.
    anew = await upload(client, headers, run_clip)
    assert anew.status_code == 202 and not anew.json()["has_report"]
    again = await wait_for_clip(client, headers, anew.json()["id"])
    assert again["status"] == "succeeded" and again["has_report"]


async def test_simultaneous_retries_make_one_clip(client: httpx.AsyncClient, accounts: Accounts,
                                                  engine: Engine, run_clip: Path) -> None:
    """A phone retrying while its first upload is still in flight: one clip, one job."""
    import anyio

    athlete = await accounts.register("athlete")
    results: list[httpx.Response] = []

    async def send() -> None:
        results.append(await upload(client, athlete["headers"], run_clip))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(send)
    assert [r.status_code for r in results] == [202] * 3, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    with Session(engine) as session:
        assert len(session.exec(select(Clip)).all()) == 1
        assert len(session.exec(select(AnalysisJob)).all()) == 1


async def test_file_names_are_kept_printable(client: httpx.AsyncClient, accounts: Accounts,
                                             run_clip: Path) -> None:
    """A phone's file name is only shown back: a NUL (which PostgreSQL cannot store) or other
    control character in it is dropped, not a reason to refuse the clip."""
    athlete = await accounts.register("athlete")
    boundary = "stridelab-file-name"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="view"\r\n\r\nrear\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="my\x00run\x07.mp4"\r\nContent-Type: video/mp4\r\n\r\n').encode()
    body += run_clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    resp = await client.post("/api/v1/clips", content=body, headers={
        **athlete["headers"], "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 202, resp.text
    clip = (await client.get(f"/api/v1/clips/{resp.json()['id']}",
                             headers=athlete["headers"])).json()
    assert clip["original_filename"] == "myrun.mp4"
