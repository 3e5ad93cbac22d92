"""Resumable uploads (tus 1.0: creation, HEAD, PATCH, termination) under /api/v1/uploads/,
built on tuspyserver's FastAPI router and finishing into the same clip pipeline as the
multipart upload.

What this module adds to tuspyserver, and why:

- ``ClipTusStorage``, a tuspyserver storage backend (its ``TusStorage`` plug-in point).
  tuspyserver's default file-system mode takes its upload lock by sleeping on the event loop
  (one contended upload stalls every request for up to 30 s), and its ``LocalFileStorage``
  keeps a whole PATCH body in memory until the request ends (tus-js-client sends the whole
  file in one PATCH by default). This backend writes each chunk to disk as it arrives, at the
  offset the upload has reached (so a request cut off half way leaves no stray bytes), and
  takes its lock off the event loop.
- Authorization: only athletes create uploads; each upload belongs to its creator (a
  ``clip_upload`` row) and is a 404 to anyone else, for HEAD, PATCH and DELETE alike.
- Validation at creation, before any byte is sent: the clip details in Upload-Metadata, the
  size limit, and 'filename' and 'filetype' (tuspyserver's HEAD needs them). Concatenation
  (whose partial uploads would each "complete") and data sent with the creation request (which
  tuspyserver reads into memory) are refused.
- Completion: the finished file is hashed, probed and filed as a clip exactly like a
  multipart upload (same athlete + same bytes = same clip); the final PATCH answers with the
  clip id in ``Stridelab-Clip-Id``, and ``GET /api/v1/uploads/{id}`` tells it later (for a
  client that lost that response). An unusable file ends the upload with the probe's 4xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from tuspyserver import create_tus_router
from tuspyserver.lock import acquire_upload_lock
from tuspyserver.storage import TusStorage

from backend.accounts.dependencies import AthleteUser
from backend.accounts.models import User
from backend.clips import service
from backend.clips.admission import UPLOAD_REFUSALS, admit_upload, count_upload
from backend.clips.multipart import ReceivedFile, too_large
from backend.clips.schemas import ClipOptions
from backend.clips.storage import LocalStorage, get_storage, sha256_file
from backend.core.config import Settings
from backend.core.deps import SessionDep, SettingsDep, release_connection
from backend.core.errors import ERROR_RESPONSES, DomainError, InvalidInputError
from backend.core.time import utcnow
from backend.jobs.admission import check_room
from backend.jobs.dependencies import get_jobs

logger = logging.getLogger(__name__)

CLIP_ID_HEADER = "Stridelab-Clip-Id"
TUS_PREFIX = "uploads"
TUS_VERSION = "1.0.0"
PATCH_CONTENT_TYPE = "application/offset+octet-stream"
LOCK_TIMEOUT_S = 10.0


class ClipTusStorage(TusStorage):
    """tus uploads as files under ``<storage root>/_tus``: ``<id>`` (data) and ``<id>.info``.

    Chunks are written where the upload stands (``pwrite`` at the offset recorded in the
    info file, read under the lock), so bytes of a request that failed half way are simply
    overwritten by the next one; ``flush`` truncates the data file to the new offset.
    Once complete, the data moves into clip storage and the info file stays until the upload
    expires, so HEAD keeps answering "complete" to a client that missed the last response.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cursor: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _path(self, uid: str) -> Path:
        if not service.is_upload_id(uid):
            raise InvalidInputError("Invalid upload id.", code="upload_not_found")
        return self.directory / uid

    def _info_path(self, uid: str) -> Path:
        return self._path(uid).with_suffix(".info")

    def location(self, uid: str) -> str:
        return str(self._path(uid))

    async def create(self, uid: str) -> None:
        def _create() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path(uid).touch()

        await asyncio.to_thread(_create)

    async def exists(self, uid: str) -> bool:
        return await asyncio.to_thread(self._info_path(uid).is_file)

    async def size(self, uid: str) -> int:
        def _size() -> int:
            path = self._path(uid)
            return path.stat().st_size if path.is_file() else 0

        return await asyncio.to_thread(_size)

    async def append(self, uid: str, chunk: bytes) -> None:
        position = self._cursor.get(uid, 0)

        def _write() -> None:
            fd = os.open(self._path(uid), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.pwrite(fd, chunk, position)
            finally:
                os.close(fd)

        await asyncio.to_thread(_write)
        self._cursor[uid] = position + len(chunk)

    async def flush(self, uid: str) -> None:
        end = self._cursor.get(uid, 0)

        def _flush() -> None:
            path = self._path(uid)
            if not path.exists():
                return
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, end)
                os.fsync(fd)
            finally:
                os.close(fd)

        await asyncio.to_thread(_flush)

    async def finalize(self, uid: str) -> None:
        return None

    async def read(self, uid: str) -> bytes | None:
        # Never read a whole clip into memory: nothing in the routes we use needs it.
        return None

    async def delete(self, uid: str) -> None:
        def _delete() -> None:
            for path in (self._path(uid), self._info_path(uid)):
                path.unlink(missing_ok=True)

        self._cursor.pop(uid, None)
        await asyncio.to_thread(_delete)

    async def read_info(self, uid: str) -> dict[Any, Any] | None:
        def _read() -> dict[Any, Any] | None:
            try:
                data = json.loads(self._info_path(uid).read_text())
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None

        return await asyncio.to_thread(_read)

    async def write_info(self, uid: str, data: dict[Any, Any]) -> None:
        def _write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._info_path(uid)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_text(json.dumps(data, default=str))
            os.replace(tmp, path)

        await asyncio.to_thread(_write)

    async def list_uids(self) -> list[str]:
        def _list() -> list[str]:
            if not self.directory.is_dir():
                return []
            return [p.stem for p in self.directory.glob("*.info")]

        return await asyncio.to_thread(_list)

    @contextlib.asynccontextmanager
    async def lock(self, uid: str) -> AsyncIterator[None]:  # type: ignore[override]
        """One request at a time per upload: an asyncio lock within this process, a file lock
        (taken in a thread, never on the event loop) across processes and machines."""
        local = self._locks.setdefault(uid, asyncio.Lock())
        try:
            await asyncio.wait_for(local.acquire(), timeout=LOCK_TIMEOUT_S)
        except TimeoutError as exc:
            raise TimeoutError("Another request is still writing to this upload; retry "
                               "shortly.") from exc
        try:
            await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
            manager = acquire_upload_lock(str(self._path(uid)),
                                          locks_dir=str(self.directory / ".locks"),
                                          blocking=True, timeout=LOCK_TIMEOUT_S)
            await asyncio.to_thread(manager.__enter__)
            try:
                info = await self.read_info(uid)
                self._cursor[uid] = int(info.get("offset") or 0) if info else 0
                yield
            finally:
                await asyncio.to_thread(manager.__exit__, None, None, None)
        finally:
            local.release()
            if not local.locked():
                self._locks.pop(uid, None)

    def purge(self, uid: str) -> None:
        """Synchronous delete, for the housekeeping thread."""
        for path in (self.directory / uid, self.directory / f"{uid}.info"):
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- dependencies

