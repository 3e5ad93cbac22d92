"""Server, database and demo-data commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    demo_app = typer.Typer(help="Demo data for a living first look.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(demo_app, name="demo")

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port."),
        migrate: bool = typer.Option(
            True, help="Apply pending migrations first (embedded SQLite default only)."),
    ) -> None:
        """Run the API and web app (uvicorn)."""
        import uvicorn

        from backend.api.app import create_app
        from backend.core.config import get_settings
        from backend.core.migrate import upgrade_database

        settings = get_settings()
        if migrate and settings.is_sqlite:
            upgrade_database()
        # Embedded default: the job consumer runs in this process. With Redis, jobs run in
        # 'stridelab worker' processes and this one only queues them.
        run_jobs = not settings.redis_url
        console.print(f"StrideLab on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
                      f"  database: {settings.sqlalchemy_url.split('@')[-1]}")
        console.print("Analysis jobs: run here (SQLite queue in the data dir)" if run_jobs else
                      "Analysis jobs: queued in Redis for 'stridelab worker' processes")
        uvicorn.run(create_app(settings, run_jobs=run_jobs), host=host, port=port,
                    log_level="info")

    @db_app.command("upgrade")
    def db_upgrade(revision: str = typer.Argument("head")) -> None:
        """Apply the alembic migrations up to REVISION."""
        from backend.core.config import get_settings
        from backend.core.migrate import upgrade_database

        upgrade_database(revision=revision)
        console.print(f"Database at {revision}: {get_settings().sqlalchemy_url.split('@')[-1]}")

    @demo_app.command("seed")
    def demo_seed(
        clips_dir: Path = typer.Option(
            Path("../shared/clips/running"), envvar="STRIDELAB_DEMO_CLIPS_DIR",
            help="The real running clips the demo athletes film (analysed now, seconds "
                 "each); without them the rest is seeded."),
    ) -> None:
        """Create a demo coach and two athletes with weeks of history (idempotent)."""
        from backend.core.config import get_settings
        from backend.core.db import get_engine
        from backend.demo import DEMO_PASSWORD, seed_demo
        from backend.wiring import job_runtime

        runtime = job_runtime(get_settings(), get_engine())
        try:
            result = seed_demo(runtime, clips_dir=clips_dir, progress=console.print)
        finally:
            runtime.close()
        if result.created:
            console.print(f"Demo data created ({result.clips} clips, {result.fit} analysed "
                          f"as fit, {result.analysed - result.fit} refused). Log in as "
                          f"coach@demo.stridelab.app, ada@demo.stridelab.app or "
                          f"ben@demo.stridelab.app with password {DEMO_PASSWORD!r}.")
        else:
            console.print("Demo data already present.")
