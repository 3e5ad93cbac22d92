"""Hypothesis strategies and small builders shared by the planner tests."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from backend.planner import AnalysisSummary, ChainFinding, FaultFinding, PlannerProfile
from backend.planner.types import BACKGROUNDS, CHAIN_LINKS, EQUIPMENT, FAULT_CODES, SEVERITIES

INJURIES = ("achilles tendinopathy", "hamstring strain", "hip pain", "runner's knee", "")
TIME_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney")


def profiles() -> st.SearchStrategy[PlannerProfile]:
    return st.builds(
        PlannerProfile,
        block_start=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
        running_background=st.sampled_from(BACKGROUNDS),
        weekly_km=st.floats(0, 160, allow_nan=False),
        injuries=st.lists(st.sampled_from(INJURIES), max_size=2, unique=True).map(tuple),
        equipment=st.sets(st.sampled_from(EQUIPMENT), min_size=1).map(frozenset),
        strength_weekdays=st.lists(st.integers(0, 6), max_size=7, unique=True).map(tuple),
        time_zone=st.sampled_from(TIME_ZONES),
    )


def faults() -> st.SearchStrategy[FaultFinding]:
    return st.builds(
        FaultFinding,
        code=st.sampled_from(FAULT_CODES),
        severity=st.sampled_from(SEVERITIES),
        side=st.sampled_from((None, "left", "right")),
        confidence=st.floats(0, 1, allow_nan=False),
    )


def chain_links() -> st.SearchStrategy[ChainFinding]:
    return st.builds(
        ChainFinding,
        link=st.sampled_from(CHAIN_LINKS),
        confidence=st.floats(0, 1, allow_nan=False),
        reasoning=st.sampled_from(("", "seen at mid-stance")),
    )


@st.composite
def analyses(draw: st.DrawFn, recorded_at: date) -> AnalysisSummary:
    return AnalysisSummary(
        recorded_at=recorded_at,
        faults=tuple(draw(st.lists(faults(), max_size=8))),
        chain=tuple(draw(st.lists(chain_links(), max_size=4))),
    )


@st.composite
def profile_and_analysis(
    draw: st.DrawFn, *, allow_none: bool = True
) -> tuple[PlannerProfile, AnalysisSummary | None]:
    profile = draw(profiles())
    day_before = profile.block_start - timedelta(days=1)
    if allow_none and draw(st.booleans()):
        return profile, None
    return profile, draw(analyses(day_before))


def fault(
    code: str, severity: str = "moderate", side: str | None = None, c: float = 0.9
) -> FaultFinding:
    return FaultFinding(code, severity, side, c)


def analysis(
    *found: FaultFinding, on: date = date(2025, 3, 1), chain: tuple[ChainFinding, ...] = ()
) -> AnalysisSummary:
    return AnalysisSummary(on, tuple(found), chain)


def profile(**kw: object) -> PlannerProfile:
    base: dict[str, object] = {"block_start": date(2025, 3, 3)}  # a Monday
    base.update(kw)
    return PlannerProfile(**base)  # type: ignore[arg-type]
