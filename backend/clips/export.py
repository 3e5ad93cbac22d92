"""Everything stored about an account, as one ZIP archive.

``data/<table>.json`` holds the rows of every table that belong to the account: found through
the columns that name a user (``user_id``, ``athlete_id``, ``coach_id``, ...), so a table added
later is exported without touching this file; job rows come through the account's clips.
``files/`` holds every stored file of the account (clips as uploaded, tracks, overlays, key
frames) under its storage path. Password hashes and secret tokens are left out.

The tables are those of the shared metadata: every model module is imported where the app is
assembled (``backend.api.app`` imports ``backend.models``), so the list is complete there.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, or_, select
from sqlmodel import Session

from backend.accounts.models import User
from backend.clips.storage import LocalStorage, athlete_prefix
from backend.core.db import metadata

USER_COLUMNS = ("user_id", "athlete_id", "coach_id", "accepted_by_id")
SECRET_COLUMNS = frozenset({"hashed_password", "token", "secret", "endpoint_secret"})
CLIP_CHILD_TABLES = ("analysis_job",)

README = """StrideLab data export
=====================

Created {created} for account {user_id} ({email}).

data/<table>.json  the rows stored about you, one JSON list per table
                   (clip: your clips; analysis_report: the reports; clip_fault and
                   clip_metric: faults and metrics per clip; other tables: your account,
                   profile, coach links, plans and logs)
files/...          your stored files: clips as uploaded, pose tracks (.npz), overlay videos,
                   key frames
"""


def _rows(session: Session, table: Table, clause: Any) -> list[dict[str, Any]]:
    result = session.execute(select(table).where(clause))
    return [{k: v for k, v in row._mapping.items() if k not in SECRET_COLUMNS}
            for row in result]


def build_export(session: Session, user: User, storage: LocalStorage, dest: Path) -> None:
    """Write the archive of ``user``'s data to ``dest``."""
    tables: dict[str, list[dict[str, Any]]] = {}
    clip_ids: list[int] = []
    for table in metadata.sorted_tables:
        if table.name == "user":
            tables["user"] = _rows(session, table, table.c.id == user.id)
            continue
        columns = [table.c[name] for name in USER_COLUMNS if name in table.c]
        if not columns:
            continue
        rows = _rows(session, table, or_(*(column == user.id for column in columns)))
        if rows:
            tables[table.name] = rows
        if table.name == "clip":
            clip_ids = [int(row["id"]) for row in rows]
    for name in CLIP_CHILD_TABLES:
        child = metadata.tables.get(name)
        if child is not None and clip_ids:
            tables[name] = _rows(session, child, child.c.clip_id.in_(clip_ids))

    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(
            created=datetime.now(UTC).isoformat(timespec="seconds"), user_id=user.id,
            email=user.email))
        for name, rows in tables.items():
            archive.writestr(f"data/{name}.json", json.dumps(rows, indent=2, default=str))
        for key in storage.keys(athlete_prefix(user.pk)):
            # Video and images are compressed already.
            archive.write(storage.local_path(key), f"files/{key}",
                          compress_type=zipfile.ZIP_STORED)
