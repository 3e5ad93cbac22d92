"""Adaptation and coach edits: every change is a new plan version with its reason.

Logs, missed weeks, the "not feeling 100 %" switch, a new analysis and a coach's edit all
go through the same two steps: set a progression state (or a context such as the emphasis)
and re-plan the sessions after it with ``generate.replan``; then ``_commit`` decides
whether anything the athlete or coach can see changed, bumps the version, records the
reason and marks the sessions that changed (their ICS ``SEQUENCE``).

Only sessions after the triggering event change: the past stays as it was prescribed,
which is what compliance and the coach's history read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from backend.planner.exercises import EXERCISES, get_exercise
from backend.planner.generate import (
    FILM_FIRST,
    cue_for_week,
    rank_faults,
    read_emphasis,
    replan,
    start_state,
)
from backend.planner.progression import (
    EASY_RPE_MAX,
    EASY_STREAK,
    LIGHTEN_DAYS,
    MISSED_REPEAT_AT,
    PAIN_REGRESS_AT,
    level_start_state,
    needs_targets_hit,
    promote,
    regress_for_pain,
)
from backend.planner.types import (
    SEVERITIES,
    AnalysisSummary,
    CoachCue,
    CoachFlag,
    ExerciseLog,
    ExercisePrescription,
    Note,
    Plan,
    PlanChange,
    PlannerProfile,
    Session,
    SessionLog,
    Substitution,
    TrackState,
    VersionNote,
)

# --------------------------------------------------------------------------- versioning


def _session_view(s: Session) -> dict[str, Any]:
    """What the athlete sees of a session (tracks are bookkeeping)."""
    d = s.to_dict()
    d.pop("tracks")
    d.pop("revision")
    return d


def _content(plan: Plan) -> dict[str, Any]:
    """Everything a version stands for; a track's version stamp alone is not a change."""
    d = plan.to_dict()
    for key in ("version", "reason", "history"):
        d.pop(key)
    for w in d["weeks"]:
        for s in w["sessions"]:
            for t in s["tracks"]:
                t.pop("version")
    return d


def _flag_key(f: CoachFlag) -> tuple[Any, ...]:
    return (f.code, f.exercise_code, f.session_key, f.raised_on)


def _commit(
    old: Plan,
    new: Plan,
    *,
    kind: str,
    reason: str,
    on: date | None,
    flags: Iterable[CoachFlag] = (),
) -> PlanChange:
    version = old.version + 1
    seen = {_flag_key(f) for f in old.coach_flags}
    fresh: list[CoachFlag] = []
    for f in flags:
        f = replace(f, raised_in_version=version, raised_on=f.raised_on or on)
        if _flag_key(f) not in seen:
            seen.add(_flag_key(f))
            fresh.append(f)
    candidate = replace(new, coach_flags=old.coach_flags + tuple(fresh))
    if _content(candidate) == _content(old):
        return PlanChange(old, False, kind, f"No change: {reason}")
    before = {s.session_key: _session_view(s) for s in old.sessions}
    weeks = tuple(
        replace(
            w,
            sessions=tuple(
                replace(s, revision=version) if before.get(s.session_key) != _session_view(s) else s
                for s in w.sessions
            ),
        )
        for w in candidate.weeks
    )
    plan = replace(
        candidate,
        weeks=weeks,
        version=version,
        reason=reason,
        history=(*old.history, VersionNote(version, kind, reason, on)),
    )
    return PlanChange(plan, True, kind, reason, tuple(fresh))


def _template(plan: Plan) -> tuple[str, ...]:
    return plan.exercise_order + plan.drills


def _first_index_on_or_after(plan: Plan, day: date) -> int:
    return next((i for i, s in enumerate(plan.sessions) if s.date >= day), len(plan.sessions))


def _map_sessions(plan: Plan, fn: Callable[[Session], Session]) -> Plan:
    return replace(
        plan, weeks=tuple(replace(w, sessions=tuple(fn(s) for s in w.sessions)) for w in plan.weeks)
    )


def _name(code: str) -> str:
    return get_exercise(code).name.lower()


