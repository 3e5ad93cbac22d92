"""Application settings, read from the environment with the ``STRIDELAB_`` prefix."""

from __future__ import annotations

import importlib.util
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Every route of the API lives under this prefix: the one place it is written.
API_PREFIX = "/api/v1"

# Values copied from examples and docs; refused outside development.
_PLACEHOLDER_SECRETS = {"changethis", "change-me", "secret", "dev", "development", ""}


class InsecureSettingsError(RuntimeError):
    """The configuration would run a non-development server with a guessable secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRIDELAB_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite in the data dir. "
        "Use postgresql+psycopg://user:pass@host/db for PostgreSQL.",
    )
    secret_key: str | None = None
    access_token_expire_minutes: int = Field(
        default=30, ge=1, description="Access tokens are short-lived; the app renews them "
        "with its refresh token (POST /api/v1/auth/refresh).")
    refresh_token_expire_days: int = Field(
        default=30, ge=1, description="A login lasts this long without use; each refresh "
        "rotates its refresh token.")
    register_max_per_hour: int = Field(
        default=20, ge=1, description="Accounts one client address may create in an hour.")
    smtp_url: str | None = Field(
        default=None, description="smtp://user:pass@host:port (smtps:// for TLS) for the "
        "password-reset emails; unset, they are written to <data dir>/outbox/ instead.")
    mail_from: str = "StrideLab <no-reply@stridelab.invalid>"
    public_url: str = Field(default="http://127.0.0.1:8000",
                            description="Where people reach the app (links in emails).")
    jwt_algorithm: str = "HS256"

    # Login throttling: failed attempts per (account, client) inside the window.
    login_max_failures: int = 5
    login_window_s: int = 300

    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db: jobs go to Redis and run in 'stridelab worker' "
        "processes; unset, they run inside 'stridelab serve' (SQLite queue in the data dir).",
    )
    models_dir: Path | None = Field(
        default=None,
        description="The pose models (.onnx); defaults to the installed ml_models package, "
        "where 'stridelab models fetch' puts them.")
    frontend_dir: Path | None = Field(
        default=None,
        description="The web app (its dist/ when built, else public/); defaults to the "
        "frontend/ folder of a source checkout, if there is one (the Docker image sets it).")

    # Notifications (Web Push with VAPID).
    vapid_private_key: str | None = Field(
        default=None,
        description="The VAPID private key (EC P-256, PEM); unset, one is made on first use "
        "and kept in the data dir (every process and machine must share it).")
    vapid_subject: str = Field(
        default="mailto:notifications@stridelab.invalid",
        description="Who push services may contact about our pushes (mailto: or https: URL).")
    push_interval_s: float = Field(default=5.0, gt=0,
                                   description="How often due notifications are pushed.")
    weekly_check_interval_s: float = Field(
        default=300.0, gt=0,
        description="How often the weekly plan notification looks for athletes whose weekday "
        "and time have come.")

    # Clips: what an upload may be.
    max_upload_mb: int = 300
    max_clip_duration_s: float = 90.0
    min_clip_duration_s: float = 3.0
    min_clip_fps: float = 24.0
    storage_dir: Path | None = Field(
        default=None,
        description="Clips, tracks, overlays and key frames; defaults to <data dir>/storage. "
        "Several machines share one (a network file system mounted at the same path).",
    )
    upload_expire_hours: int = Field(
        default=72, description="Unfinished resumable uploads are deleted after this long.")

    # Analysis jobs: the job row in the database is the truth, the queue only delivers.
    queue_name: str = "stridelab"
    job_workers: int = Field(default=1, ge=1, description="Jobs run at once per process.")
    job_lease_s: float = Field(
        default=60.0, gt=0,
        description="A running job's lease; the worker renews it every third of this.")
    job_max_attempts: int = Field(default=3, ge=1)
    job_timeout_s: float = Field(default=1800.0, gt=0,
                                 description="A job running longer stops renewing its lease.")
    job_requeue_after_s: float = Field(
        default=900.0, gt=0,
        description="A job queued this long without a worker taking it is queued again.")
    reaper_interval_s: float = Field(default=15.0, gt=0)

    # Load limits (issue 16): past these an upload is refused at once with Retry-After (and
    # nothing of it kept), rather than queued for hours or left to time out.
    queue_max_depth: int = Field(
        default=100, ge=1,
        description="Analyses that may wait for a worker (jobs 'queued'); an upload that "
        "would queue one more is refused with 503 and Retry-After.")
    queue_full_retry_after_s: int = Field(
        default=60, ge=1, description="The Retry-After of an upload refused for a full queue.")
    upload_max_per_window: int = Field(
        default=6, ge=1,
        description="Uploads (multipart, or tus creations) one athlete may start in "
        "upload_window_s; past it, 429 with Retry-After.")
    upload_window_s: float = Field(default=60.0, gt=0)

    cors_origins: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if (
            self.environment == "production"
            and self.secret_key is not None
            and (self.secret_key.lower() in _PLACEHOLDER_SECRETS or len(self.secret_key) < 32)
        ):
            raise InsecureSettingsError(
                "STRIDELAB_SECRET_KEY is a placeholder or shorter than 32 characters; "
                "set a random value (python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "or leave it unset to have one generated in the data dir."
            )
        return self

    @property
    def resolved_data_dir(self) -> Path:
        path = self.data_dir if self.data_dir.is_absolute() else Path.cwd() / self.data_dir
        return path.resolve()

    @property
    def resolved_storage_dir(self) -> Path:
        if self.storage_dir is None:
            return self.resolved_data_dir / "storage"
        path = self.storage_dir if self.storage_dir.is_absolute() else Path.cwd() / self.storage_dir
        return path.resolve()

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir if self.models_dir is not None else default_models_dir()

    @property
    def resolved_frontend_dir(self) -> Path | None:
        if self.frontend_dir is not None:
            return self.frontend_dir
        checkout = source_checkout()
        return checkout / "frontend" if checkout is not None else None

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'stridelab.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def jwt_secret(self) -> str:
        """The signing key: the configured one, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        return _stored_secret(self.resolved_data_dir)


def default_models_dir() -> Path:
    """Where ``ml_models.provision`` puts the models: its own package folder, wherever it is
    installed (found without importing it)."""
    spec = importlib.util.find_spec("ml_models")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path.cwd() / "ml_models"


def source_checkout() -> Path | None:
    """The repository around the package when it runs from a source checkout (an editable
    install, ``make run``); None when installed (site-packages has no pyproject.toml)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "backend").is_dir() else None


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: if two processes start together, the first key written wins.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
