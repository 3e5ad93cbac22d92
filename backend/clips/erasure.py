"""Deleting an account and everything stored about it: the counterpart of ``export.py``, and
found the same way (the shared metadata's foreign keys to ``user``), so a table added later
is erased without touching this file.

- A row a user owns (a non-nullable foreign key to them: their clips, plans, logs,
  notifications, links, sessions) is deleted, and with it the rows that hang off it (a
  clip's job, a session log's sets).
- A row that only names them (a nullable foreign key: the coach who acknowledged another
  athlete's flag, who wrote a plan version, who accepted an invite) keeps its place with
  the name cleared.
- The audit log keeps its record (it has no foreign keys by design) and gains one: the
  deletion itself.

Files go once the deletion is committed (``remove_files``): a failed commit loses none.
"""

from __future__ import annotations

from sqlalchemy import Column, Table, delete, select, update
from sqlmodel import Session

from backend.accounts.models import User
from backend.clips.storage import Storage, athlete_prefix
from backend.core import audit
from backend.core.db import metadata

USER_TABLE = "user"


def _user_columns(table: Table) -> tuple[list[Column[int]], list[Column[int]]]:
    """The table's (owning, naming) foreign-key columns to ``user``."""
    owning: list[Column[int]] = []
    naming: list[Column[int]] = []
    for column in table.columns:
        if any(fk.column.table.name == USER_TABLE for fk in column.foreign_keys):
            (naming if column.nullable else owning).append(column)
    return owning, naming


def _doomed(table: Table, user_id: int) -> list[object]:
    """Where-clauses selecting ``table``'s rows that go with the user: owned by them, or
    hanging (by a non-nullable key) off a row that is owned by them."""
    owning, _ = _user_columns(table)
    clauses: list[object] = [column == user_id for column in owning]
    for column in table.columns:
        if column.nullable:
            continue
        for fk in column.foreign_keys:
            parent = fk.column.table
            if parent.name == USER_TABLE:
                continue
            parent_owning, _ = _user_columns(parent)
            for owner in parent_owning:
                clauses.append(column.in_(select(fk.column).where(owner == user_id)))
    return clauses


def erase_account(session: Session, user: User) -> dict[str, int]:
    """Delete ``user`` and every row about them (in ``session``'s transaction); the rows
    deleted or cleared per table."""
    user_id = user.pk
    counts: dict[str, int] = {}
    audit.record(session, "account_deleted", actor_id=user_id, subject_user_id=user_id,
                 role=user.role)
    session.flush()
    for table in metadata.sorted_tables:
        _, naming = _user_columns(table)
        for column in naming:
            result = session.execute(update(table).where(column == user_id)
                                     .values({column.name: None}))
            counts[f"{table.name}.{column.name}"] = (
                result.rowcount or 0)  # type: ignore[attr-defined]
    # Children before parents: a row is gone before the row it points at.
    for table in reversed(metadata.sorted_tables):
        if table.name == USER_TABLE:
            continue
        for clause in _doomed(table, user_id):
            result = session.execute(delete(table).where(clause))  # type: ignore[arg-type]
            counts[table.name] = counts.get(table.name, 0) + (
                result.rowcount or 0)  # type: ignore[attr-defined]
    session.expunge(user)
    users = metadata.tables[USER_TABLE]
    session.execute(delete(users).where(users.c.id == user_id))
    session.flush()
    return {k: v for k, v in counts.items() if v}


def remove_files(storage: Storage, user_id: int) -> None:
    """Every stored file of the account (clips, tracks, overlays, key frames)."""
    storage.delete_tree(athlete_prefix(user_id))
