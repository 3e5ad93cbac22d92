"""Whether an upload may start: the athlete's upload rate, then room in the analysis queue.

Checked before any byte of the clip is stored (the multipart route before it reads the body,
the tus creation before the upload exists), so a refusal keeps nothing. What counts toward
the rate is an upload that became a new clip: a refused file, the same clip sent again (a
phone retrying) or a tus upload not finished yet use up nothing, so an athlete fixing a bad
file is never locked out, while each accepted clip (an analysis for the queue) counts.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from backend.accounts.models import User
from backend.core.config import Settings
from backend.core.errors import ErrorResponse, RateLimitedError
from backend.core.security import RateLimiter
from backend.jobs.admission import check_room

# The OpenAPI entries of the refusals an upload may get on top of the shared ones.
UPLOAD_REFUSALS: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorResponse,
          "description": "Too many uploads in a short time: retry after Retry-After seconds"},
    503: {"model": ErrorResponse,
          "description": "The server is busy (too many clips waiting for analysis) or its "
                         "database is unavailable for a moment: nothing was kept; retry "
                         "after Retry-After seconds"},
}


def upload_limiter(request: Request, settings: Settings) -> RateLimiter:
    """The process's upload counter (in-process, like the login throttle)."""
    limiter: RateLimiter | None = getattr(request.app.state, "upload_limiter", None)
    if limiter is None:
        limiter = RateLimiter(settings.upload_max_per_window, settings.upload_window_s)
        request.app.state.upload_limiter = limiter
    return limiter


def _too_many(wait: int, settings: Settings) -> RateLimitedError:
    return RateLimitedError(
        f"Too many uploads: at most {settings.upload_max_per_window} every "
        f"{settings.upload_window_s:g} s. Nothing of this one was kept; send it again in "
        f"{wait} s.", code="uploads_rate_limited", headers={"Retry-After": str(wait)})


def admit_upload(request: Request, athlete: User, session: Session, settings: Settings) -> None:
    """Raise 429 (this athlete uploaded too many clips lately) or 503 (the queue is full)."""
    wait = upload_limiter(request, settings).retry_after_s(_key(athlete))
    if wait:
        raise _too_many(wait, settings)
    check_room(session, settings)


def count_upload(request: Request, athlete: User, settings: Settings) -> None:
    """An upload became a new clip: it counts toward the athlete's rate."""
    upload_limiter(request, settings).count(_key(athlete))


def _key(athlete: User) -> str:
    return f"athlete:{athlete.pk}"
