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
from backend.clips.models import Clip
from backend.clips.storage import LocalStorage
from backend.clips.storage import get_storage as storage_for
from backend.coaching import service as coaching
from backend.core.config import Settings, get_settings
from backend.core.db import get_engine
from backend.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from backend.core.security import decode_access_token
from backend.jobs.runtime import JobRuntime

# Ids are 32-bit integer columns (PostgreSQL INTEGER): a larger id cannot exist, and passing
# it to the database would be an overflow error rather than "not found".
MAX_ID = 2**31 - 1
MAX_OFFSET = 2**31 - 1
ClipId = Annotated[int, Path(description="The clip's id", ge=1, le=MAX_ID)]
AthleteId = Annotated[int, Path(description="The athlete's user id", ge=1, le=MAX_ID)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commit when the route succeeds, roll back otherwise.

    Function-scoped (below): the commit happens when the route returns, before the response
    is sent, so a client never sees a success whose data is not yet committed (or whose
    commit then failed), and jobs queued after the commit exist before the client hears of
    them."""
    engine = getattr(request.app.state, "engine", None) or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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


def release_connection(session: Session) -> None:
    """End the request's read transaction so its pooled connection goes back to the pool.

    Called before a request body is streamed in (uploads last minutes on a phone): otherwise
    every upload in progress holds a database connection for its whole duration, and a few
    slow uploads exhaust the pool. Loaded objects stay usable (``expire_on_commit=False``)
    and the next query takes a connection again."""
    session.commit()


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
    athlete_id: AthleteId,
    coach: CoachUser,
    session: SessionDep,
) -> User:
    """The athlete, if and only if the calling coach coaches them (else 404, revealing nothing)."""
    athlete = session.get(User, athlete_id)
    if athlete is None or not coaching.is_coach_of(session, coach.id, athlete_id):  # type: ignore[arg-type]
        raise NotFoundError("No such athlete on your roster.", code="athlete_not_found")
    return athlete


CoachedAthlete = Annotated[User, Depends(get_coached_athlete)]


def get_jobs(request: Request) -> JobRuntime:
    """The app's job runtime (its queue; its consumer when this process runs jobs)."""
    jobs: JobRuntime = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobRuntime, Depends(get_jobs)]


def get_file_storage(settings: SettingsDep) -> LocalStorage:
    return storage_for(settings)


StorageDep = Annotated[LocalStorage, Depends(get_file_storage)]


def _clip_not_found() -> NotFoundError:
    return NotFoundError("No such clip.", code="clip_not_found")


def get_readable_clip(
    clip_id: ClipId,
    user: CurrentUser,
    session: SessionDep,
) -> Clip:
    """A clip its athlete may see, and so may the athlete's coach (to look at the clips
    themselves); anyone else gets a 404 that reveals nothing."""
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise _clip_not_found()
    if clip.athlete_id == user.id:
        return clip
    if user.role == Role.coach.value and coaching.is_coach_of(session, user.pk, clip.athlete_id):
        return clip
    raise _clip_not_found()


ReadableClip = Annotated[Clip, Depends(get_readable_clip)]


def get_owned_clip(
    clip_id: ClipId,
    athlete: AthleteUser,
    session: SessionDep,
) -> Clip:
    """A clip of the calling athlete (deleting is the athlete's alone, not the coach's)."""
    clip = session.get(Clip, clip_id)
    if clip is None or clip.athlete_id != athlete.id:
        raise _clip_not_found()
    return clip


OwnedClip = Annotated[Clip, Depends(get_owned_clip)]