def _sentence(author: str) -> str:
    """The author at the start of a sentence: the first letter up, the rest as written
    (``str.capitalize`` would lower a display name's capitals)."""
    return author[:1].upper() + author[1:]


# --------------------------------------------------------------------------- logs


def _all_sets_done(p: ExercisePrescription, e: ExerciseLog) -> bool:
    hit = sum(1 for s in e.sets if s.hit_target)
    return hit >= len(p.set_targets()) > 0


def _is_easy(plan: Plan, log: SessionLog, e: ExerciseLog) -> bool:
    """Easy at the loading dose: a lighter week's or a "not 100 %" day's session is easy by
    design and says nothing about the level."""
    session = plan.session(log.session_key)
    p = session.exercise(e.code)
    return (
        p is not None
        and not session.lightened
        and not plan.weeks[session.week - 1].is_deload
        and log.rpe <= EASY_RPE_MAX
        and log.pain < PAIN_REGRESS_AT
        and _all_sets_done(p, e)
    )


def _easy_streak(
    plan: Plan, log: SessionLog, e: ExerciseLog, history: Iterable[SessionLog]
) -> bool:
    """This session and the ones before it that held the exercise (no missed session in
    between) were all easy, at the same level."""
    if not _is_easy(plan, log, e):
        return False
    by_key: dict[str, SessionLog] = {}
    for h in history:
        if h.plan_id in (None, plan.plan_id) and (
            h.session_key not in by_key or h.logged_on >= by_key[h.session_key].logged_on
        ):
            by_key[h.session_key] = h
    sessions = plan.sessions
    idx = plan.session_index(log.session_key)
    earlier = [s for s in sessions[:idx] if s.exercise(e.code) is not None]
    needed = EASY_STREAK - 1
    if len(earlier) < needed:
        return False
    for s in earlier[-needed:]:
        prev = by_key.get(s.session_key)
        pe = prev.exercise(e.code) if prev is not None else None
        if prev is None or pe is None or pe.level != e.level or not _is_easy(plan, prev, pe):
            return False
    return True


def _pain_already_met(current: TrackState, logged_level: int, at_key: str) -> bool:
    """Makes a repeated log idempotent: the next session already sits where this pain
    report would put it."""
    if current.set_by != "pain" or current.set_at != at_key:
        return False
    if logged_level > 1:
        return current.level <= logged_level - 1
    return current.floor_regressed


@dataclass
class _LogAdaptation:
    """One logged session being applied: the plan as adapted so far and what was done."""

    plan: Plan  # the plan the log was written against
    log: SessionLog
    idx: int  # the logged session's index
    new: Plan  # the plan with the changes so far
    reasons: list[str] = field(default_factory=list)
    flags: list[CoachFlag] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def next_session_with(self, code: str) -> int | None:
        """The next session that carries the exercise (it may skip one after a swap)."""
        sessions = self.plan.sessions
        return next((i for i in range(self.idx + 1, len(sessions)) if sessions[i].track(code)),
                    None)


def _logged_index(plan: Plan, log: SessionLog) -> int:
    if log.plan_id is not None and log.plan_id != plan.plan_id:
        raise ValueError(f"log for plan {log.plan_id!r}, not {plan.plan_id!r}")
    try:
        return plan.session_index(log.session_key)
    except KeyError:
        raise ValueError(f"no session {log.session_key!r} in this plan") from None


