"""Every table of the application, imported in one place so the metadata is complete
(alembic autogenerate, tests, and anything that creates the schema read it from here)."""

from backend.accounts.models import AthleteProfile, AuthSession, PasswordReset, User
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric, ClipUpload
from backend.coaching.models import CoachInvite, CoachLink
from backend.core.audit import AuditEvent
from backend.core.db import metadata
from backend.jobs.models import AnalysisJob, PeriodicTaskRun
from backend.notifications.models import Notification, NotificationPreference, PushSubscription
from backend.training.models import (
    CalendarFeed,
    CoachFlagEntry,
    MissedWeekCheck,
    PlanVersion,
    SessionLogEntry,
    SetLogEntry,
)

__all__ = [
    "AnalysisJob",
    "AnalysisReport",
    "AthleteProfile",
    "AuditEvent",
    "AuthSession",
    "CalendarFeed",
    "Clip",
    "ClipFault",
    "ClipMetric",
    "ClipUpload",
    "CoachFlagEntry",
    "CoachInvite",
    "CoachLink",
    "MissedWeekCheck",
    "Notification",
    "NotificationPreference",
    "PasswordReset",
    "PeriodicTaskRun",
    "PlanVersion",
    "PushSubscription",
    "SessionLogEntry",
    "SetLogEntry",
    "User",
    "metadata",
]
