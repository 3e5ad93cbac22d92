"""The one clock helper: timezone-aware UTC now (every ``*_at`` column is stored in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
