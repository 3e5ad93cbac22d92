"""The pose engine: a phone clip in, the runner's landmark track out.

``run_pose(clip)`` decodes the clip (upright, real timestamps), finds the runner (or the person
at a point of the first frame) and tracks them with MediaPipe's BlazePose models on
onnxruntime. See docs/pose.md for the pipeline and its constants.

Importing this package is cheap: PyAV and onnxruntime load on the first call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backend.pose.errors import ModelsMissingError, PoseError, VideoError
from backend.pose.track import Track

__all__ = ["ModelsMissingError", "PoseError", "Track", "VideoError", "run_pose"]


def run_pose(
    clip_path: str | Path,
    *,
    person: tuple[float, float] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    overlay_path: str | Path | None = None,
    keyframes_dir: str | Path | None = None,
) -> Track:
    """Track the runner (or the person at ``person`` = (x, y) pixels of the upright first
    frame) through ``clip_path``.

    ``progress(done_frames, total_frames)`` reports as frames complete (``total_frames`` is
    None, or an estimate, for containers that do not store it). ``overlay_path`` gets an H.264
    MP4 with the skeleton drawn; ``keyframes_dir`` a few JPEG frames with it. Raises
    :class:`VideoError` for a clip that cannot be read, :class:`ModelsMissingError` when the
    models are not provisioned (``stridelab models fetch``).
    """
    from backend.pose.pipeline import run_pose as _run_pose

    return _run_pose(clip_path, person=person, progress=progress, overlay_path=overlay_path,
                     keyframes_dir=keyframes_dir)
