"""The athlete's private calendar feed (ICS).

One event per session. The UID is the plan id plus the session key, both stable across
plan versions, so a calendar that re-reads the feed after a change updates the event in
place instead of adding a second one. SEQUENCE is the plan version in which the session
last changed, so clients that honour it see the update as newer. Rendering is pure: the
same plan gives the same bytes (DTSTAMP is the day of the plan's latest change unless a
stamp is passed).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from backend.planner.exercises import get_exercise
from backend.planner.types import ExercisePrescription, Plan, Session, Week

UID_DOMAIN = "stridelab"
PRODID = "-//StrideLab//Strength plan//EN"


def session_uid(plan: Plan, session: Session) -> str:
    return f"{plan.plan_id}-{session.session_key}@{UID_DOMAIN}"


def _dose(p: ExercisePrescription) -> str:
    amount = f"{p.sets} x {p.reps}" if p.reps is not None else f"{p.sets} x {p.hold_s} s"
    if p.unilateral:
        amount += " each side"
    if p.side is not None:
        amount += f", +{p.side.extra_sets} on the {p.side.side}"
    tempo = f", tempo {p.tempo} ({p.tempo_key})" if p.tempo else ""
    return f"{p.name}, level {p.level} {p.level_name}: {amount}{tempo}"


def _description(plan: Plan, week: Week, session: Session) -> str:
    lines = [f"Week {week.number}" + (" (lighter week)" if week.is_deload else "")]
    if session.lightened:
        lines.append("Not feeling 100 %: lighter today.")
    lines.append(f"Warm-up {session.warm_up_minutes:g} min: {session.warm_up}")
    for p in session.exercises:
        lines.append(f"- {_dose(p)}. {p.load_guidance}")
    lines.append(f"Running cue of the week: {week.cue_of_week.text}")
    lines += [f"Coach cue: {c}" for c in week.coach_cues]
    lines += [f"Note: {n}" for n in session.notes]
    if week.film_again and session is week.sessions[-1]:
        lines.append(week.film_again)
    lines.append(f"Plan version {plan.version}: {plan.reason}")
    return "\n".join(lines)


def _summary(session: Session) -> str:
    names = ", ".join(get_exercise(p.code).name for p in session.exercises if p.kind == "core")
    light = "Light strength" if session.lightened else "Strength"
    return f"{light} ({round(session.estimated_minutes)} min): {names}"


def render_ics(
    plan: Plan,
    athlete_display_name: str,
    tz: str | tzinfo | None = None,
    *,
    start_time: time | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The feed for one plan version.

    Without ``start_time`` each session is an all-day event on its date (the athlete picks
    the hour); with it, a timed event in ``tz`` (default: the plan's time zone) lasting the
    session's estimated minutes.
    """
    zone: tzinfo = ZoneInfo(tz or plan.profile.time_zone) if not isinstance(tz, tzinfo) else tz
    dtstamp = stamp or datetime.combine(plan.changed_on, time(0), tzinfo=UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"StrideLab strength plan: {athlete_display_name}")
    cal.add("x-wr-timezone", str(zone))
    for week in plan.weeks:
        for session in week.sessions:
            ev = Event()
            ev.add("uid", session_uid(plan, session))
            ev.add("dtstamp", dtstamp)
            ev.add("sequence", session.revision)
            ev.add("summary", _summary(session))
            ev.add("description", _description(plan, week, session))
            if start_time is None:
                ev.add("dtstart", session.date)
                ev.add("dtend", session.date + timedelta(days=1))
                ev.add("transp", "TRANSPARENT")
            else:
                begin = datetime.combine(session.date, start_time, tzinfo=zone)
                ev.add("dtstart", begin)
                ev.add("dtend", begin + timedelta(minutes=round(session.estimated_minutes)))
            ev.add("categories", ["StrideLab", "Strength"])
            cal.add_component(ev)
    if start_time is not None:
        cal.add_missing_timezones()  # timed events need their VTIMEZONE for strict clients
    return cal.to_ical()
