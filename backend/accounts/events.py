"""What the accounts domain tells the others (``backend.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend.accounts.models import User


@dataclass(frozen=True)
class OnboardingCompleted:
    """An athlete saved their onboarding answers as complete (in ``session``, not committed)."""

    session: Session
    athlete: User
