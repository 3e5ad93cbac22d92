"""The app's job runtime as a request dependency (its queue; its consumer when this process
runs jobs). The app puts it in ``app.state.jobs`` when it is assembled."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.jobs.runtime import JobRuntime


def get_jobs(request: Request) -> JobRuntime:
    jobs: JobRuntime = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobRuntime, Depends(get_jobs)]
