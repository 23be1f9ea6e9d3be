"""The artifact store: where export files and their partition's ``manifest.json`` are published.

The manifest is the contract for downstream jobs: for each format it lists the file's key, size,
sha256 and row count, with the schema version of the manifest itself. A file is always published
before the manifest entry that describes it, so an entry never points at a missing or older file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from export_platform.storage.layout import manifest_key
from export_platform.storage.object_store import MULTIPART_PART_SIZE, ObjectStore, S3ObjectStore, object_store

MANIFEST_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PublishedFile:
    format: str
    file_name: str
    key: str
    uri: str
    size: int
    sha256: str
    record_count: int
    content_type: str
    created_at: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore(dg.ConfigurableResource):
    """Export artifacts in a local folder or an S3 bucket (``s3://bucket/prefix``)."""

    root: str = Field(description="Artifact root: a folder path or s3://bucket/prefix")
    presigned_url_expiry_seconds: int = Field(
        default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600, description="How long a download link stays valid."
    )
    multipart_part_size: int = Field(
        default=MULTIPART_PART_SIZE, ge=5 * 1024 * 1024, description="S3 multipart part size in bytes."
    )

    @property
    def store(self) -> ObjectStore:
        store = object_store(self.root)
        if isinstance(store, S3ObjectStore):
            return S3ObjectStore(store.bucket, store.prefix, part_size=self.multipart_part_size)
        return store

    @contextlib.contextmanager
    def publishing_to(self, key: str) -> Iterator[Path]:
        """Yield a temporary path to write; published under ``key`` whole, or not at all."""
        with self.store.writing(key) as temporary:
            yield temporary

    def record(self, tenant: str, dataset: str, month: str, published: PublishedFile) -> None:
        """Add or replace ``published``'s entry in its partition's manifest."""
        manifest = self.manifest(tenant, dataset, month) or {"files": {}}
        manifest.update(
            schema_version=MANIFEST_SCHEMA_VERSION,
            tenant=tenant,
            dataset=dataset,
            month=month,
            updated_at=published.created_at,
        )
        manifest["files"][published.format] = asdict(published)
        body = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
        self.store.put_bytes(manifest_key(tenant, dataset, month), body)

    def manifest(self, tenant: str, dataset: str, month: str) -> dict | None:
        data = self.store.read_bytes(manifest_key(tenant, dataset, month))
        return json.loads(data) if data is not None else None

    def download(self, key: str, path: Path) -> None:
        self.store.download(key, path)

    def download_url(self, key: str) -> str | None:
        return self.store.presigned_url(key, self.presigned_url_expiry_seconds)
