"""Request dependencies every domain shares: the database session (one unit of work per
request), the settings, the caller's verified token, and role checks.

Each domain keeps its own dependencies beside its routes (``accounts/dependencies.py``: the
current user and the roles; ``coaching/dependencies.py``: an athlete of the calling coach;
``clips/dependencies.py``: a clip the caller may see). This module knows no domain: the user
is whatever object has a ``role``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from backend.core.config import API_PREFIX, Settings, get_settings
from backend.core.db import get_engine, session_scope
from backend.core.errors import AuthenticationError, PermissionDeniedError
from backend.core.security import decode_access_token

# Ids are 32-bit integer columns (PostgreSQL INTEGER): a larger id cannot exist, and passing
# it to the database would be an overflow error rather than "not found".
MAX_ID = 2**31 - 1
MAX_OFFSET = 2**31 - 1

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commit when the route succeeds, roll back otherwise.

    Function-scoped (below): the commit happens when the route returns, before the response
    is sent, so a client never sees a success whose data is not yet committed (or whose
    commit then failed), and jobs queued after the commit exist before the client hears of
    them."""
    engine = getattr(request.app.state, "engine", None) or get_engine()
    with session_scope(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_app_settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


@dataclass(frozen=True)
class TokenClaims:
    """Who a valid access token was issued to, and in which login session."""

    user_id: int
    session_id: str


def get_token_claims(settings: SettingsDep,
                     token: Annotated[str | None, Depends(oauth2_scheme)]) -> TokenClaims:
    """The claims of a valid access token (401 without one). Whether its session is still
    open is the accounts domain's to check (``accounts.dependencies``)."""
    if not token:
        raise AuthenticationError()
    payload = decode_access_token(token, settings)
    try:
        return TokenClaims(int(payload["sub"]), str(payload["sid"]))
    except (TypeError, ValueError) as exc:
        raise AuthenticationError("Invalid access token: log in again.",
                                  code="invalid_token") from exc


TokenClaimsDep = Annotated[TokenClaims, Depends(get_token_claims)]


def release_connection(session: Session) -> None:
    """End the request's read transaction so its pooled connection goes back to the pool.

    Called before a request body is streamed in (uploads last minutes on a phone): otherwise
    every upload in progress holds a database connection for its whole duration, and a few
    slow uploads exhaust the pool. Loaded objects stay usable (``expire_on_commit=False``)
    and the next query takes a connection again."""
    session.commit()


class HasRole(Protocol):
    role: str


U = TypeVar("U", bound=HasRole)


def require_role(role: str, current_user: Callable[..., U]) -> Callable[..., U]:
    """A dependency that returns the current user (``current_user``, a dependency) if their
    role is ``role``, else a 403 saying who may do this."""

    def dependency(user: Any = Depends(current_user)) -> U:
        if user.role != role:
            raise PermissionDeniedError(f"Only {role} accounts can do this.",
                                        code=f"{role}_only")
        return user

    return dependency
