"""Admission to the analysis queue: a bound on the analyses waiting for a worker.

Past ``queue_max_depth`` queued jobs an upload, or a new capture rate that would queue a
clip's analysis again, is refused at once (503 with Retry-After) instead of being accepted
into a queue that would take hours to reach it, or left to time out. The depth is read from
the job rows (the truth, whatever the queue backend), so every API process sees the same
figure; the bound is soft by the few uploads checked at the same moment, which is what a bound
against overload needs.
"""

from __future__ import annotations

from fastapi import status
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.core.config import Settings
from backend.core.errors import DomainError
from backend.jobs.models import AnalysisJob, JobStatus


class QueueFullError(DomainError):
    """Too many analyses are waiting: nothing of the request was kept; retry later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "queue_full"


def queue_depth(session: Session) -> int:
    """Analyses waiting for a worker (job rows 'queued'; running ones are not waiting)."""
    count = session.exec(select(func.count()).select_from(AnalysisJob)
                         .where(col(AnalysisJob.status) == JobStatus.queued.value)).one()
    return int(count)


UPLOAD_REFUSED = "this upload was not accepted and nothing of it was kept. Send it again"


def check_room(session: Session, settings: Settings, refused: str = UPLOAD_REFUSED) -> None:
    """Raise :class:`QueueFullError` when one more analysis would pass the bound; ``refused``
    says what was not done and what to send again."""
    depth = queue_depth(session)
    if depth + 1 > settings.queue_max_depth:
        wait = settings.queue_full_retry_after_s
        raise QueueFullError(
            f"The server is busy: {depth} clips are already waiting for analysis, so "
            f"{refused} in {wait} s.", headers={"Retry-After": str(wait)})
