"""Coaching's request dependencies: an athlete, only if the calling coach coaches them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.accounts.dependencies import CoachUser
from backend.accounts.models import User
from backend.coaching import service as coaching
from backend.core.deps import MAX_ID, SessionDep
from backend.core.errors import NotFoundError

AthleteId = Annotated[int, Path(description="The athlete's user id", ge=1, le=MAX_ID)]


def get_coached_athlete(
    athlete_id: AthleteId,
    coach: CoachUser,
    session: SessionDep,
) -> User:
    """The athlete, if and only if the calling coach coaches them (else 404, revealing nothing)."""
    athlete = session.get(User, athlete_id)
    if athlete is None or not coaching.is_coach_of(session, coach.pk, athlete_id):
        raise NotFoundError("No such athlete on your roster.", code="athlete_not_found")
    return athlete


CoachedAthlete = Annotated[User, Depends(get_coached_athlete)]