def _regress_for_pain(run: _LogAdaptation, e: ExerciseLog) -> None:
    """Rule 1: pain >= 4/10 moves the exercise down a level from the next session on and
    flags the coach."""
    log, sessions, name = run.log, run.plan.sessions, _name(e.code)
    at = run.next_session_with(e.code)
    current = run.new.sessions[at].track(e.code) if at is not None else None
    floor = e.level == 1
    run.flags.append(
        CoachFlag(
            code="pain",
            message=(
                f"Pain {e.pain}/10 in the {name} (level {e.level}) on "
                f"{log.logged_on.isoformat()}"
                + (": already at the easiest level, please review." if floor else ".")
            ),
            raised_on=log.logged_on,
            exercise_code=e.code,
            session_key=log.session_key,
        )
    )
    run.kinds.append("pain")
    if current is None or at is None:
        run.reasons.append(f"Pain {e.pain}/10 in the {name}: coach flagged.")
        return
    at_key = sessions[at].session_key
    # Already where this report puts it (a repeated log, or an earlier stricter one):
    # re-stamp it anyway, so changes made before this report give way.
    down = (
        current
        if _pain_already_met(current, e.level, at_key)
        else regress_for_pain(current, e.level, set_at=at_key)
    )
    run.new = replan(run.new, at, recompute=[e.code], overrides={e.code: down})
    lv = get_exercise(e.code).level(down.level)
    moved = (
        f"the easier option of level 1 ({lv.regression.rstrip('.')})"
        if down.floor_regressed
        else f"level {down.level} ({lv.name.lower()})"
    )
    run.reasons.append(f"Pain {e.pain}/10 in the {name}: moved down to {moved}; coach flagged.")


def _next_loading_week_with(run: _LogAdaptation, code: str) -> int | None:
    """The first session of the next loading week that carries the exercise."""
    sessions = run.plan.sessions
    week = sessions[run.idx].week
    return next((i for i in range(run.idx + 1, len(sessions))
                 if sessions[i].week != week
                 and not run.plan.weeks[sessions[i].week - 1].is_deload
                 and sessions[i].track(code)), None)


def _promote_easy(run: _LogAdaptation, e: ExerciseLog) -> None:
    """Rule 2: an easy streak moves the exercise up a level from the next loading week on:
    at most one level a week, never into a lighter week."""
    at = _next_loading_week_with(run, e.code)
    current = run.new.sessions[at].track(e.code) if at is not None else None
    if current is None or at is None or current.level != e.level:
        return
    at_key = run.plan.sessions[at].session_key
    if current.set_by == "easy" and current.set_at == at_key:
        return
    up = promote(current, set_at=at_key)
    if up is None:
        return
    run.new = replan(run.new, at, recompute=[e.code], overrides={e.code: up})
    run.kinds.append("easy")
    run.reasons.append(
        f"{EASY_STREAK} easy sessions in a row in the {_name(e.code)}: moved up to level "
        f"{up.level} ({get_exercise(e.code).level(up.level).name.lower()}) from "
        f"{run.plan.sessions[at].date.isoformat()}."
    )


def _hold_for_missed_targets(run: _LogAdaptation, e: ExerciseLog) -> None:
    """Rule 3: a target missed withholds next week's progression step for the exercise."""
    sessions = run.plan.sessions
    session = sessions[run.idx]
    p = session.exercise(e.code)
    if p is None or _all_sets_done(p, e) or not needs_targets_hit(e.code):
        return
    week_start = next(
        (i for i in range(run.idx + 1, len(sessions)) if sessions[i].week != session.week),
        None,
    )
    if week_start is None:
        return
    run.new = replan(run.new, week_start, recompute=[e.code], hold=[e.code])
    run.kinds.append("targets_missed")
    run.reasons.append(
        f"Targets not reached in the {_name(e.code)}: next week holds this week's dose "
        "instead of progressing."
    )


def apply_session_log(
    plan: Plan, log: SessionLog, *, history: Iterable[SessionLog] = ()
) -> PlanChange:
    """Adapt to one logged session. ``history`` holds the plan's earlier logs (any order),
    which the "two easy sessions in a row" rule needs.

    Per exercise, first rule that applies:
    1. pain >= 4/10: down a level from the next session on, coach flagged;
    2. easy streak (RPE <= 6, every set done, no pain >= 4 in the session, twice in a
       row): up a level from the next session on;
    3. a target missed: next week's progression step for it is withheld (wger's "last
       week's logs hit the target" requirement).
    """
    run = _LogAdaptation(plan=plan, log=log, idx=_logged_index(plan, log), new=plan)
    history = list(history)
    for e in log.exercises:
        if e.pain >= PAIN_REGRESS_AT:
            _regress_for_pain(run, e)
        elif log.pain < PAIN_REGRESS_AT and _easy_streak(plan, log, e, history):
            _promote_easy(run, e)
        else:
            _hold_for_missed_targets(run, e)
    reason = " ".join(run.reasons) or f"Session {log.session_key} logged: no change needed."
    kind = run.kinds[0] if len(set(run.kinds)) == 1 else "session_log"
    return _commit(plan, run.new, kind=kind, reason=reason, on=log.logged_on, flags=run.flags)


