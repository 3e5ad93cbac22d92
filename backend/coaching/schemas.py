"""Request and response bodies of the coaching API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class InvitePublic(BaseModel):
    code: str
    expires_at: datetime


class InviteStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    expired = "expired"


class InviteListed(BaseModel):
    """One of the coach's invites, with what became of it."""

    code: str
    created_at: datetime
    expires_at: datetime
    status: InviteStatus
    accepted_by_id: int | None = Field(description="The athlete who accepted it, if any")
    accepted_at: datetime | None


class CoachLinkPublic(BaseModel):
    coach_id: int
    coach_display_name: str
    athlete_id: int
    created_at: datetime


class RosterAthlete(BaseModel):
    id: int
    display_name: str
    email: str
    linked_at: datetime
    onboarded: bool
