"""The job row is the truth: claiming, the lease, the reaper, queueing after commit, and the
idempotent write of the results (one report per clip, whatever the retries)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from backend.accounts.models import Role
from backend.accounts.service import create_user
from backend.clips import service
from backend.clips.models import AnalysisReport, Clip, ClipFault, ClipMetric
from backend.clips.storage import get_storage
from backend.clips.tasks import INTERNAL_MESSAGE, run_analysis_job
from backend.core.config import Settings
from backend.core.time import utcnow
from backend.jobs import lease as leases
from backend.jobs.hooks import after_commit
from backend.jobs.models import AnalysisJob
from backend.jobs.reaper import reap
from backend.jobs.runtime import JobRuntime


def _clip_with_job(engine: Engine, sha: str = "a" * 64) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email=f"{sha[:6]}@example.com", password="long-passphrase-1",
                           role=Role.athlete, display_name="Runner")
        session.flush()
        clip = Clip(athlete_id=user.pk, sha256=sha, size_bytes=10,
                    storage_key=f"athletes/{user.pk}/clips/{sha}.mp4", recorded_at=utcnow(),
                    container="mp4", codec="h264", duration_s=4.0, fps=30.0, frame_count=120,
                    width=360, height=640)
        session.add(clip)
        session.flush()
        job = AnalysisJob(clip_id=clip.id)  # type: ignore[arg-type]
        session.add(job)
        session.commit()
        assert clip.id is not None and job.id is not None
        return clip.id, job.id


def _job(engine: Engine, job_id: int) -> AnalysisJob:
    with Session(engine) as session:
        job = session.get(AnalysisJob, job_id)
        assert job is not None
        return job


def _expire(engine: Engine, job_id: int) -> None:
    with Session(engine) as session:
        job = session.get(AnalysisJob, job_id)
        assert job is not None
        job.lease_expires_at = utcnow() - timedelta(seconds=1)
        session.add(job)
        session.commit()


def test_a_job_is_claimed_once_and_only_its_owner_ends_it(engine: Engine) -> None:
    _, job_id = _clip_with_job(engine)
    job = leases.claim(engine, job_id, "worker-a", lease_s=30)
    assert job is not None and job.status == "running" and job.attempts == 1
    assert job.lease_expires_at is not None
    # A second delivery of the same message finds the job taken.
    assert leases.claim(engine, job_id, "worker-b", lease_s=30) is None
    with Session(engine) as session:
        assert not leases.complete(session, job_id, "worker-b")
        assert leases.complete(session, job_id, "worker-a")
        session.commit()
    done = _job(engine, job_id)
    assert done.status == "succeeded" and done.progress == 100 and done.lease_owner is None
    assert leases.claim(engine, job_id, "worker-c", lease_s=30) is None


def test_reaper_requeues_expired_leases_and_gives_up_after_max_attempts(
        engine: Engine, settings: Settings) -> None:
    settings = settings.model_copy(update={"job_max_attempts": 2})
    _, job_id = _clip_with_job(engine)
    _, alive_id = _clip_with_job(engine, sha="b" * 64)
    queued: list[int] = []
    leases.claim(engine, job_id, "killed-worker", lease_s=30)
    leases.claim(engine, alive_id, "live-worker", lease_s=30)

    assert reap(engine, settings, queued.append).requeued == []  # leases still valid
    _expire(engine, job_id)
    result = reap(engine, settings, queued.append)
    assert result.requeued == [job_id] and queued == [job_id]
    job = _job(engine, job_id)
    assert job.status == "queued" and job.lease_owner is None and job.attempts == 1
    assert _job(engine, alive_id).status == "running"
    # The killed worker, should it come back, cannot write anything any more.
    with Session(engine) as session:
        assert not leases.complete(session, job_id, "killed-worker")

    # The second attempt dies too: the job fails with a message, and is not queued again.
    assert leases.claim(engine, job_id, "worker-2", lease_s=30) is not None
    _expire(engine, job_id)
    result = reap(engine, settings, queued.append)
    assert result.failed == [job_id] and queued == [job_id]
    failed = _job(engine, job_id)
    assert failed.status == "failed" and failed.error_code == "interrupted"
    assert "interrupted 2 times" in (failed.error_message or "")


def test_reaper_resends_jobs_queued_too_long(engine: Engine, settings: Settings) -> None:
    """A queue message lost (Redis restarted empty, or the enqueue after commit failed)."""
    settings = settings.model_copy(update={"job_requeue_after_s": 60})
    _, job_id = _clip_with_job(engine)
    queued: list[int] = []
    assert reap(engine, settings, queued.append).resent == []
    with Session(engine) as session:
        job = session.get(AnalysisJob, job_id)
        assert job is not None
        job.enqueued_at = utcnow() - timedelta(minutes=5)
        session.add(job)
        session.commit()
    assert reap(engine, settings, queued.append).resent == [job_id]
    assert queued == [job_id]
    assert reap(engine, settings, queued.append).resent == []  # not again at once


def test_stopping_worker_hands_the_job_back_without_counting(engine: Engine) -> None:
    _, job_id = _clip_with_job(engine)
    leases.claim(engine, job_id, "worker-a", lease_s=30)
    with Session(engine) as session:
        assert leases.release(session, job_id, "worker-a")
        session.commit()
    job = _job(engine, job_id)
    assert job.status == "queued" and job.attempts == 0 and job.lease_owner is None


def test_restart_takes_the_job_from_its_worker(engine: Engine) -> None:
    """A clip's input changed (its capture rate) while a worker ran its analysis: the job
    starts over from the queue, and the worker can neither renew nor complete it."""
    _, job_id = _clip_with_job(engine)
    leases.claim(engine, job_id, "worker-a", lease_s=30)
    with Session(engine) as session:
        assert leases.restart(session, job_id)
        session.commit()
    job = _job(engine, job_id)
    assert job.status == "queued" and job.attempts == 0 and job.lease_owner is None
    assert job.started_at is None and job.error_code is None
    with Session(engine) as session:
        assert not leases.complete(session, job_id, "worker-a")
        assert not leases.fail(session, job_id, "worker-a", "no_person", "gone")
    again = leases.claim(engine, job_id, "worker-b", lease_s=30)
    assert again is not None and again.attempts == 1 and again.lease_owner == "worker-b"
    # A finished job starts over the same way.
    with Session(engine) as session:
        assert leases.complete(session, job_id, "worker-b")
        assert leases.restart(session, job_id)
        session.commit()
    assert _job(engine, job_id).status == "queued"


def test_jobs_are_queued_only_after_commit(engine: Engine) -> None:
    queued: list[int] = []
    with Session(engine) as session:
        after_commit(session, lambda: queued.append(1))
        session.flush()
        assert queued == []
        session.rollback()
    assert queued == []  # a failed request queues nothing
    with Session(engine) as session:
        after_commit(session, lambda: queued.append(2))
        assert queued == []
        session.commit()
    assert queued == [2]


def test_results_are_written_once_per_clip(engine: Engine) -> None:
    clip_id, _ = _clip_with_job(engine)
    report = {"schema_version": 1, "view": {"view": "rear", "inferred": False},
              "faults": [{"code": "pelvic_drop", "side": "left", "severity": "moderate",
                          "value": 6.5, "confidence": 0.9},
                         {"code": "overstride", "side": None, "severity": "mild",
                          "value": float("nan"), "confidence": 0.7}],
              "metrics": {"cadence_spm": {"value": 168.0, "unit": "spm", "n_strides": 5},
                          "pelvic_drop_deg": {"value": None, "left": 6.5, "right": 3.1,
                                              "unit": "deg"},
                          "vertical_oscillation_cm": {"value": None,
                                                      "withheld_reason": "no height"}}}
    outputs = service.StoredOutputs(report=report, track_key="t", track_sha256="s",
                                    overlay_key=None, overlay_sha256=None, keyframes=[])
    for _ in range(2):  # a retried job writes the same results again
        with Session(engine) as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None
            service.save_analysis(session, clip, outputs)
            session.commit()
    with Session(engine) as session:
        reports = session.exec(select(AnalysisReport)
                               .where(AnalysisReport.clip_id == clip_id)).all()
        faults = session.exec(select(ClipFault).where(ClipFault.clip_id == clip_id)).all()
        metrics = {m.key: m for m in session.exec(
            select(ClipMetric).where(ClipMetric.clip_id == clip_id)).all()}
    assert len(reports) == 1 and reports[0].view == "rear" and reports[0].schema_version == "1"
    assert sorted((f.code, f.side, f.severity) for f in faults) == [
        ("overstride", None, "mild"), ("pelvic_drop", "left", "moderate")]
    assert next(f for f in faults if f.code == "overstride").value is None  # NaN: no value
    assert set(metrics) == {"cadence_spm", "pelvic_drop_deg", "vertical_oscillation_cm"}
    assert metrics["cadence_spm"].value == 168.0 and metrics["cadence_spm"].n_strides == 5
    assert (metrics["pelvic_drop_deg"].left, metrics["pelvic_drop_deg"].right) == (6.5, 3.1)
    assert metrics["vertical_oscillation_cm"].withheld_reason == "no height"


def _runtime(engine: Engine, settings: Settings,
             queued: list[tuple[int, float | None]]) -> JobRuntime:
    """A runtime whose queue is a list: the test runs the task itself."""
    runtime = JobRuntime(settings, engine)
    runtime.enqueue = lambda job_id, delay_s=None: queued.append(  # type: ignore[method-assign]
        (job_id, delay_s))
    return runtime


def _store_clip_file(engine: Engine, settings: Settings, clip_id: int) -> None:
    with Session(engine) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        path = get_storage(settings).local_path(clip.storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"the analysis is replaced in these tests")


def test_unexpected_error_is_retried_then_fails_with_a_message(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings.model_copy(update={"job_max_attempts": 2})
    clip_id, job_id = _clip_with_job(engine)
    _store_clip_file(engine, settings, clip_id)

    def broken(*args: object, progress: Callable[[float, str], None], **kwargs: object) -> None:
        progress(0.3, "pose")
        raise RuntimeError("a bug")

    monkeypatch.setattr("backend.clips.tasks.analyse_clip", broken)
    queued: list[tuple[int, float | None]] = []
    runtime = _runtime(engine, settings, queued)
    run_analysis_job(runtime, job_id)
    job = _job(engine, job_id)
    assert job.status == "queued" and job.attempts == 1 and job.stage == "retrying"
    assert queued == [(job_id, 5.0)]  # again after a pause
    run_analysis_job(runtime, job_id)
    job = _job(engine, job_id)
    assert job.status == "failed" and job.error_code == "internal_error"
    assert job.error_message == INTERNAL_MESSAGE and len(queued) == 1


def test_stopping_worker_requeues_and_missing_file_fails(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    clip_id, job_id = _clip_with_job(engine)
    _store_clip_file(engine, settings, clip_id)

    def slow(*args: object, progress: Callable[[float, str], None], **kwargs: object) -> None:
        progress(0.3, "pose")  # the worker is stopping: this raises
        raise AssertionError("the analysis went on after the worker was told to stop")

    monkeypatch.setattr("backend.clips.tasks.analyse_clip", slow)
    queued: list[tuple[int, float | None]] = []
    runtime = _runtime(engine, settings, queued)
    runtime.stopping.set()
    run_analysis_job(runtime, job_id)
    job = _job(engine, job_id)
    assert job.status == "queued" and job.attempts == 0 and queued == [(job_id, None)]

    # The clip's file is gone from storage: a failed job that says so, not a crash.
    runtime.stopping.clear()
    with Session(engine) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        get_storage(settings).delete(clip.storage_key)
    run_analysis_job(runtime, job_id)
    job = _job(engine, job_id)
    assert job.status == "failed" and job.error_code == "clip_missing"
    assert "Upload the clip again" in (job.error_message or "")


def test_a_stale_worker_writes_nothing_visible(engine: Engine, settings: Settings,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker A's lease expires mid-analysis (it hung); the reaper hands the job to worker B,
    which finishes and commits. When A finally finishes, it must not touch the files B's
    report points at: each attempt writes under its own folder, and A's goes."""
    from pathlib import Path

    from backend.clips import tasks
    from backend.clips.pipeline import AnalysisOutput
    from backend.clips.storage import results_prefix

    clip_id, job_id = _clip_with_job(engine)
    _store_clip_file(engine, settings, clip_id)
    queued: list[tuple[int, float | None]] = []
    runtime = _runtime(engine, settings, queued)
    workers: list[str] = []

    def analyse(clip_path: Path, *, out_dir: Path, **_: object) -> AnalysisOutput:
        who = "stale" if not workers else "current"
        workers.append(who)
        if who == "stale":
            _expire(engine, job_id)
            assert reap(engine, settings, lambda _job_id: None).requeued == [job_id]
            run_analysis_job(runtime, job_id)  # worker B, start to finish
        frames = out_dir / "keyframes"
        frames.mkdir(parents=True)
        for name in ("track.npz", "overlay.mp4", f"keyframes/{who}.jpg"):
            (out_dir / name).write_bytes(who.encode())
        return AnalysisOutput(report={"schema_version": who, "view": "rear", "faults": [],
                                      "metrics": {}},
                              track_path=out_dir / "track.npz",
                              overlay_path=out_dir / "overlay.mp4",
                              keyframe_paths=[frames / f"{who}.jpg"])

    monkeypatch.setattr(tasks, "analyse_clip", analyse)
    run_analysis_job(runtime, job_id)  # worker A
    assert workers == ["stale", "current"]

    storage = get_storage(settings)
    with Session(engine) as session:
        job = session.get(AnalysisJob, job_id)
        report = session.exec(select(AnalysisReport)
                              .where(AnalysisReport.clip_id == clip_id)).one()
        clip = session.get(Clip, clip_id)
    assert job is not None and job.status == "succeeded" and job.attempts == 2
    assert report.schema_version == "current" and clip is not None
    keys = [report.track_key, report.overlay_key, *(k["key"] for k in report.keyframes)]
    for key in keys:
        assert key is not None and storage.local_path(key).read_bytes() == b"current", key
    assert [k["name"] for k in report.keyframes] == ["current.jpg"]
    # Nothing of the stale attempt is left in storage.
    stored = list(storage.keys(results_prefix(clip.athlete_id, clip.sha256)))
    assert sorted(stored) == sorted(keys)
    work = settings.resolved_data_dir / "tmp" / "jobs"
    assert not work.exists() or not list(work.iterdir())
