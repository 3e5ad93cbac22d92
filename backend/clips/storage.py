"""Where clip files live: one small interface, the local file system by default.

Layout under the storage root (``STRIDELAB_STORAGE_DIR``, default ``<data dir>/storage``).
Clips live at paths made from their content hash (the same bytes land on the same path);
each analysis attempt writes its results under a folder of its own (``<attempt>`` =
``job-<job id>-attempt-<n>-<lease owner token>``), so a worker that lost its job can never
overwrite the files a committed report points at:

    athletes/<athlete id>/clips/<sha256>.<ext>                        the uploaded video
    athletes/<athlete id>/results/<clip sha256>/<attempt>/track.npz   the pose track
    athletes/<athlete id>/results/<clip sha256>/<attempt>/overlay.mp4 the pose over the clip
    athletes/<athlete id>/results/<clip sha256>/<attempt>/keyframes/  key frames, lines drawn
    _incoming/<random>                                          multipart uploads being received
    _tus/<upload id>, _tus/<upload id>.info                     resumable uploads in progress

Rows hold the keys (paths relative to the root) and the sha256 of each file. Everything of an
athlete is under one folder, so deleting or exporting an athlete's files is one walk. Incoming
files are written inside the root so that filing them is a rename on the same file system.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from backend.core.config import Settings

CHUNK = 1024 * 1024
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


class Storage(Protocol):
    """What the rest of the code may ask of storage. A second backend (object storage) would
    implement the same methods, downloading to a local cache in ``local_path``."""

    def new_incoming(self, suffix: str = "") -> Path:
        """A fresh path to write a new file to, on the same file system as the store."""
        ...

    def put(self, src: Path, key: str) -> None:
        """Move ``src`` to ``key`` atomically (replacing what was there)."""
        ...

    def local_path(self, key: str) -> Path: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def delete_tree(self, prefix: str) -> None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...


class LocalStorage:
    """Files under one root folder of the local (or a shared, mounted) file system."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    @property
    def incoming_dir(self) -> Path:
        return self.root / "_incoming"

    @property
    def tus_dir(self) -> Path:
        return self.root / "_tus"

    def new_incoming(self, suffix: str = "") -> Path:
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        return self.incoming_dir / f"{uuid.uuid4().hex}{suffix}"

    def put(self, src: Path, key: str) -> None:
        dst = self._path(key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except OSError:
            # Another file system (the source was not made by new_incoming): copy, then rename.
            tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            src.unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_tree(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            yield prefix.rstrip("/")
            return
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()


def get_storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.resolved_storage_dir)


# --------------------------------------------------------------------------- keys

def athlete_prefix(athlete_id: int) -> str:
    return f"athletes/{athlete_id}"


def clip_key(athlete_id: int, sha256: str, extension: str) -> str:
    return f"{athlete_prefix(athlete_id)}/clips/{sha256}{extension}"


def results_prefix(athlete_id: int, clip_sha256: str) -> str:
    return f"{athlete_prefix(athlete_id)}/results/{clip_sha256}"


def sha256_file(path: Path) -> tuple[str, int]:
    """The file's sha256 (hex) and size, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
