"""Every table of the application, imported in one place so the metadata is complete
(alembic autogenerate, tests, and anything that creates the schema read it from here)."""

from backend.accounts.models import AthleteProfile, User
from backend.coaching.models import CoachInvite, CoachLink
from backend.core.db import metadata
from backend.plans.models import (
    CalendarFeed,
    CoachFlagEntry,
    MissedWeekCheck,
    PlanVersion,
    SessionLogEntry,
    SetLogEntry,
)

__all__ = [
    "AthleteProfile",
    "CalendarFeed",
    "CoachFlagEntry",
    "CoachInvite",
    "CoachLink",
    "MissedWeekCheck",
    "PlanVersion",
    "SessionLogEntry",
    "SetLogEntry",
    "User",
    "metadata",
]
