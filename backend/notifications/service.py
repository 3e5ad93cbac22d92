"""Notifications: created in the feed (the record), pushed to the user's devices when their
quiet hours allow, each kind switchable; the weekly plan notification once per athlete per ISO
week at their own weekday and time.

Delivery is a sweep over the feed (``push_due``, a periodic task): a notification's push state
lives in its row, so a restart, a second worker or a push service that is down loses nothing
and sends nothing twice (the periodic task runs in one process at a time)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import AthleteProfile, Role, User
from backend.core.config import Settings
from backend.core.errors import InvalidInputError, NotFoundError
from backend.core.time import utcnow
from backend.notifications import push
from backend.notifications.models import Notification, NotificationPreference, PushSubscription
from backend.notifications.vapid import VapidKeys, load_or_create

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    """What a notification is about; each can be turned off by its user."""

    weekly_plan = "weekly_plan"  # athlete: the coming week's plan and the cue of the week
    session_day = "session_day"  # athlete: the morning of a strength session (opt-in)
    analysis = "analysis"  # athlete: a clip's analysis finished, or was refused and why
    coach_change = "coach_change"  # athlete: the coach changed the plan or left a note
    athlete_clip = "athlete_clip"  # coach: an athlete uploaded a clip
    athlete_pain = "athlete_pain"  # coach: an athlete reported pain of 4 or more
    athlete_not_100 = "athlete_not_100"  # coach: an athlete is not feeling 100 %
    coach_digest = "coach_digest"  # coach: the weekly digest of who needs attention


ATHLETE_KINDS = (Kind.weekly_plan, Kind.session_day, Kind.analysis, Kind.coach_change)
COACH_KINDS = (Kind.athlete_clip, Kind.athlete_pain, Kind.athlete_not_100, Kind.coach_digest)
# Sent at a time the user chose: quiet hours do not hold them.
TIMED_BY_USER = (Kind.weekly_plan, Kind.session_day)
# Opt-in kinds: off until the user turns them on.
OFF_BY_DEFAULT = (Kind.session_day,)

# A weekly moment missed (the service was down) is still kept this long after it; later,
# and for an athlete who joins after this week's moment, the next week's comes instead.
WEEKLY_CATCH_UP = timedelta(hours=24)

PUSH_MAX_ATTEMPTS = 6
PUSH_BACKOFF_S = (30.0, 120.0, 600.0, 1800.0, 3600.0)
# A push taken by a sweep that never finished (its process died) is taken again after this.
PUSH_CLAIM_STALE = timedelta(minutes=5)
PUSH_BATCH = 200


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def kinds_for(role: str) -> tuple[Kind, ...]:
    return COACH_KINDS if role == Role.coach.value else ATHLETE_KINDS


# ---------------------------------------------------------------------------- preferences


def preferences(session: Session, user: User) -> NotificationPreference:
    """The user's preferences (defaults until they change them; not stored by reading)."""
    pref = session.get(NotificationPreference, user.pk)
    if pref is None:
        pref = NotificationPreference(user_id=user.pk,
                                      muted_kinds=[k.value for k in OFF_BY_DEFAULT])
    return pref


def zone_of(session: Session, user: User) -> ZoneInfo:
    profile = session.get(AthleteProfile, user.pk)
    return _zone((profile.time_zone if profile is not None else None) or user.time_zone)


def update_preferences(session: Session, user: User, *, enabled: dict[str, bool] | None = None,
                       quiet_start: time | None = None, quiet_end: time | None = None,
                       quiet_hours: bool | None = None) -> NotificationPreference:
    """Switch kinds on or off and set the quiet hours (``quiet_hours=False``: none)."""
    pref = preferences(session, user)
    allowed = {k.value for k in kinds_for(user.role)}
    muted = set(pref.muted_kinds)
    for name, on in (enabled or {}).items():
        if name not in allowed:
            raise InvalidInputError(
                f"Unknown notification kind {name!r} for a {user.role}: use one of "
                f"{', '.join(sorted(allowed))}.", code="unknown_notification_kind")
        (muted.discard if on else muted.add)(name)
    pref.muted_kinds = sorted(muted)
    if quiet_hours is False:
        pref.quiet_start = pref.quiet_end = None
    elif quiet_start is not None or quiet_end is not None:
        start = quiet_start or pref.quiet_start or time(22, 0)
        end = quiet_end or pref.quiet_end or time(7, 0)
        if start == end:
            raise InvalidInputError("Quiet hours must start and end at different times.",
                                    code="quiet_hours_empty")
        pref.quiet_start, pref.quiet_end = start, end
    pref.updated_at = utcnow()
    session.add(pref)
    session.flush()
    return pref


