"""Coach links: invite codes and the coach-athlete relationship."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.core.time import utcnow


class CoachInvite(SQLModel, table=True):
    __tablename__ = "coach_invite"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    coach_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    accepted_at: datetime | None = None


class CoachLink(SQLModel, table=True):
    """An athlete has at most one coach; a coach has many athletes."""

    __tablename__ = "coach_link"

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    athlete_id: int = Field(foreign_key="user.id", unique=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
