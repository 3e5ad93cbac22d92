"""A small event hook for reactions across domains, so that sibling domains never import
each other: the domain where something happens publishes an event (a frozen dataclass
defined in its own ``events.py``), and the reactions are subscribed when the app or the
worker is assembled (``backend/flows.py``).

    publish(AnalysisFinished(...))          # clips: a fit clip was analysed
    subscribe(AnalysisFinished, handler)    # flows: ... so the plan adapts

Handlers run synchronously, in the publisher's thread and transaction (the event carries
the database session where there is one), in the order they subscribed; an exception goes
to the publisher, which decides whether it may fail the work (``clips`` keeps the analysis
and logs it; onboarding fails the request).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

E = TypeVar("E")

_lock = threading.Lock()
_subscribers: dict[type[Any], list[Callable[[Any], None]]] = {}


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler(event)`` for every published ``event_type`` (once, however many times
    it is subscribed)."""
    with _lock:
        handlers = _subscribers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    with _lock:
        handlers = _subscribers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)


def subscribers(event_type: type[Any]) -> tuple[Callable[[Any], None], ...]:
    with _lock:
        return tuple(_subscribers.get(event_type, ()))


def publish(event: object) -> int:
    """Run the handlers of ``type(event)``; how many ran."""
    handlers = subscribers(type(event))
    for handler in handlers:
        handler(event)
    return len(handlers)
