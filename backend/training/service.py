"""Plans for athletes: storing versions, logging sessions, adapting, coach edits, calendar.

The planning itself is the pure ``backend.planner`` package; this module loads its inputs
from the database and stores what it returns. Callers commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from backend import planner
from backend.accounts.models import AthleteProfile, User
from backend.core import audit, events
from backend.core.errors import InvalidInputError, NotFoundError
from backend.core.text import URL_SAFE, well_formed
from backend.training.edits import CoachEdit, DeleteNote
from backend.training.events import CoachChangedPlan, FeelingReported, SessionLogged
from backend.training.models import (
    CalendarFeed,
    CoachFlagEntry,
    MissedWeekCheck,
    PlanVersion,
    SessionLogEntry,
    SetLogEntry,
)
from backend.training.schemas import ExerciseLogIn, SessionLogIn

DEFAULT_BLOCK_WEEKS = 6
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A session done a little before its plan's first day (started early) still counts.
LOG_EARLY_LIMIT = timedelta(days=7)
# A phone ahead of the profile's time zone (travelling east, a zone never set) is already on
# tomorrow: one day of slack, as for a clip's recorded_at.
LOG_AHEAD_LIMIT = timedelta(days=1)


def athlete_zone(profile: AthleteProfile | None, user: User) -> str:
    return (profile.time_zone if profile else None) or user.time_zone or "UTC"


def athlete_today(profile: AthleteProfile | None, user: User) -> date:
    return datetime.now(ZoneInfo(athlete_zone(profile, user))).date()


def planner_profile(session: Session, athlete: User, block_start: date) -> planner.PlannerProfile:
    profile = session.get(AthleteProfile, athlete.id)
    if profile is None:
        # Nobody is left without a plan: defaults until onboarding refines them.
        return planner.PlannerProfile(block_start=block_start, time_zone=athlete.time_zone)
    return planner.PlannerProfile(
        block_start=block_start,
        running_background=profile.running_background,
        weekly_km=float(profile.weekly_volume_km),
        injuries=tuple(profile.injuries),
        equipment=frozenset(profile.equipment or ["none"]),
        strength_weekdays=tuple(profile.strength_days),
        time_zone=profile.time_zone,
    )


def current_version(session: Session, athlete_id: int) -> PlanVersion | None:
    return session.exec(
        select(PlanVersion).where(PlanVersion.athlete_id == athlete_id)
        .order_by(col(PlanVersion.id).desc()).limit(1)
    ).first()


def require_current(session: Session, athlete_id: int) -> tuple[PlanVersion, planner.Plan]:
    row = current_version(session, athlete_id)
    if row is None:
        raise NotFoundError("No plan yet: finish onboarding or upload a clip to get one.",
                            code="no_plan")
    return row, planner.Plan.from_dict(row.data)


def versions(session: Session, athlete_id: int, plan_id: str) -> list[PlanVersion]:
    return list(session.exec(
        select(PlanVersion).where(PlanVersion.athlete_id == athlete_id,
                                  PlanVersion.plan_id == plan_id)
        .order_by(col(PlanVersion.version))
    ).all())


def get_version(session: Session, athlete_id: int, version: int) -> PlanVersion:
    row, _ = require_current(session, athlete_id)
    found = session.exec(
        select(PlanVersion).where(PlanVersion.athlete_id == athlete_id,
                                  PlanVersion.plan_id == row.plan_id,
                                  PlanVersion.version == version)
    ).first()
    if found is None:
        raise NotFoundError(f"The current plan has no version {version}.",
                            code="version_not_found")
    return found


def _store(session: Session, athlete_id: int, plan: planner.Plan, *, kind: str, reason: str,
           created_by: User | None, flags: Iterable[planner.CoachFlag] = ()) -> PlanVersion:
    row = PlanVersion(athlete_id=athlete_id, plan_id=plan.plan_id, version=plan.version,
                      kind=kind, reason=reason, data=plan.to_dict(),
                      created_by_id=created_by.id if created_by else None)
    session.add(row)
    for flag in flags:
        session.add(CoachFlagEntry(athlete_id=athlete_id, code=flag.code, message=flag.message,
                                   exercise_code=flag.exercise_code,
                                   session_key=flag.session_key, plan_version=plan.version))
    session.flush()
    return row


def store_change(session: Session, athlete_id: int, change: planner.PlanChange,
                 created_by: User | None = None) -> PlanVersion | None:
    """Keep a planner change as a new version (None when nothing changed)."""
    if not change.changed:
        if change.coach_flags:
            for flag in change.coach_flags:
                session.add(CoachFlagEntry(
                    athlete_id=athlete_id, code=flag.code, message=flag.message,
                    exercise_code=flag.exercise_code, session_key=flag.session_key,
                    plan_version=change.plan.version))
            session.flush()
        return None
    return _store(session, athlete_id, change.plan, kind=change.kind, reason=change.reason,
                  created_by=created_by, flags=change.coach_flags)


def logged_keys(session: Session, athlete_id: int, plan_id: str) -> set[str]:
    return set(session.exec(
        select(SessionLogEntry.session_key).where(SessionLogEntry.athlete_id == athlete_id,
                                                  SessionLogEntry.plan_id == plan_id)
    ).all())


def _guard(session: Session, athlete: User, old: planner.Plan,
           change: planner.PlanChange, as_of: date | None = None) -> planner.PlanChange:
    """Plan history is immutable: no change reaches a session already logged or a past day
    (``planner.protect_past``). ``as_of`` stands in for today when seeding a history that
    happened in the past (the demo), never for a request."""
    today = as_of or athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    return planner.protect_past(old, change, locked=logged_keys(session, athlete.pk,
                                                                old.plan_id), today=today)


def _new_plan_id(session: Session, athlete_id: int, block_start: date) -> str:
    blocks = session.exec(
        select(func.count(func.distinct(PlanVersion.plan_id)))
        .where(PlanVersion.athlete_id == athlete_id)
    ).one()
    return f"a{athlete_id}-b{int(blocks) + 1}-{block_start.isoformat()}"


def generate_block(session: Session, athlete: User, *, reason_kind: str,
                   analysis: planner.AnalysisSummary | None = None,
                   created_by: User | None = None, start: date | None = None,
                   follows: planner.Plan | None = None, why: str = "") -> PlanVersion:
    """A new block from today in the athlete's time zone (``start`` sets another first day:
    the demo seed starts blocks in the past to give them history). A block that ``follows``
    another keeps the coach's swaps and where each exercise stood; ``why`` opens its
    reason."""
    profile_row = session.get(AthleteProfile, athlete.id)
    start = start or athlete_today(profile_row, athlete)
    profile = planner_profile(session, athlete, start)
    plan = planner.generate_plan(
        profile, analysis, weeks=DEFAULT_BLOCK_WEEKS,
        plan_id=_new_plan_id(session, athlete.pk, start),
        substitutions=follows.substitutions if follows else (),
        levels=_levels_reached(follows, start) if follows else None)
    reason = f"{why} {plan.reason}".strip()[:2000]
    if why:
        plan = replace(plan, reason=reason, history=tuple(
            replace(h, reason=reason) for h in plan.history))
    return _store(session, athlete.pk, plan, kind=reason_kind,
                  reason=reason, created_by=created_by, flags=plan.coach_flags)


def _levels_reached(plan: planner.Plan, before: date) -> dict[str, int]:
    """Where each exercise stands on the last session before ``before``."""
    levels: dict[str, int] = {}
    for s in plan.sessions:
        if s.date < before:
            levels.update({t.code: t.level for t in s.tracks})
    return levels


def ensure_plan(session: Session, athlete: User) -> PlanVersion:
    """The athlete's current plan, generating a general block if there is none."""
    return current_version(session, athlete.pk) or generate_block(
        session, athlete, reason_kind="generated")


