"""Planner data: the inputs (analysis summary, athlete profile, session logs) and the
versioned plan.

Everything is a frozen dataclass so the planner's functions stay pure: a change builds a
new plan instead of editing the old one, which is what keeps older versions readable.
Every class round-trips through plain JSON dicts (``to_dict`` / ``from_dict``) because the
API stores ``Plan.to_dict()`` in a JSON column.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Self, TypeVar, Union

# The fault vocabulary is the analysis's (gait owns its fault catalogue); re-exported here
# because every planner input is checked against it.
from backend.gait.catalogue import CHAIN_LINKS, FAULT_CODES, SEVERITIES
from backend.gait.report_reader import read_report
from backend.jsonsafe import json_safe

SIDES: tuple[str, ...] = ("left", "right")
BACKGROUNDS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
EQUIPMENT: tuple[str, ...] = ("none", "dumbbells", "kettlebell")

# Why a track state has its value. States set by an adaptation or a coach are never
# overwritten by a later automatic re-plan; "progression", "hold" and "start" may be.
SET_BY_ADAPTATION: frozenset[str] = frozenset({"pain", "easy", "coach", "swap"})
SET_BY_VALUES: frozenset[str] = SET_BY_ADAPTATION | {"start", "progression", "hold"}


# --------------------------------------------------------------------------- serialisation

T = TypeVar("T")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses to dicts, dates to ISO strings, tuples and sets to lists (the one JSON
    cleaner, ``backend.jsonsafe``)."""
    return json_safe(obj)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(tp: Any, value: Any) -> Any:
    """Inverse of :func:`to_jsonable`, driven by the type hints of the target class."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_jsonable(inner, value)
    if origin is tuple:
        elem = typing.get_args(tp)[0]
        return tuple(from_jsonable(elem, v) for v in value)
    if origin is frozenset:
        elem = typing.get_args(tp)[0]
        return frozenset(from_jsonable(elem, v) for v in value)
    if tp is date:
        return _parse_date(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: from_jsonable(hints[f.name], value[f.name])
            for f in dataclasses.fields(tp)
            if f.name in value  # missing keys fall back to defaults: older stored plans load
        }
        return tp(**kwargs)
    if tp is float and isinstance(value, int | float):
        return float(value)
    return value


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    # Reports may carry a full timestamp; the planner works in whole days.
    return date.fromisoformat(text[:10])


class _Json:
    """Mixin: ``to_dict`` / ``from_dict`` for the planner's dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        out = from_jsonable(cls, d)
        assert isinstance(out, cls)
        return out


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


# --------------------------------------------------------------------------- analysis input


@dataclass(frozen=True)
class FaultFinding(_Json):
    """One fault from the running-form report.

    ``side`` is the side the report attributes the fault to, read as the side that needs
    the work: for hip drop, the stance side whose hip lets the other side of the pelvis
    drop; for an asymmetry, the weaker side.
    """

    code: str
    severity: str
    side: str | None = None
    confidence: float = 1.0
    # What was measured (the re-test compares it): the value in the metric's unit, the
    # metric, and the clip and view it came from in a combined diagnosis.
    value: float | None = None
    metric: str | None = None
    clip_id: int | None = None
    view: str | None = None

    def __post_init__(self) -> None:
        _require(self.code in FAULT_CODES, f"unknown fault code {self.code!r}")
        _require(self.severity in SEVERITIES, f"unknown severity {self.severity!r}")
        _require(self.side is None or self.side in SIDES, f"unknown side {self.side!r}")
        _require(0.0 <= self.confidence <= 1.0, "confidence must be within [0, 1]")


@dataclass(frozen=True)
class ChainFinding(_Json):
    """One "look beyond the hip" link from the report."""

    link: str
    confidence: float
    reasoning: str = ""

    def __post_init__(self) -> None:
        _require(self.link in CHAIN_LINKS, f"unknown chain link {self.link!r}")
        _require(0.0 <= self.confidence <= 1.0, "confidence must be within [0, 1]")


@dataclass(frozen=True)
class Measure(_Json):
    """One metric of the analysis (both sides where it has sides): what a re-test
    compares when a fault is gone from the newer clip."""

    key: str
    value: float | None = None
    left: float | None = None
    right: float | None = None
    unit: str | None = None


