"""``stridelab analyze-track`` and ``stridelab analyze``: running-form analysis from the command
line, a report JSON and a readable summary table."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from backend.cli.pose import (
    OutputPathError,
    check_output_dir,
    check_output_file,
    is_write_error,
    output_error,
    pose_progress,
)

if TYPE_CHECKING:
    from backend.gait.types import AthleteInfo, Report
    from backend.pose.track import Track

console = Console(stderr=True)
# Piped or captured output gets a fixed width wide enough for the metric table.
out_console = Console() if sys.stdout.isatty() else Console(width=120)


class ViewChoice(StrEnum):
    rear = "rear"
    front = "front"
    side = "side"
    auto = "auto"


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(message, markup=False, highlight=False, soft_wrap=True, style="red")
    return typer.Exit(code=code)


def _athlete(height_m: float | None, leg_length_m: float | None,
             treadmill_speed_mps: float | None) -> AthleteInfo | None:
    if height_m is None and leg_length_m is None and treadmill_speed_mps is None:
        return None
    from backend.gait.types import AthleteInfo

    try:
        return AthleteInfo(height_m=height_m, leg_length_m=leg_length_m,
                           treadmill_speed_mps=treadmill_speed_mps)
    except ValueError as exc:
        raise _fail(f"Bad athlete information: {exc}.") from exc


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    digits = 3 if unit == "leg lengths" or unit == "" else 1
    return f"{v:.{digits}f}"


def summary_tables(report: Report) -> list[Table]:
    """The report as tables a person can read: clip, metrics, faults, chain."""
    q = report.clip_quality
    v = report.view_detail
    clip = Table(title="Clip", show_header=False)
    clip.add_row("view", f"{report.view} (requested {v.requested}"
                 + (f", inferred {v.inferred} with confidence {v.confidence:.2f}"
                    if v.inferred else "") + ")")
    clip.add_row("fit for analysis", "yes" if q.fit else "NO")
    clip.add_row("frames / fps", f"{q.n_frames} / "
                 + (f"{q.fps_measured:.1f}" if q.fps_measured else "-"))
    clip.add_row("steps found", str(q.n_steps))
    for reason in q.reasons:
        clip.add_row("why not", reason)
    for tip in q.advice:
        clip.add_row("film again", tip)
    for w in q.warnings + v.notes:
        clip.add_row("note", w)
    tables = [clip]
    if not q.fit:
        return tables
    metrics = Table(title="Metrics (median over strides)")
    metrics.add_column("metric", no_wrap=True)
    for col in ("value", "left", "right", "unit", "strides", "quality"):
        metrics.add_column(col, no_wrap=True)
    withheld: dict[str, list[str]] = {}
    for key, m in report.metrics.items():
        if m.value is None:
            withheld.setdefault(m.withheld_reason or "not measured", []).append(key)
            continue
        metrics.add_row(key, _fmt(m.value, m.unit), _fmt(m.left, m.unit), _fmt(m.right, m.unit),
                        m.unit, str(m.n_strides), m.quality)
    tables.append(metrics)
    if withheld:
        held = Table(title="Withheld (not measured in this clip)")
        held.add_column("metrics")
        held.add_column("why")
        for reason, keys in withheld.items():
            held.add_row(", ".join(keys), reason)
        tables.append(held)
    faults = Table(title="Faults")
    for col in ("fault", "side", "severity", "confidence", "value", "cue"):
        faults.add_column(col)
    for f in report.faults:
        faults.add_row(f.code, f.side or "-", f.severity, f"{f.confidence:.2f}",
                       _fmt(f.value, f.unit) + f" {f.unit}", f.cues[0] if f.cues else "")
    if not report.faults:
        faults.add_row("none", "-", "-", "-", "-", "no fault crosses its threshold")
    tables.append(faults)
    if report.chain:
        chain = Table(title="Chain reading")
        for col in ("link", "confidence", "reasoning"):
            chain.add_column(col)
        for c in report.chain:
            chain.add_row(c.link, f"{c.confidence:.2f}", c.reasoning)
        tables.append(chain)
    return tables


def _write(report: Report, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise _fail(output_error(exc, "report", out)) from exc


def _check_outputs(out: Path, pictures: Path | None = None, overlay: Path | None = None,
                   track_out: Path | None = None) -> tuple[Path | None, Path | None]:
    """Every output path checked (directories created) before any work, so a typo costs a
    second, not a whole clip through the pose engine. Returns the overlay and the track path
    as they will be written (the track with ``.npz``)."""
    try:
        check_output_file(out, "report")
        if pictures is not None:
            check_output_dir(pictures, "pictures")
        if overlay is not None:
            overlay = check_output_file(overlay, "overlay")
        if track_out is not None:
            track_out = check_output_file(track_out, "track", suffix=".npz")
    except OutputPathError as exc:
        raise _fail(str(exc)) from exc
    return overlay, track_out


def _pictures(report: Report, track: Track, pictures: Path) -> None:
    from backend.analysis import draw_key_frames

    try:
        frames, strides = draw_key_frames(report, track, pictures)
    except OSError as exc:
        raise _fail(output_error(exc, "pictures", pictures)) from exc
    _pictures_written(frames, strides, pictures)


def _pictures_written(frames: list[Path], strides: Path | None, pictures: Path) -> None:
    count = len(frames) + (strides is not None)
    console.print(f"{count} pictures written to {pictures}", markup=False)


def print_report_summary(report: Report, to: Console | None = None) -> None:
    """Print the report's summary tables (used by ``stridelab jobs`` too)."""
    for table in summary_tables(report):
        (to or out_console).print(table)