def on_onboarding_completed(session: Session, athlete: User) -> PlanVersion:
    """Onboarding refines the defaults: rebuild the block on the answers, unless they change
    nothing the plan depends on or work was already logged against it."""
    row = current_version(session, athlete.pk)
    if row is None:
        return generate_block(session, athlete, reason_kind="onboarding")
    plan = planner.Plan.from_dict(row.data)
    profile = planner_profile(session, athlete, plan.block_start)
    if profile == plan.profile:
        return row
    if not _has_logs(session, athlete.pk, row.plan_id):
        return generate_block(session, athlete, reason_kind="onboarding",
                              analysis=plan.analysis)
    # Work was logged on this block: it stays as it was; days or equipment that changed
    # give a new block from today, following this one.
    changed = []
    if profile.strength_weekdays != plan.profile.strength_weekdays:
        changed.append("strength days " + ", ".join(WEEKDAYS[d] for d in
                                                    profile.strength_weekdays))
    if profile.equipment != plan.profile.equipment:
        changed.append("equipment " + ", ".join(sorted(profile.equipment)))
    if not changed:
        return row
    return generate_block(session, athlete, reason_kind="profile", analysis=plan.analysis,
                          follows=plan,
                          why=f"Profile changed ({'; '.join(changed)}): the coming weeks "
                          "follow it; the sessions logged so far stay as they were.")


