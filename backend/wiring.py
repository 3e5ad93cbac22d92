"""Assembly of a process that serves or runs jobs: the domains' tasks registered with the
job runtime (each domain's ``tasks.py``) and the reactions across domains subscribed
(``backend/flows.py``). ``backend.api.app.create_app`` and ``stridelab worker`` /
``stridelab jobs reap`` call it; nothing below them does.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from backend.core.config import Settings
from backend.jobs.runtime import JobRuntime


def install() -> None:
    """Register every domain's tasks and subscribe the flows (idempotent)."""
    # Importing each tasks.py registers its tasks: the analysis and the upload clean-ups;
    # the push sweep and the weekly plan notification.
    import backend.clips.tasks
    import backend.notifications.tasks  # noqa: F401
    from backend import flows

    flows.install()


def job_runtime(settings: Settings, engine: Engine) -> JobRuntime:
    """A job runtime that knows every task of the application."""
    install()
    return JobRuntime(settings, engine)
