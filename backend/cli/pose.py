"""``stridelab pose``: a clip in, the runner's landmark track (``.npz``) out."""

from __future__ import annotations

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
        out: Path = typer.Option(..., "--out", help="Where to write the track (.npz).",
                                 show_default=False),
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
        try:
            open_video(clip)  # a bad clip is reported before any progress bar appears
            with progress:
                task = progress.add_task(clip.name, total=None)

                def report(done: int, total: int | None) -> None:
                    progress.update(task, completed=done, total=total)

                track = run_pose(clip, person=point, progress=report, overlay_path=overlay)
        except PoseError as error:
            console.print(f"Error: {error}", style="red", markup=False, highlight=False,
                          soft_wrap=True)
            raise typer.Exit(code=1) from None
        out.parent.mkdir(parents=True, exist_ok=True)
        track.save(out)
        found = int(track.found.sum())
        console.print(
            f"{out}: {track.n_frames} frames, {track.duration_s:.2f} s, person found in "
            f"{found} ({track.width}x{track.height} upright)"
            + (f"; overlay {overlay}" if overlay is not None else ""),
            markup=False, highlight=False, soft_wrap=True,
        )
