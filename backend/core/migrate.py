"""Apply the alembic migrations from code (CLI, server start, tests).

The revisions ship inside the package (``backend/migrations``), so an installed StrideLab
(``pip install .``, the Docker image) migrates without the repository around it; the
``alembic.ini`` at the repository root is only for writing new revisions."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("backend") / "migrations"))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
