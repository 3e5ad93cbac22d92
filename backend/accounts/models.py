"""Accounts: users and the athlete profile gathered at onboarding."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.core.time import utcnow


class Role(StrEnum):
    athlete = "athlete"
    coach = "coach"
    admin = "admin"


class RunningBackground(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class Equipment(StrEnum):
    none = "none"
    dumbbells = "dumbbells"
    kettlebell = "kettlebell"


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=512)
    role: str = Field(max_length=16, default=Role.athlete.value)
    display_name: str = Field(max_length=120)
    time_zone: str = Field(max_length=64, default="UTC")
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def pk(self) -> int:
        """The id of a stored user (typed as int, unlike ``id`` before the first flush)."""
        if self.id is None:
            raise RuntimeError("user has no id until it is flushed")
        return self.id


class AthleteProfile(SQLModel, table=True):
    __tablename__ = "athlete_profile"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    running_background: str = Field(max_length=16, default=RunningBackground.intermediate.value)
    weekly_volume_km: float = Field(default=20.0)
    injuries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    equipment: list[str] = Field(default_factory=lambda: [Equipment.none.value],
                                 sa_column=Column(JSON, nullable=False))
    # Weekdays 0=Monday..6=Sunday; Monday, Wednesday, Friday until onboarding says otherwise.
    strength_days: list[int] = Field(default_factory=lambda: [0, 2, 4],
                                     sa_column=Column(JSON, nullable=False))
    time_zone: str = Field(max_length=64, default="UTC")
    notify_weekday: int = Field(default=6)
    notify_time: time = Field(default=time(18, 0))
    height_cm: float | None = Field(default=None)
    onboarded_at: datetime | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """One login (a device): its access tokens carry its id, its refresh token is kept as a
    digest and rotated at each use. Revoking it (logout, password change, a disabled
    account) ends its access tokens at their next request."""

    __tablename__ = "auth_session"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    refresh_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = Field(default=None)
    revoked_reason: str | None = Field(default=None, max_length=32)
    user_agent: str | None = Field(default=None, max_length=300)


class PasswordReset(SQLModel, table=True):
    """A password-reset token sent by email, kept as a digest; used once, short-lived."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)
