"""Reactions across domains, in one place: which event of one domain makes another act.

Sibling domains never import each other; each publishes what happened
(``backend.core.events``) and this module, imported only where the app or the worker is
assembled (``backend/wiring.py``), subscribes the reactions:

- ``clips.events.AnalysisFinished`` (a fit clip analysed) -> the athlete's diagnosis is
  rebuilt (``clips.diagnosis``: the latest fit clip of each view combined) and
  ``training.service.on_diagnosis`` re-weights the plan from it, or generates the first one
  (in a savepoint of the analysis's transaction: its failure never loses the analysis);
- ``clips.events.ClipsChanged`` (a clip deleted or re-dated) -> the same, from the clips
  that remain (in the request's transaction);
- ``accounts.events.OnboardingCompleted`` -> ``training.service.on_onboarding_completed``: a
  plan exists as soon as onboarding is finished, built on its answers; a change of days or
  equipment after work was logged starts a block that follows it (in the request's
  transaction: its failure fails the request).

- ``clips.events.AnalysisFinished`` -> ``notifications.reactions.analysis_done``: the
  athlete hears the analysis is ready (its headline), their coach that a clip came in;
  ``clips.events.AnalysisRefused`` -> the same, saying why the clip was refused;
- ``training.events.CoachChangedPlan`` -> the athlete hears of the coach's change or note;
  ``SessionLogged`` with pain of 4 or more and ``FeelingReported`` (not 100 %) -> the coach
  hears of it;
- the coach digest reads who needs attention from ``progress.service.dashboard``.

Importing this module also registers the training domain's periodic housekeeping
(``training/tasks.py``: missed weeks are counted there, never on a read).
"""

from __future__ import annotations

from sqlmodel import Session

from backend import planner
from backend.accounts.events import OnboardingCompleted
from backend.accounts.models import User
from backend.clips import diagnosis
from backend.clips.events import AnalysisFinished, AnalysisRefused, ClipsChanged
from backend.clips.models import Clip
from backend.core import events
from backend.gait.report_reader import DiagnosisSource, read_report
from backend.notifications import reactions
from backend.notifications import tasks as notification_tasks
from backend.progress import service as progress
from backend.training import service as plans
from backend.training import tasks as _training_tasks  # noqa: F401  (registers housekeeping)
from backend.training.events import CoachChangedPlan, FeelingReported, SessionLogged


def _summary(found: diagnosis.CombinedDiagnosis | None) -> planner.AnalysisSummary | None:
    if found is None:
        return None
    return planner.AnalysisSummary.from_report_dict(found.report)


def plan_after_analysis(event: AnalysisFinished) -> None:
    athlete = event.session.get(User, event.athlete_id)
    if athlete is None:
        return
    clip = event.session.get(Clip, event.clip_id)
    view = read_report(event.report).view or (clip.view if clip else None) or ""
    recorded = (diagnosis.iso_recorded(clip.recorded_at) if clip is not None
                else event.recorded_at.isoformat())
    found = diagnosis.combined(event.session, event.athlete_id, extra=DiagnosisSource(
        clip_id=event.clip_id, view=view, recorded_at=recorded, report=event.report))
    if found is None:
        # A view the diagnosis cannot place (not rear, front or side): the analysis alone.
        plans.on_analysis(event.session, athlete, event.report, recorded_at=event.recorded_at)
        return
    plans.on_diagnosis(event.session, athlete, _summary(found))


def notify_analysis(event: AnalysisFinished) -> None:
    # The report's own summary: the view, then cadence and the faults found, one per line.
    lines = [str(line) for line in event.report.get("summary") or [] if line]
    headline = " ".join(lines[1:3]) or "See the report for what was found."
    reactions.analysis_done(event.session, event.athlete_id, event.clip_id, fit=True,
                            headline=headline)


def notify_refused(event: AnalysisRefused) -> None:
    why = " ".join(event.reasons[:2]) or "The clip could not be analysed."
    advice = f" {event.advice[0]}" if event.advice else ""
    reactions.analysis_done(event.session, event.athlete_id, event.clip_id, fit=False,
                            headline=(why + advice)[:400])


def notify_coach_change(event: CoachChangedPlan) -> None:
    reactions.coach_changed_plan(event.session, event.athlete_id, event.coach_id,
                                 event.reason)


def notify_pain(event: SessionLogged) -> None:
    exercise = planner.EXERCISES.get(event.painful_exercise or "")
    where = f"Session {event.training_session_key}" + (
        f", {exercise.name.lower()}" if exercise is not None else "")
    reactions.pain_reported(event.session, event.athlete_id, event.max_pain, where)


def notify_not_100(event: FeelingReported) -> None:
    if event.not_100:
        reactions.not_feeling_100(event.session, event.athlete_id, event.plan_reason)


def attention_of_roster(session: Session, coach: User) -> list[tuple[str, list[str]]]:
    page = progress.dashboard(session, coach, limit=500)
    return [(a.display_name, [r.message for r in a.attention]) for a in page.athletes
            if a.attention]


def plan_after_clips_changed(event: ClipsChanged) -> None:
    athlete = event.session.get(User, event.athlete_id)
    if athlete is None:
        return
    plans.on_diagnosis(event.session, athlete,
                       _summary(diagnosis.combined(event.session, event.athlete_id)))


def plan_after_onboarding(event: OnboardingCompleted) -> None:
    plans.on_onboarding_completed(event.session, event.athlete)


def install() -> None:
    """Subscribe every reaction (idempotent)."""
    events.subscribe(AnalysisFinished, plan_after_analysis)
    events.subscribe(ClipsChanged, plan_after_clips_changed)
    events.subscribe(OnboardingCompleted, plan_after_onboarding)
    events.subscribe(AnalysisFinished, notify_analysis)
    events.subscribe(AnalysisRefused, notify_refused)
    events.subscribe(CoachChangedPlan, notify_coach_change)
    events.subscribe(SessionLogged, notify_pain)
    events.subscribe(FeelingReported, notify_not_100)
    notification_tasks.attention_reader = attention_of_roster