@dataclass(frozen=True)
class AnalysisSummary(_Json):
    """What the planner needs from one analysis (or from the athlete's diagnosis, the
    latest clip of each view combined); the gait package is not imported."""

    recorded_at: date
    faults: tuple[FaultFinding, ...] = ()
    chain: tuple[ChainFinding, ...] = ()
    # Codes the report carried that this planner version does not know: kept visible
    # instead of failing the plan, so a newer gait package cannot leave an athlete
    # without one.
    unrecognised: tuple[str, ...] = ()
    measures: tuple[Measure, ...] = ()
    clip_ids: tuple[int, ...] = ()  # the clips behind it

    def same_findings(self, other: AnalysisSummary | None) -> bool:
        """The same clips saying the same things (a repeated announcement changes nothing)."""
        return other is not None and self.to_dict() == other.to_dict()

    def measure(self, key: str | None) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    @classmethod
    def from_report_dict(
        cls, d: Mapping[str, Any], recorded_at: date | None = None
    ) -> AnalysisSummary:
        """Read the report JSON's faults and chain (through gait's one report reader,
        ``backend.gait.report_reader``); a missing or non-finite confidence is refused.

        ``recorded_at`` defaults to ``d["recorded_at"]`` (ISO date or timestamp).
        """
        if recorded_at is None:
            _require("recorded_at" in d, "recorded_at is needed (argument or report key)")
            recorded_at = _parse_date(d["recorded_at"])
        read = read_report(d)
        faults: list[FaultFinding] = []
        chain: list[ChainFinding] = []
        unknown: list[str] = []
        for f in read.faults:
            if f.code not in FAULT_CODES:
                unknown.append(f.code)
                continue
            faults.append(
                FaultFinding(
                    code=f.code,
                    severity=f.severity,
                    side=f.side,
                    confidence=math.nan if f.confidence is None else f.confidence,
                    value=f.value,
                    metric=f.metric,
                    clip_id=f.clip_id,
                    view=f.view,
                )
            )
        for c in read.chain:
            if c.link not in CHAIN_LINKS:
                unknown.append(c.link)
                continue
            chain.append(
                ChainFinding(
                    link=c.link,
                    confidence=math.nan if c.confidence is None else c.confidence,
                    reasoning=c.reasoning,
                )
            )
        sources = d.get("sources")
        clip_ids = tuple(
            int(s["clip_id"]) for s in (sources if isinstance(sources, list) else ())
            if isinstance(s, Mapping) and isinstance(s.get("clip_id"), int)
        )
        return cls(
            recorded_at=recorded_at,
            faults=tuple(faults),
            chain=tuple(chain),
            unrecognised=tuple(unknown),
            measures=tuple(
                Measure(m.key, m.value, m.left, m.right, m.unit)
                for m in read.metrics
                if m.value is not None or m.left is not None or m.right is not None
            ),
            clip_ids=clip_ids,
        )


# --------------------------------------------------------------------------- athlete input


