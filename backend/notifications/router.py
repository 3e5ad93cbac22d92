"""Notifications API: the VAPID key, push subscriptions, the in-app feed and preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import AthleteProfile, Role
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.notifications import service
from backend.notifications.models import Notification
from backend.notifications.schemas import (
    NotificationPage,
    NotificationPublic,
    Preferences,
    PreferencesUpdate,
    PublicKey,
    QuietHours,
    ReadAll,
    SubscriptionIn,
    SubscriptionPublic,
    WeeklyPlanTime,
)

push_router = APIRouter(prefix="/push", tags=["notifications"], responses=ERROR_RESPONSES)
notifications_router = APIRouter(prefix="/notifications", tags=["notifications"],
                                 responses=ERROR_RESPONSES)


@push_router.get("/public-key", response_model=PublicKey,
                 summary="The VAPID key to subscribe a browser with")
def read_public_key(settings: SettingsDep) -> PublicKey:
    return PublicKey(public_key=service.vapid_keys(settings).public_key_b64)


@push_router.post("/subscriptions", status_code=status.HTTP_201_CREATED,
                  response_model=SubscriptionPublic,
                  summary="Subscribe this browser to push notifications")
def create_subscription(body: SubscriptionIn, user: CurrentUser, session: SessionDep,
                        request: Request) -> SubscriptionPublic:
    row = service.subscribe(session, user, body.endpoint, body.keys.p256dh, body.keys.auth,
                            request.headers.get("user-agent", "")[:300] or None)
    return SubscriptionPublic(id=row.id or 0, endpoint=row.endpoint, created_at=row.created_at)


@push_router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
                    response_class=Response, summary="Unsubscribe a browser")
def delete_subscription(subscription_id: int, user: CurrentUser,
                        session: SessionDep) -> Response:
    service.unsubscribe(session, user, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _public(row: Notification) -> NotificationPublic:
    return NotificationPublic(id=row.id or 0, kind=row.kind, title=row.title, body=row.body,
                              url=row.url, created_at=row.created_at, read_at=row.read_at,
                              push_state=row.push_state)


@notifications_router.get("", response_model=NotificationPage,
                          summary="The in-app notification feed, newest first")
def list_notifications(user: CurrentUser, session: SessionDep,
                       unread_only: bool = False,
                       limit: Annotated[int, Query(ge=1, le=100)] = 20,
                       offset: Annotated[int, Query(ge=0)] = 0) -> NotificationPage:
    page = service.feed(session, user, unread_only=unread_only, limit=limit, offset=offset)
    return NotificationPage(items=[_public(n) for n in page.items], total=page.total,
                            unread=page.unread, limit=limit, offset=offset)


@notifications_router.post("/{notification_id}/read", response_model=NotificationPublic,
                           summary="Mark a notification read")
def read_notification(notification_id: int, user: CurrentUser,
                      session: SessionDep) -> NotificationPublic:
    return _public(service.mark_read(session, user, notification_id))


@notifications_router.post("/read-all", response_model=ReadAll,
                           summary="Mark every notification read")
def read_all(user: CurrentUser, session: SessionDep) -> ReadAll:
    return ReadAll(marked=service.mark_all_read(session, user))


def _preferences(session: SessionDep, user: CurrentUser) -> Preferences:
    pref = service.preferences(session, user)
    kinds = {k.value: k.value not in pref.muted_kinds for k in service.kinds_for(user.role)}
    quiet = (QuietHours(start=pref.quiet_start, end=pref.quiet_end)
             if pref.quiet_start is not None and pref.quiet_end is not None else None)
    weekly = None
    if user.role == Role.athlete.value:
        profile = session.get(AthleteProfile, user.pk)
        if profile is not None:
            weekly = WeeklyPlanTime(weekday=profile.notify_weekday, time=profile.notify_time,
                                    time_zone=profile.time_zone)
    return Preferences(kinds=kinds, quiet_hours=quiet, weekly_plan=weekly)


@notifications_router.get("/preferences", response_model=Preferences,
                          summary="Which notifications come, and when")
def read_preferences(user: CurrentUser, session: SessionDep) -> Preferences:
    return _preferences(session, user)


@notifications_router.put("/preferences", response_model=Preferences,
                          summary="Turn kinds on or off, set quiet hours and the weekly time")
def update_preferences(body: PreferencesUpdate, user: CurrentUser,
                       session: SessionDep) -> Preferences:
    service.update_preferences(
        session, user, enabled=body.kinds,
        quiet_start=body.quiet_hours.start if body.quiet_hours else None,
        quiet_end=body.quiet_hours.end if body.quiet_hours else None,
        quiet_hours=False if body.no_quiet_hours else None)
    if body.weekly_plan_weekday is not None or body.weekly_plan_time is not None:
        service.set_weekly_time(session, user, body.weekly_plan_weekday, body.weekly_plan_time)
    return _preferences(session, user)
