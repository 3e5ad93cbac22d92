"""Domain errors, and the one place that maps them to HTTP responses."""

from __future__ import annotations

import errno
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorResponse(BaseModel):
    """Every error the API returns: a human message and a stable machine code."""

    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


class DomainError(Exception):
    """Raised by services; the handler turns it into a JSON error."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.headers = headers


class NotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class PermissionDeniedError(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class AuthenticationError(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_authenticated"

    def __init__(self, message: str = "Not authenticated: log in and send the access token "
                 "as 'Authorization: Bearer <token>'.", *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class RateLimitedError(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"


class StorageFullError(DomainError):
    """The disk (or the shared storage) has no room: the request kept nothing."""

    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    code = "storage_full"

    def __init__(self, message: str = "The service's storage is full, so nothing of this "
                 "upload was kept. Try again later; the operators have been told by the "
                 "logs.") -> None:
        super().__init__(message)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class InvalidInputError(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_input"


class PayloadTooLargeError(DomainError):
    status_code = status.HTTP_413_CONTENT_TOO_LARGE
    code = "payload_too_large"


# Shared OpenAPI declaration of the error bodies, so every route documents them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The request cannot be carried out"},
    401: {"model": ErrorResponse, "description": "Missing or invalid access token"},
    403: {"model": ErrorResponse, "description": "Not allowed for this account"},
    404: {"model": ErrorResponse, "description": "Not found, or not yours"},
    422: {"model": ErrorResponse, "description": "The input is invalid"},
    507: {"model": ErrorResponse, "description": "The service's storage is full"},
    503: {"model": ErrorResponse, "description": "The database is unavailable for a moment: "
          "retry after the Retry-After seconds"},
}
# How long a client should wait when the database is unreachable (a restart, a failover).
DATABASE_RETRY_AFTER_S = 5


def _humanise_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.message, "code": exc.code},
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": _humanise_validation(exc), "code": "invalid_input",
                     "errors": errors},
        )

    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # The database (DataError) or its driver (OverflowError: SQLite's refuses integers
        # past 64 bits) refused a value: the input was wrong, not the server. Routes bound
        # their inputs; this is the safety net.
        if "NUL (0x00)" in str(exc):  # psycopg: "text fields cannot contain NUL (0x00) bytes"
            return JSONResponse(
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                content={"detail": "Text in the request contains a NUL character (\\u0000), "
                         "which cannot be stored: remove it and send the request again.",
                         "code": "nul_character"})
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": "A value in the request is out of range (too large a number, "
                     "or a date the database cannot store): check the values you sent.",
                     "code": "value_out_of_range"})

    async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The connection failed (the server restarts, fails over, or SQLite stays locked):
        # the request's transaction was rolled back, nothing of it applied; say when to retry.
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "The service's database is unavailable for a moment (nothing of "
                     f"this request was saved): try again in {DATABASE_RETRY_AFTER_S} s.",
                     "code": "database_unavailable"},
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})

    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "not_authenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such resource: check the URL."
        if exc.status_code == 400 and ("parsing the body" in detail
                                       or "multipart" in detail.lower()):
            # FastAPI's and Starlette's words for a body they could not decode (a broken
            # form, bytes that are not the declared content type): say what to send.
            detail = (f"The request body could not be read ({detail.rstrip('.')}): send JSON "
                      "as 'application/json' (UTF-8), or the form the endpoint documents, "
                      "with a matching Content-Type.")
            code = "body_unreadable"
        return JSONResponse(status_code=exc.status_code, content={"detail": detail, "code": code},
                            headers=getattr(exc, "headers", None))
