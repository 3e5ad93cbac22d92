"""The audit log: who did what to whose data, for the actions people must be able to account
for later (a coach's edits of an athlete's plan, data exports, deletions, password and account
changes). Written in the same transaction as the action, so one never exists without the
other. Never holds secrets: the detail is a small description, not the request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from backend.core.time import utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    # No foreign keys: the record outlives the accounts it names (a deleted account's
    # deletion is itself audited).
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=48)
    subject_user_id: int | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record(session: Session, action: str, *, actor_id: int | None,
           subject_user_id: int | None, **detail: Any) -> AuditEvent:
    event = AuditEvent(action=action, actor_id=actor_id, subject_user_id=subject_user_id,
                       detail=detail)
    session.add(event)
    return event


def events_about(session: Session, user_id: int, limit: int = 100) -> list[AuditEvent]:
    return list(session.exec(
        select(AuditEvent).where((col(AuditEvent.subject_user_id) == user_id)
                                 | (col(AuditEvent.actor_id) == user_id))
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)))