def apply_missed_sessions(
    plan: Plan, week_index: int, missed_count: int, *, noted_on: date | None = None
) -> PlanChange:
    """Two or more missed sessions in week ``week_index`` (0-based) repeat that week: the
    next loading week holds its dose instead of advancing; the calendar and the lighter
    weeks stay where they are."""
    if not 0 <= week_index < len(plan.weeks):
        raise ValueError(f"week_index {week_index} outside the block")
    week = plan.weeks[week_index]
    if not 0 <= missed_count <= len(week.sessions):
        raise ValueError(f"week {week.number} has {len(week.sessions)} sessions")
    on = noted_on or week.end
    kind = "missed_sessions"
    if missed_count < MISSED_REPEAT_AT:
        return PlanChange(
            plan, False, kind, f"{missed_count} missed in week {week.number}: plan unchanged."
        )
    flag = CoachFlag(
        code="missed_sessions",
        message=f"{missed_count} of {len(week.sessions)} sessions missed in week {week.number}.",
        raised_on=on,
    )
    if week_index == len(plan.weeks) - 1:
        reason = (
            f"{missed_count} sessions missed in the final week {week.number}: nothing left "
            "to repeat in this block; the next block should start from this week's levels."
        )
        return _commit(plan, plan, kind=kind, reason=reason, on=on, flags=[flag])
    following = plan.weeks[week_index + 1]
    start = plan.session_index(following.sessions[0].session_key)
    everything = tuple(EXERCISES)
    new = replan(plan, start, recompute=everything, hold=everything)
    if following.is_deload:
        detail = (
            f"the lighter week {following.number} stays, then week {following.number + 1} "
            f"repeats week {week.number}'s work instead of advancing."
        )
    else:
        detail = f"week {following.number} repeats week {week.number}'s work instead of advancing."
    reason = f"{missed_count} sessions missed in week {week.number}: {detail}"
    return _commit(plan, new, kind=kind, reason=reason, on=on, flags=[flag])


def apply_feeling(plan: Plan, today: date, not_100: bool) -> PlanChange:
    """The "not feeling 100 %" switch: on, it lightens the sessions from today through
    the next ``LIGHTEN_DAYS - 1`` days (a set fewer, effort 5/10 at most); off, it gives
    back the planned dose to the sessions still ahead."""
    last = today + timedelta(days=LIGHTEN_DAYS - 1)
    if not_100:
        hit = {s.session_key for s in plan.sessions if today <= s.date <= last and not s.lightened}
    else:
        hit = {s.session_key for s in plan.sessions if s.date >= today and s.lightened}
    kind = "feeling"
    if not hit:
        ahead = [s for s in plan.sessions if s.date >= today]
        if not_100:
            why = (f"No session to lighten from {today.isoformat()} to {last.isoformat()}"
                   + (f": the next one is {ahead[0].session_key} on {ahead[0].date.isoformat()}"
                      " and keeps its planned dose; switch it on again that day if you "
                      "still need to." if ahead else ": no session is left in this block."))
        else:
            why = "No lightened session ahead: every coming session already has its planned dose."
        return PlanChange(plan, False, kind, why)
    flagged = _map_sessions(
        plan, lambda s: replace(s, lightened=not_100) if s.session_key in hit else s
    )
    start = min(plan.session_index(k) for k in hit)
    new = replan(flagged, start)
    keys = ", ".join(sorted(hit, key=plan.session_index))
    reason = (
        f"Not feeling 100 % on {today.isoformat()}: lighter sessions ({keys})."
        if not_100
        else f"Feeling better on {today.isoformat()}: planned dose back ({keys})."
    )
    return _commit(plan, new, kind=kind, reason=reason, on=today)


