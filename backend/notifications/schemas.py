"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from backend.accounts.schemas import LocalTime

Base64Url = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]+=*$", min_length=16,
                                             max_length=200)]


class PublicKey(BaseModel):
    public_key: str = Field(description="The VAPID application server key (base64url, "
                            "uncompressed P-256 point): PushManager.subscribe's "
                            "applicationServerKey.")


class SubscriptionKeys(BaseModel):
    p256dh: Base64Url
    auth: Base64Url


class SubscriptionIn(BaseModel):
    """A PushSubscription as the browser gives it (``subscription.toJSON()``)."""

    endpoint: str = Field(max_length=1024, description="The push service URL (https).")
    keys: SubscriptionKeys
    expirationTime: float | None = None  # the browser's own name

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the endpoint must be the push service's URL (https://...), as "
                             "PushSubscription.toJSON() gives it")
        return value


class SubscriptionPublic(BaseModel):
    id: int
    endpoint: str
    created_at: datetime


class NotificationPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    url: str = Field(description="The app route the notification opens.")
    created_at: datetime
    read_at: datetime | None
    push_state: str = Field(description="pending (held by quiet hours or retrying), sent, "
                            "no_device (no browser subscribed), failed, or sending.")


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    total: int
    unread: int
    limit: int
    offset: int


class ReadAll(BaseModel):
    marked: int


class QuietHours(BaseModel):
    start: LocalTime
    end: LocalTime


class WeeklyPlanTime(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0=Monday .. 6=Sunday")
    time: LocalTime
    time_zone: str


class Preferences(BaseModel):
    kinds: dict[str, bool] = Field(description="Each kind of notification and whether it is on.")
    quiet_hours: QuietHours | None = Field(
        description="Pushes are held until the end (local time); null: none.")
    weekly_plan: WeeklyPlanTime | None = Field(
        description="When the weekly plan notification comes (athletes; the profile's "
        "notify_weekday, notify_time and time_zone).")


class PreferencesUpdate(BaseModel):
    kinds: dict[str, bool] | None = None
    quiet_hours: QuietHours | None = None
    no_quiet_hours: bool = Field(default=False, description="Turn the quiet hours off.")
    weekly_plan_weekday: int | None = Field(default=None, ge=0, le=6)
    weekly_plan_time: LocalTime | None = None

    @field_validator("weekly_plan_time")
    @classmethod
    def _local(cls, value: time | None) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("give the local time without a UTC offset, like '18:00'")
        return value