def _show(report: Report, out: Path) -> None:
    print_report_summary(report)
    console.print(f"Report written to {out}", markup=False, highlight=False)


HEIGHT = typer.Option(None, "--height-m", help="Athlete height in metres (vertical "
                      "oscillation in cm).")
LEG = typer.Option(None, "--leg-length-m", help="Leg length in metres (trochanter to floor).")
SPEED = typer.Option(None, "--treadmill-speed-mps", help="Treadmill speed in m/s.")
CAPTURE = typer.Option(None, "--capture-fps", min=1.0,
                       help="A slow-motion clip: the frame rate it was filmed at (for example "
                       "240). Times and cadence are then in real seconds; without it a "
                       "slow-motion clip gets its angles but no time-based figures.")
SLOW = typer.Option(None, "--slow-motion-factor", min=1.0,
                    help="A slow-motion clip: how many times slower than life it plays (8 for "
                    "'1/8 speed'), instead of --capture-fps; for phones whose slow-motion clips "
                    "repeat frames.")
VIEW = typer.Option(ViewChoice.auto, "--view", case_sensitive=False,
                    help="Where the camera was: rear, front, side, or auto to infer it.")
OUT = typer.Option(..., "--out", help="Where to write the report JSON.", dir_okay=False)
PICTURES = typer.Option(None, "--pictures", help="Directory for key frames and stride plots.",
                        file_okay=False)


