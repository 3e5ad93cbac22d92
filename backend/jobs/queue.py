"""Which queue carries the job ids: SqliteHuey in the data dir by default (one machine, the
consumer runs inside ``stridelab serve``), Redis when ``STRIDELAB_REDIS_URL`` is set (workers
on any number of machines)."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from backend.core.config import Settings


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False,
                         blocking=True, read_timeout=1)
    data_dir = settings.resolved_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=str(data_dir / "jobs.db"), results=False)


def describe(settings: Settings) -> str:
    if settings.redis_url:
        return f"Redis {settings.redis_url.split('@')[-1]} (queue {settings.queue_name!r})"
    return f"SQLite {settings.resolved_data_dir / 'jobs.db'} (queue {settings.queue_name!r})"
