"""The demo seed tells the story: a coach and two athletes whose plans have real clips and
real reports behind them, a before and an after of the same view weeks apart, and weeks of
logged sessions, dated as they happened. The clips are the shared real footage, analysed by
the registered analysis task (the worker's own code), not report rows written by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import planner
from backend.accounts import service as accounts
from backend.clips import service as clips
from backend.clips.models import Clip, ClipFault
from backend.coaching import service as coaching
from backend.core.config import Settings
from backend.demo import ATHLETES, COACH_EMAIL, seed_demo
from backend.training import service as plans
from backend.training.models import PlanVersion, SessionLogEntry
from backend.wiring import job_runtime
from tests.conftest import CLIPS_DIR

RUNNING_CLIPS = CLIPS_DIR / "running"
WEEKS = timedelta(weeks=3)


def _span(values: list) -> timedelta:  # type: ignore[type-arg]
    return max(values) - min(values)


def test_demo_seed_films_trains_and_films_again(engine: Engine, settings: Settings) -> None:
    runtime = job_runtime(settings, engine)
    messages: list[str] = []
    try:
        result = seed_demo(runtime, clips_dir=RUNNING_CLIPS, progress=messages.append)
        assert result.created and result.missing_clips is None, messages
        assert seed_demo(runtime, clips_dir=RUNNING_CLIPS).created is False  # idempotent
    finally:
        runtime.close()
    assert any("analysing" in m for m in messages)  # the seed shows its progress

    with Session(engine) as session:
        coach = accounts.get_user_by_email(session, COACH_EMAIL)
        assert coach is not None
        assert len(coaching.roster(session, coach)) == len(ATHLETES)
        refused = 0
        for email, _name, _profile in ATHLETES:
            athlete = accounts.get_user_by_email(session, email)
            assert athlete is not None
            states = [clips.read_clip(session, c) for c in session.exec(
                select(Clip).where(Clip.athlete_id == athlete.pk)).all()]
            assert all(s.status == "succeeded" for s in states), states
            fit = sorted((s for s in states if s.fit), key=lambda s: s.recorded_at)
            refused += sum(s.outcome == "unfit" for s in states)

            # A before and an after: two different films of one view, weeks apart.
            by_view: dict[str, list] = {}  # type: ignore[type-arg]
            for s in fit:
                by_view.setdefault(s.view, []).append(s)
            pairs = [(v[0], v[-1]) for v in by_view.values() if len(v) >= 2]
            assert pairs, f"{email}: no before and after of one view: {states}"
            before, after = pairs[0]
            assert before.sha256 != after.sha256
            assert after.recorded_at - before.recorded_at >= WEEKS

            # The plan's analyses are those reports: their dates and their faults.
            faults = session.exec(select(ClipFault).where(ClipFault.athlete_id == athlete.pk)
                                  ).all()
            assert {f.clip_id for f in faults} >= {before.id, after.id}
            fit_days = {s.recorded_at.date() for s in fit}
            rows = session.exec(select(PlanVersion).where(PlanVersion.athlete_id == athlete.pk)
                                .order_by(col(PlanVersion.id))).all()
            analysed = [planner.Plan.from_dict(r.data).analysis for r in rows]
            assert analysed[0] is None  # onboarding: before any clip
            assert any(a is not None for a in analysed)
            for a in analysed:
                if a is not None:
                    assert a.recorded_at in fit_days, (a.recorded_at, fit_days)
                    assert {f.code for f in a.faults} <= {f.code for f in faults}
            _row, plan = plans.require_current(session, athlete.pk)
            assert plan.analysis is not None
            assert plan.analysis.recorded_at == after.recorded_at.date()  # the latest film

            # History spread over weeks, dated as it happened.
            logs = session.exec(select(SessionLogEntry)
                                .where(SessionLogEntry.athlete_id == athlete.pk)).all()
            assert len(logs) >= 6
            assert _span([g.logged_on for g in logs]) >= WEEKS
            assert _span([g.created_at for g in logs]) >= WEEKS
            assert len({g.rpe for g in logs}) > 1
            assert _span([r.created_at for r in rows]) >= WEEKS
            assert _span([s.timings.uploaded_at for s in states]) >= WEEKS
            rates = plans.compliance(session, athlete)
            assert 0 < rates[30] < 1.0  # one session was skipped on purpose
        assert refused >= 1  # a refused clip in the history, for a true reason

        # Ada logged pain 4 late in the block: a regression and an open coach flag.
        ada = accounts.get_user_by_email(session, ATHLETES[0][0])
        assert ada is not None
        assert "Pain 4/10" in " ".join(v.reason for v in session.exec(
            select(PlanVersion).where(PlanVersion.athlete_id == ada.pk)).all())
        assert plans.coach_flags(session, ada.pk)


def test_demo_seed_without_the_clips_seeds_the_rest(engine: Engine, settings: Settings,
                                                    tmp_path: Path) -> None:
    runtime = job_runtime(settings, engine)
    messages: list[str] = []
    try:
        result = seed_demo(runtime, clips_dir=tmp_path / "no-clips", progress=messages.append)
    finally:
        runtime.close()
    assert result.created and result.clips == 0
    assert result.missing_clips and "no-clips" in result.missing_clips
    assert any("missing" in m for m in messages)
    with Session(engine) as session:
        for email, _name, _profile in ATHLETES:
            athlete = accounts.get_user_by_email(session, email)
            assert athlete is not None
            assert not session.exec(select(Clip).where(Clip.athlete_id == athlete.pk)).all()
            rows = session.exec(select(PlanVersion)
                                .where(PlanVersion.athlete_id == athlete.pk)).all()
            assert rows
            # No plan claims an analysis that has no clip behind it.
            assert all(planner.Plan.from_dict(r.data).analysis is None for r in rows)
            assert session.exec(select(SessionLogEntry)
                                .where(SessionLogEntry.athlete_id == athlete.pk)).all()
