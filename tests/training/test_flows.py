"""The reactions across domains go through the event hook: clips announces a fit analysis
and the plan adapts only because flows.py subscribed plans to it; a reaction that fails
never loses the analysis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend import flows
from backend.accounts.models import Role, User
from backend.accounts.service import create_user
from backend.clips import service
from backend.clips.events import AnalysisFinished
from backend.clips.models import Clip
from backend.core import events
from backend.core.time import utcnow
from backend.training.models import PlanVersion
from tests.clips.test_unfit import UNFIT_REPORT

FIT_REPORT = {**UNFIT_REPORT, "clip_quality": {"fit": True}}


@pytest.fixture
def athlete_clip(engine: Engine) -> tuple[User, Clip]:
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email="flows@example.com", password="long-passphrase-1",
                           role=Role.athlete, display_name="Runner")
        session.flush()
        clip = Clip(athlete_id=user.pk, sha256="d" * 64, size_bytes=10, storage_key="k",
                    recorded_at=utcnow(), container="mp4", codec="h264", duration_s=4.0,
                    fps=30.0, frame_count=120, width=360, height=640)
        session.add(clip)
        session.commit()
        return user, clip


@pytest.fixture
def no_flows() -> Iterator[None]:
    events.unsubscribe(AnalysisFinished, flows.plan_after_analysis)
    try:
        yield
    finally:
        flows.install()


def _versions(engine: Engine, athlete_id: int) -> list[PlanVersion]:
    with Session(engine) as session:
        return list(session.exec(select(PlanVersion)
                                 .where(PlanVersion.athlete_id == athlete_id)).all())


def _announce(engine: Engine, clip: Clip, report: dict[str, object]) -> None:
    with Session(engine, expire_on_commit=False) as session:
        service.announce_analysis(session, clip, report)
        session.commit()


def test_a_fit_analysis_adapts_the_plan_through_the_flow(
        engine: Engine, athlete_clip: tuple[User, Clip]) -> None:
    user, clip = athlete_clip
    flows.install()
    _announce(engine, clip, FIT_REPORT)
    versions = _versions(engine, user.pk)
    assert len(versions) == 1 and versions[0].kind == "analysis"
    _announce(engine, clip, UNFIT_REPORT)  # unfit: nothing announced, nothing changes
    assert len(_versions(engine, user.pk)) == 1


def test_clips_does_not_call_plans_itself(engine: Engine, athlete_clip: tuple[User, Clip],
                                          no_flows: None) -> None:
    user, clip = athlete_clip
    _announce(engine, clip, FIT_REPORT)
    assert _versions(engine, user.pk) == []


def test_a_failing_reaction_never_loses_the_analysis(
        engine: Engine, athlete_clip: tuple[User, Clip], no_flows: None) -> None:
    user, clip = athlete_clip
    seen: list[int] = []

    def broken(event: AnalysisFinished) -> None:
        seen.append(event.clip_id)
        raise RuntimeError("the plans database table is locked")

    events.subscribe(AnalysisFinished, broken)
    try:
        with Session(engine, expire_on_commit=False) as session:
            service.announce_analysis(session, clip, FIT_REPORT)
            session.add(Clip(athlete_id=user.pk, sha256="e" * 64, size_bytes=1,
                             storage_key="k2", recorded_at=utcnow(), container="mp4",
                             codec="h264", duration_s=4.0, fps=30.0, frame_count=120,
                             width=360, height=640))
            session.commit()  # the transaction goes on after the failed reaction
    finally:
        events.unsubscribe(AnalysisFinished, broken)
    assert seen == [clip.id]
    with Session(engine) as session:
        assert len(session.exec(select(Clip).where(Clip.athlete_id == user.pk)).all()) == 2
