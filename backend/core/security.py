"""Password hashing (argon2 through pwdlib), password policy, access tokens and login throttling."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from backend.core.config import Settings
from backend.core.errors import AuthenticationError, InvalidInputError

password_hash = PasswordHash((Argon2Hasher(),))

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# A short list of passwords that top every breach list; length alone does not stop these.
_COMMON_PASSWORDS = {
    "password12", "password123", "1234567890", "qwertyuiop", "12345678910",
    "iloveyou12", "password1!", "letmein123", "welcome123", "abcdefghij",
}


def check_password_policy(password: str, *, email: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"Password too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(a short phrase works well)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"Password too long: at most {MAX_PASSWORD_LENGTH} characters.")
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise InvalidInputError("Password too easy to guess: choose a less common one.")
    if email and password.lower() == email.lower():
        raise InvalidInputError("Password must not be the same as the email address.")


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """Check a password; the second value is a new hash when the stored one is outdated."""
    return password_hash.verify_and_update(password, hashed)


def create_access_token(subject: str, settings: Settings, *, role: str,
                        session_id: str) -> tuple[str, int]:
    """A short-lived access token of the login session ``session_id`` (``sid``): revoking
    the session (logout, a password change, a disabled account) ends its tokens at once."""
    expires_in = settings.access_token_expire_minutes * 60
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "sid": session_id,
        "role": role,
        "iat": now,
        "exp": now + timedelta(seconds=expires_in),
        "typ": "access",
    }
    token = jwt.encode(payload, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    return token, expires_in


def decode_access_token(token: str, settings: Settings) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "sid"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("Access token expired: log in again.",
                                  code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError("Invalid access token: log in again.",
                                  code="invalid_token") from exc
    if payload.get("typ") != "access":
        raise AuthenticationError("Not an access token.", code="invalid_token")
    return payload


class SlidingWindow:
    """Events per key within a sliding window of ``window_s`` seconds, on the monotonic
    clock (a wall-clock jump neither frees nor blocks anyone). The one counter behind the
    login throttle and the rate limits.

    In-process: each API process counts on its own, so behind a load balancer with N
    processes the effective limit is N times the setting.
    """

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._events.get(key)
        if q is None:
            return deque()
        while q and now - q[0] > self.window_s:
            q.popleft()
        if not q:  # keys seen once must not pile up (one per client address or user)
            del self._events[key]
        return q

    def _wait(self, q: deque[float], now: float) -> int:
        if len(q) < self.limit:
            return 0
        return max(1, int(self.window_s - (now - q[0])) + 1)

    def retry_after_s(self, key: str) -> int:
        """Seconds until the key has room for one more event, 0 when it has room now."""
        now = self._clock()
        with self._lock:
            return self._wait(self._prune(key, now), now)

    def add(self, key: str) -> None:
        """Count one event, whatever the count."""
        now = self._clock()
        with self._lock:
            q = self._prune(key, now)
            q.append(now)
            self._events[key] = q

    def hit(self, key: str) -> int:
        """Count one event if there is room (returns 0), else the seconds to wait (the event
        not counted). Checked and counted under one lock, so concurrent hits cannot overrun."""
        now = self._clock()
        with self._lock:
            q = self._prune(key, now)
            wait = self._wait(q, now)
            if not wait:
                q.append(now)
                self._events[key] = q
            return wait

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


class LoginThrottle:
    """Failed-login counter per key within a sliding window (a :class:`SlidingWindow`)."""

    def __init__(self, max_failures: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._window = SlidingWindow(max_failures, window_s, clock)

    def retry_after_s(self, key: str) -> int:
        """Seconds until the key may try again, 0 when allowed now."""
        return self._window.retry_after_s(key)

    def record_failure(self, key: str) -> None:
        self._window.add(key)

    def reset(self, key: str) -> None:
        self._window.reset(key)


def new_secret_token() -> str:
    """A random token to hand out once (refresh, password reset); only its digest is kept."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RateLimiter:
    """At most ``limit`` events per key in a sliding window (in-process, like LoginThrottle)."""

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window = SlidingWindow(limit, window_s, clock)

    def retry_after_s(self, key: str) -> int:
        """Seconds to wait before the next event would be allowed, 0 when allowed now
        (nothing counted)."""
        return self._window.retry_after_s(key)

    def hit(self, key: str) -> int:
        """Count an event; the seconds to wait when over the limit (the event not counted),
        else 0."""
        return self._window.hit(key)

    def count(self, key: str) -> None:
        """Count an event that was let through after :meth:`retry_after_s` said 0 (for events
        known to count only once they succeeded)."""
        self._window.add(key)