def register(app: typer.Typer) -> None:
    @app.command("analyze-track")
    def analyze_track(
        track_path: Path = typer.Argument(..., metavar="TRACK.npz",
                                          help="A landmark track saved by the pose engine."),
        view: ViewChoice = VIEW,
        out: Path = OUT,
        pictures: Path | None = PICTURES,
        height_m: float | None = HEIGHT,
        leg_length_m: float | None = LEG,
        treadmill_speed_mps: float | None = SPEED,
        capture_fps: float | None = CAPTURE,
        slow_motion_factor: float | None = SLOW,
    ) -> None:
        """Analyse a saved landmark track: gait events, metrics, faults and the chain reading."""
        from backend.gait import analyze
        from backend.pose.track import Track, TrackFormatError

        athlete = _athlete(height_m, leg_length_m, treadmill_speed_mps)
        if not track_path.is_file():
            raise _fail(f"{track_path}: no such file. Give the .npz track written by the pose "
                        "engine (stridelab analyze CLIP does pose and analysis in one go).")
        _check_outputs(out, pictures)
        try:
            track = Track.load(track_path)
        except TrackFormatError as exc:
            raise _fail(f"{exc}\nGive the .npz track written by the pose engine.") from exc
        report = _analysis(analyze, track, view.value, athlete, capture_fps, slow_motion_factor)
        _write(report, out)
        if pictures is not None:
            _pictures(report, track, pictures)
        _show(report, out)

    @app.command("analyze")
    def analyze_clip(
        clip: Path = typer.Argument(..., metavar="CLIP", help="A video of the runner."),
        view: ViewChoice = VIEW,
        out: Path = OUT,
        overlay: Path | None = typer.Option(None, "--overlay", dir_okay=False,
                                            help="Also write an MP4 with the skeleton drawn."),
        pictures: Path | None = PICTURES,
        track_out: Path | None = typer.Option(None, "--track-out", dir_okay=False,
                                              help="Also save the landmark track (.npz, "
                                              "appended if the name lacks it)."),
        height_m: float | None = HEIGHT,
        leg_length_m: float | None = LEG,
        treadmill_speed_mps: float | None = SPEED,
        capture_fps: float | None = CAPTURE,
        slow_motion_factor: float | None = SLOW,
    ) -> None:
        """Track the runner in a clip and analyse the running form, in one go."""
        from backend.analysis import analyse_video
        from backend.pose import PoseError
        from backend.pose.video import open_video

        athlete = _athlete(height_m, leg_length_m, treadmill_speed_mps)
        if not clip.is_file():
            raise _fail(f"{clip}: no such file.")
        overlay, track_out = _check_outputs(out, pictures, overlay, track_out)
        stage = "pose"

        def on_track(track: Track) -> None:
            nonlocal stage
            progress.stop()
            stage = "analysis"
            if track_out is not None:
                try:
                    track.save(track_out)
                except OSError as exc:
                    raise _fail(output_error(exc, "track", track_out)) from exc
                console.print(f"Track written to {track_out}", markup=False, highlight=False)

        def on_report(report: Report) -> None:
            nonlocal stage
            _write(report, out)
            stage = "pictures"

        try:
            open_video(clip)  # a bad clip is reported before any progress bar appears
            progress, on_frame = pose_progress(clip)
            with progress:
                result = analyse_video(clip, view=view.value, athlete=athlete,
                                       capture_fps=capture_fps,
                                       slow_motion_factor=slow_motion_factor,
                                       pictures_dir=pictures,
                                       overlay_path=overlay, frame_progress=on_frame,
                                       on_track=on_track, on_report=on_report)
        except PoseError as exc:
            raise _fail(str(exc)) from exc
        except ValueError as exc:
            if stage != "analysis":
                raise
            raise _fail(_slow_motion_error(exc, slow_motion_factor)) from exc
        except Exception as exc:
            if stage == "analysis" or not is_write_error(exc):
                raise
            if stage == "pictures":
                raise _fail(output_error(exc, "pictures", pictures or clip)) from exc
            raise _fail(output_error(exc, "overlay", overlay or clip)) from exc
        if pictures is not None:
            _pictures_written(result.key_frames, result.strides_plot, pictures)
        _show(result.report, out)


def _slow_motion_error(exc: ValueError, slow_motion_factor: float | None) -> str:
    """The analysis refused the slow-motion option given: a capture rate below the clip's own
    frame rate, or both options at once."""
    return f"{'--slow-motion-factor' if slow_motion_factor is not None else '--capture-fps'}: {exc}"


def _analysis(analyze: Any, track: Track, view: str, athlete: AthleteInfo | None,
              capture_fps: float | None, slow_motion_factor: float | None) -> Report:
    try:
        report: Report = analyze(track, view, athlete, capture_fps=capture_fps,
                                 slow_motion_factor=slow_motion_factor)
    except ValueError as exc:
        raise _fail(_slow_motion_error(exc, slow_motion_factor)) from exc
    return report
