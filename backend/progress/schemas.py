"""Response bodies of the progress API: trends, the coach's dashboard, the exercise list."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ComplianceWindow(BaseModel):
    value: float | None = Field(description="Sets done over sets prescribed, 0-1; null when "
                                "nothing was due in the window (not 100 %)")
    sessions_due: int = Field(description="Planned sessions dated in the window (today's "
                              "only once logged)")


class ClipPoint(BaseModel):
    clip_id: int
    recorded_at: datetime
    view: str = Field(description="The view the analysis read (rear, front or side)")


class FaultPoint(BaseModel):
    clip_id: int
    recorded_at: datetime
    view: str
    side: str | None
    severity: str
    value: float | None
    confidence: float


class FaultTrend(BaseModel):
    code: str
    title: str
    points: list[FaultPoint] = Field(description="Oldest first; a fit clip without this "
                                     "fault has no point (see ``clips``)")


class MetricPoint(BaseModel):
    clip_id: int
    recorded_at: datetime
    view: str
    value: float | None
    left: float | None
    right: float | None
    n_strides: int | None


class MetricTrend(BaseModel):
    key: str
    unit: str | None
    points: list[MetricPoint] = Field(description="Oldest first; withheld values are left out")


class WeekTrend(BaseModel):
    week_start: date = Field(description="Monday of the week")
    compliance: ComplianceWindow
    sessions_logged: int
    mean_rpe: float | None = Field(description="Mean effort (RPE 1-10) of the logged sessions")
    max_pain: int | None = Field(description="Highest pain (0-10) logged that week")


class TrendsOut(BaseModel):
    athlete_id: int
    since: date
    clips: list[ClipPoint] = Field(description="The fit analyses the trends come from, oldest "
                                   "first (unfit clips never count)")
    faults: list[FaultTrend]
    metrics: list[MetricTrend]
    weeks: list[WeekTrend]


class AttentionCode(StrEnum):
    pain_reported = "pain_reported"
    compliance_dropped = "compliance_dropped"
    fault_worse = "fault_worse"
    no_recent_clip = "no_recent_clip"


class AttentionReason(BaseModel):
    code: AttentionCode
    message: str


class LastClip(BaseModel):
    clip_id: int
    recorded_at: datetime


class DashboardAthlete(BaseModel):
    id: int
    display_name: str
    email: str
    linked_at: datetime
    onboarded: bool
    last_clip: LastClip | None
    headline: str | None = Field(description="The diagnosis in a line: the top fault's title, "
                                 "'No faults found', or null before any fit clip")
    compliance_7: ComplianceWindow
    compliance_30: ComplianceWindow
    open_flags: int
    unacknowledged_flags: int
    attention: list[AttentionReason]


class DashboardSort(StrEnum):
    """A key, ascending; with a leading '-', descending."""

    name = "name"
    name_desc = "-name"
    last_clip = "last_clip"
    last_clip_desc = "-last_clip"
    compliance_7 = "compliance_7"
    compliance_7_desc = "-compliance_7"
    compliance_30 = "compliance_30"
    compliance_30_desc = "-compliance_30"
    open_flags = "open_flags"
    open_flags_desc = "-open_flags"
    attention = "attention"
    attention_desc = "-attention"


class DashboardPage(BaseModel):
    total: int = Field(description="Athletes on the roster")
    limit: int
    offset: int
    sort: DashboardSort
    athletes: list[DashboardAthlete]


class LevelListed(BaseModel):
    number: int
    name: str
    unilateral: bool
    reps: int | None
    hold_s: int | None
    needs_load: bool


class ExerciseListed(BaseModel):
    code: str
    name: str
    kind: str = Field(description="core or drill")
    cues: list[str]
    levels: list[LevelListed]
