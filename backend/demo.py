"""Demo data: a coach and two athletes whose plans have real clips and reports behind them.

The story, weeks long: each athlete onboarded weeks ago, filmed (real footage from the shared
clips folder, ``../shared/clips/running`` in a source checkout), trained and logged sessions
(effort, a missed one, pain), and filmed the same view again this week: a before and an after.
Clips go through the same functions an upload does (``clips.service.register_clip``: the file
in storage, a queued ``analysis_job``) and each job is run by the registered analysis task,
the worker's own code, right here in the seed (seconds per clip on a CPU, shown as it goes),
so the report, its fault and metric rows and the plan's reaction (``AnalysisFinished``, the
flows) are real. Only the timestamps are then moved back to the day of the story they belong
to (upload, job, report, plan versions, logs), so the history reads as weeks, not minutes.

Without the clips folder (an installed package, say) the accounts, plans and logs are seeded
and the message says so; no plan then claims an analysis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.accounts import service as accounts
from backend.accounts.models import Role, User
from backend.accounts.schemas import ProfileUpdate
from backend.clips import service as clips
from backend.clips.events import AnalysisFinished
from backend.clips.models import AnalysisReport, Clip
from backend.clips.multipart import ReceivedFile
from backend.clips.schemas import ClipOptions
from backend.clips.storage import get_storage, sha256_file
from backend.coaching import service as coaching
from backend.core import events
from backend.core.errors import DomainError
from backend.core.time import utcnow
from backend.jobs.models import ROW_TASK
from backend.jobs.runtime import JobRuntime
from backend.training import service as plans
from backend.training.models import CoachFlagEntry, PlanVersion, SessionLogEntry
from backend.training.schemas import ExerciseLogIn, SessionLogIn, SetDone

DEMO_PASSWORD = "demo-stride-2026"
COACH_EMAIL = "coach@demo.stridelab.app"
ATHLETES = (
    ("ada@demo.stridelab.app", "Ada Runner",
     ProfileUpdate(running_background="advanced", weekly_volume_km=55,
                   equipment=["dumbbells"], strength_days=[0, 3], time_zone="Europe/London",
                   injuries=["left ITB syndrome (2025)"])),
    ("ben@demo.stridelab.app", "Ben Strides",
     ProfileUpdate(running_background="intermediate", weekly_volume_km=25,
                   equipment=["none"], strength_days=[0, 2, 4], time_zone="America/New_York")),
)
HISTORY_WEEKS = 5  # the demo blocks started this many weeks ago (a six-week block)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoClip:
    """One clip of an athlete's story: the seconds ``cut`` of the source, re-encoded at
    ``DEMO_HEIGHT`` (a second cut of the same footage is different bytes, so a clip of its
    own with its own strides measured); ``day`` counts from the block's first day."""

    file: str
    view: str
    day: int
    cut: tuple[float, float] = (0.0, 60.0)


# Half the phones' 1920 lines: the worker's analysis (pose, overlay, key frames) of a
# 4-second clip takes about 20 s on two cores at full size, a few seconds at this one.
DEMO_HEIGHT = 960


# The README of the clips folder says which clips the analysis finds fit: at present the rear
# and side barefoot treadmill clips. The feet-cut clip is refused by the analysis for a true
# reason (the feet leave the frame): a refused clip in the history, changing no plan.
STORY: dict[str, tuple[DemoClip, ...]] = {
    "ada@demo.stridelab.app": (
        DemoClip("rear_treadmill_barefoot.mov", "rear", day=-2),
        DemoClip("side_treadmill_barefoot.mov", "side", day=-2),
        DemoClip("rear_treadmill_barefoot.mov", "rear", day=7 * HISTORY_WEEKS - 3,
                 cut=(0.6, 4.1)),
    ),
    "ben@demo.stridelab.app": (
        DemoClip("side_treadmill_barefoot.mov", "side", day=-1, cut=(0.0, 3.4)),
        DemoClip("side_treadmill_feet_cut.mp4", "side", day=16, cut=(0.0, 5.0)),
        DemoClip("side_treadmill_barefoot.mov", "side", day=7 * HISTORY_WEEKS - 2,
                 cut=(0.6, 4.1)),
    ),
}
PAINFUL_EXERCISE = "single_leg_deadlift"  # Ada's sore one, if her plan holds it


