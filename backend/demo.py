"""Demo data: a coach and two athletes, so a new user sees a living app."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from backend.accounts import service as accounts
from backend.accounts.models import Role, User
from backend.accounts.schemas import ProfileUpdate
from backend.coaching import service as coaching
from backend.core.time import utcnow
from backend.training import service as plans
from backend.training.schemas import ExerciseLogIn, SessionLogIn, SetDone

DEMO_PASSWORD = "demo-stride-2026"
COACH_EMAIL = "coach@demo.stridelab.app"
ATHLETES = (
    ("ada@demo.stridelab.app", "Ada Runner",
     ProfileUpdate(running_background="advanced", weekly_volume_km=55,
                   equipment=["dumbbells"], strength_days=[0, 3], time_zone="Europe/London",
                   injuries=["left ITB syndrome (2025)"])),
    ("ben@demo.stridelab.app", "Ben Strides",
     ProfileUpdate(running_background="intermediate", weekly_volume_km=25,
                   equipment=["none"], strength_days=[0, 2, 4], time_zone="America/New_York")),
)


# What each demo athlete's first analysis found (the report's faults and chain reading, as
# the running-form analysis writes them), so their plans carry a real emphasis.
DEMO_FINDINGS: dict[str, dict[str, Any]] = {
    "ada@demo.stridelab.app": {
        "faults": [
            {"code": "hip_drop", "severity": "moderate", "side": "left", "confidence": 0.8},
            {"code": "arm_crossover", "severity": "mild", "side": "right", "confidence": 0.7},
            {"code": "crossover_gait", "severity": "mild", "side": None, "confidence": 0.7},
        ],
        "chain": [
            {"link": "posterior_oblique_sling", "confidence": 0.7,
             "reasoning": "The right arm crosses the midline in the same strides as the left "
                          "foot lands across it: the opposite arm and shoulder take part."},
            {"link": "activation", "confidence": 0.6,
             "reasoning": "The hip drops on the left without knee collapse or foot turn-out: "
                          "the glutes switch on late rather than lacking strength."},
        ],
    },
    "ben@demo.stridelab.app": {
        "faults": [
            {"code": "overstride", "severity": "moderate", "side": None, "confidence": 0.8},
            {"code": "low_cadence", "severity": "mild", "side": None, "confidence": 0.9},
        ],
        "chain": [
            {"link": "stride_rate", "confidence": 0.8,
             "reasoning": "The foot lands well ahead of the hip at a low cadence: a quicker "
                          "step shortens the reach."},
        ],
    },
}
HISTORY_WEEKS = 3  # the demo blocks started this many weeks ago


def _seed_plan_history(session: Session, athlete: User, findings: dict[str, Any],
                       today: date, painful_exercise: str | None) -> None:
    """A block started weeks ago with an analysis behind it, and its logged sessions: most
    done in full, one missed, and (for one athlete) pain on one exercise, so the coach has a
    flag to look at and the plan has versions with reasons."""
    start = today - timedelta(weeks=HISTORY_WEEKS)
    start -= timedelta(days=start.weekday())  # blocks read best from a Monday
    plans.generate_block(session, athlete, reason_kind="onboarding", start=start)
    plans.on_analysis(session, athlete, findings, recorded_at=start)
    _row, plan = plans.require_current(session, athlete.pk)
    past_keys = [s.session_key for s in plan.sessions if s.date < today]
    for n, key in enumerate(past_keys):
        if n == 2:
            continue  # one missed session: compliance below 100 %
        # Each log may adapt the plan: log against the version the athlete sees now.
        _row, plan = plans.require_current(session, athlete.pk)
        planned = plan.session(key)
        pain_here = painful_exercise is not None and n == len(past_keys) - 2
        logs = [ExerciseLogIn(
            code=ex.code,
            sets=[SetDone(reps=t.reps, hold_s=t.hold_s) for t in ex.set_targets()],
            pain=4 if pain_here and ex.code == painful_exercise else 0)
            for ex in planned.exercises]
        plans.log_session(session, athlete, planned.session_key,
                          SessionLogIn(rpe=6 if n % 3 else 7, exercises=logs,
                                       logged_on=planned.date))


def seed_demo(session: Session) -> bool:
    """Create the demo accounts and their links; False when they already exist."""
    if accounts.get_user_by_email(session, COACH_EMAIL):
        return False
    coach = accounts.create_user(session, email=COACH_EMAIL, password=DEMO_PASSWORD,
                                 role=Role.coach, display_name="Coach Demo")
    for offset, (email, name, profile) in enumerate(ATHLETES):
        athlete = accounts.create_user(session, email=email, password=DEMO_PASSWORD,
                                       role=Role.athlete, display_name=name,
                                       time_zone=profile.time_zone or "UTC")
        athlete.created_at = utcnow() - timedelta(days=60 - 10 * offset)
        accounts.update_profile(session, athlete, profile)
        invite = coaching.create_invite(session, coach)
        coaching.accept_invite(session, athlete, invite.code)
        session.flush()
        _seed_plan_history(session, athlete, DEMO_FINDINGS[email],
                           plans.athlete_today(None, athlete),
                           painful_exercise="single_leg_deadlift" if offset == 0 else None)
    session.flush()
    return True
