"""``stridelab pose``: a clip in, the runner's landmark track (``.npz``) out."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


class OutputPathError(Exception):
    """An output path that cannot be written; the message says which and why."""


def _probe_dir(directory: Path, what: str) -> None:
    """Create ``directory`` (and its parents) and check a file can be written in it."""
    if directory.exists() and not directory.is_dir():
        raise OutputPathError(f"Cannot write the {what}: {directory} is a file, not a directory.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise OutputPathError(
            f"Cannot write the {what} in {directory}: {exc.strerror or exc}. Choose a "
            "directory you can write to.") from None


def check_output_file(path: Path, what: str, suffix: str | None = None) -> Path:
    """Check, before any work, that ``path`` can be written (creating its directory) and
    return the path that will really be written: with ``suffix`` appended when it lacks it
    (``numpy.savez`` appends ``.npz`` by itself, so say so up front)."""
    if suffix is not None and path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        raise OutputPathError(f"Cannot write the {what} to {path}: it is a directory. "
                              "Give a file name.")
    _probe_dir(path.parent, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"Cannot write the {what} to {path}: permission denied.")
    return path


def check_output_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and check that files can be written in it."""
    _probe_dir(path, what)
    return path


def output_error(exc: BaseException, what: str, path: Path) -> str:
    """A one-line message for an OSError (or a PyAV error) while writing ``path``."""
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"Cannot write the {what} to {path}: {detail}."


def is_write_error(exc: BaseException) -> bool:
    """OSError, or the FFmpeg error PyAV raises while writing a video."""
    if isinstance(exc, OSError):
        return True
    try:
        import av.error
    except ImportError:  # pragma: no cover - PyAV is a dependency of the pose engine
        return False
    return isinstance(exc, av.error.FFmpegError)


def pose_progress(clip: Path) -> tuple[Progress, Callable[[int, int | None], None]]:
    """A progress bar for the pose engine over ``clip`` and the callback that moves it."""
    progress = Progress(
        TextColumn("[bold]pose[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FramesPerSecondColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task(clip.name, total=None)

    def report(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)

    return progress, report


class FramesPerSecondColumn(ProgressColumn):
    """Frames per second over the whole run so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:6.1f} frames/s", style="progress.data.speed")


def parse_point(value: str | None) -> tuple[float, float] | None:
    """``"X,Y"`` (pixels of the upright first frame) -> (x, y); None stays None."""
    if value is None:
        return None
    parts = value.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = (float(p) for p in parts)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a point: give X,Y in pixels of the upright first frame, "
            "e.g. --person 540,900."
        ) from None
    return x, y


def register(app: typer.Typer) -> None:
    @app.command()
    def pose(
        clip: Path = typer.Argument(..., help="The video clip (MP4, MOV or WebM).",
                                    show_default=False),
        out: Path = typer.Option(..., "--out", show_default=False,
                                 help="Where to write the track (.npz, appended if the name "
                                 "lacks it)."),
        overlay: Path | None = typer.Option(
            None, "--overlay", help="Also write the skeleton over the clip, as H.264 MP4."),
        person: str | None = typer.Option(
            None, "--person", metavar="X,Y",
            help="Track the person at this point of the first frame (upright pixels) "
            "instead of the runner found automatically."),
    ) -> None:
        """Track the runner through CLIP and write their landmark track to --out."""
        point = parse_point(person)
        # Imported here so that other commands do not pay for PyAV and onnxruntime.
        from backend.pose import run_pose
        from backend.pose.errors import PoseError
        from backend.pose.video import open_video

        try:
            out = check_output_file(out, "track", suffix=".npz")
            if overlay is not None:
                overlay = check_output_file(overlay, "overlay")
        except OutputPathError as error:
            console.print(f"Error: {error}", style="red", markup=False, highlight=False,
                          soft_wrap=True)
            raise typer.Exit(code=1) from None
        try:
            open_video(clip)  # a bad clip is reported before any progress bar appears
            progress, report = pose_progress(clip)
            with progress:
                track = run_pose(clip, person=point, progress=report, overlay_path=overlay)
        except PoseError as error:
            console.print(f"Error: {error}", style="red", markup=False, highlight=False,
                          soft_wrap=True)
            raise typer.Exit(code=1) from None
        except Exception as error:
            if not is_write_error(error):
                raise
            console.print(f"Error: {output_error(error, 'overlay', overlay or out)}",
                          style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None
        try:
            track.save(out)
        except OSError as error:
            console.print(f"Error: {output_error(error, 'track', out)}", style="red",
                          markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None
        found = int(track.found.sum())
        console.print(
            f"{out}: {track.n_frames} frames, {track.duration_s:.2f} s, person found in "
            f"{found} ({track.width}x{track.height} upright)"
            + (f"; overlay {overlay}" if overlay is not None else ""),
            markup=False, highlight=False, soft_wrap=True,
        )
