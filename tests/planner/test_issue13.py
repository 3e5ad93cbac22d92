"""Issue 13, the planner's part: each test pins a bug of the issue's list and failed before
its fix (pure functions: no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from backend import planner
from backend.planner.generate import FILM_FIRST
from backend.planner.progression import SESSION_MAX_MINUTES

F = planner.FaultFinding
START = date(2026, 11, 2)  # a Monday
PROFILE = planner.PlannerProfile(block_start=START, running_background="intermediate",
                                 weekly_km=30, equipment=frozenset({"dumbbells"}))
ANALYSIS = planner.AnalysisSummary(START - timedelta(days=1), faults=(
    F("hip_drop", "moderate", "left", 0.8, value=9.5, metric="pelvic_drop_deg"),
    F("crossover_gait", "moderate", None, 0.7),
    F("low_cadence", "mild", None, 0.7)))


def _all_easy(plan: planner.Plan) -> planner.Plan:
    """The demo athlete: every session logged as prescribed at RPE 5."""
    history: list[planner.SessionLog] = []
    for key in [s.session_key for s in plan.sessions]:
        session = plan.session(key)
        log = planner.SessionLog.as_prescribed(session, logged_on=session.date, rpe=5,
                                               plan_id=plan.plan_id)
        change = planner.apply_session_log(plan, log, history=history)
        history.append(log)
        plan = change.plan if change.changed else plan
    return plan


def test_easy_sessions_move_up_at_most_a_level_a_week_never_in_a_lighter_week() -> None:
    """Bug: the demo athlete reached level 5 in every exercise in four weeks, moving up in
    a lighter week."""
    plan = _all_easy(planner.generate_plan(PROFILE, ANALYSIS, plan_id="p"))
    for week in plan.weeks:
        if week.is_deload:
            before = plan.weeks[week.number - 2].sessions[-1]
            for s in week.sessions:
                for t in s.tracks:
                    assert t.level <= before.track(t.code).level  # type: ignore[union-attr]
    week_four = plan.weeks[3].sessions[-1]
    assert not all(t.level >= 5 for t in week_four.tracks if t.code in plan.exercise_order)
    for prev, week in zip(plan.weeks, plan.weeks[1:], strict=False):
        for t in week.sessions[0].tracks:
            last = prev.sessions[-1].track(t.code)
            assert last is None or t.level <= last.level + 1


def test_sessions_keep_within_the_time_budget_after_level_ups() -> None:
    """Bug: sessions of weeks 5-6 ran 27.8-29.5 min against the 15-25 min budget."""
    plan = _all_easy(planner.generate_plan(PROFILE, ANALYSIS, plan_id="p"))
    assert max(s.estimated_minutes for s in plan.sessions) <= SESSION_MAX_MINUTES


HIP_ONLY = replace(ANALYSIS, faults=ANALYSIS.faults[:1])


def test_author_keeps_its_capitals() -> None:
    """Bug: edit reasons read "Coach coach carla swapped ..." (str.capitalize)."""
    plan = planner.generate_plan(PROFILE, HIP_ONLY, plan_id="p")
    change = planner.swap_exercise(plan, "power_raise", "cadence_drill",
                                   from_date=START + timedelta(days=2), author="Coach Carla")
    assert change.reason.startswith("Coach Carla swapped the power raise")
    note = planner.add_note(plan, "Easy week", on=START, author="coach McKenzie")
    assert note.reason.startswith("Coach McKenzie added a note")


def test_film_your_first_clip_goes_once_a_clip_is_analysed() -> None:
    """Bug: week 1 still said "Film your first clip this week" after a clip."""
    plan = planner.generate_plan(PROFILE, None, plan_id="p")
    assert plan.weeks[0].film_again == FILM_FIRST
    change = planner.apply_new_analysis(plan, PROFILE, replace(ANALYSIS, recorded_at=START),
                                        today=START)
    assert change.plan.weeks[0].film_again is None
    assert change.plan.weeks[-1].film_again  # the end-of-block prompt stays


def test_chain_notes_do_not_repeat() -> None:
    """Bug: chain notes repeated (a report lists a link once per side)."""
    link = planner.ChainFinding("activation", 0.7, "Hip drop without knee collapse.")
    analysis = replace(ANALYSIS, chain=(link, link, replace(link, confidence=0.6)))
    plan = planner.generate_plan(PROFILE, analysis, plan_id="p")
    assert len(plan.chain_notes) == len(set(plan.chain_notes))
    again = planner.apply_new_analysis(plan, PROFILE, replace(analysis, recorded_at=START),
                                       today=START + timedelta(days=3))
    assert len(again.plan.chain_notes) == len(set(again.plan.chain_notes))


def test_an_old_recording_never_rewrites_the_past() -> None:
    """Bug: a clip dated 2024 drove today's plan, re-planning from its date on."""
    plan = planner.generate_plan(PROFILE, None, plan_id="p")
    today = START + timedelta(days=9)
    old = planner.AnalysisSummary(date(2024, 7, 13), faults=ANALYSIS.faults)
    change = planner.apply_new_analysis(plan, PROFILE, old, today=today)
    assert change.changed
    for before, after in zip(plan.sessions, change.plan.sessions, strict=True):
        if before.date < today:
            assert before == after


