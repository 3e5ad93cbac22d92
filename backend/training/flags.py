"""A coach working through an athlete's flags: acknowledge (seen, still open), resolve
(closed). Kept apart from ``service.py``, which raises the flags. Callers commit."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.core.errors import ConflictError, NotFoundError
from backend.core.time import utcnow
from backend.training.models import CoachFlagEntry


def _flag(session: Session, athlete_id: int, flag_id: int) -> CoachFlagEntry:
    flag = session.get(CoachFlagEntry, flag_id)
    if flag is None or flag.athlete_id != athlete_id:
        raise NotFoundError("This athlete has no flag with that id.", code="flag_not_found")
    return flag


def acknowledge(session: Session, coach: User, athlete_id: int, flag_id: int) -> CoachFlagEntry:
    """Mark a flag seen. Again on a flag already acknowledged changes nothing (idempotent);
    a resolved flag cannot be acknowledged (409): it is closed."""
    flag = _flag(session, athlete_id, flag_id)
    if flag.resolved_at is not None:
        raise ConflictError("This flag is already resolved.", code="flag_resolved")
    if flag.acknowledged_at is None:
        flag.acknowledged_at = utcnow()
        flag.acknowledged_by_id = coach.id
        session.add(flag)
        session.flush()
    return flag


def resolve(session: Session, coach: User, athlete_id: int, flag_id: int) -> CoachFlagEntry:
    """Close a flag (acknowledging it too if it was not). Idempotent."""
    flag = _flag(session, athlete_id, flag_id)
    if flag.resolved_at is None:
        now = utcnow()
        flag.resolved_at = now
        flag.resolved_by_id = coach.id
        if flag.acknowledged_at is None:
            flag.acknowledged_at = now
            flag.acknowledged_by_id = coach.id
        session.add(flag)
        session.flush()
    return flag
