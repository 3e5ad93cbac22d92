"""Request and response bodies of the coaching API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class InvitePublic(BaseModel):
    code: str
    expires_at: datetime


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