@dataclass
class SeedResult:
    created: bool
    clips: int = 0  # clips filed
    analysed: int = 0  # analyses that ended (fit or refused)
    fit: int = 0  # of which the analysis found the clip fit
    missing_clips: str | None = None  # why no clip was filed, when none was


def _noop(_message: str) -> None:
    pass


def seed_demo(runtime: JobRuntime, *, clips_dir: Path | None,
              progress: Progress = _noop) -> SeedResult:
    """Create the demo accounts, their clips (analysed now, by the registered analysis task)
    and weeks of history; ``created`` False when the demo coach already exists. Commits as
    it goes: each clip is committed before its job runs, as after an upload. ``runtime``
    must be assembled (``backend.wiring.job_runtime``): the analysis task registered and
    the flows subscribed, else no plan could follow a clip."""
    if ROW_TASK not in runtime.registry.tasks or not events.subscribers(AnalysisFinished):
        raise RuntimeError("The demo seed needs an assembled job runtime "
                           "(backend.wiring.job_runtime): the analysis task and the flows.")
    result = SeedResult(created=False)
    missing = _missing_clips(clips_dir)
    if missing:
        result.missing_clips = missing
        progress(f"{missing} Seeding the accounts, plans and logs without clips.")
    with Session(runtime.engine, expire_on_commit=False) as session:
        if accounts.get_user_by_email(session, COACH_EMAIL):
            return result
        coach = accounts.create_user(session, email=COACH_EMAIL, password=DEMO_PASSWORD,
                                     role=Role.coach, display_name="Coach Demo")
        coach.created_at = utcnow() - timedelta(days=70)
        athletes = []
        for offset, (email, name, profile) in enumerate(ATHLETES):
            athlete = accounts.create_user(session, email=email, password=DEMO_PASSWORD,
                                           role=Role.athlete, display_name=name,
                                           time_zone=profile.time_zone or "UTC")
            athlete.created_at = utcnow() - timedelta(days=60 - 10 * offset)
            accounts.update_profile(session, athlete, profile)
            invite = coaching.create_invite(session, coach)
            coaching.accept_invite(session, athlete, invite.code)
            athletes.append(athlete)
        session.commit()
    result.created = True
    for offset, athlete in enumerate(athletes):
        story = STORY[athlete.email] if not missing else ()
        _seed_athlete(runtime, athlete, story, clips_dir or Path(), result, progress,
                      painful=offset == 0)
    return result


def _missing_clips(clips_dir: Path | None) -> str | None:
    if clips_dir is None:
        return "No demo clips folder given."
    if not clips_dir.is_dir():
        return (f"The demo clips folder {clips_dir} is missing (the shared real running "
                "clips, ../shared/clips/running beside a source checkout).")
    absent = sorted({c.file for story in STORY.values() for c in story
                     if not (clips_dir / c.file).is_file()})
    if absent:
        return f"The demo clips folder {clips_dir} lacks {', '.join(absent)}."
    return None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=UTC)


