"""Put and read whole objects under a root that is a local folder or ``s3://bucket/prefix``.

Writes are atomic. The caller writes a local temporary file, and only a complete file is published
under its final key: ``os.replace`` locally (``local_store``); on S3 a single PUT for a small file,
or a multipart upload that is completed only after every part went up, and aborted on any error, so
neither a partial object nor an open upload is left behind (``s3_store``, ``s3_upload``). A write
that runs out of disk raises ``StorageFull`` naming the file, after its temporary file is removed.

``update`` is an atomic read-modify-write of one small object (the manifests): under an exclusive
lock on the folder locally, and as a conditional PUT (``If-Match`` the ETag read, or ``If-None-Match``
for a new object) retried on conflict in S3, so concurrent writers never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl


class ObjectStore(Protocol):
    def uri(self, key: str) -> str: ...

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def update(self, key: str, change: Callable[[bytes | None], bytes | None]) -> None: ...

    def read_bytes(self, key: str) -> bytes | None: ...

    def sha256(self, key: str) -> str | None: ...

    def download(self, key: str, path: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def scan_parquet(self, key: str) -> pl.LazyFrame: ...

    def presigned_url(self, key: str, expires_in: int, download_name: str | None = None) -> str | None: ...

    def list(self, prefix: str) -> Iterator[StoredObject]: ...

    def delete(self, key: str) -> None: ...

    def unfinished_writes(self, prefix: str) -> Iterator[UnfinishedWrite]: ...

    def abandon(self, write: UnfinishedWrite) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    key: str  # relative to the store's root
    size: int
    modified: dt.datetime


@dataclass(frozen=True)
class UnfinishedWrite:
    """What a write leaves behind when its process dies before it can clean up (a kill, a lost machine,
    a server that stopped answering the abort): a local temporary file, or an S3 multipart upload that
    was neither completed nor aborted. Readers never see it, but S3 bills its parts until it is aborted.
    """

    key: str  # the final key it was writing, relative to the store's root
    last_active: dt.datetime  # the temporary file's last write; the upload's start
    handle: str  # the temporary file, relative to the root; the S3 upload id


def object_store(root: str) -> ObjectStore:
    """The store for ``root``: an S3 bucket (and prefix) for ``s3://bucket/prefix``, else a folder."""
    # Imported here: both stores import this module's value types.
    from export_platform.storage.local_store import LocalObjectStore
    from export_platform.storage.s3_store import S3ObjectStore

    if root.startswith("s3://"):
        bucket, _, prefix = root.removeprefix("s3://").partition("/")
        return S3ObjectStore(bucket=bucket, prefix=prefix.strip("/"))
    return LocalObjectStore(Path(root))
