"""Run code after the database commit: jobs are queued only once their rows are committed.

``after_commit(session, fn)`` keeps ``fn`` on the session; it runs when the outermost
transaction commits and is dropped on rollback, so a failed request queues nothing. A callback
that fails (the queue is down, say) is logged and dropped: the reaper queues the job again
later, because the committed job row still says 'queued'.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
_KEY = "stridelab_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    callbacks: list[Callable[[], None]] = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("after-commit callback failed; the reaper will retry it")


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop(_KEY, None)