def _seed_athlete(runtime: JobRuntime, athlete: User, story: tuple[DemoClip, ...],
                  clips_dir: Path, result: SeedResult, progress: Progress,
                  painful: bool) -> None:
    """The athlete's weeks in the order they happened: onboarding, clips, sessions logged
    (most in full, one missed, effort varying, pain late in the block for one athlete)."""
    today = plans.athlete_today(None, athlete)
    start = today - timedelta(weeks=HISTORY_WEEKS)
    start -= timedelta(days=start.weekday())  # blocks read best from a Monday
    with Session(runtime.engine, expire_on_commit=False) as session:
        mark = _marks(session, athlete.pk)
        plans.generate_block(session, athlete, reason_kind="onboarding", start=start)
        _backdate(session, athlete.pk, mark, _at(start - timedelta(days=3), 19))
        session.commit()
    pending = sorted(story, key=lambda c: c.day)
    done: set[date] = set()
    n = 0
    sore_left = painful  # one session late in the block hurts, once
    missed = False  # one missed session in the last weeks: compliance below 100 %
    while True:
        with Session(runtime.engine, expire_on_commit=False) as session:
            _row, plan = plans.require_current(session, athlete.pk)
        due = [s for s in plan.sessions if start <= s.date < today and s.date not in done]
        planned = min(due, key=lambda s: s.date) if due else None
        if pending and (planned is None or start + timedelta(days=pending[0].day) <= planned.date):
            clip = pending.pop(0)
            _film(runtime, athlete, clip, start + timedelta(days=clip.day), clips_dir,
                  result, progress)
            continue
        if planned is None:
            break
        done.add(planned.date)
        if not missed and planned.date >= today - timedelta(days=20):
            missed = True
        else:
            pain_here = sore_left and planned.date >= today - timedelta(days=10)
            sore_left = sore_left and not pain_here
            _log(runtime, athlete, planned.session_key, n, pain_here=pain_here)
        n += 1


def _log(runtime: JobRuntime, athlete: User, key: str, n: int, pain_here: bool) -> None:
    with Session(runtime.engine, expire_on_commit=False) as session:
        # Each log may adapt the plan: log against the version the athlete sees now.
        _row, plan = plans.require_current(session, athlete.pk)
        planned = plan.session(key)
        codes = [ex.code for ex in planned.exercises]
        sore = (PAINFUL_EXERCISE if PAINFUL_EXERCISE in codes else codes[0]) if pain_here else None
        logs = [ExerciseLogIn(
            code=ex.code,
            sets=[SetDone(reps=t.reps, hold_s=t.hold_s) for t in ex.set_targets()],
            pain=4 if ex.code == sore else (1 if n % 4 == 1 else 0))
            for ex in planned.exercises]
        mark = _marks(session, athlete.pk)
        plans.log_session(session, athlete, planned.session_key,
                          SessionLogIn(rpe=(6, 7, 5, 8)[n % 4], exercises=logs,
                                       logged_on=planned.date))
        _backdate(session, athlete.pk, mark, _at(planned.date, 18, 30 + n % 20))
        session.commit()


def _film(runtime: JobRuntime, athlete: User, demo: DemoClip, day: date, clips_dir: Path,
          result: SeedResult, progress: Progress) -> None:
    """Upload one clip as the app does, then run its analysis job with the worker's task."""
    settings, storage = runtime.settings, get_storage(runtime.settings)
    recorded = _at(day, 7, 40)
    incoming = storage.new_incoming(Path(demo.file).suffix)
    source = clips_dir / demo.file
    _cut(source, incoming, *demo.cut, recorded)
    digest, size = sha256_file(incoming)
    received = ReceivedFile(path=incoming, sha256=digest, size=size, filename=demo.file,
                            content_type=None)
    queued: list[int] = []
    label = f"{athlete.display_name}: {demo.view} clip of {day.isoformat()} ({demo.file})"
    with Session(runtime.engine, expire_on_commit=False) as session:
        user = session.get(User, athlete.pk)
        assert user is not None
        try:
            clip, _new = clips.register_clip(
                session, athlete=user, received=received,
                options=ClipOptions(view=demo.view, recorded_at=recorded), settings=settings,
                storage=storage, enqueue=queued.append)
        except DomainError as exc:  # refused at the door, as an upload would be
            progress(f"{label}: refused at upload: {exc}")
            return
        clip_id = clip.id
        session.commit()  # the job is queued only now (after commit), as after an upload
    result.clips += 1
    task = runtime.registry.tasks[ROW_TASK]
    for job_id in queued:
        progress(f"{label}: analysing...")
        began = time.monotonic()
        with Session(runtime.engine, expire_on_commit=False) as session:
            mark = _marks(session, athlete.pk)
        task.handler(runtime, job_id)
        with Session(runtime.engine, expire_on_commit=False) as session:
            state = clips.read_clip(session, session.get(Clip, clip_id))  # type: ignore[arg-type]
            outcome = state.outcome or (
                f"{state.status}: {state.error.message if state.error else ''}")
            uploaded = recorded + timedelta(minutes=25)
            _backdate_clip(session, clip_id, uploaded)  # type: ignore[arg-type]
            _backdate(session, athlete.pk, mark, uploaded + timedelta(minutes=1))
            session.commit()
        result.analysed += state.status == "succeeded"
        result.fit += bool(state.fit)
        progress(f"{label}: {outcome} in {time.monotonic() - began:.1f} s")


