"""Request and response bodies of the plans API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from backend import planner
from backend.core.text import Text
from backend.planner.retest import after_analysis
from backend.training.edits import AddCue, AddNote, MoveLevel, SwapExercise


class SideExtraPublic(BaseModel):
    side: str
    extra_sets: int


class ExercisePublic(BaseModel):
    code: str
    name: str
    kind: str = Field(description="core or drill")
    level: int = Field(description="1-based level in the exercise's progression")
    level_name: str
    sets: int = Field(description="Per side for one-leg work")
    reps: int | None
    hold_s: int | None
    tempo: str | None
    tempo_key: str | None
    load_guidance: str
    side: SideExtraPublic | None = Field(description="Extra sets on the weaker side")
    unilateral: bool
    cues: list[str]
    how_to: str
    regression: str


class SessionPublic(BaseModel):
    id: str = Field(description="The session's key, stable across plan versions")
    date: date
    week: int
    exercises: list[ExercisePublic]
    warm_up: str
    warm_up_minutes: float
    estimated_minutes: float
    lightened: bool
    notes: list[str]
    logged: bool = False


class CuePublic(BaseModel):
    text: str
    fault: str | None


class WeekPublic(BaseModel):
    number: int
    start: date
    is_deload: bool
    cue_of_week: CuePublic
    sessions: list[SessionPublic]
    film_again: str | None
    coach_cues: list[str]


class EmphasisPublic(BaseModel):
    code: str
    reason: str
    faults: list[str]


class CoachFlagPublic(BaseModel):
    id: int | None = None
    code: str
    message: str
    exercise_code: str | None = None
    session_key: str | None = None
    plan_version: int | None = None
    created_at: datetime | None = None
    acknowledged_at: datetime | None = Field(default=None,
                                             description="When the coach marked it seen")
    resolved_at: datetime | None = Field(default=None, description="When the coach closed it")


class PlanPublic(BaseModel):
    plan_id: str
    version: int
    kind: str
    reason: str
    created_at: datetime
    emphasis: list[EmphasisPublic]
    chain_notes: list[str]
    weaker_side: str | None
    cue_of_week: CuePublic = Field(description="The running cue of the current week")
    weeks: list[WeekPublic]
    notes: list[dict[str, Any]]

    @classmethod
    def build(cls, plan: planner.Plan, *, kind: str, created_at: datetime, today: date,
              logged: set[str]) -> PlanPublic:
        weeks = []
        current = plan.weeks[0]
        for w in plan.weeks:
            if w.start <= today:
                current = w
            weeks.append(WeekPublic(
                number=w.number, start=w.start, is_deload=w.is_deload,
                cue_of_week=CuePublic(text=w.cue_of_week.text, fault=w.cue_of_week.fault),
                film_again=w.film_again, coach_cues=list(w.coach_cues),
                sessions=[SessionPublic(
                    id=s.session_key, date=s.date, week=s.week,
                    exercises=[ExercisePublic.model_validate(p.to_dict()) for p in s.exercises],
                    warm_up=s.warm_up, warm_up_minutes=s.warm_up_minutes,
                    estimated_minutes=s.estimated_minutes, lightened=s.lightened,
                    notes=list(s.notes), logged=s.session_key in logged,
                ) for s in w.sessions],
            ))
        return cls(
            plan_id=plan.plan_id, version=plan.version, kind=kind, reason=plan.reason,
            created_at=created_at,
            emphasis=[EmphasisPublic(code=e.code, reason=e.reason, faults=list(e.faults))
                      for e in plan.emphasis],
            chain_notes=list(plan.chain_notes), weaker_side=plan.weaker_side,
            cue_of_week=CuePublic(text=current.cue_of_week.text, fault=current.cue_of_week.fault),
            weeks=weeks, notes=[n.to_dict() for n in plan.notes],
        )


class PlanVersionSummary(BaseModel):
    version: int
    kind: str
    reason: str
    created_at: datetime
    created_by_id: int | None


class SetDone(BaseModel):
    reps: int | None = Field(default=None, ge=0, le=200)
    hold_s: int | None = Field(default=None, ge=0, le=600)


class ExerciseLogIn(BaseModel):
    code: str
    sets: list[SetDone] = Field(default_factory=list, max_length=20,
                                description="What was done, in the order prescribed; "
                                "missing sets count as not done")
    pain: int = Field(default=0, ge=0, le=10, description="Pain 0-10 during this exercise")


class SessionLogIn(BaseModel):
    rpe: int = Field(ge=1, le=10, description="Effort of the whole session, 1-10")
    exercises: list[ExerciseLogIn] = Field(default_factory=list, max_length=20)
    logged_on: date | None = None


class PlanChangePublic(BaseModel):
    changed: bool
    kind: str
    reason: str
    version: int
    coach_flags: list[CoachFlagPublic]


class FeelingIn(BaseModel):
    not_100: bool = Field(description="True: lighten the next days. False: back to plan.")


class ComplianceOut(BaseModel):
    days_7: float | None = Field(description="Sets done over sets due in the last 7 days; "
                                 "null when no session was due (nothing to comply with)")
    days_30: float | None
    days_90: float | None
    sessions_due_7: int = Field(description="Sessions due in the window")
    sessions_due_30: int
    sessions_due_90: int

    @classmethod
    def build(cls, windows: dict[int, planner.ComplianceWindow]) -> ComplianceOut:
        return cls(days_7=windows[7].value, days_30=windows[30].value,
                   days_90=windows[90].value, sessions_due_7=windows[7].sessions_due,
                   sessions_due_30=windows[30].sessions_due,
                   sessions_due_90=windows[90].sessions_due)


class FaultComparisonOut(BaseModel):
    code: str
    label: str
    metric: str | None
    side: str | None
    before_value: float | None
    before_severity: str
    after_value: float | None
    after_severity: str | None = Field(description="null: below the fault's threshold now, "
                                       "or not filmed again")
    change: float | None = Field(description="After minus before, in the metric's unit")
    smallest_detectable_change: float | None = Field(
        description="A change smaller than this is measurement noise")
    outcome: str = Field(description="shrank, gone, no_detectable_change, grew or "
                         "not_refilmed")
    summary: str


class RetestOut(BaseModel):
    plan_id: str
    block_start: date
    block_end: date
    before_recorded_at: date | None = Field(description="The diagnosis the block was built on")
    after_recorded_at: date | None = Field(description="The re-test's newest clip; null until "
                                           "a clip recorded since the block began is analysed")
    film_again: str | None = Field(description="The plan's prompt to film again")
    faults: list[FaultComparisonOut]

    @classmethod
    def build(cls, plan: planner.Plan,
              comparisons: tuple[planner.FaultComparison, ...]) -> RetestOut:
        after = after_analysis(plan)
        return cls(plan_id=plan.plan_id, block_start=plan.block_start, block_end=plan.block_end,
                   before_recorded_at=plan.baseline.recorded_at if plan.baseline else None,
                   after_recorded_at=after.recorded_at if after else None,
                   film_again=next((w.film_again for w in reversed(plan.weeks)
                                    if w.film_again), None),
                   faults=[FaultComparisonOut.model_validate(c.to_dict()) for c in comparisons])


class CalendarLink(BaseModel):
    url: str
    token: str


class SwapIn(BaseModel):
    from_code: str
    to_code: str
    from_date: date | None = None
    level: int | None = Field(default=None, ge=1, le=10)

    def edit(self) -> SwapExercise:
        return SwapExercise(self.from_code, self.to_code, self.from_date, self.level)


class LevelIn(BaseModel):
    exercise_code: str
    to_level: int = Field(ge=1, le=10)
    from_date: date | None = None

    def edit(self) -> MoveLevel:
        return MoveLevel(self.exercise_code, self.to_level, self.from_date)


class CueIn(BaseModel):
    text: Text = Field(min_length=1, max_length=300)
    exercise_code: str | None = None
    from_date: date | None = None

    def edit(self) -> AddCue:
        return AddCue(self.text, self.exercise_code, self.from_date)


class NoteIn(BaseModel):
    text: Text = Field(min_length=1, max_length=2000)
    session_key: str | None = None

    def edit(self) -> AddNote:
        return AddNote(self.text, training_session_key=self.session_key)
