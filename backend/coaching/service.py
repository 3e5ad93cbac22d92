"""Coach links: invites, accepting, leaving, the coach's roster. Callers commit."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from backend.accounts.models import AthleteProfile, User
from backend.coaching.models import CoachInvite, CoachLink
from backend.coaching.schemas import CoachLinkPublic, InviteListed, InviteStatus, RosterAthlete
from backend.core.errors import ConflictError, NotFoundError
from backend.core.text import well_formed
from backend.core.time import utcnow

INVITE_TTL = timedelta(days=14)
# No 0/O/1/I: codes are read aloud and typed on phones.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 10


def new_invite_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def create_invite(session: Session, coach: User) -> CoachInvite:
    invite = CoachInvite(code=new_invite_code(), coach_id=coach.id,  # type: ignore[arg-type]
                         expires_at=utcnow() + INVITE_TTL)
    session.add(invite)
    session.flush()
    return invite


def invites(session: Session, coach: User) -> list[InviteListed]:
    """The coach's invites, newest first, each with its status."""
    now = utcnow()
    rows = session.exec(select(CoachInvite).where(CoachInvite.coach_id == coach.id)
                        .order_by(col(CoachInvite.id).desc())).all()
    return [InviteListed(
        code=i.code, created_at=i.created_at, expires_at=i.expires_at,
        status=(InviteStatus.accepted if i.accepted_by_id is not None
                else InviteStatus.expired if i.expires_at < now else InviteStatus.pending),
        accepted_by_id=i.accepted_by_id, accepted_at=i.accepted_at) for i in rows]


def revoke_invite(session: Session, coach: User, code: str) -> None:
    """Delete an unused invite of this coach, so the code can no longer be accepted.

    An accepted invite is a link already: revoking it would change nothing, so it is a
    conflict that says how to end the link instead."""
    code = code.strip().upper()
    invite = (session.exec(select(CoachInvite).where(CoachInvite.code == code,
                                                     CoachInvite.coach_id == coach.id)).first()
              if well_formed(code, _CODE_ALPHABET, INVITE_CODE_LENGTH) else None)
    if invite is None:
        raise NotFoundError("You have no invite with this code.", code="invite_not_found")
    if invite.accepted_by_id is not None:
        raise ConflictError("This invite was already accepted: the athlete is on your roster "
                            "(they can leave from their settings).", code="invite_used")
    session.delete(invite)
    session.flush()


def accept_invite(session: Session, athlete: User, code: str) -> CoachLink:
    code = code.strip().upper()
    invite = (session.exec(select(CoachInvite).where(CoachInvite.code == code)).first()
              if well_formed(code, _CODE_ALPHABET, INVITE_CODE_LENGTH) else None)
    if invite is None:
        raise NotFoundError("No such invite code: check it with your coach.",
                            code="invite_not_found")
    if invite.accepted_by_id is not None and invite.accepted_by_id != athlete.id:
        raise ConflictError("This invite code has already been used: ask your coach for a new one.",
                            code="invite_used")
    if invite.expires_at < utcnow():
        raise ConflictError("This invite code has expired: ask your coach for a new one.",
                            code="invite_expired")
    existing = session.exec(select(CoachLink).where(CoachLink.athlete_id == athlete.id)).first()
    if existing is not None:
        if existing.coach_id == invite.coach_id:
            return existing
        raise ConflictError("You already have a coach: leave them first, then accept this invite.",
                            code="already_coached")
    link = CoachLink(coach_id=invite.coach_id, athlete_id=athlete.id)  # type: ignore[arg-type]
    invite.accepted_by_id = athlete.id
    invite.accepted_at = utcnow()
    session.add(link)
    session.add(invite)
    session.flush()
    return link


def coach_of(session: Session, athlete_id: int) -> CoachLink | None:
    return session.exec(select(CoachLink).where(CoachLink.athlete_id == athlete_id)).first()


def leave_coach(session: Session, athlete: User) -> None:
    link = coach_of(session, athlete.id)  # type: ignore[arg-type]
    if link is None:
        raise NotFoundError("You have no coach to leave.", code="no_coach")
    session.delete(link)
    session.flush()


def link_public(session: Session, link: CoachLink) -> CoachLinkPublic:
    coach = session.get(User, link.coach_id)
    return CoachLinkPublic(coach_id=link.coach_id,
                           coach_display_name=coach.display_name if coach else "",
                           athlete_id=link.athlete_id, created_at=link.created_at)


def is_coach_of(session: Session, coach_id: int, athlete_id: int) -> bool:
    link = coach_of(session, athlete_id)
    return link is not None and link.coach_id == coach_id


def roster(session: Session, coach: User) -> list[RosterAthlete]:
    rows = session.exec(
        select(User, CoachLink, AthleteProfile)
        .join(CoachLink, col(CoachLink.athlete_id) == col(User.id))
        .join(AthleteProfile, col(AthleteProfile.user_id) == col(User.id), isouter=True)
        .where(CoachLink.coach_id == coach.id)
        .order_by(col(User.display_name))
    ).all()
    return [
        RosterAthlete(id=user.id, display_name=user.display_name,
                      email=user.email, linked_at=link.created_at,
                      onboarded=profile is not None and profile.onboarded_at is not None)
        for user, link, profile in rows
    ]
