"""Coaching API: invites, accepting and leaving, the coach's roster."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from backend.accounts.dependencies import AthleteUser, CoachUser
from backend.accounts.schemas import ProfilePublic, UserPublic
from backend.accounts.service import get_or_create_profile
from backend.coaching import service
from backend.coaching.dependencies import CoachedAthlete
from backend.coaching.schemas import (
    CoachLinkPublic,
    InviteListed,
    InvitePublic,
    RosterAthlete,
)
from backend.core.deps import SessionDep
from backend.core.errors import ERROR_RESPONSES, NotFoundError

coach_router = APIRouter(prefix="/coach", tags=["coach"], responses=ERROR_RESPONSES)
invites_router = APIRouter(prefix="/invites", tags=["coach"], responses=ERROR_RESPONSES)
my_coach_router = APIRouter(prefix="/users/me/coach", tags=["coach"], responses=ERROR_RESPONSES)


@coach_router.post("/invites", status_code=status.HTTP_201_CREATED, response_model=InvitePublic,
                   summary="Create an invite code for a new athlete")
def create_invite(coach: CoachUser, session: SessionDep) -> InvitePublic:
    invite = service.create_invite(session, coach)
    return InvitePublic(code=invite.code, expires_at=invite.expires_at)


@coach_router.get("/invites", response_model=list[InviteListed],
                  summary="The coach's invites: pending, accepted or expired")
def list_invites(coach: CoachUser, session: SessionDep) -> list[InviteListed]:
    return service.invites(session, coach)


@coach_router.delete("/invites/{invite_code}", status_code=status.HTTP_204_NO_CONTENT,
                     summary="Revoke an unused invite", response_class=Response,
                     responses={409: ERROR_RESPONSES[400]})
def revoke_invite(invite_code: str, coach: CoachUser, session: SessionDep) -> Response:
    service.revoke_invite(session, coach, invite_code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@coach_router.get("/athletes", response_model=list[RosterAthlete],
                  summary="The coach's roster")
def list_athletes(coach: CoachUser, session: SessionDep) -> list[RosterAthlete]:
    return service.roster(session, coach)


@coach_router.get("/athletes/{athlete_id}", response_model=UserPublic,
                  summary="One athlete of the coach's roster")
def read_athlete(athlete: CoachedAthlete) -> UserPublic:
    return UserPublic.model_validate(athlete)


@coach_router.get("/athletes/{athlete_id}/profile", response_model=ProfilePublic,
                  summary="An athlete's onboarding profile")
def read_athlete_profile(athlete: CoachedAthlete, session: SessionDep) -> ProfilePublic:
    return ProfilePublic.model_validate(get_or_create_profile(session, athlete))


@invites_router.post("/{code}/accept", response_model=CoachLinkPublic,
                     summary="Accept a coach's invite (athletes)",
                     responses={409: ERROR_RESPONSES[400]})
def accept_invite(code: str, athlete: AthleteUser, session: SessionDep) -> CoachLinkPublic:
    link = service.accept_invite(session, athlete, code)
    return service.link_public(session, link)


@my_coach_router.get("", response_model=CoachLinkPublic, summary="The athlete's coach")
def read_my_coach(athlete: AthleteUser, session: SessionDep) -> CoachLinkPublic:
    link = service.coach_of(session, athlete.id)  # type: ignore[arg-type]
    if link is None:
        raise NotFoundError("You have no coach yet: accept an invite code from your coach.",
                            code="no_coach")
    return service.link_public(session, link)


@my_coach_router.delete("", status_code=status.HTTP_204_NO_CONTENT,
                        summary="Leave the current coach", response_class=Response)
def leave_coach(athlete: AthleteUser, session: SessionDep) -> Response:
    service.leave_coach(session, athlete)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
