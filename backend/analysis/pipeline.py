"""Pose, then running form, then the pictures: the one pipeline from a video to its results.

``analyse_video`` runs the pose engine over the clip, the running-form analysis over the
track, and draws the key frames (initial contact and mid-stance of a representative stance
of each foot, where the faults are measured) from the clip's own frames with the measured
lines and angles on them (``backend.gait.pictures``), plus the stride-by-stride plot. Callers
keep their own concerns: ``on_track`` and ``on_report`` run between the steps (the command
line writes the track and the report as soon as each exists; the worker refuses a clip with
no person before analysing it). Errors are not translated here: the pose engine's
``PoseError``, a ``ValueError`` for a capture rate below the clip's own, an ``OSError`` for
a picture that cannot be written; each caller words them for its audience.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.gait.types import AthleteInfo, Report
    from backend.pose.track import Track

# (fraction of the whole analysis done, stage name)
Progress = Callable[[float, str], None]
# (frames done, frames in all or None): the pose engine's own progress
FrameProgress = Callable[[int, int | None], None]

POSE_SHARE = 0.85  # of the progress bar: pose dominates the time
STRIDES_PLOT = "strides.png"


@dataclass
class AnalysisResult:
    track: Track
    report: Report
    key_frames: list[Path] = field(default_factory=list)  # lines drawn, in key-frame order
    strides_plot: Path | None = None


def draw_key_frames(report: Report, track: Track, out_dir: Path,
                    clip: Path | None = None) -> tuple[list[Path], Path | None]:
    """The key frames and the stride plot into ``out_dir``: on the clip's frames when the
    clip is given, else on a plain background (a saved track alone). An unfit clip gets
    none: nothing is drawn rather than something invented."""
    from backend.gait.pictures import clip_frames, key_frames, render

    frames = None
    if clip is not None:
        times = [k.t_s for k in key_frames(report)]
        frames = clip_frames(clip, times) if times else None
    written = render(report, track, out_dir, frames=frames)
    strides = [p for p in written if p.name == STRIDES_PLOT]
    return [p for p in written if p.name != STRIDES_PLOT], (strides[0] if strides else None)


def analyse_video(
    clip: Path,
    *,
    view: str = "auto",
    athlete: AthleteInfo | None = None,
    capture_fps: float | None = None,
    slow_motion_factor: float | None = None,
    person: tuple[float, float] | None = None,
    pictures_dir: Path | None = None,
    overlay_path: Path | None = None,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
    on_track: Callable[[Track], None] | None = None,
    on_report: Callable[[Report], None] | None = None,
) -> AnalysisResult:
    """Analyse the running in ``clip``.

    ``view`` is rear, front, side or auto; ``capture_fps`` the real capture rate of a
    slow-motion clip, or ``slow_motion_factor`` how many times slower than life it plays;
    ``person`` the runner to follow ((x, y) pixels of the upright first
    frame, None to let the pose engine pick). ``pictures_dir`` gets the key frames and the
    stride plot (none drawn without it); ``overlay_path`` the pose drawn over the clip.
    ``progress(fraction, stage)`` follows the whole analysis (and may raise to stop it),
    ``frame_progress(done, total)`` the pose engine frame by frame.
    """
    from backend.gait import analyze
    from backend.pose import run_pose

    report_progress: Progress = progress or (lambda _fraction, _stage: None)

    def on_frames(done: int, total: int | None) -> None:
        if frame_progress is not None:
            frame_progress(done, total)
        fraction = done / total if total else 0.0
        report_progress(0.02 + POSE_SHARE * min(1.0, fraction), "pose")

    report_progress(0.01, "pose")
    track = run_pose(clip, person=person, progress=on_frames, overlay_path=overlay_path)
    if on_track is not None:
        on_track(track)
    report_progress(0.9, "analysis")
    report = analyze(track, view, athlete, capture_fps=capture_fps,
                     slow_motion_factor=slow_motion_factor)
    if on_report is not None:
        on_report(report)
    result = AnalysisResult(track=track, report=report)
    if pictures_dir is not None:
        report_progress(0.93, "pictures")
        result.key_frames, result.strides_plot = draw_key_frames(report, track, pictures_dir,
                                                                 clip)
    return result
