"""Trends and the coach's dashboard, read from the stored rows. Writes nothing.

The dashboard is a fixed number of queries whatever the roster's size (each query covers
every athlete of the roster at once), then Python sorts and pages the rows.

Definitions (docs/architecture.md, "Dashboard at scale"):

- **Compliance** of a window: sets done over sets prescribed for the planned sessions dated
  in it (today's only once logged), each session's done sets capped at its prescribed sets,
  the latest version of each block, a block cut where the next one starts (the planner's
  rules, ``planner.compliance``). Nothing due is ``None`` with ``sessions_due`` 0, never 1.0.
- **Compliance dropped**: the last 7 days against the 30 days before them (days 8-37 back),
  both with something due, 20 points or more lower (``NEEDS_ATTENTION_DROP``).
- **A fault got worse**: in the latest fit clip of a view against the fit clip of the same
  view before it, a fault that is new, of a higher severity, or measured at least
  ``WORSE_VALUE_FRACTION`` further in its bad direction.
- **Pain reported**: a session dated in the last ``PAIN_DAYS`` days logged with pain at or
  above ``PAIN_REGRESS_AT`` (the level at which the plan moves the exercise down).
- **No recent clip**: none recorded in the last six weeks (or none at all).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import planner
from backend.accounts.models import AthleteProfile, User
from backend.clips import diagnosis
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric
from backend.coaching.models import CoachLink
from backend.core.time import utcnow
from backend.gait.catalogue import FAULT_CODES, FAULTS, SEVERITIES
from backend.planner.compliance import NEEDS_ATTENTION_DROP
from backend.planner.progression import PAIN_REGRESS_AT
from backend.progress.schemas import (
    AttentionCode,
    AttentionReason,
    ClipPoint,
    ComplianceWindow,
    DashboardAthlete,
    DashboardPage,
    DashboardSort,
    ExerciseListed,
    FaultPoint,
    FaultTrend,
    LastClip,
    LevelListed,
    MetricPoint,
    MetricTrend,
    TrendsOut,
    WeekTrend,
)
from backend.training.models import CoachFlagEntry, PlanVersion, SessionLogEntry, SetLogEntry
from backend.training.service import athlete_today

COMPLIANCE_DROP = NEEDS_ATTENTION_DROP
RECENT_DAYS = 7
BEFORE_DAYS = 30
PAIN_DAYS = 14
NO_CLIP_AFTER = timedelta(weeks=6)
WORSE_VALUE_FRACTION = 0.25
# Faults whose value is better higher (the cadence itself): worse means lower.
LOWER_IS_WORSE = frozenset({"low_cadence"})
# A block ends at most this long after its last version was written (a block is 6 weeks,
# training.service.DEFAULT_BLOCK_WEEKS, starting at most a week after it is generated):
# blocks written earlier cannot hold a session of the dashboard's windows.
BLOCK_HORIZON = timedelta(weeks=8)


# ---------------------------------------------------------------- prescribed sessions


@dataclass(frozen=True)
class Prescribed:
    key: str
    day: date
    sets: int


@dataclass(frozen=True)
class BlockSessions:
    """What one block (the latest version of a plan) prescribes, day by day."""

    plan_id: str
    block_start: date
    sessions: tuple[Prescribed, ...]


# A stored version never changes: its row id, plan id, version number and time of writing
# name it (more than the id alone, which a database emptied and refilled hands out again).
BlockKey = tuple[int, str, int, datetime]


class _BlockCache:
    """Prescribed sessions by stored plan version, so a version read once need not be read
    (nor its JSON parsed) again. Bounded, least recently used out first."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[BlockKey, BlockSessions] = OrderedDict()
        self._size = size
        self._lock = Lock()

    def get(self, key: BlockKey) -> BlockSessions | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: BlockKey, item: BlockSessions) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


block_cache = _BlockCache()


def _block_sessions(data: dict[str, Any]) -> BlockSessions:
    plan = planner.Plan.from_dict(data)
    return BlockSessions(plan.plan_id, plan.block_start, tuple(
        Prescribed(s.session_key, s.date, sum(len(p.set_targets()) for p in s.exercises))
        for s in plan.sessions))


