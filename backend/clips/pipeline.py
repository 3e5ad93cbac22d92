"""The analysis of one clip, behind one function: pose, then running form, then pictures.

``analyse_clip`` is all the job machinery knows of the analysis: it calls the one analysis
pipeline (``backend.analysis.analyse_video``, the same one the command line calls), and
writes the track, the overlay and the key frames (at the fault moments, the measured lines
and angles drawn) into ``out_dir``. Anything that makes the
clip unusable raises :class:`AnalysisFailed` with a message for the athlete (what is wrong,
how to film again); the job then ends as failed with that message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.gait.types import AthleteInfo
from backend.jsonsafe import json_safe
from backend.pose.errors import ModelsMissingError, VideoError

if TYPE_CHECKING:
    from backend.pose.track import Track

logger = logging.getLogger(__name__)

# (fraction of the whole analysis done, stage name)
Progress = Callable[[float, str], None]

KEYFRAME_SUFFIXES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                     ".webp": "image/webp"}


class AnalysisFailed(Exception):
    """The clip cannot be analysed; ``message`` tells the athlete why and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class AnalysisOutput:
    report: dict[str, Any]
    track_path: Path
    overlay_path: Path | None
    keyframe_paths: list[Path] = field(default_factory=list)


def athlete_info(height_cm: float | None, treadmill_speed_kmh: float | None) -> AthleteInfo:
    return AthleteInfo(height_m=height_cm / 100 if height_cm else None,
                       treadmill_speed_mps=treadmill_speed_kmh / 3.6 if treadmill_speed_kmh
                       else None)


def analyse_clip(clip_path: Path, *, view: str, person: tuple[float, float] | None,
                 athlete: AthleteInfo | None, out_dir: Path, progress: Progress | None = None,
                 overlay: bool = True, keyframes: bool = True,
                 capture_fps: float | None = None) -> AnalysisOutput:
    """Pose and running-form analysis of ``clip_path``; files go into ``out_dir``.

    ``person`` is the runner to follow, (x, y) in pixels of the upright first frame, or None
    to let the pose engine pick the runner. ``capture_fps`` is the real capture rate of a
    slow-motion clip (frames per real second), when the athlete gave it. ``progress(fraction,
    stage)`` may raise to stop the work (the job system does, when the worker stops or loses
    the job).

    A clip the analysis finds unfit (its report's ``clip_quality.fit`` is false, with reasons
    and advice) is a result, returned like any other: the caller stores it as such.
    """
    from backend.analysis import analyse_video

    out_dir.mkdir(parents=True, exist_ok=True)
    overlay_path = out_dir / "overlay.mp4" if overlay else None
    keyframes_dir = out_dir / "keyframes" if keyframes else None
    track_path = out_dir / "track.npz"

    def on_track(track: Track) -> None:
        if track.n_frames == 0 or not bool(track.found.any()):
            raise AnalysisFailed(
                "no_person", "No person was found in the clip. Film from 3-4 m away with the "
                "whole body in frame, in good light, with the camera held still.")
        track.save(track_path)

    try:
        result = analyse_video(clip_path, view=view, athlete=athlete, capture_fps=capture_fps,
                               person=person, pictures_dir=keyframes_dir,
                               overlay_path=overlay_path, progress=progress, on_track=on_track)
    except VideoError as exc:
        raise AnalysisFailed(
            "video_unreadable", f"The video could not be read to the end: {exc} Upload the "
            "original clip again; if it fails again, film a new one (10-20 s of steady "
            "running, 30 or 60 fps, whole body in frame).") from exc
    except ModelsMissingError as exc:
        raise AnalysisFailed(
            "server_not_ready", "The server cannot analyse clips yet: its pose models are not "
            "installed (an administrator must run 'stridelab models fetch'). Your clip is kept; "
            f"upload it again once this is fixed. ({exc})") from exc
    if progress is not None:
        progress(0.95, "saving")
    return AnalysisOutput(
        report=json_safe(result.report.to_dict()), track_path=track_path,
        overlay_path=overlay_path if overlay_path is not None and overlay_path.is_file()
        else None,
        keyframe_paths=list(result.key_frames))
