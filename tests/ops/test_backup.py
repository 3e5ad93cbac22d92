"""``stridelab backup`` and ``restore``: a backup of a living data dir restored into a fresh
one reads everything back, media included; damaged or foreign archives are refused."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from backend.api.app import create_app
from backend.backup import BackupError, backup, restore
from backend.core.config import Settings
from backend.core.db import make_engine
from backend.core.migrate import upgrade_database
from tests.clips.seed import seed_analysed_clip
from tests.conftest import TEST_SECRET, Accounts


def _fresh(tmp_path: Path, name: str) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / name, secret_key=TEST_SECRET)


async def _everything(client: httpx.AsyncClient, headers: dict[str, str],
                      clip_id: int) -> dict[str, Any]:
    """What the athlete reads: account, plan, clip, report and the media bytes."""
    out: dict[str, Any] = {}
    for path in ("/api/v1/users/me", "/api/v1/users/me/profile", "/api/v1/plans/current",
                 f"/api/v1/clips/{clip_id}", f"/api/v1/clips/{clip_id}/report"):
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        out[path] = resp.json()
    for path in (f"/api/v1/clips/{clip_id}/video", f"/api/v1/clips/{clip_id}/overlay"):
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        out[path] = hashlib.sha256(resp.content).hexdigest()
    return out


async def test_a_backup_restored_into_a_fresh_data_dir_reads_everything_back(
        tmp_path: Path) -> None:
    live = _fresh(tmp_path, "live")
    engine = make_engine(live.sqlalchemy_url)
    upgrade_database(live.sqlalchemy_url)
    app = create_app(live, engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        accounts = Accounts(client)
        athlete = await accounts.register("athlete")
        resp = await client.put("/api/v1/users/me/profile", headers=athlete["headers"], json={
            "running_background": "advanced", "weekly_volume_km": 50,
            "equipment": ["kettlebell"], "strength_days": [1, 4], "time_zone": "Europe/Paris"})
        assert resp.status_code == 200
        seeded = seed_analysed_clip(engine, live, int(athlete["id"]), tmp_path / "work")
        before = await _everything(client, athlete["headers"], seeded.clip_id)
        # Written while the app is live (an online backup).
        summary = backup(live, tmp_path / "backups" / "stridelab.tar")
    assert summary.files == 4 and not summary.missing_files  # clip, track, overlay, frame
    assert summary.tables["user"] == 1 and summary.tables["clip"] == 1
    engine.dispose()

    fresh = _fresh(tmp_path, "restored")
    restored = restore(summary.path, fresh)
    assert restored.files == 4
    engine2 = make_engine(fresh.sqlalchemy_url)
    app2 = create_app(fresh, engine2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app2),
                                 base_url="http://testserver") as client:
        # The same password logs in; everything reads back the same.
        token = await Accounts(client).login(athlete["email"], athlete["password"])
        after = await _everything(client, {"Authorization": f"Bearer {token}"},
                                  seeded.clip_id)
    engine2.dispose()
    assert after == before
    # Restoring over a live database needs --force.
    with pytest.raises(BackupError, match="restore into a fresh data dir"):
        restore(summary.path, fresh)


def test_a_damaged_or_foreign_archive_is_refused(tmp_path: Path, engine: Engine,
                                                 settings: Settings) -> None:
    if not settings.is_sqlite:
        with pytest.raises(BackupError, match="pg_dump"):
            backup(settings, tmp_path / "b.tar")
        return
    seed_analysed_clip(engine, settings, _athlete_id(engine), tmp_path / "work")
    good = backup(settings, tmp_path / "good.tar").path
    with pytest.raises(BackupError, match="exists already"):
        backup(settings, good)
    # A stored file changed after the backup: its digest gives it away.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(good) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            if member.name.endswith(".mp4") and "overlay" not in member.name:
                payload = b"not the clip"
                member.size = len(payload)
                dst.addfile(member, io.BytesIO(payload))
            else:
                dst.addfile(member, data)
    with pytest.raises(BackupError, match="does not match its digest"):
        restore(damaged, _fresh(tmp_path, "r1"))
    foreign = tmp_path / "foreign.tar"
    foreign.write_bytes(b"this is not a tar archive at all" * 20)
    with pytest.raises(BackupError, match="not a readable StrideLab backup"):
        restore(foreign, _fresh(tmp_path, "r2"))
    # Nothing of the failed restores is left as a database.
    assert not (tmp_path / "r1" / "stridelab.db").exists()


def _athlete_id(engine: Engine) -> int:
    from sqlmodel import Session

    from backend.accounts.models import Role
    from backend.accounts.service import create_user

    with Session(engine) as session:
        user = create_user(session, email="backup@example.com", password="a-long-passphrase-1",
                           role=Role.athlete, display_name="Backup")
        session.commit()
        return user.pk


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    from tests.test_cli import run_cli

    live, restored = tmp_path / "live", tmp_path / "restored"
    assert run_cli("db", "upgrade", data_dir=live).returncode == 0
    assert run_cli("demo", "seed", data_dir=live).returncode == 0
    archive = tmp_path / "nightly.tar"
    made = run_cli("backup", str(archive), data_dir=live)
    assert made.returncode == 0, made.stderr
    assert "Backup written to" in made.stderr and archive.is_file()
    again = run_cli("backup", str(archive), data_dir=live)
    assert again.returncode == 2 and "exists already" in " ".join(again.stderr.split())
    back = run_cli("restore", str(archive), data_dir=restored)
    assert back.returncode == 0, back.stderr
    assert (restored / "stridelab.db").is_file()
    for key in ("secret_key", "vapid_private_key.pem"):  # made on first use: kept if made
        assert (live / key).is_file() == (restored / key).is_file()
    over = run_cli("restore", str(archive), data_dir=restored)
    assert over.returncode == 2 and "--force" in " ".join(over.stderr.split())
    # The restored data dir serves the same demo accounts.
    assert run_cli("demo", "seed", data_dir=restored).stderr.count("already present") == 1