@dataclass(frozen=True)
class PlannerProfile(_Json):
    """The onboarding answers the planner uses.

    Defaults are the product's "skipped onboarding" defaults: Monday, Wednesday and Friday,
    no equipment; the background defaults to beginner because easy sessions move levels up
    within two sessions, while an over-hard start costs trust and tissue.
    """

    block_start: date
    running_background: str = "beginner"
    weekly_km: float = 0.0
    injuries: tuple[str, ...] = ()
    equipment: frozenset[str] = frozenset({"none"})
    strength_weekdays: tuple[int, ...] = (0, 2, 4)
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        _require(
            self.running_background in BACKGROUNDS,
            f"unknown running background {self.running_background!r}",
        )
        _require(self.weekly_km >= 0, "weekly_km must be >= 0")
        equipment = frozenset(self.equipment)
        _require(equipment <= set(EQUIPMENT), f"unknown equipment in {sorted(equipment)}")
        # "none" next to a real item means the item: normalise so both read the same.
        equipment = equipment - {"none"} or frozenset({"none"})
        object.__setattr__(self, "equipment", equipment)
        days = tuple(sorted(set(self.strength_weekdays)))
        _require(all(0 <= d <= 6 for d in days), "weekdays are 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "strength_weekdays", days)
        object.__setattr__(self, "injuries", tuple(self.injuries))


# --------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class SetLog(_Json):
    """One set: the target next to what was done (wger's log model)."""

    target_reps: int | None = None
    done_reps: int | None = None
    side: str | None = None
    target_hold_s: int | None = None
    done_hold_s: int | None = None

    @property
    def done(self) -> bool:
        """Ticked off: any work recorded for the set."""
        return bool(self.done_reps) or bool(self.done_hold_s)

    @property
    def hit_target(self) -> bool:
        reps_ok = self.target_reps is None or (self.done_reps or 0) >= self.target_reps
        hold_ok = self.target_hold_s is None or (self.done_hold_s or 0) >= self.target_hold_s
        return self.done and reps_ok and hold_ok


@dataclass(frozen=True)
class ExerciseLog(_Json):
    code: str
    level: int
    sets: tuple[SetLog, ...] = ()
    pain: int = 0

    def __post_init__(self) -> None:
        _require(0 <= self.pain <= 10, "pain is 0-10")
        _require(self.level >= 1, "levels start at 1")


@dataclass(frozen=True)
class SessionLog(_Json):
    """One logged session: effort for the session, pain per exercise."""

    session_key: str
    logged_on: date
    rpe: int
    exercises: tuple[ExerciseLog, ...] = ()
    plan_id: str | None = None

    def __post_init__(self) -> None:
        _require(1 <= self.rpe <= 10, "RPE is 1-10")

    @property
    def pain(self) -> int:
        return max((e.pain for e in self.exercises), default=0)

    def exercise(self, code: str) -> ExerciseLog | None:
        return next((e for e in self.exercises if e.code == code), None)

    @classmethod
    def as_prescribed(
        cls,
        session: Session,
        *,
        logged_on: date,
        rpe: int,
        pain: Mapping[str, int] | None = None,
        plan_id: str | None = None,
        done_fraction: float = 1.0,
    ) -> SessionLog:
        """A log of ``session`` done as written (or the first ``done_fraction`` of each
        exercise's sets): what the app records when the athlete ticks every set."""
        pain = pain or {}
        logs: list[ExerciseLog] = []
        for p in session.exercises:
            targets = p.set_targets()
            n_done = round(len(targets) * done_fraction)
            sets = tuple(
                SetLog(
                    target_reps=t.reps,
                    done_reps=(t.reps if i < n_done else 0) if t.reps is not None else None,
                    side=t.side,
                    target_hold_s=t.hold_s,
                    done_hold_s=(t.hold_s if i < n_done else 0) if t.hold_s is not None else None,
                )
                for i, t in enumerate(targets)
            )
            logs.append(ExerciseLog(p.code, p.level, sets, pain.get(p.code, 0)))
        return cls(session.session_key, logged_on, rpe, tuple(logs), plan_id)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class TrackState(_Json):
    """Where one exercise stands in its progression at one session (the loading dose,
    before a lighter week or a "not 100 %" day is applied)."""

    code: str
    level: int
    sets: int
    reps: int | None = None
    hold_s: int | None = None
    lower_s: int | None = None  # seconds of the slow phase; the tempo step lengthens it
    level_cap: int | None = None  # set by a pain regression: no automatic level-up past it
    floor_regressed: bool = False  # pain at level 1: the level's own regression is used
    set_by: str = "start"
    set_at: str = ""  # session_key where this value was set
    # Plan version of the latest adaptation in this state's history; orders a newer pain
    # ceiling against an older change dated later in the block.
    version: int = 0


@dataclass(frozen=True)
class SideExtra(_Json):
    side: str
    extra_sets: int


@dataclass(frozen=True)
class SetTarget(_Json):
    side: str | None
    reps: int | None
    hold_s: int | None


@dataclass(frozen=True)
class ExercisePrescription(_Json):
    code: str
    name: str
    kind: str  # "core" or "drill"
    level: int
    level_name: str
    sets: int  # per side for one-leg work
    reps: int | None
    hold_s: int | None
    tempo: str | None  # seconds, in the order named by tempo_key
    tempo_key: str | None
    load_guidance: str
    side: SideExtra | None
    unilateral: bool
    cues: tuple[str, ...]
    how_to: str
    regression: str

    def set_targets(self) -> tuple[SetTarget, ...]:
        """The sets the athlete ticks off, in order (weaker side first)."""
        if not self.unilateral:
            return tuple(SetTarget(None, self.reps, self.hold_s) for _ in range(self.sets))
        first = self.side.side if self.side else "left"
        order = (first, "right" if first == "left" else "left")
        out = [SetTarget(s, self.reps, self.hold_s) for _ in range(self.sets) for s in order]
        if self.side:
            out += [SetTarget(self.side.side, self.reps, self.hold_s)] * self.side.extra_sets
        return tuple(out)


@dataclass(frozen=True)
class SessionLayout(_Json):
    """The context a session was planned with. A later change of context (a new analysis,
    a swap) applies from its own date on, so re-planning after a late log does not
    rewrite the sessions before that date with it."""

    exercise_order: tuple[str, ...]
    drills: tuple[str, ...] = ()
    weaker_side: str | None = None
    opposite_hand_load: bool = False

    @property
    def codes(self) -> tuple[str, ...]:
        return self.exercise_order + self.drills


@dataclass(frozen=True)
class Session(_Json):
    session_key: str
    date: date
    week: int  # 1-based
    exercises: tuple[ExercisePrescription, ...] = ()
    tracks: tuple[TrackState, ...] = ()
    warm_up: str = ""
    warm_up_minutes: float = 0.0
    estimated_minutes: float = 0.0
    lightened: bool = False
    notes: tuple[str, ...] = ()
    layout: SessionLayout | None = None
    revision: int = 1  # plan version in which this session last changed (ICS SEQUENCE)

    def exercise(self, code: str) -> ExercisePrescription | None:
        return next((e for e in self.exercises if e.code == code), None)

    def track(self, code: str) -> TrackState | None:
        return next((t for t in self.tracks if t.code == code), None)


@dataclass(frozen=True)
class Cue(_Json):
    text: str
    fault: str | None = None


@dataclass(frozen=True)
class Week(_Json):
    number: int  # 1-based
    start: date
    is_deload: bool
    cue_of_week: Cue
    sessions: tuple[Session, ...] = ()
    film_again: str | None = None
    coach_cues: tuple[str, ...] = ()

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)


