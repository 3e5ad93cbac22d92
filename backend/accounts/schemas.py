"""Request and response bodies of the accounts API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from backend.accounts.models import Equipment, RunningBackground
from backend.core.text import Text

# A wall-clock time in the athlete's own time zone (the profile's time_zone), so no UTC
# offset. Documented as HH:MM[:SS]: JSON Schema's "time" format is RFC 3339's, which
# requires an offset.
LocalTime = Annotated[time, WithJsonSchema({
    "type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
    "description": "Local time in the profile's time zone, HH:MM or HH:MM:SS, no offset.",
    "examples": ["07:30:00"]})]


class RegisterRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256,
                          description="At least 10 characters, not a common password.")
    role: Literal["athlete", "coach"] = "athlete"
    display_name: Text = Field(min_length=1, max_length=120)
    time_zone: str = Field(default="UTC", max_length=64)

    @field_validator("display_name")
    @classmethod
    def _named(cls, value: str) -> str:
        # Stored stripped: a name of spaces only would be stored empty.
        if not value.strip():
            raise ValueError("give a name to show (not only spaces)")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _validate_zone(value)


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Gets new tokens (POST /api/v1/auth/refresh) once "
                               "the access token expires; used up by each refresh.")
    refresh_expires_in: int = Field(description="Seconds the login lasts without a refresh.")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256,
                              description="At least 10 characters, not a common password.")


class PasswordResetRequest(BaseModel):
    email: EmailStr


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=10, max_length=200, description="From the reset email.")
    new_password: str = Field(min_length=1, max_length=256)


class Accepted(BaseModel):
    detail: str


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: str
    display_name: str
    time_zone: str
    is_active: bool = Field(description="False: disabled by an admin (cannot log in).")
    created_at: datetime


class ProfileUpdate(BaseModel):
    """Onboarding answers; every field optional so the app can save step by step."""

    running_background: RunningBackground | None = None
    weekly_volume_km: float | None = Field(default=None, ge=0, le=400)
    injuries: list[Annotated[Text, StringConstraints(max_length=100)]] | None = Field(
        default=None, max_length=20)
    equipment: list[Equipment] | None = None
    strength_days: list[int] | None = Field(
        default=None, description="Weekdays for strength sessions, 0=Monday .. 6=Sunday; 2 or 3."
    )
    time_zone: str | None = Field(default=None, max_length=64)
    notify_weekday: int | None = Field(default=None, ge=0, le=6)
    notify_time: LocalTime | None = None
    height_cm: float | None = Field(default=None, ge=100, le=250)
    complete: bool = Field(default=True, description="Mark onboarding as finished.")

    @field_validator("strength_days")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        days = sorted(set(value))
        if not 2 <= len(days) <= 3 or any(d < 0 or d > 6 for d in days):
            raise ValueError("choose 2 or 3 different weekdays, 0=Monday .. 6=Sunday")
        return days

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _validate_zone(value)

    @field_validator("notify_time")
    @classmethod
    def _local(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            # The column holds a wall-clock time: an offset would be silently dropped.
            raise ValueError("give the local time without a UTC offset, like '07:30'; "
                             "the time zone is the profile's time_zone")
        return value


class ProfilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    running_background: str
    weekly_volume_km: float
    injuries: list[str]
    equipment: list[str]
    strength_days: list[int]
    time_zone: str
    notify_weekday: int
    notify_time: LocalTime
    height_cm: float | None
    onboarded_at: datetime | None


def _validate_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") \
            from exc
    return value
