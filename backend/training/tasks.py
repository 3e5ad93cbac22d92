"""The training domain's periodic housekeeping: finished weeks' missed sessions are counted
here (and when a log or an analysis arrives), never on a read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from backend.accounts.models import AthleteProfile, User
from backend.jobs.registry import registry
from backend.training import service
from backend.training.models import PlanVersion

if TYPE_CHECKING:
    from backend.jobs.runtime import JobRuntime


def reconcile_all(session: Session) -> int:
    """Count the missed sessions of every athlete's finished weeks; the versions stored."""
    stored = 0
    athlete_ids = session.exec(select(PlanVersion.athlete_id).distinct()).all()
    for athlete_id in athlete_ids:
        athlete = session.get(User, athlete_id)
        if athlete is None:
            continue
        today = service.athlete_today(session.get(AthleteProfile, athlete_id), athlete)
        stored += len(service.reconcile_missed_weeks(session, athlete, today))
    return stored


@registry.periodic("training.reconcile_missed_weeks", every=lambda s: s.reaper_interval_s)
def reconcile_missed_weeks(runtime: JobRuntime) -> int:
    with Session(runtime.engine) as session:
        stored = reconcile_all(session)
        session.commit()
    return stored