def set_weekly_time(session: Session, user: User, weekday: int | None,
                    at: time | None) -> AthleteProfile:
    """The weekday and local time of the weekly plan notification (athletes)."""
    if user.role != Role.athlete.value:
        raise InvalidInputError("Only athletes get the weekly plan notification; a coach gets "
                                "the weekly digest (kind coach_digest).",
                                code="weekly_plan_athletes_only")
    profile = session.get(AthleteProfile, user.pk)
    if profile is None:
        profile = AthleteProfile(user_id=user.pk, time_zone=user.time_zone)
    if weekday is not None:
        profile.notify_weekday = weekday
    if at is not None:
        profile.notify_time = at
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def quiet_until(pref: NotificationPreference, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When ``now`` (UTC) falls in the quiet hours, the UTC moment they end; else None."""
    if pref.quiet_start is None or pref.quiet_end is None:
        return None
    local = as_utc(now).astimezone(zone)
    t = local.time().replace(tzinfo=None)
    start, end = pref.quiet_start, pref.quiet_end
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    end_local = datetime.combine(end_day, end, tzinfo=zone)
    return end_local.astimezone(UTC)


# ---------------------------------------------------------------------------- the feed


def notify(session: Session, user: User, kind: Kind, title: str, body: str, url: str, *,
           dedupe_key: str | None = None, now: datetime | None = None) -> Notification | None:
    """Add a notification to ``user``'s feed and schedule its push; None when the user turned
    the kind off or a notification with ``dedupe_key`` exists already."""
    pref = preferences(session, user)
    if kind.value in pref.muted_kinds:
        return None
    now = as_utc(now or utcnow())
    # The weekly plan comes at the time the athlete chose, quiet hours or not.
    held = None if kind in TIMED_BY_USER else quiet_until(pref, zone_of(session, user), now)
    row = Notification(user_id=user.pk, kind=kind.value, title=title[:120], body=body[:400],
                       url=url[:200], dedupe_key=dedupe_key, created_at=now, push_after=held)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None  # already notified (another worker, or before a restart)
    return row


@dataclass(frozen=True)
class FeedPage:
    items: list[Notification]
    total: int
    unread: int


def feed(session: Session, user: User, *, unread_only: bool = False, limit: int = 20,
         offset: int = 0) -> FeedPage:
    base = select(Notification).where(Notification.user_id == user.pk)
    if unread_only:
        base = base.where(col(Notification.read_at).is_(None))
    items = list(session.exec(base.order_by(col(Notification.created_at).desc(),
                                            col(Notification.id).desc())
                              .offset(offset).limit(limit)))
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    unread = session.exec(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.pk, col(Notification.read_at).is_(None))).one()
    return FeedPage(items, int(total), int(unread))


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user.pk:
        raise NotFoundError("No such notification.", code="notification_not_found")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
    return row


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(
        update(Notification).where(col(Notification.user_id) == user.pk,
                                   col(Notification.read_at).is_(None))
        .values(read_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- devices


def subscribe(session: Session, user: User, endpoint: str, p256dh: str, auth: str,
              user_agent: str | None = None) -> PushSubscription:
    """Keep a browser's subscription; the same endpoint again updates its keys (a browser
    that subscribes afresh)."""
    row = session.exec(select(PushSubscription).where(
        PushSubscription.user_id == user.pk, PushSubscription.endpoint == endpoint)).first()
    if row is None:
        row = PushSubscription(user_id=user.pk, endpoint=endpoint, p256dh=p256dh, auth=auth,
                               user_agent=user_agent)
    else:
        row.p256dh, row.auth, row.user_agent = p256dh, auth, user_agent
    session.add(row)
    session.flush()
    return row


def unsubscribe(session: Session, user: User, subscription_id: int) -> None:
    row = session.get(PushSubscription, subscription_id)
    if row is None or row.user_id != user.pk:
        raise NotFoundError("No such push subscription on this account.",
                            code="push_subscription_not_found")
    session.delete(row)


def subscriptions(session: Session, user_id: int) -> list[PushSubscription]:
    return list(session.exec(select(PushSubscription).where(
        PushSubscription.user_id == user_id).order_by(col(PushSubscription.id))))


def vapid_keys(settings: Settings) -> VapidKeys:
    return load_or_create(settings.resolved_data_dir, settings.vapid_private_key)


# ---------------------------------------------------------------------------- delivery


@dataclass
class PushSweep:
    sent: int = 0
    no_device: int = 0
    retried: int = 0
    failed: int = 0
    subscriptions_removed: int = 0


def _due(session: Session, now: datetime) -> list[Notification]:
    stale = now - PUSH_CLAIM_STALE
    return list(session.exec(
        select(Notification).where(
            (col(Notification.push_state) == "pending")
            | ((col(Notification.push_state) == "sending")
               & (col(Notification.pushed_at) < stale)),
            (col(Notification.push_after).is_(None)) | (col(Notification.push_after) <= now))
        .order_by(col(Notification.id)).limit(PUSH_BATCH)))


def push_due(session: Session, settings: Settings, now: datetime | None = None) -> PushSweep:
    """Push every notification that is due to each of its user's devices. A device that is
    gone (404, 410) is forgotten; a push service that is busy or down (429, 5xx, no answer)
    is tried again with backoff; after ``PUSH_MAX_ATTEMPTS`` the push is given up (the feed
    keeps the notification)."""
    now = as_utc(now or utcnow())
    result = PushSweep()
    keys: VapidKeys | None = None
    for note in _due(session, now):
        devices = subscriptions(session, note.user_id)
        if not devices:
            note.push_state = "no_device"
            result.no_device += 1
            session.add(note)
            continue
        keys = keys or vapid_keys(settings)
        # Taken before sending: a process that dies mid-push leaves 'sending', which the
        # sweep takes again after PUSH_CLAIM_STALE.
        note.push_state, note.pushed_at = "sending", now
        note.push_attempts += 1
        session.add(note)
        session.commit()
        data = push.payload(note.id or 0, note.title, note.body, note.url, note.kind)
        outcomes = []
        waits = []
        for device in devices:
            res = push.send({"endpoint": device.endpoint,
                             "keys": {"p256dh": device.p256dh, "auth": device.auth}},
                            data, keys, settings.vapid_subject)
            outcomes.append(res.outcome)
            if res.outcome is push.Outcome.delivered:
                device.last_success_at = now
                session.add(device)
            elif res.outcome is push.Outcome.gone:
                session.delete(device)
                result.subscriptions_removed += 1
            elif res.outcome is push.Outcome.retry and res.retry_after_s is not None:
                waits.append(res.retry_after_s)
            if res.outcome in (push.Outcome.retry, push.Outcome.rejected):
                logger.warning("push of notification %s to %s: %s %s", note.id,
                               device.endpoint[:60], res.status, res.detail[:120])
        if push.Outcome.delivered in outcomes:
            note.push_state = "sent"
            result.sent += 1
        elif push.Outcome.retry in outcomes and note.push_attempts < PUSH_MAX_ATTEMPTS:
            backoff = PUSH_BACKOFF_S[min(note.push_attempts, len(PUSH_BACKOFF_S)) - 1]
            note.push_state = "pending"
            note.push_after = now + timedelta(seconds=max([backoff, *waits]))
            result.retried += 1
        elif all(o is push.Outcome.gone for o in outcomes):
            note.push_state = "no_device"
            result.no_device += 1
        else:
            note.push_state = "failed"
            result.failed += 1
        session.add(note)
        session.commit()
    return result


# ---------------------------------------------------------------------------- weekly plan


def iso_week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_moment(local_now: datetime, weekday: int, at: time) -> datetime:
    """The athlete's weekly moment in the ISO week of ``local_now``, as naive local time."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _due_this_week(session: Session, kind: Kind, now: datetime,
                   candidates: Iterable[tuple[User, ZoneInfo, int, time]],
                   ) -> list[tuple[User, str]]:
    """Of ``candidates`` (user, time zone, weekday, local time), those whose weekly moment
    of this ISO week (their own time zone) has come and who have not had this week's
    ``kind`` yet; with the week's dedupe key (``kind:YYYY-Www``)."""
    sent = {(uid, key) for uid, key in session.exec(
        select(Notification.user_id, Notification.dedupe_key).where(
            col(Notification.kind) == kind.value,
            col(Notification.created_at) >= now - timedelta(days=8)))}
    due: list[tuple[User, str]] = []
    for user, zone, weekday, at in candidates:
        local = now.astimezone(zone)
        # Wall-clock comparison: a moment in a daylight-saving gap (02:30 on the night the
        # clocks go forward) comes at the first local time after it; one in the repeated
        # hour comes once, at its first pass (the dedupe key holds the second).
        moment = weekly_moment(local, weekday, at)
        if not moment <= local.replace(tzinfo=None) < moment + WEEKLY_CATCH_UP:
            continue
        key = f"{kind.value}:{iso_week_key(local.date())}"
        if (user.pk, key) not in sent:
            due.append((user, key))
    return due


