"""Coach edits are typed: each HTTP body turns into its own edit, which knows its change."""

from __future__ import annotations

from datetime import date

from backend import planner
from backend.training.edits import AddCue, AddNote, MoveLevel, SwapExercise
from backend.training.schemas import CueIn, LevelIn, NoteIn, SwapIn


def test_each_body_is_its_own_edit() -> None:
    day = date(2026, 12, 7)
    assert SwapIn(from_code="a", to_code="b", from_date=day, level=2).edit() == SwapExercise(
        "a", "b", day, 2)
    assert LevelIn(exercise_code="a", to_level=3).edit() == MoveLevel("a", 3, None)
    assert CueIn(text="Tall hips").edit() == AddCue("Tall hips", None, None)
    assert NoteIn(text="Easy week", session_key="w1-s2").edit() == AddNote(
        "Easy week", training_session_key="w1-s2")


def test_an_edit_applies_its_planner_change() -> None:
    start = date(2026, 12, 7)
    plan = planner.generate_plan(planner.PlannerProfile(block_start=start), None, weeks=4,
                                 plan_id="p")
    change = AddNote("Easy week").apply(plan, start, author="coach Kim")
    assert change.changed and change.plan.version == plan.version + 1
    first = plan.weeks[0].sessions[0].exercises[0]
    moved = MoveLevel(first.code, first.level + 1 if first.level < 10 else first.level - 1)
    assert moved.apply(plan, start, author="coach Kim").changed