def load_blocks(session: Session, athlete_ids: Sequence[int], *,
                written_since: datetime | None = None) -> dict[int, list[BlockSessions]]:
    """Each athlete's blocks (latest version of each plan), oldest first. Two queries: the
    latest versions' keys, then the JSON of those not cached yet. ``written_since`` leaves
    out blocks whose latest version is older (they cannot reach a recent window)."""
    if not athlete_ids:
        return {}
    latest = (sa_select(func.max(col(PlanVersion.id)))
              .where(col(PlanVersion.athlete_id).in_(athlete_ids))
              .group_by(col(PlanVersion.athlete_id), col(PlanVersion.plan_id)))
    if written_since is not None:
        latest = latest.having(func.max(col(PlanVersion.created_at)) >= written_since)
    rows = session.execute(
        sa_select(col(PlanVersion.id), col(PlanVersion.plan_id), col(PlanVersion.version),
                  col(PlanVersion.created_at), col(PlanVersion.athlete_id))
        .where(col(PlanVersion.id).in_(latest))).all()
    keys: dict[int, BlockKey] = {r[0]: (r[0], r[1], r[2], r[3]) for r in rows}
    found: dict[int, BlockSessions] = {}
    for version_id, key in keys.items():
        cached = block_cache.get(key)
        if cached is not None:
            found[version_id] = cached
    missing = [v for v in keys if v not in found]
    if missing:
        for version_id, data in session.execute(
                sa_select(col(PlanVersion.id), col(PlanVersion.data))
                .where(col(PlanVersion.id).in_(missing))).all():
            block = _block_sessions(dict(data))
            block_cache.put(keys[version_id], block)
            found[version_id] = block
    out: dict[int, list[BlockSessions]] = defaultdict(list)
    for r in rows:
        out[r[4]].append(found[r[0]])
    for blocks in out.values():
        blocks.sort(key=lambda b: (b.block_start, b.plan_id))
    return out


# ---------------------------------------------------------------------- session logs


@dataclass(frozen=True)
class LoggedSession:
    athlete_id: int
    plan_id: str
    key: str
    day: date
    rpe: int
    max_pain: int
    sets_done: int


def load_logs(session: Session, athlete_ids: Sequence[int], since: date,
              ) -> dict[int, list[LoggedSession]]:
    """Logs of sessions dated from ``since``, with their done sets counted in SQL (one query)."""
    if not athlete_ids:
        return {}
    done = func.count(col(SetLogEntry.id))  # counts only the joined (done) sets
    rows = session.execute(
        sa_select(col(SessionLogEntry.athlete_id), col(SessionLogEntry.plan_id),
                  col(SessionLogEntry.session_key), col(SessionLogEntry.session_date),
                  col(SessionLogEntry.rpe), col(SessionLogEntry.max_pain), done)
        .join(SetLogEntry, and_(col(SetLogEntry.session_log_id) == col(SessionLogEntry.id),
                                or_(col(SetLogEntry.done_reps) > 0,
                                    col(SetLogEntry.done_hold_s) > 0)),
              isouter=True)
        .where(col(SessionLogEntry.athlete_id).in_(athlete_ids),
               col(SessionLogEntry.session_date) >= since)
        .group_by(col(SessionLogEntry.id))
    ).all()
    out: dict[int, list[LoggedSession]] = defaultdict(list)
    for athlete_id, plan_id, key, day, rpe, pain, sets_done in rows:
        out[athlete_id].append(LoggedSession(athlete_id, plan_id, key, day, rpe, pain,
                                             int(sets_done)))
    return out


