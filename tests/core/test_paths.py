"""Paths come from settings with defaults that hold when the package is installed: nothing
is found by walking up from the source files to a repository that may not be there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend.core.config import Settings, default_models_dir
from backend.core.migrate import alembic_config
from backend.pose.networks import default_models_dir as pose_models_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_models_dir_is_the_ml_models_package_or_the_setting(tmp_path: Path) -> None:
    import ml_models

    package_dir = Path(ml_models.__file__).parent
    assert default_models_dir() == package_dir == pose_models_dir()
    assert Settings().resolved_models_dir == package_dir
    assert Settings(models_dir=tmp_path).resolved_models_dir == tmp_path


def test_frontend_dir_from_the_setting_or_the_checkout(tmp_path: Path) -> None:
    assert Settings(frontend_dir=tmp_path).resolved_frontend_dir == tmp_path
    assert Settings().resolved_frontend_dir == REPO_ROOT / "frontend"  # a source checkout


def test_migrations_ship_inside_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")
    assert location == REPO_ROOT / "backend" / "migrations"
    assert (location / "env.py").is_file() and any((location / "versions").glob("2026_*.py"))


def test_an_installed_copy_migrates_away_from_the_repository(tmp_path: Path) -> None:
    """The package alone (as `pip install .` lays it in site-packages), run from another
    folder: the database is migrated from the revisions inside it."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "backend", site / "backend",
                    ignore=shutil.ignore_patterns("__pycache__"))
    url = f"sqlite:///{tmp_path / 'installed.db'}"
    code = ("from backend.core.migrate import upgrade_database; from backend.core.config import "
            f"Settings; upgrade_database({url!r}); s = Settings(); "
            "print(s.resolved_frontend_dir, s.resolved_models_dir)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False,
                            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    frontend, _models = result.stdout.split()
    assert frontend == "None"  # no checkout around it: the web app comes from the setting
    import sqlite3

    with sqlite3.connect(tmp_path / "installed.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"user", "clip", "analysis_job", "periodic_task"} <= tables
