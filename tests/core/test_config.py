"""Settings: defaults, the generated secret, refusal of placeholder secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.config import InsecureSettingsError, Settings


def test_embedded_default_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=None)
    assert settings.is_sqlite
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'var' / 'stridelab.db'}"


def test_postgres_url_switches_backend() -> None:
    settings = Settings(database_url="postgresql+psycopg://u:p@db/stridelab")
    assert not settings.is_sqlite


def test_secret_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None)
    first = settings.jwt_secret
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path, secret_key=None).jwt_secret == first


@pytest.mark.parametrize("secret", ["changethis", "secret", "short-but-not-placeholder"])
def test_placeholder_secret_refused_in_production(secret: str) -> None:
    with pytest.raises(InsecureSettingsError, match="placeholder"):
        Settings(environment="production", secret_key=secret)


def test_placeholder_secret_allowed_in_development() -> None:
    assert Settings(environment="development", secret_key="changethis").jwt_secret == "changethis"


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STRIDELAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STRIDELAB_MAX_UPLOAD_MB", "12")
    settings = Settings()
    assert settings.resolved_data_dir == tmp_path
    assert settings.max_upload_mb == 12
