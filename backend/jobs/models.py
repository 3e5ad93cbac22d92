"""The job row: the truth about each analysis, whatever the queue says."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.core.time import utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


TERMINAL = frozenset({JobStatus.succeeded.value, JobStatus.failed.value})


class AnalysisJob(SQLModel, table=True):
    """One analysis of one clip. ``lease_owner`` and ``lease_expires_at`` say which worker
    runs it and until when it is presumed alive; the reaper takes expired leases back."""

    __tablename__ = "analysis_job"
    __table_args__ = (Index("ix_analysis_job_status_lease", "status", "lease_expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clip.id", unique=True, ondelete="CASCADE")
    status: str = Field(max_length=16, default=JobStatus.queued.value)
    progress: int = Field(default=0, description="0-100")
    stage: str | None = Field(default=None, max_length=32)
    attempts: int = Field(default=0)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=160)
    lease_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    enqueued_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


# The task that runs an ``analysis_job`` row (registered by the domain that owns the work,
# ``backend/clips/tasks.py``): the reaper and ``JobRuntime.enqueue`` send job ids to it. The
# name is stable, so any process can run what another queued.
ROW_TASK = "analyse_clip"


class PeriodicTaskRun(SQLModel, table=True):
    """When a periodic task runs next, and which process holds it while it runs.

    Taking a run is one conditional UPDATE (only when due and not held by a live lease), so
    however many processes run jobs, each periodic task runs once per interval."""

    __tablename__ = "periodic_task"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=160)
    lease_expires_at: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    runs: int = Field(default=0)
