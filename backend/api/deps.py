"""Request dependencies: the database session, the current user, and who may see what.

Authorization lives here, not in route bodies: a route that takes ``CoachedAthlete`` can only
ever see an athlete of the calling coach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from backend.accounts.models import Role, User
from backend.coaching import service as coaching
from backend.core.config import Settings, get_settings
from backend.core.db import get_engine
from backend.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from backend.core.security import decode_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commit when the route succeeds, roll back otherwise."""
    engine = getattr(request.app.state, "engine", None) or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session)]


def get_app_settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_current_user(session: SessionDep, settings: SettingsDep,
                     token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if not token:
        raise AuthenticationError()
    payload = decode_access_token(token, settings)
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError) as exc:
        raise AuthenticationError("Invalid access token: log in again.",
                                  code="invalid_token") from exc
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("This account no longer exists or is disabled.",
                                  code="invalid_token")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def _require(role: Role) -> Callable[[User], User]:
    def dependency(user: CurrentUser) -> User:
        if user.role != role.value:
            raise PermissionDeniedError(f"Only {role.value} accounts can do this.",
                                        code=f"{role.value}_only")
        return user

    return dependency


AthleteUser = Annotated[User, Depends(_require(Role.athlete))]
CoachUser = Annotated[User, Depends(_require(Role.coach))]
AdminUser = Annotated[User, Depends(_require(Role.admin))]


def get_coached_athlete(
    athlete_id: Annotated[int, Path(description="The athlete's user id")],
    coach: CoachUser,
    session: SessionDep,
) -> User:
    """The athlete, if and only if the calling coach coaches them (else 404, revealing nothing)."""
    athlete = session.get(User, athlete_id)
    if athlete is None or not coaching.is_coach_of(session, coach.id, athlete_id):  # type: ignore[arg-type]
        raise NotFoundError("No such athlete on your roster.", code="athlete_not_found")
    return athlete


CoachedAthlete = Annotated[User, Depends(get_coached_athlete)]
