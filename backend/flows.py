"""Reactions across domains, in one place: which event of one domain makes another act.

Sibling domains never import each other; each publishes what happened
(``backend.core.events``) and this module, imported only where the app or the worker is
assembled (``backend/wiring.py``), subscribes the reactions:

- ``clips.events.AnalysisFinished`` (a fit clip analysed) -> ``training.service.on_analysis``:
  the plan is re-weighted, or the first one generated (in a savepoint of the analysis's
  transaction: its failure never loses the analysis);
- ``accounts.events.OnboardingCompleted`` -> ``training.service.on_onboarding_completed``: a
  plan exists as soon as onboarding is finished, built on its answers (in the request's
  transaction: its failure fails the request).
"""

from __future__ import annotations

from backend.accounts.events import OnboardingCompleted
from backend.accounts.models import User
from backend.clips.events import AnalysisFinished
from backend.core import events
from backend.training import service as plans


def plan_after_analysis(event: AnalysisFinished) -> None:
    athlete = event.session.get(User, event.athlete_id)
    if athlete is None:
        return
    plans.on_analysis(event.session, athlete, event.report, recorded_at=event.recorded_at)


def plan_after_onboarding(event: OnboardingCompleted) -> None:
    plans.on_onboarding_completed(event.session, event.athlete)


def install() -> None:
    """Subscribe every reaction (idempotent)."""
    events.subscribe(AnalysisFinished, plan_after_analysis)
    events.subscribe(OnboardingCompleted, plan_after_onboarding)
