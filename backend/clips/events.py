"""What the clips domain tells the others (``backend.core.events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session


@dataclass(frozen=True)
class AnalysisFinished:
    """A clip the analysis found fit was analysed; its results are written in ``session``
    (not committed yet: a reaction belongs to the same transaction, in a savepoint)."""

    session: Session
    athlete_id: int
    clip_id: int
    report: dict[str, Any]
    recorded_at: date


@dataclass(frozen=True)
class ClipsChanged:
    """The clips behind the athlete's diagnosis changed without a new analysis: a clip was
    deleted, or its recording date corrected (``what``). Published in ``session``'s
    transaction; the diagnosis is rebuilt from what remains (backend/flows.py)."""

    session: Session
    athlete_id: int
    clip_id: int
    what: str
