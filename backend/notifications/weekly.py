"""What the weekly plan notification says: the coming seven days of the athlete's plan (the
sessions, their exercises and levels, about how long) and the cue of the week."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from backend import planner
from backend.accounts.models import User
from backend.training import service as training

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def summary(plan: planner.Plan, today: date) -> tuple[str, str]:
    """(title, body) for the seven days from ``today``."""
    end = today + timedelta(days=7)
    sessions = [s for s in plan.sessions if today <= s.date < end]
    week = next((w for w in plan.weeks if w.start <= today <= w.end), None)
    if week is None and sessions:
        week = next((w for w in plan.weeks if w.start <= sessions[0].date <= w.end), None)
    cue = week.cue_of_week.text if week is not None else None
    if not sessions:
        title = "This week: no strength session planned"
        body = ("Your block has ended: film a clip to see what changed and start the next "
                "one." if today > plan.block_end else "Rest and run this week.")
    else:
        days = ", ".join(DAY_NAMES[s.date.weekday()] for s in sessions)
        minutes = round(sum(s.estimated_minutes for s in sessions) / len(sessions))
        first = sessions[0]
        exercises = ", ".join(f"{e.name} L{e.level}" for e in first.exercises
                              if e.kind == "core")
        label = "session" if len(sessions) == 1 else "sessions"
        title = f"This week: {len(sessions)} strength {label}"
        deload = " A lighter week." if week is not None and week.is_deload else ""
        body = f"{days}, about {minutes} min each: {exercises}.{deload}"
    if cue:
        body = f"{body} Cue of the week: {cue}."
    return title, body


def session_day_message(plan: planner.Plan, day: date) -> tuple[str, str, str] | None:
    """(title, body, session key) of the session planned on ``day``; None on a rest day."""
    planned = next((s for s in plan.sessions if s.date == day), None)
    if planned is None:
        return None
    week = next((w for w in plan.weeks if w.start <= day <= w.end), None)
    exercises = ", ".join(f"{e.name} L{e.level}" for e in planned.exercises if e.kind == "core")
    body = f"About {round(planned.estimated_minutes)} min: {exercises}."
    if week is not None:
        body = f"{body} Cue of the week: {week.cue_of_week.text}."
    return "Strength session today", body, planned.session_key


def session_day_reminder(session: Session, athlete: User, day: date
                         ) -> tuple[str, str, str] | None:
    row = training.current_version(session, athlete.pk)
    if row is None:
        return None
    return session_day_message(planner.Plan.from_dict(row.data), day)


def weekly_message(session: Session, athlete: User, today: date) -> tuple[str, str]:
    row = training.current_version(session, athlete.pk)
    if row is None:
        return ("Your plan is waiting",
                "Film a short clip of your running to get a strength plan built on it.")
    return summary(planner.Plan.from_dict(row.data), today)
