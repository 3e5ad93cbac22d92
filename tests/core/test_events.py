"""The event hook between domains, and the flows that the app subscribes with it."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core import events


@dataclass(frozen=True)
class Happened:
    what: str


@dataclass(frozen=True)
class Other:
    what: str


def test_subscribers_get_their_events_in_order_once() -> None:
    seen: list[str] = []

    def first(event: Happened) -> None:
        seen.append(f"first {event.what}")

    def second(event: Happened) -> None:
        seen.append(f"second {event.what}")

    events.subscribe(Happened, first)
    events.subscribe(Happened, second)
    events.subscribe(Happened, first)  # subscribed twice: called once
    try:
        assert events.publish(Happened("x")) == 2
        assert events.publish(Other("y")) == 0
        assert seen == ["first x", "second x"]
        events.unsubscribe(Happened, first)
        assert events.publish(Happened("z")) == 1 and seen[-1] == "second z"
    finally:
        events.unsubscribe(Happened, first)
        events.unsubscribe(Happened, second)
    assert events.subscribers(Happened) == ()


def test_the_flows_subscribe_the_reactions_across_domains() -> None:
    from backend import flows
    from backend.accounts.events import OnboardingCompleted
    from backend.clips.events import AnalysisFinished

    flows.install()
    flows.install()
    assert events.subscribers(AnalysisFinished) == (flows.plan_after_analysis,
                                                    flows.notify_analysis)
    assert events.subscribers(OnboardingCompleted) == (flows.plan_after_onboarding,)