def _has_logs(session: Session, athlete_id: int, plan_id: str) -> bool:
    return session.exec(
        select(SessionLogEntry.id).where(SessionLogEntry.athlete_id == athlete_id,
                                         SessionLogEntry.plan_id == plan_id).limit(1)
    ).first() is not None


def on_analysis(session: Session, athlete: User, report: dict[str, Any],
                recorded_at: date, *, as_of: date | None = None) -> PlanVersion | None:
    """A single analysis as the diagnosis (``on_diagnosis``); an unfit one (``clip_quality.fit``
    false) measured nothing: it changes nothing (None)."""
    quality = report.get("clip_quality")
    if isinstance(quality, dict) and quality.get("fit") is False:
        return None
    return on_diagnosis(session, athlete,
                        planner.AnalysisSummary.from_report_dict(report, recorded_at=recorded_at),
                        as_of=as_of)


def on_diagnosis(session: Session, athlete: User, analysis: planner.AnalysisSummary | None,
                 *, as_of: date | None = None) -> PlanVersion | None:
    """The athlete's diagnosis changed (a clip analysed, deleted or re-dated): the plan is
    re-weighted from today on, or the first one generated. The same diagnosis again changes
    nothing (None); ``None`` (no fit clip left) takes the plan back to the general emphasis.
    The finished weeks' missed sessions are counted here too (reads never write)."""
    row = current_version(session, athlete.pk)
    if row is None:
        if analysis is None:
            return None
        return generate_block(session, athlete, reason_kind="analysis", analysis=analysis)
    plan = planner.Plan.from_dict(row.data)
    if analysis is None and plan.analysis is not None and not plan.analysis.clip_ids:
        # The plan's analysis was not built from stored clips (a seeded one): no clip
        # taking part, nothing of it to take back.
        return None
    today = as_of or athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    stored = None
    if not (analysis is None and plan.analysis is None) and not (
            analysis is not None and analysis.same_findings(plan.analysis)):
        profile = planner_profile(session, athlete, plan.block_start)
        change = planner.apply_new_analysis(plan, profile, analysis, today=today)
        stored = store_change(session, athlete.pk,
                              _guard(session, athlete, plan, change, as_of))
    reconcile_missed_weeks(session, athlete, today)
    return stored


# ------------------------------------------------------------------------- logging


def _logs_for(session: Session, athlete_id: int, plan_id: str) -> list[planner.SessionLog]:
    rows = session.exec(
        select(SessionLogEntry).where(SessionLogEntry.athlete_id == athlete_id,
                                      SessionLogEntry.plan_id == plan_id)
    ).all()
    return [planner.SessionLog.from_dict(r.data) for r in rows]


def _exercise_log(prescription: planner.ExercisePrescription,
                  body: ExerciseLogIn) -> planner.ExerciseLog:
    targets = prescription.set_targets()
    if len(body.sets) > len(targets):
        raise InvalidInputError(
            f"{prescription.name}: {len(body.sets)} sets logged but {len(targets)} prescribed."
        )
    sets = []
    for i, target in enumerate(targets):
        done = body.sets[i] if i < len(body.sets) else None
        sets.append(planner.SetLog(
            target_reps=target.reps, target_hold_s=target.hold_s, side=target.side,
            done_reps=(done.reps or 0) if target.reps is not None and done else
            (0 if target.reps is not None else None),
            done_hold_s=(done.hold_s or 0) if target.hold_s is not None and done else
            (0 if target.hold_s is not None else None),
        ))
    return planner.ExerciseLog(prescription.code, prescription.level, tuple(sets), body.pain)


