"""Uploading the same clip again after a failed analysis: when the failure message told the
athlete to upload again (a problem on the server's side), the analysis starts over, with the
stored file restored if it went missing; when the clip itself was the problem, the failed
clip comes back unchanged and nothing is queued."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.clips.models import Clip
from backend.clips.storage import get_storage
from backend.core.config import Settings
from backend.jobs.models import AnalysisJob
from backend.jobs.runtime import JobRuntime
from tests.clips.conftest import upload, wait_for_clip
from tests.clips.media import make_clip
from tests.conftest import Accounts


def _fail(engine: Engine, clip_id: int, code: str, message: str) -> None:
    """The job ends as a worker's failure would leave it."""
    with Session(engine) as session:
        job = session.exec(select(AnalysisJob).where(AnalysisJob.clip_id == clip_id)).one()
        job.status, job.stage, job.attempts = "failed", "failed", 3
        job.error_code, job.error_message = code, message
        session.add(job)
        session.commit()


async def test_reupload_after_server_failure_starts_over(
        app: FastAPI, client: httpx.AsyncClient, accounts: Accounts, engine: Engine,
        settings: Settings, run_clip: Path, media_dir: Path) -> None:
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    queued: list[int] = []
    app.state.jobs.enqueue = lambda job_id, **_: queued.append(job_id)  # no consumer here

    first = await upload(client, headers, run_clip)
    assert first.status_code == 202, first.text
    clip_id = first.json()["id"]
    assert len(queued) == 1
    _fail(engine, clip_id, "internal_error", "A problem on our side. Upload it again later.")
    with Session(engine) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        stored = get_storage(settings).local_path(clip.storage_key)
    stored.unlink()  # and the file went missing (the clip_missing case)

    again = await upload(client, headers, run_clip)
    assert again.status_code == 202, again.text
    body = again.json()
    assert body["id"] == clip_id
    assert body["status"] == "queued" and body["attempts"] == 0 and body["error"] is None
    assert queued == [queued[0], queued[0]], "the analysis was not queued again"
    assert stored.read_bytes() == run_clip.read_bytes()
    with Session(engine) as session:
        assert len(session.exec(select(Clip)).all()) == 1

    # A failure of the clip itself: the same bytes would fail the same way.
    other = make_clip(media_dir / f"other-{athlete['id']}.mp4", seconds=3.1, fps=30,
                      size=(90, 160))
    clip2 = (await upload(client, headers, other)).json()["id"]
    _fail(engine, clip2, "no_person", "No person was found in the clip.")
    before = len(queued)
    same = await upload(client, headers, other)
    assert same.status_code == 202 and same.json()["status"] == "failed"
    assert same.json()["error"]["code"] == "no_person" and len(queued) == before


async def test_reuploaded_clip_is_analysed(client: httpx.AsyncClient, accounts: Accounts,
                                           engine: Engine, jobs: JobRuntime,
                                           run_clip: Path) -> None:
    """With a real consumer: the restarted analysis runs to the end."""
    athlete = await accounts.register("athlete")
    headers = athlete["headers"]
    first = await upload(client, headers, run_clip)
    clip_id = first.json()["id"]
    assert (await wait_for_clip(client, headers, clip_id))["status"] == "succeeded"
    _fail(engine, clip_id, "interrupted", "The analysis was interrupted. Upload it again.")
    again = await upload(client, headers, run_clip)
    assert again.json()["id"] == clip_id and again.json()["status"] in ("queued", "running")
    state = await wait_for_clip(client, headers, clip_id)
    assert state["status"] == "succeeded" and state["attempts"] == 1 and state["has_report"]
