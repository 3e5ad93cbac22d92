"""Clips API: upload, status (and its server-sent events), report, media, deletion, export."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlmodel import Session
from starlette.background import BackgroundTask

from backend.accounts.dependencies import AthleteUser, CurrentUser
from backend.clips import diagnosis, erasure, service
from backend.clips.admission import UPLOAD_REFUSALS, admit_upload, count_upload
from backend.clips.dependencies import OwnedClip, ReadableClip, StorageDep
from backend.clips.export import build_export
from backend.clips.multipart import receive_clip_form
from backend.clips.schemas import (
    CAPTURE_FPS_MAX,
    CAPTURE_FPS_MIN,
    AccountDeletion,
    ClipOptions,
    ClipPage,
    ClipPublic,
    ClipUpdate,
    DiagnosisPublic,
    ReportPublic,
    UploadPublic,
)
from backend.clips.storage import LocalStorage
from backend.coaching.dependencies import CoachedAthlete
from backend.core import audit
from backend.core.config import API_PREFIX
from backend.core.deps import MAX_OFFSET, SessionDep, SettingsDep, release_connection
from backend.core.errors import (
    ERROR_RESPONSES,
    ErrorResponse,
    NotFoundError,
    PermissionDeniedError,
)
from backend.core.security import verify_password
from backend.jobs.dependencies import JobsDep
from backend.jobs.models import TERMINAL

EVENT_POLL_S = 0.5

clips_router = APIRouter(prefix="/clips", tags=["clips"], responses=ERROR_RESPONSES)
coach_clips_router = APIRouter(prefix="/coach/athletes/{athlete_id}/clips", tags=["coach"],
                               responses=ERROR_RESPONSES)
uploads_router = APIRouter(prefix="/uploads", tags=["uploads"], responses=ERROR_RESPONSES)
export_router = APIRouter(prefix="/users/me", tags=["users"], responses=ERROR_RESPONSES)
diagnosis_router = APIRouter(tags=["clips"], responses=ERROR_RESPONSES)

_FORM_TYPES: dict[str, dict[str, Any]] = {
    "view": {"type": "string", "enum": ["rear", "front", "side", "auto"], "default": "auto"},
    "person_x": {"type": "number", "minimum": 0, "maximum": 1},
    "person_y": {"type": "number", "minimum": 0, "maximum": 1},
    "treadmill_speed_kmh": {"type": "number", "exclusiveMinimum": 0, "maximum": 40},
    "capture_fps": {"type": "number", "minimum": CAPTURE_FPS_MIN, "maximum": CAPTURE_FPS_MAX},
    "recorded_at": {"type": "string", "format": "date-time"},
}
_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "The video, as the phone recorded it (MP4 or MOV)."},
            **{name: {**schema, "description": ClipOptions.model_fields[name].description or ""}
               for name, schema in _FORM_TYPES.items()},
        },
    }}}}}

_MEDIA_ERRORS: dict[int | str, dict[str, Any]] = {404: ERROR_RESPONSES[404]}
# Errors of a route whose success is not JSON are still JSON (the one error handler).
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": entry["description"], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    for code, entry in ERROR_RESPONSES.items()}


def _video_response(content_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {content_type: {}}, "description": "The video file"},
            **_MEDIA_ERRORS}


def _clip_base(clip_id: int) -> str:
    return f"{API_PREFIX}/clips/{clip_id}"


@clips_router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=ClipPublic,
    summary="Upload a clip for analysis (multipart)", openapi_extra=_UPLOAD_BODY,
    responses={413: ERROR_RESPONSES[400], **UPLOAD_REFUSALS})
async def upload_clip(request: Request, athlete: AthleteUser, session: SessionDep,
                      settings: SettingsDep, storage: StorageDep, jobs: JobsDep) -> ClipPublic:
    """The body streams to storage; the clip is probed (a 422 says what is wrong with it and
    how to film again) and its analysis queued. Sending the same file again returns the same
    clip (with a new capture_fps, analysed again). Too many new clips lately (429) or too many
    clips waiting for analysis (503) are refused before the body is read, with Retry-After."""
    await run_in_threadpool(admit_upload, request, athlete, session, settings)
    await run_in_threadpool(release_connection, session)
    fields, received = await receive_clip_form(request, storage,
                                               max_bytes=settings.max_upload_bytes)
    try:
        options = ClipOptions.parse(fields)
    except Exception:
        received.path.unlink(missing_ok=True)
        raise
    clip, created = await run_in_threadpool(
        service.register_clip, session, athlete=athlete, received=received, options=options,
        settings=settings, storage=storage, enqueue=jobs.enqueue)
    if created:
        count_upload(request, athlete, settings)
    return await run_in_threadpool(service.read_clip, session, clip)


@clips_router.get("", response_model=ClipPage, summary="The athlete's clips, newest first")
def list_clips(athlete: AthleteUser, session: SessionDep,
               limit: int = Query(20, ge=1, le=100),
               offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> ClipPage:
    items, total = service.list_clips(session, athlete.pk, limit=limit, offset=offset)
    return ClipPage(items=items, total=total, limit=limit, offset=offset)


@clips_router.get("/{clip_id}", response_model=ClipPublic,
                  summary="A clip: status, progress, error, view, timings")
def read_clip(clip: ReadableClip, session: SessionDep) -> ClipPublic:
    return service.read_clip(session, clip)


@clips_router.patch(
    "/{clip_id}", response_model=ClipPublic,
    summary="Give a slow-motion clip's capture rate, or correct when the clip was filmed",
    responses={202: {"model": ClipPublic,
                     "description": "A new capture rate: the clip is analysed again"},
               503: {"model": ErrorResponse,
                     "description": "The server is busy (too many clips waiting for analysis): "
                                    "the new capture rate was not applied and nothing changed; "
                                    "retry after Retry-After seconds"}})
def update_clip(body: ClipUpdate, clip: OwnedClip, session: SessionDep, jobs: JobsDep,
                settings: SettingsDep, response: Response) -> ClipPublic:
    """capture_fps: when the clip's analysis asks for it (needs_capture_fps), the athlete
    tells the rate the phone really filmed at. A new value starts a new analysis at once,
    whatever the current one is doing (status queued, attempts from 0; answered 202); its
    result replaces the report, which stays readable meanwhile. recorded_at: when the clip
    was really filmed (a video's own date that is not plausible for a fresh upload was
    replaced by the upload time); its results are re-dated and the diagnosis, and the plan
    built on it, follow. The same values again change nothing. The athlete's own clips
    only. A new capture rate for a clip whose analysis is not already waiting is refused
    with a 503 (nothing changed) while the analysis queue is full, as an upload is; one below
    the clip's own frame rate is a 422 first."""
    if "recorded_at" in body.model_fields_set and body.recorded_at is not None:
        service.set_recorded_at(session, clip, body.recorded_at)
    if "capture_fps" in body.model_fields_set:
        service.set_capture_fps(session, clip, body.capture_fps, jobs.enqueue, settings)
        response.status_code = status.HTTP_202_ACCEPTED
    return service.read_clip(session, clip)


