"""``stridelab backup`` and ``stridelab restore``: the embedded default's database, stored
files and keys in one archive (backend/backup.py, docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        out: Path = typer.Argument(..., metavar="BACKUP.tar", dir_okay=False,
                                   help="The archive to write (must not exist)."),
    ) -> None:
        """Back up the database, the stored clips and results, and the keys (SQLite default;
        runs while the app serves)."""
        from backend.backup import BackupError, backup
        from backend.core.config import get_settings

        try:
            summary = backup(get_settings(), out, progress=console.print)
        except BackupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        rows = sum(summary.tables.values())
        console.print(f"{rows} rows in {len(summary.tables)} tables, {summary.files} files.")
        if summary.missing_files:
            console.print(f"[yellow]{len(summary.missing_files)} file(s) were deleted while the "
                          "backup ran and are not in it (listed in its manifest).[/yellow]")

    @app.command("restore")
    def restore_command(
        archive: Path = typer.Argument(..., metavar="BACKUP.tar", exists=False,
                                       help="An archive written by 'stridelab backup'."),
        force: bool = typer.Option(False, "--force",
                                   help="Replace the database already in the data dir."),
    ) -> None:
        """Restore a backup into the data dir (STRIDELAB_DATA_DIR), checking every file, then
        migrate it to this version."""
        from backend.backup import BackupError, restore
        from backend.core.config import get_settings

        try:
            summary = restore(archive, get_settings(), force=force, progress=console.print)
        except BackupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        console.print(f"{sum(summary.tables.values())} rows, {summary.files} files restored.")
