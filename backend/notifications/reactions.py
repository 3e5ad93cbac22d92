"""What happens elsewhere that is worth a notification, as notifications: called by the
flows (``backend/flows.py``) when the domains publish their events, in the publisher's
transaction, so a notification exists exactly when what it tells of was committed."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.coaching.service import coach_of
from backend.notifications.models import Notification
from backend.notifications.service import Kind, notify

# Pain at or above this (0-10) tells the coach.
COACH_PAIN_THRESHOLD = 4


def _user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def _coach(session: Session, athlete_id: int) -> User | None:
    link = coach_of(session, athlete_id)
    return None if link is None else _user(session, link.coach_id)


def analysis_done(session: Session, athlete_id: int, clip_id: int, *, fit: bool,
                  headline: str) -> list[Notification]:
    """The athlete hears their clip's analysis ended (fit: its headline; refused: why); their
    coach hears a clip came in."""
    out: list[Notification] = []
    athlete = _user(session, athlete_id)
    if athlete is None:
        return out
    url = f"/clips/{clip_id}"
    title = "Your running analysis is ready" if fit else "Your clip could not be analysed"
    note = notify(session, athlete, Kind.analysis, title, headline, url,
                  dedupe_key=f"analysis:{clip_id}:{'fit' if fit else 'unfit'}")
    out += [note] if note is not None else []
    coach = _coach(session, athlete_id)
    if coach is not None:
        verdict = "analysed" if fit else "refused by the analysis"
        note = notify(session, coach, Kind.athlete_clip,
                      f"{athlete.display_name} filmed a clip",
                      f"{athlete.display_name}'s clip was {verdict}: {headline}",
                      f"/coach/athletes/{athlete_id}",
                      dedupe_key=f"athlete_clip:{clip_id}:{'fit' if fit else 'unfit'}")
        out += [note] if note is not None else []
    return out


def coach_changed_plan(session: Session, athlete_id: int, coach_id: int,
                       what: str) -> Notification | None:
    """The athlete hears the coach changed their plan or left a note (``what`` says which)."""
    athlete, coach = _user(session, athlete_id), _user(session, coach_id)
    if athlete is None or coach is None:
        return None
    return notify(session, athlete, Kind.coach_change, f"{coach.display_name} updated your plan",
                  what, "/plan")


def pain_reported(session: Session, athlete_id: int, pain: int,
                  where: str) -> Notification | None:
    """The coach hears of pain of ``COACH_PAIN_THRESHOLD`` or more."""
    if pain < COACH_PAIN_THRESHOLD:
        return None
    athlete, coach = _user(session, athlete_id), _coach(session, athlete_id)
    if athlete is None or coach is None:
        return None
    return notify(session, coach, Kind.athlete_pain,
                  f"{athlete.display_name} reported pain {pain}/10",
                  f"{where}. The plan eased the exercise; check in with them.",
                  f"/coach/athletes/{athlete_id}")


def not_feeling_100(session: Session, athlete_id: int, change: str) -> Notification | None:
    """The coach hears an athlete is not feeling 100 % (and what the plan did about it)."""
    athlete, coach = _user(session, athlete_id), _coach(session, athlete_id)
    if athlete is None or coach is None:
        return None
    return notify(session, coach, Kind.athlete_not_100,
                  f"{athlete.display_name} is not feeling 100 %", change,
                  f"/coach/athletes/{athlete_id}")