def compliance_between(blocks: Sequence[BlockSessions], logs: Iterable[LoggedSession],
                       first: date, last: date, today: date) -> ComplianceWindow:
    """Compliance of the sessions dated ``first``..``last`` (see the module's definition)."""
    done = {(log.plan_id, log.key): log.sets_done for log in logs}
    prescribed = done_total = due = 0
    for i, block in enumerate(blocks):
        cut = blocks[i + 1].block_start if i + 1 < len(blocks) else None
        for s in block.sessions:
            if not first <= s.day <= last or (cut is not None and s.day >= cut):
                continue
            key = (block.plan_id, s.key)
            if s.day == today and key not in done:
                continue  # the day is not over
            due += 1
            prescribed += s.sets
            done_total += min(s.sets, done.get(key, 0))
    value = None if prescribed == 0 else min(1.0, done_total / prescribed)
    return ComplianceWindow(value=value, sessions_due=due)


# ----------------------------------------------------------------- faults and clips


@dataclass(frozen=True)
class FitClip:
    clip_id: int
    athlete_id: int
    view: str
    recorded_at: datetime


@dataclass(frozen=True)
class FaultRow:
    code: str
    side: str | None
    severity: str
    value: float | None


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def _priority(code: str) -> int:
    return FAULT_CODES.index(code) if code in FAULT_CODES else len(FAULT_CODES)


def fault_title(code: str) -> str:
    entry = FAULTS.get(code)
    return entry.title if entry else code.replace("_", " ").capitalize()


def _latest_fit_clips(session: Session, athlete_ids: Sequence[int], per_view: int,
                      ) -> list[FitClip]:
    """The ``per_view`` latest fit analyses of each athlete and view (one query)."""
    rank = func.row_number().over(
        partition_by=(col(Clip.athlete_id), col(AnalysisReport.view)),
        order_by=(col(Clip.recorded_at).desc(), col(Clip.id).desc())).label("rank")
    ranked = (sa_select(col(Clip.id).label("clip_id"), col(Clip.athlete_id).label("athlete_id"),
                     col(AnalysisReport.view).label("view"),
                     col(Clip.recorded_at).label("recorded_at"), rank)
              .join(AnalysisReport, col(AnalysisReport.clip_id) == col(Clip.id))
              # Both sides filtered by athlete: each read through its athlete index.
              .where(col(Clip.athlete_id).in_(athlete_ids),
                     col(AnalysisReport.athlete_id).in_(athlete_ids),
                     col(AnalysisReport.fit).is_(True))
              .subquery())
    rows = session.execute(sa_select(ranked.c.clip_id, ranked.c.athlete_id, ranked.c.view,
                                     ranked.c.recorded_at, ranked.c.rank)
                        .where(ranked.c.rank <= per_view)).all()
    return [FitClip(r[0], r[1], r[2], r[3]) for r in rows]


def _faults_of(session: Session, clip_ids: Sequence[int]) -> dict[int, list[FaultRow]]:
    out: dict[int, list[FaultRow]] = defaultdict(list)
    if not clip_ids:
        return out
    for clip_id, code, side, severity, value in session.execute(
            sa_select(col(ClipFault.clip_id), col(ClipFault.code), col(ClipFault.side),
                      col(ClipFault.severity), col(ClipFault.value))
            .where(col(ClipFault.clip_id).in_(clip_ids))).all():
        out[clip_id].append(FaultRow(code, side, severity, value))
    return out


def worse_faults(latest: Sequence[FaultRow], before: Sequence[FaultRow]) -> list[str]:
    """What got worse from ``before`` to ``latest`` (two fit clips of one view), in words."""
    earlier: dict[str, FaultRow] = {}
    for f in before:
        if f.code not in earlier or _severity_rank(f.severity) > _severity_rank(
                earlier[f.code].severity):
            earlier[f.code] = f
    out = []
    for f in sorted(latest, key=lambda f: _priority(f.code)):
        title = fault_title(f.code)
        old = earlier.get(f.code)
        if old is None:
            out.append(f"{title} is new ({f.severity})")
        elif _severity_rank(f.severity) > _severity_rank(old.severity):
            out.append(f"{title} went from {old.severity} to {f.severity}")
        elif (f.value is not None and old.value is not None and old.value != 0
              and _severity_rank(f.severity) == _severity_rank(old.severity)):
            change = (f.value - old.value) / abs(old.value)
            if f.code in LOWER_IS_WORSE:
                change = -change
            if change >= WORSE_VALUE_FRACTION:
                out.append(f"{title} measured {old.value:g} then {f.value:g}")
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class _RosterRow:
    user: User
    linked_at: datetime
    profile: AthleteProfile | None


