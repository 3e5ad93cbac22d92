"""Request and response bodies of the plans API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from backend import planner
from backend.core.text import Text
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
    days_7: float
    days_30: float
    days_90: float


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
