"""Clips' request dependencies: file storage, and a clip the caller may see or change
(anyone else gets a 404 that reveals nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.accounts.dependencies import AthleteUser, CurrentUser
from backend.accounts.models import Role
from backend.clips.models import Clip
from backend.clips.storage import LocalStorage
from backend.clips.storage import get_storage as storage_for
from backend.coaching import service as coaching
from backend.core.deps import MAX_ID, SessionDep, SettingsDep
from backend.core.errors import NotFoundError

ClipId = Annotated[int, Path(description="The clip's id", ge=1, le=MAX_ID)]


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
