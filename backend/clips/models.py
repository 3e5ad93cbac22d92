"""Clips, resumable uploads, and the analysis results stored so that trends are queries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.time import utcnow

ORIGINAL_FILENAME_LENGTH = 255


class ClipView(StrEnum):
    rear = "rear"
    front = "front"
    side = "side"
    auto = "auto"


class Clip(SQLModel, table=True):
    """An uploaded video. The same athlete uploading the same bytes gets the same row back:
    (athlete, sha256) is unique, and the file lives at a path made from the hash."""

    __tablename__ = "clip"
    __table_args__ = (
        UniqueConstraint("athlete_id", "sha256", name="uq_clip_athlete_id_sha256"),
        Index("ix_clip_athlete_id_created_at", "athlete_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    sha256: str = Field(max_length=64)
    size_bytes: int = Field(sa_type=BigInteger)
    storage_key: str = Field(max_length=512)
    original_filename: str | None = Field(default=None, max_length=ORIGINAL_FILENAME_LENGTH)
    content_type: str = Field(max_length=100, default="video/mp4")
    # What the athlete said when uploading.
    view: str = Field(max_length=8, default=ClipView.auto.value)
    person_x: float | None = None
    person_y: float | None = None
    treadmill_speed_kmh: float | None = None
    # Slow motion: the real capture rate (frames per real second), when the athlete gave it.
    capture_fps: float | None = None
    recorded_at: datetime
    # What the probe measured.
    container: str = Field(max_length=64)
    codec: str = Field(max_length=32)
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    rotation: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class ClipUpload(SQLModel, table=True):
    """A resumable (tus) upload: who may continue it, and the clip it became."""

    __tablename__ = "clip_upload"

    id: str = Field(primary_key=True, max_length=32)
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    length: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    completed_at: datetime | None = None
    clip_id: int | None = Field(default=None, foreign_key="clip.id", ondelete="SET NULL")


class AnalysisReport(SQLModel, table=True):
    """The analysis of a clip: exactly one per clip, however often the job ran."""

    __tablename__ = "analysis_report"

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clip.id", unique=True, ondelete="CASCADE")
    athlete_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    schema_version: str = Field(max_length=32)
    view: str = Field(max_length=16)
    report: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    track_key: str = Field(max_length=512)
    track_sha256: str = Field(max_length=64)
    overlay_key: str | None = Field(default=None, max_length=512)
    overlay_sha256: str | None = Field(default=None, max_length=64)
    # [{"name", "key", "sha256", "content_type"}, ...]
    keyframes: list[dict[str, Any]] = Field(default_factory=list,
                                            sa_column=Column(JSON, nullable=False))
    # The analysis's verdict on the clip (the report's clip_quality), as columns: an unfit
    # clip is a result the API shows as such, and never changes the plan.
    fit: bool = True
    unfit_reasons: list[str] = Field(default_factory=list,
                                     sa_column=Column(JSON, nullable=False))
    advice: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    slow_motion: bool | None = None
    needs_capture_fps: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ClipFault(SQLModel, table=True):
    """One fault found in one clip: fault trends are a query on this table."""

    __tablename__ = "clip_fault"
    __table_args__ = (
        Index("ix_clip_fault_athlete_id_code_recorded_at", "athlete_id", "code", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    clip_id: int = Field(foreign_key="clip.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=64)
    side: str | None = Field(default=None, max_length=16)
    severity: str = Field(max_length=16)
    value: float | None = None
    confidence: float
    recorded_at: datetime


class ClipMetric(SQLModel, table=True):
    """One metric of one clip (left and right side by side where it has sides)."""

    __tablename__ = "clip_metric"
    __table_args__ = (
        UniqueConstraint("clip_id", "key", name="uq_clip_metric_clip_id_key"),
        Index("ix_clip_metric_athlete_id_key_recorded_at", "athlete_id", "key", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    clip_id: int = Field(foreign_key="clip.id", ondelete="CASCADE")
    key: str = Field(max_length=64)
    value: float | None = None
    left: float | None = None
    right: float | None = None
    n_strides: int | None = None
    unit: str | None = Field(default=None, max_length=32)
    withheld_reason: str | None = Field(default=None, max_length=500)
    recorded_at: datetime
