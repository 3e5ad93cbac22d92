"""The notification feed, the devices subscribed to Web Push and each user's preferences."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.time import utcnow


class Notification(SQLModel, table=True):
    """One notification: the in-app feed's entry and the push payload's source. ``dedupe_key``
    makes a notification happen once (the weekly plan: ``weekly_plan:2026-W49``) whatever the
    number of workers, restarts or clock changes."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notification_dedupe"),
        # The push sweep's question: what is pending and due.
        Index("ix_notification_push_due", "push_state", "push_after"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    title: str = Field(max_length=120)
    body: str = Field(max_length=400)
    url: str = Field(max_length=200, description="The app route the notification opens.")
    dedupe_key: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # Quiet hours: pushed no earlier than this (UTC); None: at once.
    push_after: datetime | None = Field(default=None)
    # pending | sent | no_device | failed | off (push not wanted for this kind)
    push_state: str = Field(max_length=16, default="pending")
    push_attempts: int = Field(default=0)
    pushed_at: datetime | None = Field(default=None)
    read_at: datetime | None = Field(default=None)


class PushSubscription(SQLModel, table=True):
    """A browser's push subscription (several devices per user; a device shared by two
    accounts holds one subscription for each)."""

    __tablename__ = "push_subscription"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", name="uq_push_subscription"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    endpoint: str = Field(max_length=1024)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    user_agent: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    last_success_at: datetime | None = Field(default=None)


class NotificationPreference(SQLModel, table=True):
    """Which notifications a user wants and when not to be disturbed (their own time zone:
    the athlete profile's, else the account's). The weekly plan's weekday and time are the
    athlete profile's ``notify_weekday`` and ``notify_time``."""

    __tablename__ = "notification_preference"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    # Kinds turned off (the feed keeps nothing of them either).
    muted_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quiet_start: time | None = Field(default=time(22, 0))
    quiet_end: time | None = Field(default=time(7, 0))
    updated_at: datetime = Field(default_factory=utcnow)
