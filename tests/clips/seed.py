"""Clips put straight into the database and storage, for tests that need a clip with a report
without running the analysis (the authorization matrix, say). Tests of the analysis itself
upload real footage and wait for the real job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.clips import service
from backend.clips.models import Clip
from backend.clips.storage import clip_key, get_storage, results_prefix, sha256_file
from backend.core.config import Settings
from backend.core.time import utcnow
from backend.jobs.models import AnalysisJob, JobStatus
from tests.clips.media import make_clip, make_jpeg

KEYFRAME_NAME = "keyframe_00_000.500s.jpg"


@dataclass
class SeededClip:
    clip_id: int
    keyframe: str
    sha256: str


def seed_analysed_clip(engine: Engine, settings: Settings, athlete_id: int,
                       work: Path) -> SeededClip:
    """A clip of ``athlete_id`` whose job succeeded, with a report, an overlay and a key
    frame in storage (real MP4 and JPEG files)."""
    storage = get_storage(settings)
    work.mkdir(parents=True, exist_ok=True)
    video = make_clip(work / f"seed-{athlete_id}.mp4", seconds=3.2, fps=30, size=(90, 160))
    digest, size = sha256_file(video)
    key = clip_key(athlete_id, digest, ".mp4")
    prefix = results_prefix(athlete_id, digest)
    overlay = make_clip(work / f"seed-{athlete_id}-overlay.mp4", seconds=1, fps=30,
                        size=(90, 160))
    frame = make_jpeg(work / KEYFRAME_NAME)
    track = work / "track.npz"
    track.write_bytes(b"not read by the API")
    outputs = service.StoredOutputs(
        report={"schema_version": "seed", "view": "rear", "faults": [
            {"code": "pelvic_drop", "side": "left", "severity": "moderate", "value": 7.5,
             "confidence": 0.8}],
            "metrics": {"cadence_spm": {"value": 170.0, "unit": "spm", "n_strides": 4}}},
        track_key=f"{prefix}/track.npz", track_sha256=sha256_file(track)[0],
        overlay_key=f"{prefix}/overlay.mp4", overlay_sha256=sha256_file(overlay)[0],
        keyframes=[{"name": KEYFRAME_NAME, "key": f"{prefix}/keyframes/{KEYFRAME_NAME}",
                    "sha256": sha256_file(frame)[0], "content_type": "image/jpeg"}])
    storage.put(video, key)
    storage.put(track, outputs.track_key)
    storage.put(overlay, f"{prefix}/overlay.mp4")
    storage.put(frame, f"{prefix}/keyframes/{KEYFRAME_NAME}")
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        clip = Clip(athlete_id=athlete_id, sha256=digest, size_bytes=size, storage_key=key,
                    original_filename="seed.mp4", view="rear", recorded_at=now,
                    container="mov,mp4", codec="h264", duration_s=3.2, fps=30.0,
                    frame_count=96, width=90, height=160)
        session.add(clip)
        session.flush()
        assert clip.id is not None
        session.add(AnalysisJob(clip_id=clip.id, status=JobStatus.succeeded.value,
                                progress=100, stage="done", attempts=1, started_at=now,
                                finished_at=now))
        service.save_analysis(session, clip, outputs)
        session.commit()
        return SeededClip(clip_id=clip.id, keyframe=KEYFRAME_NAME, sha256=digest)
