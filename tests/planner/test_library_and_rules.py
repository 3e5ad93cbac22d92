"""The exercise library and the progression rules, as data and as applied."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend.planner import CORE_EXERCISES, DRILLS, EXERCISES, PROGRESSION_RULES
from backend.planner.progression import (
    DELOAD_MAX_RATIO,
    apply_rule,
    candidate_steps,
    deload_dose,
    exercise_seconds,
    level_start_state,
    promote,
    regress_for_pain,
)
from backend.planner.types import ExercisePrescription, SideExtra, TrackState

PRODUCT_LEVELS = {
    "power_raise": [
        "Supported two-leg",
        "Two-leg",
        "Single-leg",
        "Single-leg with load",
        "Single-leg, held top, slow lower",
    ],
    "single_leg_deadlift": [
        "Kickstand",
        "Hand-supported",
        "Free bodyweight",
        "Load in the opposite hand",
        "Heavier load or slow tempo",
    ],
    "hip_airplane": [
        "Wall-supported, small range",
        "Free, small range",
        "Free, full range",
        "Hold at end range",
        "With light load",
    ],
}


@pytest.mark.parametrize("code", CORE_EXERCISES)
def test_core_exercise_has_the_product_levels_in_order(code: str) -> None:
    ex = EXERCISES[code]
    assert ex.kind == "core"
    assert [lv.name for lv in ex.levels] == PRODUCT_LEVELS[code]
    assert [lv.number for lv in ex.levels] == [1, 2, 3, 4, 5]
    for lv in ex.levels:
        assert lv.how_to and lv.regression and lv.tempo is not None and lv.reps
    assert ex.cues and ex.principles and ex.tempo_key


def test_loaded_levels_are_marked_for_equipment() -> None:
    assert EXERCISES["power_raise"].level(4).needs_load
    assert EXERCISES["single_leg_deadlift"].level(4).needs_load
    assert EXERCISES["hip_airplane"].level(5).needs_load
    assert not any(lv.needs_load for lv in EXERCISES["hip_airplane"].levels[:4])


def test_drills_named_by_the_product_table_exist() -> None:
    assert set(DRILLS) == {"arm_swing_drill", "cadence_drill"}
    for code in DRILLS:
        ex = EXERCISES[code]
        assert ex.kind == "drill"
        assert all(lv.hold_s and lv.regression for lv in ex.levels)


@pytest.mark.parametrize("code", CORE_EXERCISES)
def test_rules_follow_the_overload_order(code: str) -> None:
    rules = PROGRESSION_RULES[code]
    assert [r.field for r in rules] == ["sets", "reps", "lower_s", "level"]
    assert all(r.requires_targets_hit for r in rules)


def test_rules_exist_for_every_library_entry() -> None:
    assert set(PROGRESSION_RULES) == set(EXERCISES)


def test_apply_rule_respects_ceilings() -> None:
    sets_rule, reps_rule, tempo_rule, level_rule = PROGRESSION_RULES["single_leg_deadlift"]
    st = level_start_state("single_leg_deadlift", 2, 2, set_by="start", set_at="w1-s1")
    assert apply_rule(sets_rule, st) == TrackState(
        "single_leg_deadlift", 2, 3, 8, None, 3, set_by="progression", set_at="w1-s1"
    )
    assert apply_rule(sets_rule, replace(st, sets=3)) is None
    # reps may rise 4 above the level's start (8 -> 12), 2 at a time
    at_12 = apply_rule(reps_rule, apply_rule(reps_rule, st) or st)
    assert at_12 is not None and at_12.reps == 12
    assert apply_rule(reps_rule, at_12) is None
    slower = apply_rule(tempo_rule, st)
    assert slower is not None and slower.lower_s == 4
    assert apply_rule(tempo_rule, slower) is None
    up = apply_rule(level_rule, at_12)
    assert up is not None and (up.level, up.reps, up.lower_s, up.sets) == (3, 8, 3, 2)


def test_level_rule_stops_at_the_pain_ceiling() -> None:
    st = level_start_state("hip_airplane", 2, 2, set_by="pain", set_at="x", level_cap=2)
    assert all(c.level == 2 for c in candidate_steps(st))


def test_regress_for_pain_goes_one_level_below_the_logged_level() -> None:
    st = level_start_state("power_raise", 3, 3, set_by="start", set_at="a")
    down = regress_for_pain(st, 3, set_at="b")
    assert (down.level, down.level_cap, down.sets, down.set_by) == (2, 2, 3, "pain")
    # the logged level counts, even if the plan has moved since
    assert regress_for_pain(st, 2, set_at="b").level == 1


def test_regress_for_pain_at_level_one_uses_the_regression() -> None:
    st = level_start_state("single_leg_deadlift", 1, 3, set_by="start", set_at="a")
    down = regress_for_pain(st, 1, set_at="b")
    assert down.level == 1 and down.floor_regressed and down.sets == 2
    back = promote(down, set_at="c")
    assert back is not None and back.level == 1 and not back.floor_regressed


def test_promote_resets_to_the_new_level_and_lifts_the_ceiling() -> None:
    st = level_start_state("power_raise", 2, 3, set_by="pain", set_at="a", level_cap=2)
    up = promote(st, set_at="b")
    assert up is not None
    assert (up.level, up.reps, up.level_cap, up.set_by) == (3, 8, None, "easy")
    top = level_start_state("power_raise", 5, 3, set_by="start", set_at="a")
    assert promote(top, set_at="b") is None


@pytest.mark.parametrize("sets,reps", [(3, 12), (3, 8), (2, 16), (2, 8), (2, 5), (1, 6)])
def test_deload_dose_is_lighter(sets: int, reps: int) -> None:
    d_sets, d_reps, _ = deload_dose(sets, reps, None)
    assert d_reps is not None
    assert d_sets * d_reps <= DELOAD_MAX_RATIO * sets * reps


def _prescription(**kw: object) -> ExercisePrescription:
    base: dict[str, object] = dict(
        code="single_leg_deadlift",
        name="Single-leg deadlift",
        kind="core",
        level=2,
        level_name="Hand-supported",
        sets=3,
        reps=8,
        hold_s=None,
        tempo="3-1-1",
        tempo_key="lower-pause-stand",
        load_guidance="",
        side=None,
        unilateral=True,
        cues=(),
        how_to="",
        regression="",
    )
    base.update(kw)
    return ExercisePrescription(**base)  # type: ignore[arg-type]


def test_exercise_seconds_by_hand() -> None:
    # 3 rounds x 2 sides x 8 reps x 5 s = 240 s; 3 side switches x 10 s; 2 rests x 45 s;
    # 30 s setup.
    assert exercise_seconds(_prescription()) == 240 + 30 + 90 + 30
    # An extra set on the weaker side: 8 more reps and one more rest.
    extra = _prescription(side=SideExtra("left", 1))
    assert exercise_seconds(extra) == 240 + 40 + 30 + 135 + 30
    assert [t.side for t in extra.set_targets()] == ["left", "right"] * 3 + ["left"]