def _apply_substitutions(
    plan: Plan, order: tuple[str, ...], drills: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    for sub in plan.substitutions:
        order = tuple(sub.to_code if c == sub.from_code else c for c in order)
        drills = tuple(sub.to_code if c == sub.from_code else c for c in drills)
    drills = tuple(dict.fromkeys(d for d in drills if d not in order))
    return tuple(dict.fromkeys(order)), drills


def _kept_swaps(plan: Plan, order: tuple[str, ...], drills: tuple[str, ...]) -> list[str]:
    """The coach's swaps the new reading would not have made itself: said in the reason."""
    kept = []
    for sub in plan.substitutions:
        if sub.to_code in order or sub.to_code in drills:
            kept.append(f"the coach's swap of the {_name(sub.from_code)} for the "
                        f"{_name(sub.to_code)} stays")
    return kept


def apply_new_analysis(
    plan: Plan,
    profile: PlannerProfile,
    analysis: AnalysisSummary | None,
    *,
    today: date | None = None,
) -> PlanChange:
    """Re-weight the emphasis and cues from a new analysis (the athlete's diagnosis), from
    ``today`` on (default: the recording day); ``None``: the clips behind the plan are gone,
    back to the general emphasis.

    Nothing before ``today`` changes: however old the recording, the past stays as it was
    prescribed. Levels and doses carry over (progress is not reset); faults that improved
    rank lower, new faults add their exercises, drills and cues; a fault that got worse
    flags the coach; the coach's swaps stay (the reason says so). The calendar (block
    start, weekdays) stays: changing days needs a new block.
    """
    old_ranked = {r.code: r for r in rank_faults(plan.analysis)}
    reading = read_emphasis(analysis)
    new_ranked = {r.code: r for r in reading.ranked}
    improved = [
        c for c, r in old_ranked.items() if c not in new_ranked or new_ranked[c].score < r.score
    ]
    severity = SEVERITIES.index
    worse = [
        c
        for c, r in new_ranked.items()
        if c in old_ranked and severity(r.severity) > severity(old_ranked[c].severity)
    ]
    added = [c for c in new_ranked if c not in old_ranked]
    order, drills = _apply_substitutions(plan, reading.core_order, reading.drills)
    notes = list(reading.chain_notes)
    if plan.analysis is not None and analysis is not None:
        before = f"Compared with {plan.analysis.recorded_at.isoformat()}:"
        parts = []
        if improved:
            parts.append(f"improved {', '.join(improved)} (less emphasis)")
        if added:
            parts.append(f"new {', '.join(added)} (their cues join)")
        if worse:
            parts.append(f"worse {', '.join(worse)}")
        notes.append(f"{before} {'; '.join(parts) or 'no change in the faults'}.")
    notes = list(dict.fromkeys(notes))
    day = today or (analysis.recorded_at if analysis is not None else plan.changed_on)
    kept_profile = replace(
        profile,
        block_start=plan.profile.block_start,
        strength_weekdays=plan.profile.strength_weekdays,
    )
    context = replace(
        plan,
        profile=kept_profile,
        analysis=analysis,
        # A block begun without an analysis takes its first one as the re-test's "before".
        baseline=plan.baseline if plan.baseline is not None else analysis,
        emphasis=reading.items,
        chain_notes=tuple(notes),
        weaker_side=reading.weaker_side,
        opposite_hand_load=reading.opposite_hand,
        exercise_order=order,
        drills=drills,
        weeks=tuple(
            replace(
                w,
                cue_of_week=cue_for_week(reading.ranked, w.number),
                # A clip arrived: "film your first clip" is done.
                film_again=None if analysis is not None and w.film_again == FILM_FIRST
                else w.film_again,
            )
            if w.end >= day
            else w
            for w in plan.weeks
        ),
    )
    # From today on when given; else the sessions after the recording day.
    start = next((i for i, s in enumerate(plan.sessions)
                  if (s.date >= today if today is not None else s.date > day)),
                 len(plan.sessions))
    added_codes = [c for c in _template(context) if c not in _template(plan)]
    new = replan(context, start, recompute=added_codes, relayout=True)
    flags = [
        CoachFlag(
            code="fault_worse",
            message=(
                f"{new_ranked[c].label} is worse than in the analysis of "
                f"{plan.analysis.recorded_at.isoformat() if plan.analysis else 'before'}."
            ),
            raised_on=day,
        )
        for c in worse
    ]
    lead = order[0] if order else reading.items[0].code
    if analysis is None:
        reason = (f"The clips behind the plan were deleted: from {day.isoformat()} the "
                  f"general emphasis, the {_name(lead)} leads")
    else:
        reason = f"New analysis of {analysis.recorded_at.isoformat()}: the {_name(lead)} leads"
    if improved and analysis is not None:
        reason += f"; improved: {', '.join(improved)}"
    if added:
        reason += f"; new: {', '.join(added)}"
    if worse:
        reason += f"; worse: {', '.join(worse)} (coach flagged)"
    kept = _kept_swaps(plan, order, drills)
    if kept:
        reason += "; " + "; ".join(kept)
    return _commit(plan, new, kind="new_analysis", reason=reason + ".", on=day, flags=flags)


def protect_past(
    old: Plan, change: PlanChange, *, locked: Iterable[str] = (), today: date
) -> PlanChange:
    """Plan history is immutable: a session already logged (``locked``) or dated before
    ``today`` keeps what it was prescribed, whatever the change asked. A change that only
    touched such sessions changes nothing, and says so."""
    if not change.changed:
        return change
    locked_keys = set(locked)
    kept = {s.session_key: s for s in old.sessions
            if s.session_key in locked_keys or s.date < today}
    if not kept:
        return change
    plan = change.plan
    restored = replace(plan, weeks=tuple(
        replace(w, sessions=tuple(kept.get(s.session_key, s) for s in w.sessions))
        for w in plan.weeks))
    if _content(replace(restored, coach_flags=old.coach_flags)) == _content(old) and not (
            change.coach_flags):
        return PlanChange(old, False, change.kind,
                          f"No change: {change.reason} It would only have changed sessions "
                          "already logged or past, which stay as they were.")
    return replace(change, plan=restored)


# --------------------------------------------------------------------------- coach edits


def swap_exercise(
    plan: Plan,
    from_code: str,
    to_code: str,
    *,
    from_date: date,
    level: int | None = None,
    author: str = "coach",
) -> PlanChange:
    """Replace an exercise from ``from_date`` on; the new one keeps the old one's sets and
    starts at ``level`` (default: where the profile would start it)."""
    get_exercise(from_code)
    ex = get_exercise(to_code)
    if from_code not in _template(plan):
        raise ValueError(f"{from_code!r} is not in the plan")
    if to_code in _template(plan):
        raise ValueError(f"{to_code!r} is already in the plan")
    if level is not None and not 1 <= level <= ex.max_level:
        raise ValueError(f"{to_code!r} has levels 1-{ex.max_level}")
    start = _first_index_on_or_after(plan, from_date)
    if start == len(plan.sessions):
        raise ValueError("no session left on or after from_date")
    key = plan.sessions[start].session_key
    context = replace(
        plan,
        exercise_order=tuple(to_code if c == from_code else c for c in plan.exercise_order),
        drills=tuple(to_code if c == from_code else c for c in plan.drills),
        substitutions=(*plan.substitutions, Substitution(from_code, to_code, from_date)),
    )
    fresh = start_state(context, to_code, key, level=level)
    old = plan.sessions[start].track(from_code)
    if old is not None and ex.kind == get_exercise(from_code).kind:
        fresh = replace(fresh, sets=old.sets)
    fresh = replace(fresh, set_by="swap")
    new = replan(context, start, recompute=[to_code], overrides={to_code: fresh}, relayout=True)
    reason = (
        f"{_sentence(author)} swapped the {_name(from_code)} for the {ex.name.lower()} "
        f"from {from_date.isoformat()}."
    )
    return _commit(plan, new, kind="coach_swap", reason=reason, on=from_date)


def move_level(
    plan: Plan, exercise_code: str, to_level: int, *, from_date: date, author: str = "coach"
) -> PlanChange:
    """Put an exercise at ``to_level`` from ``from_date`` on. Moving down keeps it there
    (no automatic level-up past it); moving up lifts any pain ceiling."""
    ex = get_exercise(exercise_code)
    if exercise_code not in _template(plan):
        raise ValueError(f"{exercise_code!r} is not in the plan")
    if not 1 <= to_level <= ex.max_level:
        raise ValueError(f"{exercise_code!r} has levels 1-{ex.max_level}")
    start = _first_index_on_or_after(plan, from_date)
    if start == len(plan.sessions):
        raise ValueError("no session left on or after from_date")
    key = plan.sessions[start].session_key
    current: TrackState | None = plan.sessions[start].track(exercise_code)
    sets = current.sets if current is not None else 2
    down = current is not None and to_level < current.level
    state = level_start_state(
        exercise_code,
        to_level,
        sets,
        set_by="coach",
        set_at=key,
        level_cap=to_level if down else None,
    )
    new = replan(plan, start, recompute=[exercise_code], overrides={exercise_code: state})
    reason = (
        f"{_sentence(author)} moved the {ex.name.lower()} to level {to_level} "
        f"({ex.level(to_level).name.lower()}) from {from_date.isoformat()}."
    )
    return _commit(plan, new, kind="coach_level", reason=reason, on=from_date)


def add_cue(
    plan: Plan,
    text: str,
    *,
    from_date: date,
    exercise_code: str | None = None,
    author: str = "coach",
) -> PlanChange:
    """A cue for one exercise, or (no exercise) a running cue shown with each week, from
    ``from_date`` on."""
    text = text.strip()
    if not text:
        raise ValueError("empty cue")
    if exercise_code is not None and exercise_code not in _template(plan):
        raise ValueError(f"{exercise_code!r} is not in the plan")
    context = replace(
        plan, coach_cues=(*plan.coach_cues, CoachCue(text, from_date, exercise_code, author))
    )
    new = replan(context, _first_index_on_or_after(plan, from_date))
    target = f"the {_name(exercise_code)}" if exercise_code else "running"
    reason = f'{_sentence(author)} added a cue for {target}: "{text}".'
    return _commit(plan, new, kind="coach_cue", reason=reason, on=from_date)


def add_note(
    plan: Plan,
    text: str,
    *,
    on: date,
    session_key: str | None = None,
    author: str = "coach",
) -> PlanChange:
    """A note on one session, or on the whole plan."""
    text = text.strip()
    if not text:
        raise ValueError("empty note")
    start = len(plan.sessions)
    if session_key is not None:
        try:
            start = plan.session_index(session_key)
        except KeyError:
            raise ValueError(f"no session {session_key!r} in this plan") from None
    note = Note(text, on, session_key, author, note_id=plan.version + 1)
    context = replace(plan, notes=(*plan.notes, note))
    new = replan(context, start)
    where = f"session {session_key}" if session_key else "the plan"
    reason = f'{_sentence(author)} added a note to {where}: "{text}".'
    return _commit(plan, new, kind="coach_note", reason=reason, on=on)


def delete_note(plan: Plan, note_id: int, *, today: date, author: str = "coach") -> PlanChange:
    """Delete a note (by ``note_id``) from the plan and from the sessions still to come; a
    session already past keeps what it showed (``protect_past``)."""
    found = next((n for n in plan.notes if n.note_id == note_id and note_id > 0), None)
    if found is None:
        ids = ", ".join(str(n.note_id) for n in plan.notes if n.note_id > 0) or "none"
        raise ValueError(f"no note {note_id} in this plan (its notes: {ids})")
    start = len(plan.sessions)  # a note on the whole plan shows in no session
    if found.session_key is not None:
        start = max(_first_index_on_or_after(plan, today),
                    plan.session_index(found.session_key))
    context = replace(plan, notes=tuple(n for n in plan.notes if n is not found))
    new = replan(context, start)
    where = f"session {found.session_key}" if found.session_key else "the plan"
    reason = f'{_sentence(author)} deleted the note on {where}: "{found.text}".'
    return _commit(plan, new, kind="coach_note_deleted", reason=reason, on=today)
