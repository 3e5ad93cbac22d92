"""Demo data: a coach and two athletes, so a new user sees a living app."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend.accounts import service as accounts
from backend.accounts.models import Role, utcnow
from backend.accounts.schemas import ProfileUpdate
from backend.coaching import service as coaching

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
    return True
