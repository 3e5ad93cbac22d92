"""Progress API: an athlete's trends (the athlete and their coach), the coach's dashboard,
the exercise list (for a coach choosing a swap)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from backend.accounts.dependencies import CoachUser, CurrentUser
from backend.accounts.models import Role, User
from backend.coaching.service import is_coach_of
from backend.core.deps import MAX_ID, SessionDep
from backend.core.errors import ERROR_RESPONSES, NotFoundError
from backend.progress import service
from backend.progress.schemas import DashboardPage, DashboardSort, ExerciseListed, TrendsOut

progress_router = APIRouter(tags=["progress"], responses=ERROR_RESPONSES)

DASHBOARD_MAX_PAGE = 200


def get_readable_athlete(
    athlete_id: Annotated[int, Path(description="The athlete's user id", ge=1, le=MAX_ID)],
    user: CurrentUser,
    session: SessionDep,
) -> User:
    """The athlete themself, or their coach; to anyone else a 404 that reveals nothing."""
    athlete = session.get(User, athlete_id)
    allowed = athlete is not None and athlete.role == Role.athlete.value and (
        user.id == athlete_id
        or (user.role == Role.coach.value and is_coach_of(session, user.pk, athlete_id)))
    if not allowed or athlete is None:
        raise NotFoundError("No such athlete, or not yours to see.", code="athlete_not_found")
    return athlete


ReadableAthlete = Annotated[User, Depends(get_readable_athlete)]


@progress_router.get("/athletes/{athlete_id}/trends", response_model=TrendsOut,
                     summary="Each fault and metric across the athlete's fit clips, and the "
                     "weekly compliance, effort and pain")
def read_trends(athlete: ReadableAthlete, session: SessionDep,
                weeks: Annotated[int, Query(ge=1, le=104, description="How many weeks back, "
                                            "this week included")] = 52) -> TrendsOut:
    return service.trends(session, athlete, weeks=weeks)


@progress_router.get("/coach/dashboard", response_model=DashboardPage,
                     summary="The coach's roster: last clip, diagnosis, compliance, open flags "
                     "and what needs attention, sorted and paged")
def read_dashboard(
    coach: CoachUser, session: SessionDep,
    sort: Annotated[DashboardSort, Query(description="name, last_clip, compliance_7, "
                                         "compliance_30, open_flags or attention (the number "
                                         "of reasons); a leading '-' sorts descending")]
    = DashboardSort.attention_desc,
    limit: Annotated[int, Query(ge=1, le=DASHBOARD_MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> DashboardPage:
    return service.dashboard(session, coach, sort=sort, limit=limit, offset=offset)


@progress_router.get("/exercises", response_model=list[ExerciseListed],
                     summary="The exercise library with its levels (for swaps)")
def list_exercises(_user: CurrentUser) -> list[ExerciseListed]:
    return service.exercise_list()