def log_session(session: Session, athlete: User, training_session_key: str,
                body: SessionLogIn, *, as_of: date | None = None,
                ) -> tuple[planner.PlanChange, PlanVersion | None]:
    """Log a session and adapt the plan from today on (``as_of``: the day a seeded history
    logged it, for the demo)."""
    _row, plan = require_current(session, athlete.pk)
    try:
        training_session = plan.session(training_session_key)
    except KeyError as exc:
        raise NotFoundError(f"No session {training_session_key!r} in your current plan.",
                            code="session_not_found") from exc
    by_code = {e.code: e for e in body.exercises}
    unknown = set(by_code) - {p.code for p in training_session.exercises}
    if unknown:
        raise InvalidInputError(
            f"Not in session {training_session_key}: {', '.join(sorted(unknown))}.")
    exercises = tuple(
        _exercise_log(p, by_code[p.code]) if p.code in by_code
        else planner.ExerciseLog(p.code, p.level, tuple(
            planner.SetLog(target_reps=t.reps, target_hold_s=t.hold_s, side=t.side,
                           done_reps=0 if t.reps is not None else None,
                           done_hold_s=0 if t.hold_s is not None else None)
            for t in p.set_targets()), 0)
        for p in training_session.exercises
    )
    profile_row = session.get(AthleteProfile, athlete.id)
    today = athlete_today(profile_row, athlete)
    logged_on = body.logged_on or today
    if logged_on > today + LOG_AHEAD_LIMIT:
        zone = athlete_zone(profile_row, athlete)
        raise InvalidInputError(f"logged_on {logged_on} lies in the future (today is {today} "
                                f"in the profile's time zone, {zone}): give the day you did "
                                "the session.", code="logged_on_in_future")
    if logged_on < plan.block_start - LOG_EARLY_LIMIT:
        raise InvalidInputError(f"logged_on {logged_on} lies long before this plan started "
                                f"({plan.block_start}): give the day you did the session.",
                                code="logged_on_before_plan")
    log = planner.SessionLog(training_session_key, logged_on, body.rpe, exercises, plan.plan_id)
    logs = _logs_for(session, athlete.pk, plan.plan_id)
    if any(h.to_dict() == log.to_dict() for h in logs):
        # The same log again (a retry, a double tap): one version, not two.
        return planner.PlanChange(plan, False, "session_log", (
            f"Session {training_session_key} is already logged with these sets, effort and "
            "pain: nothing changed.")), None
    history = [h for h in logs if h.session_key != training_session_key]
    _save_log(session, athlete.pk, plan, training_session, log)
    change = _guard(session, athlete, plan,
                    planner.apply_session_log(plan, log, history=history), as_of)
    stored = store_change(session, athlete.pk, change)
    reconcile_missed_weeks(session, athlete, as_of or today)
    if as_of is None:  # a seeded history (the demo) tells no one
        painful = max(exercises, key=lambda e: e.pain, default=None)
        events.publish(SessionLogged(
            session=session, athlete_id=athlete.pk, training_session_key=training_session_key,
            max_pain=log.pain, painful_exercise=painful.code if painful and painful.pain else None,
            plan_reason=change.reason))
    return change, stored


def _save_log(session: Session, athlete_id: int, plan: planner.Plan,
              training_session: planner.Session, log: planner.SessionLog) -> None:
    existing = session.exec(
        select(SessionLogEntry).where(SessionLogEntry.athlete_id == athlete_id,
                                      SessionLogEntry.plan_id == plan.plan_id,
                                      SessionLogEntry.session_key == log.session_key)
    ).first()
    if existing is not None:
        session.delete(existing)
        session.flush()
    entry = SessionLogEntry(athlete_id=athlete_id, plan_id=plan.plan_id,
                            session_key=log.session_key, plan_version=plan.version,
                            session_date=training_session.date, logged_on=log.logged_on,
                            rpe=log.rpe, max_pain=log.pain, data=log.to_dict())
    session.add(entry)
    session.flush()
    for ex in log.exercises:
        for i, s in enumerate(ex.sets):
            session.add(SetLogEntry(
                session_log_id=entry.id, athlete_id=athlete_id,  # type: ignore[arg-type]
                exercise_code=ex.code, level=ex.level, set_index=i, side=s.side,
                target_reps=s.target_reps, done_reps=s.done_reps,
                target_hold_s=s.target_hold_s, done_hold_s=s.done_hold_s, pain=ex.pain))
    session.flush()