def weekly_due(session: Session, now: datetime | None = None) -> list[tuple[User, str]]:
    """The athletes whose weekly moment of this ISO week (their own time zone) has come and
    who have not had this week's notification; with the week's key."""
    rows = session.exec(select(User, AthleteProfile).join(
        AthleteProfile, col(AthleteProfile.user_id) == col(User.id)).where(
        User.role == Role.athlete.value, col(User.is_active).is_(True),
        col(AthleteProfile.onboarded_at).is_not(None))).all()
    return _due_this_week(session, Kind.weekly_plan, as_utc(now or utcnow()), (
        (user, _zone(profile.time_zone or user.time_zone), profile.notify_weekday,
         profile.notify_time) for user, profile in rows))


def send_weekly(session: Session, user: User, key: str, title: str, body: str,
                now: datetime | None = None) -> Notification | None:
    return notify(session, user, Kind.weekly_plan, title, body, "/plan", dedupe_key=key,
                  now=now)


# The morning reminder of a session day comes at this local time (or when the quiet hours
# end, if later).
SESSION_DAY_AT = time(7, 0)


def session_day_due(session: Session, now: datetime | None = None
                    ) -> list[tuple[User, date]]:
    """Athletes who turned the session-day reminder on and whose local morning has come;
    with their local date (the caller checks that a session is planned that day)."""
    now = as_utc(now or utcnow())
    prefs = session.exec(select(NotificationPreference)).all()
    wanted = [p.user_id for p in prefs if Kind.session_day.value not in p.muted_kinds]
    out: list[tuple[User, date]] = []
    for user in users_by_id(session, wanted).values():
        if user.role != Role.athlete.value or not user.is_active:
            continue
        zone = zone_of(session, user)
        local = now.astimezone(zone)
        pref = next(p for p in prefs if p.user_id == user.pk)
        at = max(SESSION_DAY_AT, pref.quiet_end or SESSION_DAY_AT)
        start = datetime.combine(local.date(), at)
        if start <= local.replace(tzinfo=None) < start + WEEKLY_CATCH_UP / 2:
            out.append((user, local.date()))
    return out


# The coach digest: Monday morning in the coach's time zone.
DIGEST_WEEKDAY, DIGEST_AT = 0, time(8, 0)


def digest_due(session: Session, now: datetime | None = None) -> list[tuple[User, str]]:
    """Coaches whose Monday 08:00 (their time) has come this ISO week, with the week's key;
    those who turned the digest off are left out by ``notify``."""
    coaches = session.exec(select(User).where(User.role == Role.coach.value,
                                              col(User.is_active).is_(True))).all()
    return _due_this_week(session, Kind.coach_digest, as_utc(now or utcnow()), (
        (coach, zone_of(session, coach), DIGEST_WEEKDAY, DIGEST_AT) for coach in coaches))


def users_by_id(session: Session, ids: Iterable[int]) -> dict[int, User]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {u.pk: u for u in session.exec(select(User).where(col(User.id).in_(wanted)))}
