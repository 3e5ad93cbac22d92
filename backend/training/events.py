"""What the training domain tells the others (``backend.core.events``), published in the
request's transaction so that a reaction (a notification) exists exactly when the change
it tells of was committed (``backend/flows.py`` subscribes them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True)
class CoachChangedPlan:
    """A coach's edit made a new plan version (``reason`` says what changed)."""

    session: Session
    athlete_id: int
    coach_id: int
    kind: str
    reason: str


@dataclass(frozen=True)
class SessionLogged:
    """An athlete logged a session; ``max_pain`` is the highest pain (0-10) of its
    exercises, ``painful_exercise`` the exercise that hurt most (None without pain)."""

    session: Session
    athlete_id: int
    training_session_key: str
    max_pain: int
    painful_exercise: str | None
    plan_reason: str


@dataclass(frozen=True)
class FeelingReported:
    """An athlete said they are not feeling 100 % (``not_100``) or are well again."""

    session: Session
    athlete_id: int
    not_100: bool
    plan_reason: str
