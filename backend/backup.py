"""Backup and restore of the embedded default: the SQLite database (an online backup, taken
while the app runs), the stored files (clips, tracks, overlays, key frames) and the keys of the
data dir (token signing, VAPID), in one tar archive with a manifest.

Consistency: the database is copied first, then the files. Stored files are content-addressed
and never rewritten, so every file the copied rows name existed when the rows were copied; a
file deleted while the backup ran (a clip deleted meanwhile) is the one thing that can be
missing, and the manifest lists it. The archive is written to a temporary name and renamed
when complete: a backup that failed half-way never looks like a backup.

PostgreSQL deployments back up with pg_dump and a copy of the storage (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backend
from backend.core.config import Settings
from backend.core.time import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
DB_NAME = "stridelab.db"
KEY_FILES = ("secret_key", "vapid_private_key.pem")

Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass
class BackupSummary:
    path: Path
    files: int
    bytes: int
    tables: dict[str, int]
    missing_files: list[str] = field(default_factory=list)


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(
            "stridelab backup covers the embedded SQLite database; this deployment uses "
            "PostgreSQL: back it up with pg_dump and copy the storage folder "
            "(docs/operations.md, 'Backups').")
    url = settings.sqlalchemy_url
    path = Path(url.split(":///", 1)[1]) if ":///" in url else Path()
    if not path.name or str(path) == ":memory:":
        raise BackupError(f"{url}: not a SQLite database file.")
    return path


def _referenced_files(db: Path) -> list[tuple[str, str | None]]:
    """(storage key, sha256 or None) of every file the rows name."""
    con = sqlite3.connect(db)
    try:
        refs: list[tuple[str, str | None]] = [
            (key, sha) for key, sha in con.execute("SELECT storage_key, sha256 FROM clip")]
        for track, track_sha, overlay, overlay_sha, frames in con.execute(
                "SELECT track_key, track_sha256, overlay_key, overlay_sha256, keyframes "
                "FROM analysis_report"):
            refs.append((track, track_sha))
            if overlay:
                refs.append((overlay, overlay_sha))
            refs.extend((f["key"], f.get("sha256")) for f in json.loads(frames or "[]"))
        return refs
    finally:
        con.close()


def _table_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {n: int(con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0])
                for n in sorted(names)}
    finally:
        con.close()


def _revision(db: Path) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
    except sqlite3.Error:
        return None
    finally:
        con.close()


def backup(settings: Settings, out: Path, progress: Progress | None = None) -> BackupSummary:
    """Write a backup of the embedded default to ``out`` (a .tar)."""
    say = progress or (lambda _msg: None)
    db = sqlite_path(settings)
    if not db.is_file():
        raise BackupError(f"{db}: no database yet; nothing to back up.")
    out = out.resolve()
    if out.exists():
        raise BackupError(f"{out} exists already; give a new file name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    storage = settings.resolved_storage_dir
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".stridelab-backup-") as tmp:
        snapshot = Path(tmp) / DB_NAME
        say(f"Copying the database {db} (online backup)...")
        src = sqlite3.connect(db)
        dst = sqlite3.connect(snapshot)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        refs = _referenced_files(snapshot)
        tables = _table_counts(snapshot)
        partial = out.with_name(out.name + ".partial")
        files = total = 0
        missing: list[str] = []
        say(f"Copying the stored files from {storage}...")
        with tarfile.open(partial, "w") as tar:
            tar.add(snapshot, arcname=DB_NAME)
            for name in KEY_FILES:
                key_file = settings.resolved_data_dir / name
                if key_file.is_file():
                    tar.add(key_file, arcname=f"keys/{name}")
            if storage.is_dir():
                for path in sorted(p for p in storage.rglob("*") if p.is_file()):
                    rel = path.relative_to(storage).as_posix()
                    if rel.startswith(("tmp/", "uploads/")):
                        continue  # unfinished uploads and scratch: not data yet
                    try:
                        tar.add(path, arcname=f"storage/{rel}")
                    except FileNotFoundError:
                        continue  # deleted while we ran; listed below if a row names it
                    files += 1
                    total += path.stat().st_size if path.exists() else 0
            stored = {m.name[len("storage/"):] for m in tar.getmembers()
                      if m.name.startswith("storage/")}
            missing = sorted({key for key, _ in refs if key not in stored})
            manifest = {
                "format": FORMAT, "stridelab_version": backend.__version__,
                "created_at": utcnow().isoformat(), "alembic_revision": _revision(snapshot),
                "tables": tables, "files": files, "bytes": total,
                "referenced_files": [{"key": k, "sha256": s} for k, s in refs],
                "missing_files": missing,
            }
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(utcnow().timestamp())
            tar.addfile(info, io.BytesIO(data))
        os.replace(partial, out)
    say(f"Backup written to {out}: {files} files, {total / 1e6:.1f} MB.")
    return BackupSummary(out, files, total, tables, missing)


@dataclass
class RestoreSummary:
    data_dir: Path
    files: int
    tables: dict[str, int]
    missing_files: list[str]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def restore(archive: Path, settings: Settings, *, force: bool = False,
            progress: Progress | None = None) -> RestoreSummary:
    """Restore ``archive`` into the data dir (and storage folder) of ``settings``, checking
    every file the rows name against its recorded digest; then migrate the database to this
    version of StrideLab."""
    say = progress or (lambda _msg: None)
    db = sqlite_path(settings)
    storage = settings.resolved_storage_dir
    if not archive.is_file():
        raise BackupError(f"{archive}: no such backup file.")
    if db.exists() and not force:
        raise BackupError(f"{db} exists: restore into a fresh data dir, or give --force to "
                          "replace what is there.")
    data_dir = settings.resolved_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".stridelab-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r") as tar:
                tar.extractall(work, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{archive}: not a readable StrideLab backup ({exc}).") from exc
        manifest_path = work / MANIFEST
        if not manifest_path.is_file() or not (work / DB_NAME).is_file():
            raise BackupError(f"{archive}: not a StrideLab backup (no manifest or database).")
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive}: backup format {manifest.get('format')}, this "
                              f"StrideLab reads format {FORMAT}.")
        say("Checking the stored files against the digests the rows record...")
        for ref in manifest["referenced_files"]:
            path = work / "storage" / ref["key"]
            if ref["key"] in manifest["missing_files"]:
                continue
            if not path.is_file():
                raise BackupError(f"{archive}: {ref['key']} is missing from the archive.")
            if ref["sha256"] and _sha256(path) != ref["sha256"]:
                raise BackupError(f"{archive}: {ref['key']} does not match its digest: the "
                                  "backup is damaged.")
        storage.mkdir(parents=True, exist_ok=True)
        files = 0
        stored = work / "storage"
        if stored.is_dir():
            for path in sorted(p for p in stored.rglob("*") if p.is_file()):
                target = storage / path.relative_to(stored)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                files += 1
        for name in KEY_FILES:
            key_file = work / "keys" / name
            if key_file.is_file():
                shutil.move(key_file, data_dir / name)
        db.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(work / DB_NAME, db)
    from backend.core.migrate import upgrade_database

    say("Migrating the restored database to this version...")
    upgrade_database(settings.sqlalchemy_url)
    say(f"Restored into {data_dir}: {files} files.")
    return RestoreSummary(data_dir, files, manifest["tables"], manifest["missing_files"])
