"""Receive a multipart clip upload as a stream: straight to a file in storage, hashed on the
way, never held whole in memory, and cut off as soon as it passes the size limit."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from backend.clips.storage import Storage
from backend.core.config import API_PREFIX
from backend.core.errors import (
    InvalidInputError,
    PayloadTooLargeError,
    StorageFullError,
    is_disk_full,
)

logger = logging.getLogger(__name__)

WRITE_BUFFER = 1024 * 1024
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 20
# What a body may hold besides the clip: boundaries, part headers, the form fields.
BODY_OVERHEAD = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024


@dataclass
class ReceivedFile:
    path: Path
    sha256: str
    size: int
    filename: str | None
    content_type: str | None


def too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The clip is larger than {max_bytes // (1024 * 1024)} MB. Trim it to 10-20 s of "
        "steady running (the phone's editor can) and upload that.", code="clip_too_large")


class _Receiver:
    def __init__(self, path: Path, max_bytes: int, file_field: str) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.fields: dict[str, str] = {}
        self.digest = hashlib.sha256()
        self.size = 0
        self.filename: str | None = None
        self.content_type: str | None = None
        self.file_seen = False
        self.handle: BinaryIO | None = None
        self.pending = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    # python-multipart callbacks (synchronous; file data is buffered and written in a thread)
    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._is_file = False
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        raw_name = options.get(b"name")
        if raw_name is None:
            raise InvalidInputError("A multipart part has no name.", code="bad_multipart")
        self._name = raw_name.decode("utf-8", "replace")
        if self._name == self.file_field:
            if self.file_seen:
                raise InvalidInputError("Send one clip per upload.", code="bad_multipart")
            self.file_seen = True
            self._is_file = True
            raw_filename = options.get(b"filename")
            # Cleaned and cut to the column where the clip row is made (clips/service.py).
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
            ctype = self._headers.get(b"content-type")
            self.content_type = ctype.decode("latin-1")[:100] if ctype else None
        elif len(self.fields) >= MAX_FIELDS:
            raise InvalidInputError("Too many form fields.", code="bad_multipart")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.size += end - start
            if self.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.pending += data[start:end]
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise InvalidInputError(f"The form field {self._name!r} is too long.",
                                        code="bad_multipart")

    def on_part_end(self) -> None:
        if not self._is_file and self._name is not None:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def write_pending(self) -> None:
        if not self.pending:
            return
        if self.handle is None:
            self.handle = self.path.open("wb")
        data = bytes(self.pending)
        self.pending.clear()
        self.handle.write(data)
        self.digest.update(data)


async def receive_clip_form(request: Request, storage: Storage, *, max_bytes: int,
                            file_field: str = "file") -> tuple[dict[str, str], ReceivedFile]:
    """Read the multipart body: the text fields, and the clip written into storage's incoming
    area. The caller owns the returned file (move it into storage, or delete it)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInputError(
            "Send the clip as multipart/form-data with the video in the 'file' field "
            f"(or use the resumable upload at {API_PREFIX}/uploads/).", code="not_multipart")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + BODY_OVERHEAD:
        raise too_large(max_bytes)

    receiver = _Receiver(storage.new_incoming(), max_bytes, file_field)
    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": receiver.on_part_begin,
        "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end,
        "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value,
        "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
    })
    received = 0
    try:
        async for chunk in request.stream():
            # Every byte counts, not only the file's: huge part headers or a padded preamble
            # would otherwise pass the limit unchecked (and part headers are kept in memory).
            received += len(chunk)
            if received > max_bytes + BODY_OVERHEAD:
                raise too_large(max_bytes)
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise InvalidInputError("The multipart body is malformed.",
                                        code="bad_multipart") from exc
            if len(receiver.pending) >= WRITE_BUFFER:
                await anyio.to_thread.run_sync(receiver.write_pending)
        parser.finalize()
        await anyio.to_thread.run_sync(receiver.write_pending)
        if not receiver.file_seen:
            raise InvalidInputError("No clip in the upload: send the video in the 'file' "
                                    "field.", code="no_file")
        if receiver.handle is None:  # an empty file part
            receiver.path.touch()
    except BaseException as exc:
        if receiver.handle is not None:
            with contextlib.suppress(OSError):  # closing flushes: the disk may be full
                receiver.handle.close()
        with contextlib.suppress(OSError):
            receiver.path.unlink(missing_ok=True)
        if is_disk_full(exc):
            logger.error("storage full while receiving an upload")
            raise StorageFullError() from exc
        raise
    if receiver.handle is not None:
        try:
            receiver.handle.close()
        except OSError as exc:
            with contextlib.suppress(OSError):
                receiver.path.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise StorageFullError() from exc
            raise
    return receiver.fields, ReceivedFile(path=receiver.path, sha256=receiver.digest.hexdigest(),
                                         size=receiver.size, filename=receiver.filename,
                                         content_type=receiver.content_type)