def _cut(source: Path, dest: Path, start_s: float, end_s: float, recorded: datetime) -> None:
    """Re-encode the seconds [start_s, end_s) of ``source`` at ``DEMO_HEIGHT`` lines (H.264
    in a QuickTime file, stamped with the day it was filmed in the story, as a phone does)."""
    import av  # the video library of the analysis: only needed when a clip is cut

    with av.open(str(source)) as inp, av.open(str(dest), "w", format="mov") as out:
        out.metadata["creation_time"] = recorded.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        src = inp.streams.video[0]
        rate = Fraction(round(float(src.average_rate or 30)))  # phones' 30.1 fps is 30
        stream = out.add_stream("libx264", rate=rate)
        height = min(DEMO_HEIGHT, src.height)
        width = round(src.width * height / src.height / 2) * 2  # even, for yuv420p
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "18"}
        n = 0
        for frame in inp.decode(src):
            t = (float(frame.pts * src.time_base) if frame.pts is not None and src.time_base
                 else n / float(rate))
            if not start_s <= t < end_s:
                continue
            small = frame.reformat(width=width, height=height, format="yuv420p")
            small.pts, small.time_base = n, 1 / Fraction(rate)
            n += 1
            out.mux(stream.encode(small))
        out.mux(stream.encode())


Marks = tuple[int, int, int]


def _marks(session: Session, athlete_id: int) -> Marks:
    """The highest ids of the athlete's plan versions, logs and flags so far."""
    def top(column: object, owner: object) -> int:
        return int(session.exec(select(func.max(column)).where(owner == athlete_id)  # type: ignore[call-overload]
                                ).one() or 0)
    return (top(PlanVersion.id, PlanVersion.athlete_id),
            top(SessionLogEntry.id, SessionLogEntry.athlete_id),
            top(CoachFlagEntry.id, CoachFlagEntry.athlete_id))


def _backdate(session: Session, athlete_id: int, mark: Marks, when: datetime) -> None:
    """The rows one step of the story wrote, dated when that step happened."""
    versions, logs, flags = mark
    rows: list[PlanVersion | SessionLogEntry | CoachFlagEntry] = [
        *session.exec(select(PlanVersion).where(PlanVersion.athlete_id == athlete_id,
                                                col(PlanVersion.id) > versions)).all(),
        *session.exec(select(SessionLogEntry).where(SessionLogEntry.athlete_id == athlete_id,
                                                    col(SessionLogEntry.id) > logs)).all(),
        *session.exec(select(CoachFlagEntry).where(CoachFlagEntry.athlete_id == athlete_id,
                                                   col(CoachFlagEntry.id) > flags)).all()]
    for row in rows:
        row.created_at = when
        session.add(row)
    session.flush()


def _backdate_clip(session: Session, clip_id: int, uploaded: datetime) -> None:
    """The upload, its job and report on the day the clip was filmed."""
    clip = session.get(Clip, clip_id)
    if clip is None:
        return
    clip.created_at = uploaded
    session.add(clip)
    job = clips.job_for(session, clip_id)
    if job is not None:
        took = (job.finished_at - job.started_at) if job.started_at and job.finished_at \
            else timedelta(seconds=0)
        job.created_at = job.enqueued_at = uploaded
        job.started_at = uploaded + timedelta(seconds=2)
        job.finished_at = job.updated_at = job.started_at + took
        session.add(job)
    report = session.exec(select(AnalysisReport)
                          .where(AnalysisReport.clip_id == clip_id)).first()
    if report is not None:
        report.created_at = (job.finished_at if job is not None and job.finished_at
                             else uploaded)
        session.add(report)
    session.flush()
