"""Apply the alembic migrations from code (CLI, server start, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from backend.core.config import REPO_ROOT


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
