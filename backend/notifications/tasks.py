"""The notifications' periodic tasks: the push sweep (due notifications to devices) and the
weekly plan notification (athletes whose weekday and time have come in their time zone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.accounts.models import User
from backend.core.db import session_scope
from backend.core.time import utcnow
from backend.jobs.registry import registry
from backend.notifications import service, weekly

if TYPE_CHECKING:
    from backend.jobs.runtime import JobRuntime

# Not at start: a process starting takes its turn through the periodic lease like any other
# run, so two processes starting together never push the same notification twice.


@registry.periodic("notifications.push", every=lambda s: s.push_interval_s, at_start=False)
def push_notifications(runtime: JobRuntime) -> dict[str, Any]:
    with session_scope(runtime.engine) as session:
        return vars(service.push_due(session, runtime.settings))


@registry.periodic("notifications.weekly_plan", every=lambda s: s.weekly_check_interval_s,
                   at_start=False)
def weekly_plan_notifications(runtime: JobRuntime) -> int:
    return (send_weekly_plans(runtime.engine) + send_session_day_reminders(runtime.engine)
            + send_coach_digests(runtime.engine))


def send_weekly_plans(engine: Engine, now: datetime | None = None) -> int:
    """Notify every athlete whose weekly moment has come; how many were notified (``now``:
    the clock, for the tests)."""
    now = service.as_utc(now or utcnow())
    sent = 0
    with session_scope(engine) as session:
        for athlete, key in service.weekly_due(session, now):
            zone = service.zone_of(session, athlete)
            local = now.astimezone(zone)
            title, body = weekly.weekly_message(session, athlete, local.date())
            if service.send_weekly(session, athlete, key, title, body, now) is not None:
                sent += 1
    return sent


def send_session_day_reminders(engine: Engine, now: datetime | None = None) -> int:
    """The morning reminder of each planned strength session, for athletes who want it."""
    sent = 0
    with session_scope(engine) as session:
        for athlete, day in service.session_day_due(session, now):
            message = weekly.session_day_reminder(session, athlete, day)
            if message is None:
                continue
            title, body, key = message
            if service.notify(session, athlete, service.Kind.session_day, title, body, "/plan",
                              dedupe_key=f"session_day:{key}", now=now) is not None:
                sent += 1
    return sent


# Who needs a coach's attention and why: (athlete's name, reasons), from the progress domain
# (installed by the flows: notifications does not import the dashboards).
AttentionReader = Callable[[Session, User], list[tuple[str, list[str]]]]
attention_reader: AttentionReader | None = None


def digest_message(rows: list[tuple[str, list[str]]]) -> tuple[str, str]:
    if not rows:
        return "Your athletes this week", "Nobody needs your attention this week."
    label = "athlete needs" if len(rows) == 1 else "athletes need"
    parts = [f"{name}: {', '.join(reasons)}" for name, reasons in rows[:5]]
    more = f" And {len(rows) - 5} more." if len(rows) > 5 else ""
    return f"{len(rows)} {label} your attention", "; ".join(parts) + "." + more


def send_coach_digests(engine: Engine, now: datetime | None = None,
                       attention: AttentionReader | None = None) -> int:
    """The weekly digest to each coach whose Monday morning has come; how many were sent."""
    read = attention or attention_reader
    if read is None:
        return 0
    sent = 0
    with session_scope(engine) as session:
        for coach, key in service.digest_due(session, now):
            title, body = digest_message(read(session, coach))
            if service.notify(session, coach, service.Kind.coach_digest, title, body,
                              "/coach", dedupe_key=key, now=now) is not None:
                sent += 1
    return sent
