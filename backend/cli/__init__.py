"""The ``stridelab`` command line."""

from __future__ import annotations

import typer

from backend.cli import backup, core, gait, jobs, models, pose

app = typer.Typer(
    name="stridelab",
    help="StrideLab: running-form analysis from phone video, and the plans that fix it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
core.register(app)
models.register(app)
jobs.register(app)
pose.register(app)
gait.register(app)
backup.register(app)