class TusVersionError(DomainError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "tus_version_unsupported"


class TusContentTypeError(DomainError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "tus_content_type"


class TusLengthError(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "tus_length_invalid"


class UploadFailedError(DomainError):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    code = "upload_failed"


def _check_patch_headers(request: Request) -> None:
    """tuspyserver checks these in the route, after its dependency has already written the
    body: checked here, before a byte is read, a refused PATCH leaves the upload as it was."""
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusVersionError(f"Send the header 'Tus-Resumable: {TUS_VERSION}' (tus-js-client "
                              "and tuspy do): this server speaks tus 1.0.0 only.",
                              headers={"Tus-Version": TUS_VERSION})
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != PATCH_CONTENT_TYPE:
        raise TusContentTypeError(f"A tus PATCH must have 'Content-Type: {PATCH_CONTENT_TYPE}' "
                                  "(the upload was left as it was; send the bytes again with "
                                  "that header).")


def _check_creation_length(request: Request) -> None:
    raw_length = request.headers.get("upload-length")
    if raw_length is not None:
        if not raw_length.strip().isdigit():
            raise TusLengthError("Upload-Length must be the file's size in bytes (a whole "
                                 "number, 0 or more).")
    elif request.headers.get("upload-defer-length") != "1":
        raise TusLengthError("Send the file's size in bytes as Upload-Length (or "
                             "'Upload-Defer-Length: 1' when it is not known yet).")

def _empty_upload() -> InvalidInputError:
    return InvalidInputError("The file is empty (0 bytes): nothing of the clip arrived. Pick "
                             "the clip again and upload it once more.", code="empty_file")


def _upload_id(request: Request) -> str | None:
    value = request.path_params.get("uuid")
    return str(value) if value is not None else None


def tus_access(request: Request, athlete: AthleteUser, session: SessionDep) -> User:
    """Athletes only; an existing upload only for the athlete who created it (else 404)."""
    upload_id = _upload_id(request)
    if upload_id is not None:
        service.owned_upload(session, upload_id, athlete)
    # A PATCH streams its body for as long as the phone takes: hold no connection meanwhile.
    release_connection(session)
    return athlete


TusAthlete = Annotated[User, Depends(tus_access)]


def tus_file_dep(
        request: Request, athlete: TusAthlete, session: SessionDep, settings: SettingsDep,
) -> Callable[[dict[str, str]], Awaitable[dict[str, str]] | None]:
    """tuspyserver's per-request file hook: on creation, the new upload's id and owner row.

    It runs before tuspyserver reads a PATCH body, so the checks that must come before any
    byte is written live here too."""
    if request.method == "PATCH":
        _check_patch_headers(request)
    if request.method == "POST" and _upload_id(request) is None:
        _check_creation_length(request)
        if request.headers.get("upload-concat"):
            raise InvalidInputError("Concatenated uploads are not supported: send the clip as "
                                    "one upload (it resumes on its own).",
                                    code="tus_concat_unsupported")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > 0:
            raise InvalidInputError("Send the clip's bytes with PATCH requests, not with the "
                                    "creation request (turn off uploadDataDuringCreation).",
                                    code="tus_creation_with_upload_unsupported")
        # The athlete's rate and the queue's room, before the upload exists (429 / 503).
        admit_upload(request, athlete, session, settings)
        release_connection(session)

    def file_hook(metadata: dict[str, str]) -> Awaitable[dict[str, str]] | None:
        if request.method != "POST" or _upload_id(request) is not None:
            return None
        upload_id = uuid.uuid4().hex
        raw_length = request.headers.get("upload-length")

        async def create() -> dict[str, str]:
            # tuspyserver calls this hook on the event loop (and awaits what it returns): the
            # row is written in a thread, since on SQLite the INSERT may wait for the write
            # lock, and waiting on the loop stalls every request, the lock's holder included.
            await run_in_threadpool(
                service.new_upload, session, upload_id, athlete,
                int(raw_length) if raw_length and raw_length.isdigit() else None,
                timedelta(hours=settings.upload_expire_hours))
            return {"uid": upload_id}

        return create()

    return file_hook


def tus_pre_create_dep(settings: SettingsDep,
                       _: TusAthlete) -> Callable[[dict[str, str], dict[str, Any]], None]:
    def pre_create(metadata: dict[str, str], info: dict[str, Any]) -> None:
        missing = [k for k in ("filename", "filetype") if not metadata.get(k)]
        if missing:
            raise InvalidInputError(
                f"Upload-Metadata must include {' and '.join(missing)} (with tus-js-client: "
                "metadata: {filename: file.name, filetype: file.type, view: 'rear'}).",
                code="tus_metadata_missing")
        ClipOptions.parse(metadata)
        size = info.get("size")
        if size is not None and int(size) > settings.max_upload_bytes:
            raise too_large(settings.max_upload_bytes)
        if size is not None and int(size) == 0:
            raise _empty_upload()

    return pre_create


def tus_complete_dep(request: Request, response: Response, athlete: TusAthlete,
                     session: SessionDep,
                     settings: SettingsDep) -> Callable[[str, dict[str, str]], Awaitable[None]]:
    """The finished upload becomes a clip, exactly as a multipart upload does."""
    async def complete(location: str, metadata: dict[str, str]) -> None:
        upload_id = _upload_id(request)
        path = Path(location)
        tus_storage: ClipTusStorage = request.app.state.tus_storage
        if upload_id is None:  # a zero-length upload "completes" at creation: not a clip
            await tus_storage.delete(path.name)
            raise _empty_upload()
        upload = await run_in_threadpool(service.owned_upload, session, upload_id, athlete)
        if upload.completed_at is not None:
            # Completed before (a client that missed the last response sends an empty PATCH
            # at the end offset): the clip it became, and nothing run again.
            if upload.clip_id is not None:
                response.headers[CLIP_ID_HEADER] = str(upload.clip_id)
            return
        try:
            options = ClipOptions.parse(metadata)
            # The queue filled while the bytes arrived: refused, and the upload removed below
            # (HEAD must not say "complete" for an upload that became no clip).
            await run_in_threadpool(check_room, session, settings)
            digest, size = await asyncio.to_thread(sha256_file, path)
            received = ReceivedFile(path=path, sha256=digest, size=size,
                                    filename=(metadata.get("filename") or None),
                                    content_type=metadata.get("filetype") or None)
            clip, created = await run_in_threadpool(
                service.register_clip, session, athlete=athlete, received=received,
                options=options, settings=settings, storage=get_storage(settings),
                enqueue=get_jobs(request).enqueue)
            upload.completed_at = utcnow()
            upload.clip_id = clip.id
            session.add(upload)
            await run_in_threadpool(session.flush)
        except (DomainError, DataError):
            await tus_storage.delete(upload_id)  # refused: the upload is over
            raise
        except Exception as exc:
            # Never leave an upload at its end offset with no clip (HEAD would tell the
            # client it is done): it is over, and the athlete is told to send it again.
            logger.exception("upload %s: completion failed", upload_id)
            await tus_storage.delete(upload_id)
            raise UploadFailedError(
                "The upload arrived but could not be filed because of a problem on our side. "
                "Upload the clip again.") from exc
        if created:
            count_upload(request, athlete, settings)
        response.headers[CLIP_ID_HEADER] = str(clip.id)

    return complete


# --------------------------------------------------------------------------- router

_SUMMARIES = {
    ("POST", ""): ("tus_create", "Start a resumable clip upload (tus creation)"),
    ("HEAD", "/{uuid}"): ("tus_offset", "How much of a resumable upload has arrived (tus HEAD)"),
    ("PATCH", "/{uuid}"): ("tus_append", "Send the next bytes of a resumable upload (tus PATCH)"),
    ("DELETE", "/{uuid}"): ("tus_terminate", "Abandon a resumable upload (tus termination)"),
    ("OPTIONS", "/"): ("tus_options", "The tus versions, extensions and size limit"),
}


def build_tus_router(settings: Settings, storage: LocalStorage) -> tuple[APIRouter,
                                                                         ClipTusStorage]:
    tus_storage = ClipTusStorage(storage.tus_dir)
    # tuspyserver's annotations are narrower than what it accepts (any FastAPI dependency).
    router = create_tus_router(
        prefix=TUS_PREFIX, files_dir=str(storage.tus_dir), max_size=settings.max_upload_bytes,
        auth=tus_access,  # type: ignore[arg-type]
        days_to_keep=max(1, -(-settings.upload_expire_hours // 24)),
        upload_complete_dep=tus_complete_dep,  # type: ignore[arg-type]
        pre_create_dep=tus_pre_create_dep, file_dep=tus_file_dep,  # type: ignore[arg-type]
        tags=["uploads"], storage=tus_storage)
    prefix = f"/{TUS_PREFIX}"
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        path = route.path.removeprefix(prefix)
        method = next(iter(route.methods or {"GET"}))
        if (method, path) == ("POST", "/"):
            route.include_in_schema = False  # the same creation route, with a trailing slash
            continue
        name, summary = _SUMMARIES.get((method, path), (route.name, route.name))
        route.operation_id = f"uploads-{name}"
        route.summary = summary
        route.responses = {**ERROR_RESPONSES, **{k: v for k, v in route.responses.items()
                                                  if str(k).startswith("2")}}
        if method in ("POST", "PATCH"):  # creation (rate, queue) and completion (queue)
            route.responses = {**route.responses, **UPLOAD_REFUSALS}
    return router, tus_storage


def purge_expired(directory: Path, expired_ids: list[str]) -> None:
    storage = ClipTusStorage(directory)
    for upload_id in expired_ids:
        with contextlib.suppress(OSError, DomainError):
            storage.purge(upload_id)
