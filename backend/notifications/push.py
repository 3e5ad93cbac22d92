"""Web Push delivery (RFC 8030 with RFC 8291 encryption, aes128gcm, and a VAPID signature):
one payload to one browser subscription, and what the push service's answer means."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pywebpush import WebPushException, webpush

from backend.notifications.vapid import VapidKeys

# How long the push service keeps a message for a device that is offline (seconds).
PUSH_TTL_S = 24 * 3600
PUSH_TIMEOUT_S = 10.0


class Outcome(StrEnum):
    delivered = "delivered"
    gone = "gone"  # 404 / 410: the subscription expired or was revoked: remove it
    retry = "retry"  # 429, 5xx, or no answer: try again later
    rejected = "rejected"  # another 4xx: our request is wrong; retrying will not help


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    status: int | None
    detail: str = ""
    retry_after_s: float | None = None


def payload(notification_id: int, title: str, body: str, url: str, kind: str) -> str:
    """The push message: small (a push service takes about 4 kB), the rest is in the feed."""
    return json.dumps({"id": notification_id, "kind": kind, "title": title, "body": body,
                       "url": url}, separators=(",", ":"))


def send(subscription: dict[str, Any], data: str, keys: VapidKeys, subject: str) -> PushResult:
    """Send ``data`` to one subscription (``{"endpoint", "keys": {"p256dh", "auth"}}``)."""
    parts = urlsplit(subscription["endpoint"])
    claims: dict[str, str | int] = {"sub": subject, "aud": f"{parts.scheme}://{parts.netloc}"}
    try:
        resp = webpush(subscription, data=data, vapid_private_key=keys.private_key_b64,
                       vapid_claims=claims, ttl=PUSH_TTL_S, timeout=PUSH_TIMEOUT_S)
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status is None:
            return PushResult(Outcome.retry, None, str(exc)[:300])
        return _classify(status, exc.response.text[:300] if exc.response is not None else "",
                         exc.response.headers.get("Retry-After") if exc.response is not None
                         else None)
    except OSError as exc:  # the push service cannot be reached: a later try may
        return PushResult(Outcome.retry, None, str(exc)[:300])
    status = int(getattr(resp, "status_code", 201))
    return _classify(status, "", None)


def _classify(status: int, text: str, retry_after: str | None) -> PushResult:
    if 200 <= status < 300:
        return PushResult(Outcome.delivered, status)
    if status in (404, 410):
        return PushResult(Outcome.gone, status, text)
    if status == 429 or status >= 500:
        wait = None
        if retry_after is not None and retry_after.strip().isdigit():
            wait = float(retry_after.strip())
        return PushResult(Outcome.retry, status, text, wait)
    return PushResult(Outcome.rejected, status, text)