@clips_router.get("/{clip_id}/events", response_class=EventSourceResponse,
                  summary="Progress of the clip's analysis (server-sent events)",
                  responses=_JSON_ERRORS)
async def clip_events(clip: ReadableClip, request: Request) -> AsyncIterable[ServerSentEvent]:
    """One 'progress' event whenever status, progress or stage change, then a final 'done'
    event (status succeeded or failed; outcome 'analysed' or 'unfit' once succeeded) and the
    stream ends. Works across processes: it reads
    the job row, wherever the worker runs."""
    engine = request.app.state.engine
    clip_id = clip.id
    assert clip_id is not None
    last: Any = None
    sequence = 0
    while True:
        event = await run_in_threadpool(_clip_event, engine, clip_id)
        if event is None:
            yield ServerSentEvent(event="deleted", data={"detail": "The clip was deleted."})
            return
        if event != last:
            sequence += 1
            last = event
            final = event.status in TERMINAL
            yield ServerSentEvent(event="done" if final else "progress", id=str(sequence),
                                  data=event.model_dump(mode="json"))
            if final:
                return
        if await request.is_disconnected():
            return
        await anyio.sleep(EVENT_POLL_S)


def _clip_event(engine: Any, clip_id: int) -> Any:
    with Session(engine) as session:
        return service.clip_event(session, clip_id)


@clips_router.get("/{clip_id}/report", response_model=ReportPublic,
                  summary="The analysis report of a clip")
def read_report(clip: ReadableClip, session: SessionDep) -> ReportPublic:
    report = service.require_report(session, clip)
    return service.report_public(report, _clip_base(report.clip_id))


def _file(storage: LocalStorage, key: str, media_type: str,
          filename: str | None = None) -> FileResponse:
    path = storage.local_path(key)
    if not path.is_file():
        raise NotFoundError("The file is missing from storage.", code="file_missing")
    return FileResponse(path, media_type=media_type, filename=filename,
                        content_disposition_type="inline")


@clips_router.get("/{clip_id}/video", response_class=FileResponse,
                  summary="The clip's video as uploaded", responses=_video_response("video/mp4"))
def download_video(clip: ReadableClip, storage: StorageDep) -> FileResponse:
    name = f"clip-{clip.id}{storage.local_path(clip.storage_key).suffix}"
    return _file(storage, clip.storage_key, clip.content_type, name)


@clips_router.get("/{clip_id}/overlay", response_class=FileResponse,
                  summary="The clip with the pose drawn over it (MP4)",
                  responses=_video_response("video/mp4"))