@dataclass(frozen=True)
class EmphasisItem(_Json):
    code: str  # exercise or drill code
    reason: str
    faults: tuple[str, ...] = ()  # fault codes this item addresses


@dataclass(frozen=True)
class CoachFlag(_Json):
    code: str  # "pain", "missed_sessions", "injury_reported", "fault_worse", "level_floor"
    message: str
    raised_in_version: int = 1
    raised_on: date | None = None
    exercise_code: str | None = None
    session_key: str | None = None


@dataclass(frozen=True)
class CoachCue(_Json):
    text: str
    from_date: date
    exercise_code: str | None = None  # None: a running cue shown with the week
    author: str = "coach"


@dataclass(frozen=True)
class Note(_Json):
    text: str
    on: date
    session_key: str | None = None  # None: a note on the whole plan
    author: str = "coach"
    # The plan version that added it: unique within a plan, so a note can be deleted by it
    # (0: a note stored before notes had ids).
    note_id: int = 0


@dataclass(frozen=True)
class Substitution(_Json):
    """A coach's swap, kept so a later re-weighting does not undo it."""

    from_code: str
    to_code: str
    from_date: date


@dataclass(frozen=True)
class VersionNote(_Json):
    version: int
    kind: str
    reason: str
    changed_on: date | None = None


@dataclass(frozen=True)
class Plan(_Json):
    plan_id: str
    version: int
    reason: str
    profile: PlannerProfile
    analysis: AnalysisSummary | None
    emphasis: tuple[EmphasisItem, ...]
    chain_notes: tuple[str, ...]
    weaker_side: str | None
    opposite_hand_load: bool  # single-leg deadlift loaded in the hand opposite the stance leg
    exercise_order: tuple[str, ...]  # core exercises, in session order
    drills: tuple[str, ...]  # rotated one per session, done after the warm-up
    weeks: tuple[Week, ...]
    coach_flags: tuple[CoachFlag, ...] = ()
    coach_cues: tuple[CoachCue, ...] = ()
    notes: tuple[Note, ...] = ()
    substitutions: tuple[Substitution, ...] = ()
    history: tuple[VersionNote, ...] = ()
    schema_version: int = 1
    # The diagnosis the block was generated from: the "before" of its re-test.
    baseline: AnalysisSummary | None = None

    @property
    def sessions(self) -> tuple[Session, ...]:
        return tuple(s for w in self.weeks for s in w.sessions)

    @property
    def layout(self) -> SessionLayout:
        """The current context, which sessions planned from now on take."""
        return SessionLayout(
            self.exercise_order, self.drills, self.weaker_side, self.opposite_hand_load
        )

    @property
    def block_start(self) -> date:
        return self.weeks[0].start

    @property
    def block_end(self) -> date:
        return self.weeks[-1].end

    def session(self, key: str) -> Session:
        for s in self.sessions:
            if s.session_key == key:
                return s
        raise KeyError(key)

    def session_index(self, key: str) -> int:
        for i, s in enumerate(self.sessions):
            if s.session_key == key:
                return i
        raise KeyError(key)

    @property
    def changed_on(self) -> date:
        """The day of the latest change (the block start for a fresh plan)."""
        for note in reversed(self.history):
            if note.changed_on is not None:
                return note.changed_on
        return self.block_start


@dataclass(frozen=True)
class PlanChange:
    """What every planner operation returns: the new plan and why it changed."""

    plan: Plan
    changed: bool
    kind: str
    reason: str
    coach_flags: tuple[CoachFlag, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(),
            "changed": self.changed,
            "kind": self.kind,
            "reason": self.reason,
            "coach_flags": [f.to_dict() for f in self.coach_flags],
        }