def _sort_value(row: DashboardAthlete, key: str) -> tuple[Any, ...]:
    """Sort keys with missing values (no clip, nothing due) last in either direction."""
    if key == "name":
        return (row.display_name.casefold(), row.id)
    if key == "last_clip":
        return (row.last_clip.recorded_at if row.last_clip else None, row.id)
    if key == "compliance_7":
        return (row.compliance_7.value, row.id)
    if key == "compliance_30":
        return (row.compliance_30.value, row.id)
    if key == "open_flags":
        return (row.open_flags, row.id)
    return (len(row.attention), row.id)


def _sorted(rows: list[DashboardAthlete], sort: DashboardSort) -> list[DashboardAthlete]:
    descending = sort.value.startswith("-")
    key = sort.value.lstrip("-")
    present = [r for r in rows if _sort_value(r, key)[0] is not None]
    absent = [r for r in rows if _sort_value(r, key)[0] is None]
    if key == "name":
        present.sort(key=lambda r: _sort_value(r, key), reverse=descending)
    else:
        # Ties read alphabetically in both directions.
        present.sort(key=lambda r: (r.display_name.casefold(), r.id))
        present.sort(key=lambda r: _sort_value(r, key)[0], reverse=descending)
    absent.sort(key=lambda r: (r.display_name.casefold(), r.id))
    return present + absent


def dashboard(session: Session, coach: User, *, sort: DashboardSort = DashboardSort.attention_desc,
              limit: int = 50, offset: int = 0, now: datetime | None = None) -> DashboardPage:
    """The coach's roster with what needs attention: a fixed number of queries (about 8)."""
    now = now or utcnow()
    roster = [_RosterRow(user, link.created_at, profile) for user, link, profile in session.exec(
        select(User, CoachLink, AthleteProfile)
        .join(CoachLink, col(CoachLink.athlete_id) == col(User.id))
        .join(AthleteProfile, col(AthleteProfile.user_id) == col(User.id), isouter=True)
        .where(CoachLink.coach_id == coach.id)).all()]
    ids = [r.user.pk for r in roster]
    rows = list(_athlete_rows(session, roster, ids, now).values()) if ids else []
    ordered = _sorted(rows, sort)
    return DashboardPage(total=len(ordered), limit=limit, offset=offset, sort=sort,
                         athletes=ordered[offset:offset + limit])


