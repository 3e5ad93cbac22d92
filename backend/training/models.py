"""Plans as stored: every version of an athlete's plan, session logs with targets beside
actuals, coach flags, and the private calendar feed token."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.time import utcnow


class PlanVersion(SQLModel, table=True):
    """One version of a plan: the planner's ``Plan.to_dict()`` and why it exists.

    Versions are only ever added, so older ones stay readable.
    """

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("athlete_id", "plan_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    plan_id: str = Field(max_length=64)
    version: int
    kind: str = Field(max_length=32)
    reason: str = Field(max_length=2000)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class SessionLogEntry(SQLModel, table=True):
    """What the athlete logged for one planned session (one row per session, last log wins)."""

    __tablename__ = "session_log"
    __table_args__ = (
        UniqueConstraint("athlete_id", "plan_id", "session_key"),
        # Trends and the dashboard read an athlete's logs by the session's date.
        Index("ix_session_log_athlete_id_session_date", "athlete_id", "session_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    plan_id: str = Field(max_length=64)
    session_key: str = Field(max_length=32)
    plan_version: int
    session_date: date
    logged_on: date
    rpe: int
    max_pain: int
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class SetLogEntry(SQLModel, table=True):
    """One prescribed set: target and actual side by side, so compliance is one query."""

    __tablename__ = "set_log"

    id: int | None = Field(default=None, primary_key=True)
    session_log_id: int = Field(foreign_key="session_log.id", index=True, ondelete="CASCADE")
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    exercise_code: str = Field(max_length=48)
    level: int
    set_index: int
    side: str | None = Field(default=None, max_length=8)
    target_reps: int | None = None
    done_reps: int | None = None
    target_hold_s: int | None = None
    done_hold_s: int | None = None
    pain: int = 0


class CoachFlagEntry(SQLModel, table=True):
    """Something the athlete's coach should look at (pain, missed sessions, a fault worse).

    Open until resolved; acknowledging says the coach has seen it and keeps it open."""

    __tablename__ = "coach_flag"
    # The dashboard counts each athlete's open flags (resolved_at null).
    __table_args__ = (Index("ix_coach_flag_athlete_id_resolved_at", "athlete_id", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=32)
    message: str = Field(max_length=2000)
    exercise_code: str | None = Field(default=None, max_length=48)
    session_key: str | None = Field(default=None, max_length=32)
    plan_version: int
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user.id",
                                           ondelete="SET NULL")
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CalendarFeed(SQLModel, table=True):
    """The secret in an athlete's private ICS URL; regenerating it revokes the old URL."""

    __tablename__ = "calendar_feed"

    athlete_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    token: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class MissedWeekCheck(SQLModel, table=True):
    """A finished week whose missed sessions were counted, so it is counted once."""

    __tablename__ = "missed_week_check"
    __table_args__ = (UniqueConstraint("athlete_id", "plan_id", "week_number"),)

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    plan_id: str = Field(max_length=64)
    week_number: int
    missed: int
    checked_at: datetime = Field(default_factory=utcnow)
