"""Plans API: the athlete's current plan and its versions, session logging, the "not 100 %"
switch, compliance, coach edits and the private calendar feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session, select

from backend import planner
from backend.accounts.dependencies import AthleteUser, CoachUser
from backend.accounts.models import AthleteProfile, User
from backend.coaching.dependencies import CoachedAthlete
from backend.core.deps import MAX_ID, SessionDep
from backend.core.errors import ERROR_RESPONSES
from backend.training import flags, service
from backend.training.edits import DeleteNote
from backend.training.models import PlanVersion, SessionLogEntry
from backend.training.schemas import (
    CalendarLink,
    CoachFlagPublic,
    ComplianceOut,
    CueIn,
    FeelingIn,
    LevelIn,
    NoteIn,
    PlanChangePublic,
    PlanPublic,
    PlanVersionSummary,
    RetestOut,
    SessionLogIn,
    SwapIn,
)

plans_router = APIRouter(tags=["plans"], responses=ERROR_RESPONSES)
coach_plans_router = APIRouter(prefix="/coach/athletes/{athlete_id}", tags=["coach"],
                               responses=ERROR_RESPONSES)
calendar_router = APIRouter(tags=["plans"], responses={404: ERROR_RESPONSES[404]})
# A 32-bit integer column: a larger number is no version, and would overflow the query.
PlanVersionNumber = Annotated[int, Path(description="The version number", ge=1, le=MAX_ID)]
# A training session of the plan (its key, 'w1-s2'); ``session`` is the database's.
TrainingSessionId = Annotated[str, Path(alias="session_id")]


def _public(session: Session, athlete: User, row: PlanVersion) -> PlanPublic:
    plan = planner.Plan.from_dict(row.data)
    logged = set(session.exec(
        select(SessionLogEntry.session_key).where(SessionLogEntry.athlete_id == athlete.id,
                                                  SessionLogEntry.plan_id == row.plan_id)
    ).all())
    today = service.athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    return PlanPublic.build(plan, kind=row.kind, created_at=row.created_at, today=today,
                            logged=logged)


def _current(session: Session, athlete: User) -> PlanPublic:
    # Reads never write versions: missed weeks are counted when a log or an analysis
    # arrives, and by the periodic housekeeping (training/tasks.py). Only an athlete who
    # never had a plan gets the general block on the first read.
    row = service.ensure_plan(session, athlete)
    return _public(session, athlete, row)


def _summaries(session: Session, athlete: User) -> list[PlanVersionSummary]:
    row, _ = service.require_current(session, athlete.pk)
    return [PlanVersionSummary(version=v.version, kind=v.kind, reason=v.reason,
                               created_at=v.created_at, created_by_id=v.created_by_id)
            for v in service.versions(session, athlete.pk, row.plan_id)]


def _change_public(session: Session, athlete: User, stored: PlanVersion | None,
                   change: planner.PlanChange | None = None) -> PlanChangePublic:
    row, _ = service.require_current(session, athlete.pk)
    flags = change.coach_flags if change else ()
    return PlanChangePublic(
        changed=stored is not None, kind=stored.kind if stored else (change.kind if change else ""),
        reason=stored.reason if stored else (change.reason if change else
                                             "No change: the plan already says this."),
        version=row.version,
        coach_flags=[CoachFlagPublic(code=f.code, message=f.message,
                                     exercise_code=f.exercise_code, session_key=f.session_key)
                     for f in flags],
    )


@plans_router.get("/plans/current", response_model=PlanPublic,
                  summary="The athlete's current plan: weeks, sessions, exercises, cue of the week")
def read_current_plan(athlete: AthleteUser, session: SessionDep) -> PlanPublic:
    return _current(session, athlete)


@plans_router.get("/plans/current/versions", response_model=list[PlanVersionSummary],
                  summary="Every version of the current plan, with the reason for each")
def list_plan_versions(athlete: AthleteUser, session: SessionDep) -> list[PlanVersionSummary]:
    service.ensure_plan(session, athlete)
    return _summaries(session, athlete)


@plans_router.get("/plans/current/versions/{version}", response_model=PlanPublic,
                  summary="One earlier version of the current plan")
def read_plan_version(version: PlanVersionNumber, athlete: AthleteUser,
                      session: SessionDep) -> PlanPublic:
    return _public(session, athlete, service.get_version(session, athlete.pk, version))


@plans_router.post("/sessions/{session_id}/log", response_model=PlanChangePublic,
                   summary="Log a session: sets done, effort (RPE) and pain per exercise")
def log_session(training_session_id: TrainingSessionId, body: SessionLogIn,
                athlete: AthleteUser, session: SessionDep) -> PlanChangePublic:
    change, stored = service.log_session(session, athlete, training_session_id, body)
    return _change_public(session, athlete, stored, change)


@plans_router.post("/plans/current/feeling", response_model=PlanChangePublic,
                   summary="'Not feeling 100 %': lighten the next days (or undo it)")
def set_feeling(body: FeelingIn, athlete: AthleteUser, session: SessionDep) -> PlanChangePublic:
    change, stored = service.set_feeling(session, athlete, body.not_100)
    return _change_public(session, athlete, stored, change)


@plans_router.get("/plans/current/compliance", response_model=ComplianceOut,
                  summary="Sets done over sets prescribed, last 7, 30 and 90 days")
def read_compliance(athlete: AthleteUser, session: SessionDep) -> ComplianceOut:
    return ComplianceOut.build(service.compliance_windows(session, athlete))


@plans_router.post("/plans/calendar", response_model=CalendarLink,
                   summary="The private calendar (ICS) link; regenerate=true revokes the old one")
def calendar_link(request: Request, athlete: AthleteUser, session: SessionDep,
                  regenerate: bool = False) -> CalendarLink:
    token = service.calendar_token(session, athlete, regenerate=regenerate)
    url = str(request.url_for("plans-read_calendar", token=token))
    return CalendarLink(url=url, token=token)


@calendar_router.get("/calendar/{token}.ics", name="plans-read_calendar",
                     response_class=Response,
                     responses={200: {"content": {"text/calendar": {}},
                                      "description": "The plan's sessions as iCalendar"}},
                     summary="The athlete's private calendar feed (the token is the credential)")
def read_calendar(token: str, session: SessionDep) -> Response:
    body = service.calendar_for_token(session, token)
    return Response(content=body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})


# ------------------------------------------------------------------------- coach


@coach_plans_router.get("/plan", response_model=PlanPublic, summary="An athlete's current plan")
def coach_read_plan(athlete: CoachedAthlete, session: SessionDep) -> PlanPublic:
    return _current(session, athlete)


@coach_plans_router.get("/plan/versions", response_model=list[PlanVersionSummary],
                        summary="Every version of an athlete's current plan")
def coach_list_versions(athlete: CoachedAthlete, session: SessionDep,
                        ) -> list[PlanVersionSummary]:
    service.ensure_plan(session, athlete)
    return _summaries(session, athlete)


@coach_plans_router.get("/flags", response_model=list[CoachFlagPublic],
                        summary="Open flags for the coach (pain, missed sessions, worse faults)")
def coach_list_flags(athlete: CoachedAthlete, session: SessionDep) -> list[CoachFlagPublic]:
    return [CoachFlagPublic.model_validate(f, from_attributes=True)
            for f in service.coach_flags(session, athlete.pk)]


FlagId = Annotated[int, Path(description="The flag's id", ge=1, le=MAX_ID)]


@coach_plans_router.post("/flags/{flag_id}/acknowledge", response_model=CoachFlagPublic,
                         summary="Mark a flag seen (it stays open until resolved)",
                         responses={409: ERROR_RESPONSES[400]})
def coach_acknowledge_flag(flag_id: FlagId, athlete: CoachedAthlete, coach: CoachUser,
                           session: SessionDep) -> CoachFlagPublic:
    flag = flags.acknowledge(session, coach, athlete.pk, flag_id)
    return CoachFlagPublic.model_validate(flag, from_attributes=True)


@coach_plans_router.post("/flags/{flag_id}/resolve", response_model=CoachFlagPublic,
                         summary="Resolve (close) a flag")
def coach_resolve_flag(flag_id: FlagId, athlete: CoachedAthlete, coach: CoachUser,
                       session: SessionDep) -> CoachFlagPublic:
    flag = flags.resolve(session, coach, athlete.pk, flag_id)
    return CoachFlagPublic.model_validate(flag, from_attributes=True)


@coach_plans_router.get("/compliance", response_model=ComplianceOut,
                        summary="An athlete's compliance, last 7, 30 and 90 days")
def coach_read_compliance(athlete: CoachedAthlete, session: SessionDep) -> ComplianceOut:
    return ComplianceOut.build(service.compliance_windows(session, athlete))


@coach_plans_router.post("/plan/swap", response_model=PlanChangePublic,
                         summary="Swap an exercise in the athlete's plan")
def coach_swap(body: SwapIn, athlete: CoachedAthlete, coach: CoachUser,
               session: SessionDep) -> PlanChangePublic:
    change, stored = service.coach_edit(session, coach, athlete, body.edit())
    return _change_public(session, athlete, stored, change)


@coach_plans_router.post("/plan/level", response_model=PlanChangePublic,
                         summary="Move an exercise to another level")
def coach_level(body: LevelIn, athlete: CoachedAthlete, coach: CoachUser,
                session: SessionDep) -> PlanChangePublic:
    change, stored = service.coach_edit(session, coach, athlete, body.edit())
    return _change_public(session, athlete, stored, change)


@coach_plans_router.post("/plan/cues", response_model=PlanChangePublic,
                         summary="Add a cue (to an exercise, or a running cue)")
def coach_cue(body: CueIn, athlete: CoachedAthlete, coach: CoachUser,
              session: SessionDep) -> PlanChangePublic:
    change, stored = service.coach_edit(session, coach, athlete, body.edit())
    return _change_public(session, athlete, stored, change)


@coach_plans_router.post("/plan/notes", response_model=PlanChangePublic,
                         summary="Add a note to the plan or to one session")
def coach_note(body: NoteIn, athlete: CoachedAthlete, coach: CoachUser,
               session: SessionDep) -> PlanChangePublic:
    change, stored = service.coach_edit(session, coach, athlete, body.edit())
    return _change_public(session, athlete, stored, change)


NoteId = Annotated[int, Path(description="The note's id (`note_id` in the plan's notes)",
                             ge=1, le=MAX_ID)]


@coach_plans_router.delete("/plan/notes/{note_id}", response_model=PlanChangePublic,
                           summary="Delete a note from the plan",
                           description="The note leaves the plan and the sessions still to "
                           "come; a session already past or logged keeps what it showed.")
def coach_delete_note(note_id: NoteId, athlete: CoachedAthlete, coach: CoachUser,
                      session: SessionDep) -> PlanChangePublic:
    change, stored = service.coach_edit(session, coach, athlete, DeleteNote(note_id))
    return _change_public(session, athlete, stored, change)


def _block_started(session: Session, athlete: User, created_by: User | None) -> PlanChangePublic:
    row = service.start_new_block(session, athlete, created_by=created_by)
    return PlanChangePublic(changed=True, kind=row.kind, reason=row.reason, version=row.version,
                            coach_flags=[])


def _retest(session: Session, athlete: User) -> RetestOut:
    plan, comparisons = service.retest(session, athlete)
    return RetestOut.build(plan, comparisons)


@plans_router.post("/plans/blocks", response_model=PlanChangePublic, status_code=201,
                   summary="Start a new block from today, following the current one")
def start_block(athlete: AthleteUser, session: SessionDep) -> PlanChangePublic:
    """The new block is built on the athlete's diagnosis; the coach's swaps and the levels
    reached carry over, and its reason opens with the re-test of the block it follows."""
    return _block_started(session, athlete, None)


@plans_router.get("/plans/current/retest", response_model=RetestOut,
                  summary="The re-test: each targeted fault before the block and after it")
def read_retest(athlete: AthleteUser, session: SessionDep) -> RetestOut:
    return _retest(session, athlete)


@coach_plans_router.post("/plan/blocks", response_model=PlanChangePublic, status_code=201,
                         summary="Start a new block for the athlete from today")
def coach_start_block(athlete: CoachedAthlete, coach: CoachUser,
                      session: SessionDep) -> PlanChangePublic:
    return _block_started(session, athlete, coach)


@coach_plans_router.get("/plan/retest", response_model=RetestOut,
                        summary="The athlete's re-test: each targeted fault before and after")
def coach_read_retest(athlete: CoachedAthlete, session: SessionDep) -> RetestOut:
    return _retest(session, athlete)
