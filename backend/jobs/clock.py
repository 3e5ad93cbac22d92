"""The jobs' clock, and the one seam where tests move it.

Two clocks, for two different questions:

- ``now()``, the wall clock (UTC), for the instants written into rows that several processes
  compare: a lease's expiry, a periodic task's next run. It can jump (an NTP step, a VM
  resumed, someone setting the date), forward or back.
- ``monotonic()``, for how much time passed inside one process: it never jumps.

Code that compares instants from rows therefore guards against jumps: the reaper holds off
for one lease after this process's wall clock jumped forward (live workers renew meanwhile),
and an instant further ahead than one period can only come from a clock that went back, so it
is brought back to one period (``reaper.py``, ``periodic.py``). ``JumpWatch`` notices a jump:
wall minus monotonic stays put unless the wall clock is stepped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from backend.core.time import utcnow


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


_clock: Clock = SystemClock()


def now() -> datetime:
    """Timezone-aware UTC wall-clock time."""
    return _clock.now()


def monotonic() -> float:
    return _clock.monotonic()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Run the jobs on ``clock`` (tests: a wall clock that jumps)."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous


# Stepping the clock moves wall minus monotonic at once; NTP's slewing moves it by at most
# 0.5 ms a second, far below this between two checks.
JUMP_TOLERANCE_S = 2.0


class JumpWatch:
    """How far the wall clock jumped since the last ``check`` (0.0 when it did not)."""

    def __init__(self, tolerance_s: float = JUMP_TOLERANCE_S) -> None:
        self.tolerance_s = tolerance_s
        self._offset: float | None = None

    def check(self) -> float:
        offset = now().timestamp() - monotonic()
        previous, self._offset = self._offset, offset
        if previous is None or abs(offset - previous) <= self.tolerance_s:
            return 0.0
        return offset - previous