def reconcile_missed_weeks(session: Session, athlete: User, today: date) -> list[PlanVersion]:
    """Count the missed sessions of every finished week once; two or more repeat the week."""
    row = current_version(session, athlete.pk)
    if row is None:
        return []
    plan = planner.Plan.from_dict(row.data)
    logged = {log.session_key for log in _logs_for(session, athlete.pk, plan.plan_id)}
    checked = set(session.exec(
        select(MissedWeekCheck.week_number).where(MissedWeekCheck.athlete_id == athlete.id,
                                                  MissedWeekCheck.plan_id == plan.plan_id)
    ).all())
    stored: list[PlanVersion] = []
    for index, week in enumerate(plan.weeks):
        if week.end >= today or week.number in checked:
            continue
        missed = sum(1 for s in week.sessions if s.session_key not in logged)
        session.add(MissedWeekCheck(athlete_id=athlete.pk, plan_id=plan.plan_id,
                                    week_number=week.number, missed=missed))
        change = _guard(session, athlete, plan,
                        planner.apply_missed_sessions(plan, index, missed, noted_on=today))
        version = store_change(session, athlete.pk, change)
        if version is not None:
            stored.append(version)
            plan = change.plan
    session.flush()
    return stored


def set_feeling(session: Session, athlete: User, not_100: bool,
                ) -> tuple[planner.PlanChange, PlanVersion | None]:
    _, plan = require_current(session, athlete.pk)
    today = athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    change = _guard(session, athlete, plan, planner.apply_feeling(plan, today, not_100))
    stored = store_change(session, athlete.pk, change)
    events.publish(FeelingReported(session=session, athlete_id=athlete.pk, not_100=not_100,
                                   plan_reason=change.reason))
    return change, stored


def compliance_windows(session: Session, athlete: User) -> dict[int, planner.ComplianceWindow]:
    """Each window's sets done over sets due, None with no session due (never 100 %)."""
    plans = [planner.Plan.from_dict(r.data) for r in session.exec(
        select(PlanVersion).where(PlanVersion.athlete_id == athlete.id)).all()]
    if not plans:
        return {d: planner.ComplianceWindow(d, None, 0, 0, 0) for d in planner.WINDOWS_DAYS}
    logs = [planner.SessionLog.from_dict(r.data) for r in session.exec(
        select(SessionLogEntry).where(SessionLogEntry.athlete_id == athlete.id)).all()]
    today = athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    return planner.compliance_windows(logs, plans, today)


def compliance(session: Session, athlete: User) -> dict[int, float | None]:
    """Compliance per window (7, 30, 90 days): None when nothing was due."""
    return {d: w.value for d, w in compliance_windows(session, athlete).items()}


def coach_flags(session: Session, athlete_id: int, *, open_only: bool = True,
                ) -> list[CoachFlagEntry]:
    query = select(CoachFlagEntry).where(CoachFlagEntry.athlete_id == athlete_id)
    if open_only:
        query = query.where(col(CoachFlagEntry.resolved_at).is_(None))
    return list(session.exec(query.order_by(col(CoachFlagEntry.id).desc())).all())


# ------------------------------------------------------------------------- coach edits