def _athlete_rows(session: Session, roster: list[_RosterRow], ids: list[int],
                  now: datetime) -> dict[int, DashboardAthlete]:
    todays = {r.user.pk: athlete_today(r.profile, r.user) for r in roster}
    earliest = min(todays.values())
    window_start = earliest - timedelta(days=RECENT_DAYS + BEFORE_DAYS)

    # Last clip of each athlete (fit or not: filming at all is what the coach looks for).
    last_rank = func.row_number().over(
        partition_by=col(Clip.athlete_id),
        order_by=(col(Clip.recorded_at).desc(), col(Clip.id).desc())).label("rank")
    last_sub = (select(col(Clip.id).label("clip_id"), col(Clip.athlete_id).label("athlete_id"),
                       col(Clip.recorded_at).label("recorded_at"), last_rank)
                .where(col(Clip.athlete_id).in_(ids)).subquery())
    last_clip = {a: LastClip(clip_id=c, recorded_at=t) for c, a, t in session.exec(
        select(last_sub.c.clip_id, last_sub.c.athlete_id, last_sub.c.recorded_at)
        .where(last_sub.c.rank == 1)).all()}

    fit = _latest_fit_clips(session, ids, per_view=2)
    faults = _faults_of(session, [c.clip_id for c in fit])
    by_view: dict[int, dict[str, list[FitClip]]] = defaultdict(lambda: defaultdict(list))
    for c in sorted(fit, key=lambda c: (c.recorded_at, c.clip_id), reverse=True):
        by_view[c.athlete_id][c.view].append(c)  # newest first
    # The combined diagnosis (latest fit clip of each view), as the athlete's report shows it.
    headlines = diagnosis.headlines_for(session, ids)

    blocks = load_blocks(session, ids, written_since=datetime.combine(
        window_start, datetime.min.time(), tzinfo=now.tzinfo) - BLOCK_HORIZON)
    logs = load_logs(session, ids, window_start)

    flags: dict[int, tuple[int, int]] = {a: (n, unseen) for a, n, unseen in session.execute(
        sa_select(col(CoachFlagEntry.athlete_id), func.count(col(CoachFlagEntry.id)),
                  func.count(col(CoachFlagEntry.id)).filter(
                   col(CoachFlagEntry.acknowledged_at).is_(None)))
        .where(col(CoachFlagEntry.athlete_id).in_(ids),
               col(CoachFlagEntry.resolved_at).is_(None))
        .group_by(col(CoachFlagEntry.athlete_id))).all()}

    out: dict[int, DashboardAthlete] = {}
    for r in roster:
        a = r.user.pk
        today = todays[a]
        athlete_blocks = blocks.get(a, [])
        athlete_logs = logs.get(a, [])
        c7 = compliance_between(athlete_blocks, athlete_logs,
                                today - timedelta(days=RECENT_DAYS - 1), today, today)
        c30 = compliance_between(athlete_blocks, athlete_logs,
                                 today - timedelta(days=29), today, today)
        before = compliance_between(athlete_blocks, athlete_logs,
                                    today - timedelta(days=RECENT_DAYS + BEFORE_DAYS - 1),
                                    today - timedelta(days=RECENT_DAYS), today)
        attention: list[AttentionReason] = []
        pains = [log for log in athlete_logs if log.max_pain >= PAIN_REGRESS_AT
                 and log.day >= today - timedelta(days=PAIN_DAYS - 1) and log.day <= today]
        if pains:
            worst = max(pains, key=lambda log: (log.max_pain, log.day))
            attention.append(AttentionReason(
                code=AttentionCode.pain_reported,
                message=f"Pain {worst.max_pain}/10 logged for the session of {worst.day}."))
        if (c7.value is not None and before.value is not None
                and before.value - c7.value >= COMPLIANCE_DROP - 1e-9):
            attention.append(AttentionReason(
                code=AttentionCode.compliance_dropped,
                message=f"Compliance fell from {before.value:.0%} (the 30 days before) to "
                        f"{c7.value:.0%} (last 7 days)."))
        worse = []
        for view, clips in sorted(by_view.get(a, {}).items()):
            if len(clips) >= 2:
                worse += [f"{w} ({view} view)" for w in worse_faults(
                    faults.get(clips[0].clip_id, []), faults.get(clips[1].clip_id, []))]
        if worse:
            attention.append(AttentionReason(code=AttentionCode.fault_worse,
                                             message="; ".join(worse) + "."))
        last = last_clip.get(a)
        if last is None or last.recorded_at < now - NO_CLIP_AFTER:
            attention.append(AttentionReason(
                code=AttentionCode.no_recent_clip,
                message="No clip yet." if last is None else
                f"No clip since {last.recorded_at.date()}: time to film again."))
        n_open, n_unseen = flags.get(a, (0, 0))
        out[a] = DashboardAthlete(
            id=a, display_name=r.user.display_name, email=r.user.email, linked_at=r.linked_at,
            onboarded=r.profile is not None and r.profile.onboarded_at is not None,
            last_clip=last, headline=headlines.get(a), compliance_7=c7, compliance_30=c30,
            open_flags=n_open, unacknowledged_flags=n_unseen, attention=attention)
    return out


# ---------------------------------------------------------------------------- trends


