"""``stridelab models``: provision the pose models (part of ``make install``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(
        help="The pose models (MediaPipe BlazePose, as ONNX).", no_args_is_help=True
    )
    app.add_typer(models_app, name="models")

    @models_app.command("fetch")
    def fetch(
        force: bool = typer.Option(False, "--force", help="Convert again even if up to date."),
        from_dir: Path | None = typer.Option(
            None,
            "--from-dir",
            metavar="DIR",
            help="Take pose_detection.tflite and pose_landmark_full.tflite from DIR "
            "instead of downloading the mediapipe wheel.",
            exists=True,
            file_okay=False,
            dir_okay=True,
            resolve_path=True,
        ),
    ) -> None:
        """Download, verify and convert the pose models to ONNX (idempotent, cached)."""
        # Imported here so that other commands do not pay for onnx/tflite at start-up.
        from ml_models.provision import ProvisioningError, ensure_models

        def log(message: str) -> None:
            console.print(message, markup=False, highlight=False, soft_wrap=True)

        try:
            paths = ensure_models(force=force, tflite_dir=from_dir, log=log)
        except ProvisioningError as error:
            console.print(
                f"Pose model provisioning failed.\n{error}",
                markup=False,
                highlight=False,
                soft_wrap=True,
                style="red",
            )
            raise typer.Exit(code=2) from error
        for path in paths.values():
            log(f"  {path}")
