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