def coach_edit(session: Session, coach: User, athlete: User, edit: CoachEdit,
               ) -> tuple[planner.PlanChange, PlanVersion | None]:
    """A coach's edit (``training.edits``: swap, level, cue or note) as a new plan version."""
    _, plan = require_current(session, athlete.pk)
    today = athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    from_date = getattr(edit, "from_date", None)
    if from_date is not None and from_date < today:
        raise InvalidInputError(
            f"from_date {from_date} lies in the past (today is {today} in the athlete's time "
            "zone): a change applies from today on, the sessions before stay as they were "
            "prescribed. Leave from_date out, or give today or a later day.",
            code="from_date_in_past")
    if isinstance(edit, DeleteNote) and not any(
            n.note_id == edit.note_id for n in plan.notes):
        raise NotFoundError(f"No note {edit.note_id} in {athlete.display_name}'s current plan: "
                            "list the plan's notes (their note_id) and try again.",
                            code="note_not_found")
    try:
        change = edit.apply(plan, today, author=coach_author(coach))
    except (KeyError, ValueError) as exc:
        raise InvalidInputError(f"Cannot change the plan that way: {exc}") from exc
    change = _guard(session, athlete, plan, change)
    stored = store_change(session, athlete.pk, change, created_by=coach)
    if stored is not None:
        # Who changed whose plan is kept for the record (the audit log) and told the athlete.
        audit.record(session, "coach_plan_edit", actor_id=coach.pk, subject_user_id=athlete.pk,
                     kind=change.kind, plan_id=plan.plan_id, version=stored.version,
                     reason=change.reason[:300])
        events.publish(CoachChangedPlan(session=session, athlete_id=athlete.pk,
                                        coach_id=coach.pk, kind=change.kind,
                                        reason=change.reason))
    return change, stored


def coach_author(coach: User) -> str:
    """"Coach Carla" for a coach named Carla; a name that already says coach as it is."""
    name = coach.display_name.strip() or "your coach"
    return name if name.lower().startswith("coach") else f"Coach {name}"


# ------------------------------------------------------------------------- blocks


def start_new_block(session: Session, athlete: User, *, created_by: User | None = None,
                    ) -> PlanVersion:
    """A new block from today on the athlete's diagnosis, following the current one (the
    coach's swaps and the levels reached carry over); its reason opens with the re-test of
    the block it follows."""
    if created_by is not None and created_by.pk != athlete.pk:
        audit.record(session, "coach_started_block", actor_id=created_by.pk,
                     subject_user_id=athlete.pk)
    row = current_version(session, athlete.pk)
    if row is None:
        return generate_block(session, athlete, reason_kind="new_block", created_by=created_by)
    plan = planner.Plan.from_dict(row.data)
    retest = planner.retest_summary(planner.compare_block(plan))
    why = f"Re-test of the block from {plan.block_start}: {retest}" if retest else (
        f"The block from {plan.block_start} ends early, without a re-test clip.")
    return generate_block(session, athlete, reason_kind="new_block", analysis=plan.analysis,
                          created_by=created_by, follows=plan, why=why)


def retest(session: Session, athlete: User) -> tuple[planner.Plan,
                                                     tuple[planner.FaultComparison, ...]]:
    plan = planner.Plan.from_dict(ensure_plan(session, athlete).data)
    return plan, planner.compare_block(plan)


# ------------------------------------------------------------------------- calendar


def calendar_token(session: Session, athlete: User, *, regenerate: bool = False) -> str:
    feed = session.get(CalendarFeed, athlete.id)
    if feed is None:
        feed = CalendarFeed(athlete_id=athlete.pk, token=secrets.token_urlsafe(32))
    elif regenerate:
        feed.token = secrets.token_urlsafe(32)
    session.add(feed)
    session.flush()
    return feed.token


def calendar_for_token(session: Session, token: str) -> bytes:
    # Tokens are URL-safe base64 (token_urlsafe).
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.token == token)
                        ).first() if well_formed(token, URL_SAFE, 64) else None
    if feed is None:
        raise NotFoundError("Unknown calendar link: get the current one from the app.",
                            code="calendar_not_found")
    athlete = session.get(User, feed.athlete_id)
    if athlete is None:
        raise NotFoundError("Unknown calendar link.", code="calendar_not_found")
    row = ensure_plan(session, athlete)
    plan = planner.Plan.from_dict(row.data)
    profile = session.get(AthleteProfile, athlete.id)
    return planner.render_ics(plan, athlete.display_name,
                              (profile.time_zone if profile else athlete.time_zone))
