"""Compliance: sets done over sets prescribed, the convention athletes and coaches bring
from other platforms (TrueCoach): 7, 30 and 90 days, capped at 100 %, on track at 80 %."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from backend.planner.types import Plan, Session, SessionLog

WINDOWS_DAYS: tuple[int, ...] = (7, 30, 90)
ON_TRACK_AT = 0.80
NEEDS_ATTENTION_DROP = 0.20  # a fall of 20 points or more puts the athlete on the coach's list


def _latest_versions(plans: Plan | Iterable[Plan]) -> list[Plan]:
    """One plan per block: its latest version. Adaptations never rewrite past sessions,
    so the latest version still holds what was prescribed on each past day."""
    items = [plans] if isinstance(plans, Plan) else list(plans)
    latest: dict[str, Plan] = {}
    for p in items:
        if p.plan_id not in latest or p.version > latest[p.plan_id].version:
            latest[p.plan_id] = p
    return sorted(latest.values(), key=lambda p: (p.block_start, p.plan_id))


def _prescribed(plans: list[Plan]) -> list[tuple[Plan, Session]]:
    """Every prescribed session; where a newer block starts, the older one's later sessions
    no longer count (a block replaced early is not missed work)."""
    out: list[tuple[Plan, Session]] = []
    for i, plan in enumerate(plans):
        cut = plans[i + 1].block_start if i + 1 < len(plans) else None
        for s in plan.sessions:
            if cut is None or s.date < cut:
                out.append((plan, s))
    return out


def _match(log: SessionLog, plans: list[Plan]) -> Plan | None:
    if log.plan_id is not None:
        return next((p for p in plans if p.plan_id == log.plan_id), None)
    # No plan id: the block whose dates hold the day it was logged, else the latest block
    # that has the session.
    having = [p for p in plans if any(s.session_key == log.session_key for s in p.sessions)]
    for p in having:
        if p.block_start <= log.logged_on <= p.block_end + timedelta(days=7):
            return p
    return having[-1] if having else None


@dataclass(frozen=True)
class ComplianceWindow:
    """One window: sets done over sets prescribed (``value``, None when nothing was due: no
    session means nothing to comply with, not 100 %), and how many sessions were due."""

    days: int
    value: float | None
    sessions_due: int
    sets_due: int
    sets_done: int


def compliance_window(
    logs: Iterable[SessionLog],
    plans: Plan | Iterable[Plan],
    today: date,
    days: int,
) -> ComplianceWindow:
    """Sets done / sets prescribed for sessions dated in the ``days`` days up to ``today``.

    A session dated today counts only once it is logged (the day is not over). Each
    session's done sets are capped at its prescribed sets, so extra work on one day does
    not hide a missed one; the result is capped at 1.0. Nothing prescribed in the window
    reads as None, with no session due.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    versions = _latest_versions(plans)
    first_day = today - timedelta(days=days - 1)
    done_by_session: dict[tuple[str, str], int] = {}
    for log in logs:
        plan = _match(log, versions)
        if plan is None:
            continue
        key = (plan.plan_id, log.session_key)
        done = sum(1 for e in log.exercises for s in e.sets if s.done)
        done_by_session[key] = max(done_by_session.get(key, 0), done)
    prescribed_total = 0
    done_total = 0
    sessions_due = 0
    for plan, s in _prescribed(versions):
        if not first_day <= s.date <= today:
            continue
        key = (plan.plan_id, s.session_key)
        if s.date == today and key not in done_by_session:
            continue
        prescribed = sum(len(p.set_targets()) for p in s.exercises)
        sessions_due += 1
        prescribed_total += prescribed
        done_total += min(prescribed, done_by_session.get(key, 0))
    value = min(1.0, done_total / prescribed_total) if prescribed_total else None
    return ComplianceWindow(days, value, sessions_due, prescribed_total, done_total)


def compliance(
    logs: Iterable[SessionLog],
    plans: Plan | Iterable[Plan],
    today: date,
    days: int,
) -> float | None:
    """Sets done / sets prescribed in the window (``compliance_window``); None when
    nothing was due."""
    return compliance_window(logs, plans, today, days).value


def compliance_windows(
    logs: Iterable[SessionLog], plans: Plan | Iterable[Plan], today: date
) -> dict[int, ComplianceWindow]:
    logs = list(logs)
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    return {d: compliance_window(logs, plans, today, d) for d in WINDOWS_DAYS}


def on_track(value: float) -> bool:
    return value >= ON_TRACK_AT


def needs_attention(before: float, now: float) -> bool:
    return before - now >= NEEDS_ATTENTION_DROP - 1e-9
