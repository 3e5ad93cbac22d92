"""Request and response bodies of the clips API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from backend.clips.models import ClipView
from backend.core.config import API_PREFIX
from backend.core.errors import InvalidInputError

JobStatusLiteral = Literal["queued", "running", "succeeded", "failed"]
OutcomeLiteral = Literal["analysed", "unfit"]
# The real capture rate of a slow-motion clip, frames per real second: phones film 120 or 240,
# some 480 or 960; under 24 is no video at all.
CAPTURE_FPS_MIN = 24.0
CAPTURE_FPS_MAX = 1000.0
CAPTURE_FPS_DESCRIPTION = (
    "Slow motion: the rate the phone really filmed at, in frames per real second (the "
    f"slow-motion setting, e.g. 120 or 240; {CAPTURE_FPS_MIN:g}-{CAPTURE_FPS_MAX:g}), not less "
    "than the clip's own frame rate. Leave it out for a clip that plays at normal speed.")
# No phone clip is older; earlier dates are typos or a camera without a clock.
EARLIEST_RECORDED_AT = datetime(2000, 1, 1, tzinfo=UTC)


class ClipOptions(BaseModel):
    """What the athlete tells us with a clip (multipart fields, or tus Upload-Metadata)."""

    view: ClipView = Field(
        default=ClipView.auto,
        description="Where the camera was: rear (behind the runner), front, side, or auto "
        "(let the analysis decide and say what it found).")
    person_x: float | None = Field(
        default=None, ge=0, le=1,
        description="The runner to analyse when several people are in the clip: horizontal "
        "position in the upright first frame, 0 = left edge, 1 = right edge.")
    person_y: float | None = Field(
        default=None, ge=0, le=1, description="Vertical position, 0 = top, 1 = bottom.")
    treadmill_speed_kmh: float | None = Field(default=None, gt=0, le=40,
                                              description="Belt speed, on a treadmill.")
    capture_fps: float | None = Field(default=None, ge=CAPTURE_FPS_MIN, le=CAPTURE_FPS_MAX,
                                      allow_inf_nan=False, description=CAPTURE_FPS_DESCRIPTION)
    recorded_at: datetime | None = Field(
        default=None, description="When the clip was filmed; defaults to the video's own "
        "creation time, else the upload time.")

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            # Stored in UTC; a date at the edge of the calendar (0001-01-01+14:00) has none.
            value = value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValueError("is not a real date: give when the clip was filmed") from exc
        if value < EARLIEST_RECORDED_AT:
            raise ValueError(f"lies before {EARLIEST_RECORDED_AT.year}: give when the clip "
                             "was filmed")
        if value > datetime.now(UTC) + timedelta(days=1):
            raise ValueError("lies in the future: give when the clip was filmed")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> ClipOptions:
        if (self.person_x is None) != (self.person_y is None):
            raise ValueError("give both person_x and person_y, or neither")
        return self

    @classmethod
    def parse(cls, fields: dict[str, str]) -> ClipOptions:
        """From form fields or upload metadata: empty values count as absent."""
        data = {k: v for k, v in fields.items() if k in cls.model_fields and v.strip() != ""}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                loc = ".".join(str(p) for p in err.get("loc", ()))
                parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
            raise InvalidInputError("Invalid clip details: " + "; ".join(parts)) from exc


class JobError(BaseModel):
    code: str | None
    message: str


class Timings(BaseModel):
    uploaded_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queued_s: float | None = Field(description="From upload to the start of the last attempt.")
    processing_s: float | None = Field(description="The last attempt, start to finish.")


class AnalysisVerdict(BaseModel):
    """What the analysis made of the clip, once it ran to its end (job status 'succeeded')."""

    outcome: OutcomeLiteral | None = Field(
        description="How the analysis ended, once status is 'succeeded' (the job ran to its "
        "end, whatever it found): 'analysed' (the report measures running form, and the plan "
        "was updated from it) or 'unfit' (the analysis refused the clip: unfit_reasons say "
        "why, advice how to film again; nothing was measured and the plan was not changed). "
        "null while queued or running and when failed (see error).")
    fit: bool | None = Field(
        description="Whether running form could be measured in the clip (true with outcome "
        "'analysed', false with 'unfit'); null until the analysis succeeded.")
    unfit_reasons: list[str] = Field(
        description="Why the clip is unfit for analysis; empty unless fit is false.")
    advice: list[str] = Field(
        description="How to film again: what to change for an unfit clip, or what would make "
        "the next clip better (an oblique camera, say); may be empty.")
    slow_motion: bool | None = Field(
        description="The clip is slow motion (detected, or declared with capture_fps); null "
        "when unknown or not analysed yet.")
    needs_capture_fps: bool = Field(
        description="The clip is slow motion and its real capture rate is unknown, so every "
        "time-based figure is withheld: ask the athlete and send it with PATCH "
        f"{API_PREFIX}/clips/{{clip_id}} ({{\"capture_fps\": 240}}), which analyses the clip "
        "again.")


class ClipPublic(AnalysisVerdict):
    id: int
    athlete_id: int
    status: JobStatusLiteral
    progress: int = Field(description="0-100")
    stage: str | None
    attempts: int
    error: JobError | None
    view: str
    analysed_view: str | None = Field(description="The view the analysis used (for 'auto').")
    recorded_at: datetime
    duration_s: float
    fps: float = Field(description="The clip's own frame rate (playback).")
    capture_fps: float | None = Field(
        description="The real capture rate the athlete gave for a slow-motion clip (frames "
        "per real second); null when not given.")
    width: int
    height: int
    size_bytes: int
    sha256: str
    original_filename: str | None
    timings: Timings
    has_report: bool


class ClipPage(BaseModel):
    items: list[ClipPublic]
    total: int
    limit: int
    offset: int


class ClipEvent(AnalysisVerdict):
    """One server-sent event of ``GET /clips/{id}/events``."""

    status: JobStatusLiteral
    progress: int
    stage: str | None
    error: JobError | None


class ClipUpdate(BaseModel):
    """What may change on a clip after the upload: a new capture rate analyses the clip
    again; a corrected recording date re-dates its results and rebuilds the diagnosis."""

    capture_fps: float | None = Field(
        default=None, ge=CAPTURE_FPS_MIN, le=CAPTURE_FPS_MAX, allow_inf_nan=False,
        description=CAPTURE_FPS_DESCRIPTION + " null: the clip is not slow motion (or its "
        "capture rate is unknown). Left out: unchanged.")
    recorded_at: datetime | None = Field(
        default=None, description="When the clip was really filmed (the video's own date "
        "may be wrong, or was not plausible and the upload time stands in). Left out: "
        "unchanged.")

    _recorded_at_aware = field_validator("recorded_at")(ClipOptions._aware.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _something(self) -> ClipUpdate:
        if not self.model_fields_set & {"capture_fps", "recorded_at"}:
            raise ValueError("give capture_fps or recorded_at (or both)")
        if "recorded_at" in self.model_fields_set and self.recorded_at is None:
            raise ValueError("recorded_at cannot be null: give when the clip was filmed")
        return self


class KeyframePublic(BaseModel):
    name: str
    url: str
    content_type: str


class ReportPublic(BaseModel):
    clip_id: int
    schema_version: str
    view: str
    created_at: datetime
    report: dict[str, Any] = Field(description="The analysis report (schema of backend.gait).")
    overlay_url: str | None
    keyframes: list[KeyframePublic]


class UploadPublic(BaseModel):
    """A resumable upload and, once complete, the clip it became."""

    id: str
    length: int | None
    complete: bool
    created_at: datetime
    expires_at: datetime
    clip: ClipPublic | None


class DiagnosisClipPublic(BaseModel):
    clip_id: int
    view: str
    recorded_at: datetime


class DiagnosisFaultPublic(BaseModel):
    code: str
    label: str
    severity: str
    side: str | None
    value: float | None
    confidence: float | None
    view: str | None = Field(description="The view of the clip it was measured in")
    clip_id: int | None


class DiagnosisPublic(BaseModel):
    """The athlete's diagnosis: the latest fit clip of each view combined (rear or front for
    the frontal faults, side for the sagittal ones); plans are built from it."""

    athlete_id: int
    headline: str
    frontal: DiagnosisClipPublic | None = Field(description="The rear or front clip used")
    sagittal: DiagnosisClipPublic | None = Field(description="The side clip used")
    faults: list[DiagnosisFaultPublic]


class AccountDeletion(BaseModel):
    password: str = Field(min_length=1, max_length=1024,
                          description="The account's password, to confirm the deletion")
