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
class AnalysisRefused:
    """A clip could not be analysed: the analysis found it unfit (``reasons`` and ``advice``
    from its report) or the job failed (its message). Nothing was measured, so no plan
    changes; the athlete should hear why and how to film again. Published in the
    transaction that records the outcome."""

    session: Session
    athlete_id: int
    clip_id: int
    reasons: tuple[str, ...]
    advice: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClipsChanged:
    """The clips behind the athlete's diagnosis changed without a new analysis: a clip was
    deleted, or its recording date corrected (``what``). Published in ``session``'s
    transaction; the diagnosis is rebuilt from what remains (backend/flows.py)."""

    session: Session
    athlete_id: int
    clip_id: int
    what: str