def test_protect_past_keeps_logged_and_past_sessions() -> None:
    plan = planner.generate_plan(PROFILE, ANALYSIS, plan_id="p")
    today = START + timedelta(days=7)
    change = planner.move_level(plan, "single_leg_deadlift", 4, from_date=START)
    guarded = planner.protect_past(plan, change, locked={"w2-s1"}, today=today)
    assert guarded.changed
    kept = {s.session_key: s for s in plan.sessions}
    for s in guarded.plan.sessions:
        if s.date < today or s.session_key == "w2-s1":
            assert s == kept[s.session_key]
    first_open = guarded.plan.session("w2-s2").exercise("single_leg_deadlift")
    assert first_open is not None and first_open.level == 4
    only_past = planner.move_level(plan, "single_leg_deadlift", 4, from_date=START)
    blocked = planner.protect_past(plan, only_past, locked=(), today=plan.block_end + timedelta(1))
    assert not blocked.changed and "already logged or past" in blocked.reason


def test_compliance_with_nothing_due_is_none() -> None:
    """Bug: compliance with nothing due read 1.0."""
    plan = planner.generate_plan(PROFILE, None, plan_id="p")
    window = planner.compliance_window([], plan, START - timedelta(days=1), 7)
    assert window.value is None and window.sessions_due == 0
    assert planner.compliance([], plan, START - timedelta(days=1), 7) is None
    later = planner.compliance_window([], plan, START + timedelta(days=7), 7)
    assert later.value == 0.0 and later.sessions_due == 2  # Wed and Fri; today unlogged


def test_feeling_without_a_session_says_why() -> None:
    """Bug: "not feeling 100 %" with no session in the next days answered "No change."."""
    plan = planner.generate_plan(PROFILE, None, plan_id="p")
    change = planner.apply_feeling(plan, START - timedelta(days=5), True)
    assert not change.changed and "next one is w1-s1" in change.reason


def test_a_new_block_keeps_the_coach_swap_and_the_levels() -> None:
    plan = planner.generate_plan(PROFILE, HIP_ONLY, plan_id="p")
    swapped = planner.swap_exercise(plan, "power_raise", "cadence_drill",
                                    from_date=START).plan
    nxt = planner.generate_plan(replace(PROFILE, block_start=START + timedelta(weeks=6)),
                                HIP_ONLY, plan_id="q", substitutions=swapped.substitutions,
                                levels={"single_leg_deadlift": 4})
    assert "cadence_drill" in nxt.exercise_order and "power_raise" not in nxt.exercise_order
    assert "swap of the power raise for the cadence work carries over" in nxt.reason
    assert nxt.sessions[0].exercise("single_leg_deadlift").level == 4  # type: ignore[union-attr]


def test_retest_compares_each_targeted_fault() -> None:
    plan = planner.generate_plan(PROFILE, ANALYSIS, plan_id="p")
    assert plan.baseline == ANALYSIS
    assert {c.outcome for c in planner.compare_block(plan)} == {"not_refilmed"}
    after = planner.AnalysisSummary(
        START + timedelta(days=40),
        faults=(F("hip_drop", "mild", "left", 0.8, value=6.0, metric="pelvic_drop_deg"),),
        measures=(planner.Measure("pelvic_drop_deg", 5.5, 6.0, 5.0),))
    moved = planner.apply_new_analysis(plan, PROFILE, after, today=START + timedelta(days=40))
    hip = next(c for c in planner.compare_block(moved.plan) if c.code == "hip_drop")
    assert (hip.outcome, hip.change, hip.smallest_detectable_change) == ("shrank", -3.5, 2.8)
    small = replace(after, faults=(replace(after.faults[0], value=8.0, severity="moderate"),))
    moved = planner.apply_new_analysis(plan, PROFILE, small, today=START + timedelta(days=40))
    hip = next(c for c in planner.compare_block(moved.plan) if c.code == "hip_drop")
    assert hip.outcome == "no_detectable_change"
