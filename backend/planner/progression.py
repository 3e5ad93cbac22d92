"""Progression and adaptation rules as data, and the small functions that apply them.

The per-field rules follow wger's model (field, operation, step, ceiling, and a requirement
that last week's logs hit the target before the rule fires). The order of an exercise's
rules is the product's overload order: sets, then reps, then tempo, then level.

The block-level limits (weekly volume, lighter weeks, the session time budget) live here
too, so every number the planner obeys is in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from math import floor

from backend.planner.exercises import Exercise, get_exercise
from backend.planner.types import ExercisePrescription, Session, TrackState, Week

# --------------------------------------------------------------------------- block limits

# A loading week may hold at most this much more volume (core reps) than the loading week
# before it. A house default, not a law: single-leg strength work for runners has no
# validated weekly ceiling, and 20 % lets one exercise add a set per week while the others
# hold, which is the pace a coach would pick by hand.
WEEKLY_VOLUME_CAP = 0.20
DELOAD_EVERY = 4  # weeks 4 and 8 of a block are lighter
DELOAD_MAX_RATIO = 0.75  # a lighter week holds at most 75 % of the week before it
SESSION_MIN_MINUTES = 15.0
SESSION_MAX_MINUTES = 25.0
WARM_UP_MIN_S = 180.0  # always at least 3 min of warm-up
WARM_UP_MAX_S = 480.0  # short sessions fill up to 15 min with easy movement prep
SETUP_S = 30.0  # getting into position for each exercise
SIDE_SWITCH_S = 10.0  # one-leg work: change legs within a round
NO_LOAD_EXTRA_SLOW_S = 2  # a level that wants a weight, done without one: lower 2 s slower

# --------------------------------------------------------------------------- adaptation rules

PAIN_REGRESS_AT = 4  # pain of 4/10 or more moves that exercise down a level, flags coach
EASY_RPE_MAX = 6  # a session at RPE 6 or less with every set done counts as easy...
EASY_STREAK = 2  # ...and two in a row move the exercise up a level
MISSED_REPEAT_AT = 2  # two or more missed sessions in a week repeat that week
LIGHTEN_DAYS = 3  # "not feeling 100 %" lightens sessions from today through the next 2 days


@dataclass(frozen=True)
class ProgressionRule:
    """One per-field rule (wger's ``AbstractChangeConfig``, minus the iteration number:
    here a rule fires at every loading-week boundary while it still has room)."""

    field: str  # "sets", "reps", "hold_s", "lower_s" (the slow phase of the tempo), "level"
    operation: str = "+"  # "+" or "-"
    step: int = 1
    limit: int | None = None  # absolute ceiling
    above_level_start: int | None = None  # ceiling relative to the current level's start
    requires_targets_hit: bool = True
    resets: tuple[str, ...] = ()  # fields set back to the new level's starting values


_CORE_LEVEL = ProgressionRule("level", step=1, limit=5, resets=("reps", "lower_s"))
_DRILL_RULES = (
    ProgressionRule("sets", step=1, limit=3),
    ProgressionRule("hold_s", step=5, above_level_start=15),
    ProgressionRule("level", step=1, limit=2, resets=("hold_s",)),
)

PROGRESSION_RULES: dict[str, tuple[ProgressionRule, ...]] = {
    "power_raise": (
        ProgressionRule("sets", step=1, limit=3),
        ProgressionRule("reps", step=2, above_level_start=4),
        ProgressionRule("lower_s", step=1, above_level_start=1),
        _CORE_LEVEL,
    ),
    "single_leg_deadlift": (
        ProgressionRule("sets", step=1, limit=3),
        ProgressionRule("reps", step=2, above_level_start=4),
        ProgressionRule("lower_s", step=1, above_level_start=1),
        _CORE_LEVEL,
    ),
    "hip_airplane": (
        ProgressionRule("sets", step=1, limit=3),
        ProgressionRule("reps", step=1, above_level_start=3),
        ProgressionRule("lower_s", step=1, above_level_start=2),
        _CORE_LEVEL,
    ),
    "arm_swing_drill": _DRILL_RULES,
    "cadence_drill": _DRILL_RULES,
}

# A pain regression is the same kind of rule run the other way.
PAIN_RULE = ProgressionRule(
    "level", operation="-", step=1, requires_targets_hit=False, resets=("reps", "hold_s", "lower_s")
)


def level_start_state(
    code: str, level: int, sets: int, *, set_by: str, set_at: str, level_cap: int | None = None
) -> TrackState:
    """The state at the start of a level: its own reps, hold and tempo."""
    lv = get_exercise(code).level(level)
    return TrackState(
        code=code,
        level=level,
        sets=sets,
        reps=lv.reps,
        hold_s=lv.hold_s,
        lower_s=lv.tempo[0] if lv.tempo else None,
        level_cap=level_cap,
        set_by=set_by,
        set_at=set_at,
    )


def _start_value(ex: Exercise, level: int, field: str) -> int | None:
    lv = ex.level(level)
    if field == "reps":
        return lv.reps
    if field == "hold_s":
        return lv.hold_s
    if field == "lower_s":
        return lv.tempo[0] if lv.tempo else None
    raise ValueError(field)


def apply_rule(rule: ProgressionRule, state: TrackState) -> TrackState | None:
    """The state one step further along ``rule``, or None when the rule has no room."""
    ex = get_exercise(state.code)
    sign = 1 if rule.operation == "+" else -1
    if rule.field == "level":
        ceiling = min(rule.limit or ex.max_level, ex.max_level)
        if state.level_cap is not None:
            ceiling = min(ceiling, state.level_cap)
        new_level = state.level + sign * rule.step
        if not 1 <= new_level <= ceiling or new_level == state.level:
            return None
        fresh = level_start_state(
            state.code, new_level, state.sets, set_by="progression", set_at=state.set_at
        )
        kept = {f: getattr(state, f) for f in ("reps", "hold_s", "lower_s") if f not in rule.resets}
        return replace(fresh, level_cap=state.level_cap, **kept)
    current = getattr(state, rule.field)
    if current is None:
        return None
    if rule.above_level_start is not None:
        start = _start_value(ex, state.level, rule.field)
        assert start is not None
        ceiling = start + rule.above_level_start
    else:
        assert rule.limit is not None
        ceiling = rule.limit
    new = current + sign * rule.step
    if new > ceiling or new < 1:
        return None
    return replace(state, set_by="progression", **{rule.field: new})


def candidate_steps(state: TrackState) -> list[TrackState]:
    """Next states in rule order; the planner takes the first one the limits allow."""
    out = []
    for rule in PROGRESSION_RULES[state.code]:
        nxt = apply_rule(rule, state)
        if nxt is not None:
            out.append(nxt)
    return out


def needs_targets_hit(code: str) -> bool:
    return any(r.requires_targets_hit for r in PROGRESSION_RULES[code])


def regress_for_pain(state: TrackState, logged_level: int, *, set_at: str) -> TrackState:
    """One level below the level that hurt; at level 1, that level's own regression with
    a set fewer. The new level becomes a ceiling until an easy streak or a coach lifts it,
    so the automatic progression cannot walk straight back into the pain."""
    base = min(state.level, logged_level)
    if base > 1:
        down = apply_rule(PAIN_RULE, replace(state, level=base, level_cap=None))
        assert down is not None
        return replace(down, sets=state.sets, level_cap=down.level, set_by="pain", set_at=set_at)
    return replace(
        level_start_state(state.code, 1, max(1, state.sets - 1), set_by="pain", set_at=set_at),
        level_cap=1,
        floor_regressed=True,
    )


def promote(state: TrackState, *, set_at: str) -> TrackState | None:
    """Up a level after an easy streak (from a level-1 regression: back to level 1)."""
    if state.floor_regressed:
        return replace(state, floor_regressed=False, level_cap=None, set_by="easy", set_at=set_at)
    if state.level >= get_exercise(state.code).max_level:
        return None
    return level_start_state(state.code, state.level + 1, state.sets, set_by="easy", set_at=set_at)


# --------------------------------------------------------------------------- dose transforms


def deload_dose(
    sets: int, reps: int | None, hold_s: int | None
) -> tuple[int, int | None, int | None]:
    """The lighter week: a set fewer from three sets, else two thirds of the reps or hold;
    same level and tempo, so the skill keeps its quality."""
    if sets >= 3:
        return sets - 1, reps, hold_s
    return (
        sets,
        max(3, floor(reps * 2 / 3)) if reps is not None else None,
        max(10, floor(hold_s * 2 / 3)) if hold_s is not None else None,
    )


def lighten_sets(sets: int) -> int:
    """A "not feeling 100 %" day: one set fewer of everything."""
    return max(1, sets - 1)


# --------------------------------------------------------------------------- volume and time


def tempo_seconds(tempo: str | None) -> int:
    return sum(int(x) for x in tempo.split("-")) if tempo else 0


def exercise_seconds(p: ExercisePrescription) -> float:
    """Work (reps x tempo, or hold time) + changing legs + rest between rounds + setup."""
    rep_s = tempo_seconds(p.tempo)
    targets = p.set_targets()
    work = sum(t.reps * rep_s if t.reps is not None else (t.hold_s or 0) for t in targets)
    extra = p.side.extra_sets if p.side else 0
    rounds = p.sets + extra
    switches = p.sets if p.unilateral else 0
    return work + switches * SIDE_SWITCH_S + (rounds - 1) * get_exercise(p.code).rest_s + SETUP_S


def work_seconds(exercises: Sequence[ExercisePrescription]) -> float:
    return sum(exercise_seconds(p) for p in exercises)


def warm_up_seconds(work_s: float) -> float:
    return min(WARM_UP_MAX_S, max(WARM_UP_MIN_S, SESSION_MIN_MINUTES * 60 - work_s))


def session_minutes(exercises: Sequence[ExercisePrescription]) -> float:
    work = work_seconds(exercises)
    return (work + warm_up_seconds(work)) / 60


def prescription_volume(p: ExercisePrescription) -> int:
    """Core reps across every set and side; drills are technique work and do not count."""
    if p.kind != "core":
        return 0
    return sum(t.reps or 0 for t in p.set_targets())


def session_volume(session: Session) -> int:
    return sum(prescription_volume(p) for p in session.exercises)


def week_volume(week: Week) -> int:
    return sum(session_volume(s) for s in week.sessions)
