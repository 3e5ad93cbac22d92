"""The one sliding-window counter behind the login throttle and the rate limits, on an
injected monotonic clock: the window slides, keys are independent, a refused hit is not
counted, and keys whose events all expired are forgotten (no growth per client)."""

from __future__ import annotations

from backend.core.security import LoginThrottle, RateLimiter, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_slides_and_keys_are_independent() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock)
    assert window.hit("a") == 0
    clock.now += 20
    assert window.hit("a") == 0
    assert window.hit("a") == 41  # full: the oldest event leaves the window in 40 s
    assert window.hit("b") == 0
    clock.now += 40.5
    assert window.retry_after_s("a") == 0 and window.hit("a") == 0
    assert window.hit("a") == 20  # the second event is still in the window for 19.5 s


def test_refused_hits_do_not_count_and_old_keys_are_forgotten() -> None:
    clock = Clock()
    window = SlidingWindow(1, 10, clock)
    assert window.hit("k") == 0
    for _ in range(50):  # hammering while refused does not push the wait further out
        assert 0 < window.hit("k") <= 11
    clock.now += 10.5
    assert window.hit("k") == 0
    clock.now += 100
    window.retry_after_s("k")
    assert not window._events, "an expired key was kept"


def test_login_throttle_and_rate_limiter_keep_their_behaviour() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 300, clock)
    for _ in range(3):
        assert throttle.retry_after_s("account:x") == 0
        throttle.record_failure("account:x")
    assert throttle.retry_after_s("account:x") == 301
    throttle.reset("account:x")
    assert throttle.retry_after_s("account:x") == 0

    limiter = RateLimiter(2, 3600, clock)
    assert limiter.hit("1.2.3.4") == 0 and limiter.hit("1.2.3.4") == 0
    assert limiter.hit("1.2.3.4") == 3601
    limiter.count("5.6.7.8")  # counted after the fact (an upload that became a clip)
    assert limiter.retry_after_s("5.6.7.8") == 0
    limiter.count("5.6.7.8")
    assert limiter.retry_after_s("5.6.7.8") == 3601
