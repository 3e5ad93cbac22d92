"""The demo seed gives a new user a living app: a coach, two athletes, plans with history."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.accounts import service as accounts
from backend.coaching import service as coaching
from backend.demo import ATHLETES, COACH_EMAIL, seed_demo
from backend.training import service as plans
from backend.training.models import PlanVersion, SessionLogEntry


def test_demo_seed_builds_plans_with_history(engine: Engine) -> None:
    with Session(engine) as session:
        assert seed_demo(session) is True
        session.commit()
        assert seed_demo(session) is False  # idempotent

        coach = accounts.get_user_by_email(session, COACH_EMAIL)
        assert coach is not None
        roster = coaching.roster(session, coach)
        assert len(roster) == len(ATHLETES)

        ada = accounts.get_user_by_email(session, ATHLETES[0][0])
        ben = accounts.get_user_by_email(session, ATHLETES[1][0])
        assert ada is not None and ben is not None
        for athlete in (ada, ben):
            kinds = [v.kind for v in session.exec(
                select(PlanVersion).where(PlanVersion.athlete_id == athlete.pk)
                .order_by(PlanVersion.version)).all()]
            assert kinds[:2] == ["onboarding", "new_analysis"], kinds
            logs = session.exec(select(SessionLogEntry)
                                .where(SessionLogEntry.athlete_id == athlete.pk)).all()
            assert len(logs) >= 3
            rates = plans.compliance(session, athlete)
            assert 0 < rates[30] < 1.0  # one session was skipped on purpose

        # Ada logged pain 4 on the single-leg deadlift: a regression and an open coach flag.
        _row, plan = plans.require_current(session, ada.pk)
        assert "Pain 4/10" in " ".join(v.reason for v in session.exec(
            select(PlanVersion).where(PlanVersion.athlete_id == ada.pk)).all())
        flags = plans.coach_flags(session, ada.pk)
        assert any(f.exercise_code == "single_leg_deadlift" for f in flags)
        assert plan.analysis is not None
        assert {f.code for f in plan.analysis.faults} >= {"hip_drop", "arm_crossover"}