def trends(session: Session, athlete: User, *, weeks: int = 52) -> TrendsOut:
    """Each fault and metric across the athlete's fit clips, and the weekly training."""
    today = athlete_today(session.get(AthleteProfile, athlete.id), athlete)
    this_monday = today - timedelta(days=today.weekday())
    since = this_monday - timedelta(weeks=weeks - 1)
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=utcnow().tzinfo)
    clip_rows = session.exec(
        select(Clip.id, AnalysisReport.view, Clip.recorded_at)
        .join(AnalysisReport, col(AnalysisReport.clip_id) == col(Clip.id))
        .where(Clip.athlete_id == athlete.id, col(AnalysisReport.fit).is_(True),
               col(Clip.recorded_at) >= since_at)
        .order_by(col(Clip.recorded_at), col(Clip.id))).all()
    clips = [ClipPoint(clip_id=c, view=v, recorded_at=t) for c, v, t in clip_rows]
    by_clip = {c.clip_id: c for c in clips}
    ids = list(by_clip)

    fault_points: dict[str, list[FaultPoint]] = defaultdict(list)
    if ids:
        # Columns, not ORM objects: a year of clips is hundreds of rows.
        for clip_id, code, side, severity, value, confidence in session.execute(
                sa_select(col(ClipFault.clip_id), col(ClipFault.code), col(ClipFault.side),
                          col(ClipFault.severity), col(ClipFault.value),
                          col(ClipFault.confidence))
                .where(col(ClipFault.clip_id).in_(ids))).all():
            c = by_clip[clip_id]
            fault_points[code].append(FaultPoint(
                clip_id=c.clip_id, recorded_at=c.recorded_at, view=c.view, side=side,
                severity=severity, value=value, confidence=confidence))
    metric_points: dict[str, list[MetricPoint]] = defaultdict(list)
    units: dict[str, str | None] = {}
    if ids:
        for clip_id, key, value, left, right, n_strides, unit in session.execute(
                sa_select(col(ClipMetric.clip_id), col(ClipMetric.key), col(ClipMetric.value),
                          col(ClipMetric.left), col(ClipMetric.right),
                          col(ClipMetric.n_strides), col(ClipMetric.unit))
                .where(col(ClipMetric.clip_id).in_(ids))).all():
            if value is None and left is None and right is None:
                continue  # withheld: nothing was measured
            c = by_clip[clip_id]
            units.setdefault(key, unit)
            metric_points[key].append(MetricPoint(
                clip_id=c.clip_id, recorded_at=c.recorded_at, view=c.view, value=value,
                left=left, right=right, n_strides=n_strides))
    order = {c.clip_id: i for i, c in enumerate(clips)}
    faults = [FaultTrend(code=code, title=fault_title(code),
                         points=sorted(points, key=lambda p: order[p.clip_id]))
              for code, points in sorted(fault_points.items(), key=lambda kv: _priority(kv[0]))]
    metrics = [MetricTrend(key=key, unit=units[key],
                           points=sorted(points, key=lambda p: order[p.clip_id]))
               for key, points in sorted(metric_points.items())]

    blocks = load_blocks(session, [athlete.pk]).get(athlete.pk, [])
    logs = load_logs(session, [athlete.pk], since).get(athlete.pk, [])
    week_rows = []
    for n in range(weeks):
        start = since + timedelta(weeks=n)
        end = start + timedelta(days=6)
        in_week = [log for log in logs if start <= log.day <= end and log.day <= today]
        week_rows.append(WeekTrend(
            week_start=start,
            compliance=compliance_between(blocks, logs, start, min(end, today), today),
            sessions_logged=len(in_week),
            mean_rpe=round(sum(log.rpe for log in in_week) / len(in_week), 2)
            if in_week else None,
            max_pain=max((log.max_pain for log in in_week), default=None)))
    return TrendsOut(athlete_id=athlete.pk, since=since, clips=clips, faults=faults,
                     metrics=metrics, weeks=week_rows)


# ---------------------------------------------------------------------- exercises


def exercise_list() -> list[ExerciseListed]:
    """The planner's exercise library, for a coach choosing a swap."""
    return [ExerciseListed(
        code=e.code, name=e.name, kind=e.kind, cues=list(e.cues),
        levels=[LevelListed(number=lv.number, name=lv.name, unilateral=lv.unilateral,
                            reps=lv.reps, hold_s=lv.hold_s, needs_load=lv.needs_load)
                for lv in e.levels])
        for e in planner.EXERCISES.values()]
