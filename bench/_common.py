"""What the benchmarks share: a fresh PostgreSQL database on the test server (made, migrated
by the caller, and dropped however the run ends).

    from bench._common import fresh_postgres

    with fresh_postgres("stridelab_bench") as url:
        upgrade_database(url)
        ...

The server is STRIDELAB_TEST_POSTGRES_URL, the one 'scripts/services.sh start' runs
('eval "$(scripts/services.sh env)"' sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from backend.core.db import make_engine

POSTGRES_ENV = "STRIDELAB_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def require_postgres() -> str:
    url = postgres_admin_url()
    if not url:
        raise SystemExit("No PostgreSQL: run 'scripts/services.sh start' and "
                         "'eval \"$(scripts/services.sh env)\"' first.")
    return url


def _admin(admin_url: str, statement: str) -> None:
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextmanager
def fresh_postgres(prefix: str = "stridelab_bench", admin_url: str | None = None) -> Iterator[str]:
    """The URL of a new, empty database on the test server; dropped (even with sessions
    still open) when the block ends."""
    admin_url = admin_url or require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
