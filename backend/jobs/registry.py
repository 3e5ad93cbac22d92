"""The tasks a job runtime can run, registered by name, and the periodic ones with their
interval. Each domain registers its own in its ``tasks.py``; the process that assembles the
app or the worker imports those modules (``backend/wiring.py``), so the runtime itself knows
no domain and a new task or schedule needs no change to it.

    from backend.jobs.registry import registry

    @registry.task("send_digest")
    def send_digest(runtime: JobRuntime, athlete_id: int) -> None: ...

    @registry.periodic("weekly_digest", every=7 * 24 * 3600)
    def weekly_digest(runtime: JobRuntime) -> None: ...

A task's handler gets the runtime (its settings, engine, ``stopping`` event and ``send``)
and the arguments it was sent with (JSON-like values: huey pickles them). A periodic task's
``every`` is seconds, or a function of the settings (``lambda s: s.reaper_interval_s``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.core.config import Settings

# A handler's first argument is the JobRuntime that runs it (not named here: the runtime
# imports this module).
Handler = Callable[..., Any]
Interval = float | Callable[[Settings], float]


@dataclass(frozen=True)
class Task:
    name: str
    handler: Handler


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    handler: Callable[[Any], Any]
    every: Interval
    # Run once when a process starts taking jobs (recovery of what a previous run left).
    at_start: bool = True

    def interval_s(self, settings: Settings) -> float:
        every = self.every(settings) if callable(self.every) else self.every
        return float(every)


class DuplicateTaskError(ValueError):
    """Two different handlers registered under one name."""


class TaskRegistry:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.periodic_tasks: dict[str, PeriodicTask] = {}

    def add_task(self, name: str, handler: Handler) -> Task:
        known = self.tasks.get(name)
        if known is not None and known.handler is not handler:
            raise DuplicateTaskError(f"task {name!r} is registered already")
        self.tasks[name] = Task(name, handler)
        return self.tasks[name]

    def add_periodic(self, name: str, handler: Callable[[Any], Any], every: Interval,
                     at_start: bool = True) -> PeriodicTask:
        known = self.periodic_tasks.get(name)
        if known is not None and known.handler is not handler:
            raise DuplicateTaskError(f"periodic task {name!r} is registered already")
        if len(name) > 64:
            raise ValueError(f"periodic task name {name!r} is longer than 64 characters")
        self.periodic_tasks[name] = PeriodicTask(name, handler, every, at_start)
        return self.periodic_tasks[name]

    def task(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler(runtime, *args)`` as the task ``name``."""

        def register(handler: Handler) -> Handler:
            self.add_task(name, handler)
            return handler

        return register

    def periodic(self, name: str, every: Interval,
                 at_start: bool = True) -> Callable[[Handler], Handler]:
        """Decorator: run ``handler(runtime)`` every ``every`` seconds, once per interval
        across all processes (a lease on its ``periodic_task`` row)."""

        def register(handler: Handler) -> Handler:
            self.add_periodic(name, handler, every, at_start)
            return handler

        return register


# The registry of the application: domains' tasks.py modules register into it.
registry = TaskRegistry()
