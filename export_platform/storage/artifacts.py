"""The artifact store: where export files and their partition's ``manifest.json`` are published.

The manifest is the contract for downstream jobs: for each format it lists the file's key, size,
sha256 and row count (a PDF also the rows it draws, ``rows_in_pdf``, as its page budget may leave some
out), with the schema version of the manifest itself. A file is always published
before the manifest entry that describes it, so an entry never points at a missing or older file.

Several exports of one partition may record at once (one per format, or two runs of the same
partition). Each entry is added by the store's atomic ``update`` (a folder lock locally, a
conditional PUT in S3), so no entry is lost; and an entry is written only while the file under its
key is still the one it describes: if another run has published over it since, that run's entry is
the one that belongs in the manifest, and this one is left out.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from export_platform.storage.files import file_sha256
from export_platform.storage.layout import manifest_key, tenant_object_key
from export_platform.storage.object_store import ObjectStore, object_store
from export_platform.storage.s3_store import S3ObjectStore
from export_platform.storage.s3_upload import MULTIPART_PART_SIZE
from export_platform.storage.signed_links import download_link

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
    rows_in_pdf: int | None = None  # a PDF report's: how many of ``record_count`` it draws


def sha256_of(path: Path) -> str:
    return file_sha256(path)


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

    def record(self, tenant: str, dataset: str, month: str, published: PublishedFile) -> bool:
        """Add or replace ``published``'s entry in its partition's manifest, atomically.

        Returns False, leaving the manifest as it is, when the file under ``published.key`` is no
        longer the one described (another run published over it and records its own entry). A key
        outside the tenant's prefix raises ``KeyOutsideTenant``: a manifest never names another's file."""
        tenant_object_key(tenant, published.key)
        store, recorded = self.store, False

        def add_entry(current: bytes | None) -> bytes | None:
            nonlocal recorded
            if store.sha256(published.key) != published.sha256:
                recorded = False
                return None
            manifest = json.loads(current) if current is not None else {"files": {}}
            manifest.update(
                schema_version=MANIFEST_SCHEMA_VERSION,
                tenant=tenant,
                dataset=dataset,
                month=month,
                updated_at=published.created_at,
            )
            entry = asdict(published)
            if entry["rows_in_pdf"] is None:  # only a PDF may leave rows out
                del entry["rows_in_pdf"]
            manifest["files"][published.format] = entry
            recorded = True
            return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()

        store.update(manifest_key(tenant, dataset, month), add_entry)
        return recorded

    def unrecord(self, tenant: str, dataset: str, month: str, key: str) -> None:
        """Drop the manifest entry that describes ``key``, atomically, before the file is deleted
        (retention), so an entry never points at a missing file; other entries stay as they are."""
        tenant_object_key(tenant, key)

        def drop_entry(current: bytes | None) -> bytes | None:
            manifest = json.loads(current) if current is not None else {"files": {}}
            kept = {fmt: entry for fmt, entry in manifest["files"].items() if entry["key"] != key}
            if len(kept) == len(manifest["files"]):
                return None
            manifest["files"] = kept
            return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()

        self.store.update(manifest_key(tenant, dataset, month), drop_entry)

    def manifest(self, tenant: str, dataset: str, month: str) -> dict | None:
        data = self.store.read_bytes(manifest_key(tenant, dataset, month))
        return json.loads(data) if data is not None else None

    def download(self, key: str, path: Path) -> None:
        self.store.download(key, path)

    def download_url(self, key: str) -> str:
        """A link a browser opens to download ``key``, valid ``presigned_url_expiry_seconds``: presigned
        by S3, or for a local folder signed for the Export API, which serves it (``signed_links``)."""
        expiry = self.presigned_url_expiry_seconds
        return self.store.presigned_url(key, expiry) or download_link(key, expiry)