def download_overlay(clip: ReadableClip, session: SessionDep,
                     storage: StorageDep) -> FileResponse:
    report = service.require_report(session, clip)
    if report.overlay_key is None:
        raise NotFoundError("This analysis has no overlay video.", code="overlay_not_found")
    return _file(storage, report.overlay_key, "video/mp4", f"clip-{clip.id}-overlay.mp4")


@clips_router.get("/{clip_id}/keyframes/{name}", response_class=FileResponse,
                  summary="A key frame of the analysis, lines and angles drawn",
                  responses={200: {"content": {"image/jpeg": {}, "image/png": {}},
                                   "description": "The image"}, **_MEDIA_ERRORS})
def download_keyframe(clip: ReadableClip, session: SessionDep, storage: StorageDep,
                      name: Annotated[str, Path(max_length=128)]) -> FileResponse:
    report = service.require_report(session, clip)
    entry = service.keyframe(report, name)
    return _file(storage, entry["key"], entry["content_type"])


@clips_router.delete("/{clip_id}", status_code=status.HTTP_204_NO_CONTENT,
                     response_class=Response, summary="Delete a clip, its analysis and files")
def delete_clip(clip: OwnedClip, session: SessionDep, storage: StorageDep) -> Response:
    service.delete_clip(session, clip, storage)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@coach_clips_router.get("", response_model=ClipPage,
                        summary="An athlete's clips, newest first (their coach)")
def list_athlete_clips(athlete: CoachedAthlete, session: SessionDep,
                       limit: int = Query(20, ge=1, le=100),
                       offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> ClipPage:
    items, total = service.list_clips(session, athlete.pk, limit=limit, offset=offset)
    return ClipPage(items=items, total=total, limit=limit, offset=offset)


@uploads_router.get("/{uuid}", response_model=UploadPublic,
                    summary="A resumable upload, and the clip it became once complete")
def read_upload(uuid: Annotated[str, Path(max_length=32)], athlete: AthleteUser,
                session: SessionDep) -> UploadPublic:
    upload = service.owned_upload(session, uuid, athlete)
    return service.upload_public(session, upload)


@export_router.get("/export", response_class=FileResponse,
                   summary="Everything stored about the account, as one ZIP archive",
                   responses={200: {"content": {"application/zip": {}},
                                    "description": "The archive"}})
async def export_data(user: CurrentUser, session: SessionDep,
                      storage: StorageDep) -> FileResponse:
    path = storage.new_incoming(".zip")
    try:
        await run_in_threadpool(build_export, session, user, storage, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit.record(session, "data_exported", actor_id=user.pk, subject_user_id=user.pk,
                 size_bytes=path.stat().st_size)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return FileResponse(path, media_type="application/zip",
                        filename=f"stridelab-export-{user.id}-{stamp}.zip",
                        background=BackgroundTask(path.unlink, missing_ok=True))


@export_router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
                      summary="Delete the account and everything stored about it",
                      description="Clips, reports, plans, logs, notifications, coach links "
                      "and files go for good (export them first: GET /users/me/export); "
                      "the audit log keeps that the account was deleted. Confirm with the "
                      "password.")
def delete_account(body: AccountDeletion, user: CurrentUser, session: SessionDep,
                   storage: StorageDep) -> Response:
    ok, _ = verify_password(body.password, user.hashed_password)
    if not ok:
        raise PermissionDeniedError("The password is wrong: the account was not deleted. "
                                    "Give the password you log in with.",
                                    code="bad_password")
    user_id = user.pk
    erasure.erase_account(session, user)
    # The files go after the commit (the response is sent after it): a failed commit
    # leaves the account whole.
    return Response(status_code=status.HTTP_204_NO_CONTENT,
                    background=BackgroundTask(erasure.remove_files, storage, user_id))


def _diagnosis(session: Session, athlete_id: int) -> DiagnosisPublic:
    found = diagnosis.diagnosis_for(session, athlete_id)
    return DiagnosisPublic.model_validate(
        {**asdict(found), "faults": [asdict(f) for f in found.faults]})


@diagnosis_router.get("/diagnosis", response_model=DiagnosisPublic,
                      summary="The athlete's diagnosis: the latest fit clip of each view combined")
def read_diagnosis(athlete: AthleteUser, session: SessionDep) -> DiagnosisPublic:
    return _diagnosis(session, athlete.pk)


@diagnosis_router.get("/coach/athletes/{athlete_id}/diagnosis", response_model=DiagnosisPublic,
                      tags=["coach"], summary="An athlete's diagnosis (their coach)")
def coach_read_diagnosis(athlete: CoachedAthlete, session: SessionDep) -> DiagnosisPublic:
    return _diagnosis(session, athlete.pk)
