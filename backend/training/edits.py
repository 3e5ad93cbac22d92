"""A coach's edits of a plan, one type per action (a union the service matches on), each
knowing which planner change it is. The HTTP bodies (``training.schemas``: ``SwapIn``,
``LevelIn``, ``CueIn``, ``NoteIn``) turn into these with ``.edit()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend import planner


@dataclass(frozen=True)
class SwapExercise:
    """Put ``to_code`` in the place of ``from_code`` from ``from_date`` (default today)."""

    from_code: str
    to_code: str
    from_date: date | None = None
    level: int | None = None

    def apply(self, plan: planner.Plan, today: date, author: str) -> planner.PlanChange:
        return planner.swap_exercise(plan, self.from_code, self.to_code,
                                     from_date=self.from_date or today, level=self.level,
                                     author=author)


@dataclass(frozen=True)
class MoveLevel:
    """Move an exercise to another level from ``from_date`` (default today)."""

    exercise_code: str
    to_level: int
    from_date: date | None = None

    def apply(self, plan: planner.Plan, today: date, author: str) -> planner.PlanChange:
        return planner.move_level(plan, self.exercise_code, self.to_level,
                                  from_date=self.from_date or today, author=author)


@dataclass(frozen=True)
class AddCue:
    """A cue on one exercise, or a running cue when ``exercise_code`` is None."""

    text: str
    exercise_code: str | None = None
    from_date: date | None = None

    def apply(self, plan: planner.Plan, today: date, author: str) -> planner.PlanChange:
        return planner.add_cue(plan, self.text, from_date=self.from_date or today,
                               exercise_code=self.exercise_code, author=author)


@dataclass(frozen=True)
class AddNote:
    """A note on the plan, or on one training session (``training_session_key``)."""

    text: str
    training_session_key: str | None = None

    def apply(self, plan: planner.Plan, today: date, author: str) -> planner.PlanChange:
        return planner.add_note(plan, self.text, on=today,
                                session_key=self.training_session_key, author=author)


@dataclass(frozen=True)
class DeleteNote:
    """Delete a note (``note_id``, as the plan lists it)."""

    note_id: int

    def apply(self, plan: planner.Plan, today: date, author: str) -> planner.PlanChange:
        return planner.delete_note(plan, self.note_id, today=today, author=author)


CoachEdit = SwapExercise | MoveLevel | AddCue | AddNote | DeleteNote
