"""Objects as files under a local folder: published by ``os.replace``, updated under a folder lock."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from export_platform.errors import KeyOutsideTenant
from export_platform.storage.files import file_sha256, naming_full_disk
from export_platform.storage.object_store import StoredObject, UnfinishedWrite

PUBLISHED_FILE_MODE = 0o644
TEMPORARY_SUFFIX = ".tmp"  # a local write's temporary file, beside its final name


@dataclass(frozen=True)
class LocalObjectStore:
    root: Path

    def path(self, key: str) -> Path:
        """The file of ``key``, which must stay, symlinks followed, inside the folder of the key's first
        segment (its tenant's): a link planted in one tenant's folder cannot reach another's files."""
        first = key.split("/", 1)[0]
        path, home = self.root / key, self.root / first
        if key.startswith("/") or first in (".", "..") or not path.resolve().is_relative_to(home.resolve()):
            raise KeyOutsideTenant(f"{key!r} leads outside {home}")
        return path

    def uri(self, key: str) -> str:
        return str(self.path(key))

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TEMPORARY_SUFFIX, dir=final.parent)
        os.close(fd)
        try:
            with naming_full_disk(final, Path(temporary)):
                yield Path(temporary)
            os.chmod(temporary, PUBLISHED_FILE_MODE)  # mkstemp makes it private to this user
            os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.writing(key) as path:
            path.write_bytes(data)

    def update(self, key: str, change: Callable[[bytes | None], bytes | None]) -> None:
        """Read, change and atomically replace ``key`` while holding an exclusive lock on its folder
        (``flock`` on the directory itself, so no lock file shows up among the artifacts)."""
        folder = self.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = change(self.read_bytes(key))
            if data is not None:
                self.put_bytes(key, data)
        finally:
            os.close(fd)  # releases the lock

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def sha256(self, key: str) -> str | None:
        try:
            return file_sha256(self.path(key))
        except FileNotFoundError:
            return None

    def download(self, key: str, path: Path) -> None:
        shutil.copyfile(self.path(key), path)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def scan_parquet(self, key: str) -> pl.LazyFrame:
        return pl.scan_parquet(self.path(key))

    def presigned_url(self, key: str, expires_in: int, download_name: str | None = None) -> str | None:
        return None

    def list(self, prefix: str) -> Iterator[StoredObject]:
        base = self.path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not _is_temporary(path.name):
                stat = path.stat()
                yield StoredObject(
                    path.relative_to(self.root).as_posix(),
                    stat.st_size,
                    dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                )

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def unfinished_writes(self, prefix: str) -> Iterator[UnfinishedWrite]:
        base = self.path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob(f".*{TEMPORARY_SUFFIX}")):
            if path.is_file() and _is_temporary(path.name):
                final = path.with_name(path.name[1:].removesuffix(TEMPORARY_SUFFIX).rsplit(".", 1)[0])
                yield UnfinishedWrite(
                    final.relative_to(self.root).as_posix(),
                    dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
                    path.relative_to(self.root).as_posix(),
                )

    def abandon(self, write: UnfinishedWrite) -> None:
        self.path(write.handle).unlink(missing_ok=True)


def _is_temporary(name: str) -> bool:
    """A local write's temporary file: ``.{final name}.{random}.tmp`` beside the final file."""
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)
