"""Find a published export through its partition's ``manifest.json`` and check it is the file the
manifest describes (size and sha256) before opening it or handing out a link."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from export_platform import settings
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.errors import ExportPlatformError, KeyOutsideTenant
from export_platform.partitions import InvalidPartitionKey, validate_month, validate_tenant_slug
from export_platform.storage.artifacts import ArtifactStore, sha256_of
from export_platform.storage.layout import export_folder, tenant_object_key

log = logging.getLogger(__name__)

DEFAULT_URL_EXPIRY_SECONDS = 3600


class ArtifactNotFound(ExportPlatformError):
    """No manifest for the partition, or the manifest lists no file of the requested format."""


class ArtifactIntegrityError(ExportPlatformError):
    """The stored file is not the one its manifest describes: changed, truncated or replaced."""


class UnknownDataset(ExportPlatformError, ValueError):
    """A dataset name that is not one of the platform's datasets."""


def validate_dataset(dataset: str) -> str:
    """``dataset`` if it is one of the platform's datasets, else ``UnknownDataset`` listing them."""
    if dataset not in DATASETS_BY_NAME:
        raise UnknownDataset(f"unknown dataset {dataset!r}: use one of {', '.join(sorted(DATASETS_BY_NAME))}")
    return dataset


def _missing(tenant: str, dataset: str, format: str, month: str | None, root: str) -> ArtifactNotFound:
    """The one answer for a file that is not there, or not the tenant's to read."""
    where = f"month {month}" if month else "any month"
    return ArtifactNotFound(f"no published {format} export of {tenant}'s {dataset} for {where} under {root}")


@dataclass(frozen=True)
class Artifact:
    """One published export file, as its partition's manifest describes it."""

    tenant: str
    dataset: str
    month: str
    format: str
    key: str  # relative to the artifact root
    uri: str
    size: int
    sha256: str
    record_count: int
    content_type: str
    created_at: str
    schema_version: int
    artifacts: ArtifactStore = field(repr=False, compare=False)
    rows_in_pdf: int | None = None  # a PDF's: how many of record_count it draws (its page budget)

    def __post_init__(self) -> None:
        try:
            tenant_object_key(self.tenant, self.key)
        except KeyOutsideTenant:
            raise self._not_found() from None

    def download(self, path: Path) -> Path:
        """Copy the file to ``path`` and verify it; on a mismatch the copy is deleted and
        ``ArtifactIntegrityError`` raised, and a missing file raises ``ArtifactNotFound``."""
        path = Path(path)
        try:
            self.artifacts.download(self.key, path)
        except (KeyOutsideTenant, FileNotFoundError):
            path.unlink(missing_ok=True)
            raise self._not_found() from None
        try:
            self._verify(path)
        except ArtifactIntegrityError:
            path.unlink(missing_ok=True)
            raise
        return path

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A verified local copy, open for binary reading; removed when the block ends."""
        with tempfile.TemporaryDirectory(prefix="export-artifact-") as folder:
            path = self.download(Path(folder) / self.key.rsplit("/", 1)[-1])
            with path.open("rb") as file:
                yield file

    def read_bytes(self) -> bytes:
        with self.open() as file:
            return file.read()

    def url(self, expires_in: int = DEFAULT_URL_EXPIRY_SECONDS, verify: bool = True) -> str:
        """A link that downloads the file: presigned (SigV4) on S3, a ``file://`` URL for a local folder.
        With ``verify`` (the default) the stored file is checked against the manifest first, which reads
        it once; a client that checks ``sha256`` itself after downloading may pass ``verify=False``."""
        if verify:
            with self.open():
                pass
        presigned = self.artifacts.store.presigned_url(self.key, expires_in)
        return presigned or Path(self.location).as_uri()

    @property
    def location(self) -> str:
        """Where the file is read from: the manifest's ``key`` under the root it was found in (``uri``
        is where it was first published, which differs if the exports were copied elsewhere)."""
        try:
            return self.artifacts.store.uri(self.key)
        except KeyOutsideTenant:  # a local file reached through a link out of the tenant's folder
            raise self._not_found() from None

    def _not_found(self) -> ArtifactNotFound:
        return _missing(self.tenant, self.dataset, self.format, self.month, self.artifacts.root)

    def _verify(self, path: Path) -> None:
        where = f"{self.location} ({self.tenant}, {self.dataset} {self.month}, {self.format})"
        size = path.stat().st_size
        if size != self.size:
            raise ArtifactIntegrityError(
                f"{where}: {size} bytes, but manifest.json records {self.size}; "
                "the file changed after it was published"
            )
        actual = sha256_of(path)
        if actual != self.sha256:
            raise ArtifactIntegrityError(
                f"{where}: sha256 {actual} does not match {self.sha256} in manifest.json; "
                "the file changed after it was published"
            )


def latest_artifact(
    tenant: str, dataset: str, month: str | None = None, format: str = "csv", *, root: str | None = None
) -> Artifact:
    """The ``format`` file of ``tenant``'s ``dataset`` for ``month`` (``YYYY-MM``), as currently published.

    ``month=None`` picks the newest month whose manifest lists ``format``. ``root`` is the artifact root
    (a folder or ``s3://bucket/prefix``), by default ``EXPORT_ARTIFACT_ROOT`` as the platform resolves it.
    """
    validate_tenant_slug(tenant)
    validate_dataset(dataset)
    artifacts = ArtifactStore(root=root or settings.artifact_root())
    months = [validate_month(month)] if month else published_months(artifacts, tenant, dataset)
    for candidate in months:
        manifest = artifacts.manifest(tenant, dataset, candidate)
        if manifest is None:
            continue
        files = {fmt: entry for fmt, entry in manifest["files"].items() if _own_entry(tenant, entry)}
        entry = files.get(format)
        if entry is None:
            if month:
                listed = ", ".join(sorted(files)) or "nothing"
                raise ArtifactNotFound(
                    f"{tenant}'s {dataset} for {candidate} has no {format} file (manifest lists {listed})"
                )
            continue
        return Artifact(
            tenant=tenant,
            dataset=dataset,
            month=candidate,
            format=format,
            key=entry["key"],
            uri=entry["uri"],
            size=entry["size"],
            sha256=entry["sha256"],
            record_count=entry["record_count"],
            content_type=entry["content_type"],
            created_at=entry["created_at"],
            schema_version=manifest["schema_version"],
            artifacts=artifacts,
            rows_in_pdf=entry.get("rows_in_pdf"),
        )
    raise _missing(tenant, dataset, format, month, artifacts.root)


def _own_entry(tenant: str, entry: object) -> bool:
    """A manifest entry naming a file inside the tenant's prefix; any other is left out as if absent
    (and logged for the operators, since only a tampered manifest holds one)."""
    key = entry.get("key") if isinstance(entry, dict) else None
    try:
        tenant_object_key(tenant, key)
    except KeyOutsideTenant:
        log.warning("ignoring a manifest entry of %s whose key %r is not inside its prefix", tenant, key)
        return False
    return True


def published_months(artifacts: ArtifactStore, tenant: str, dataset: str) -> list[str]:
    """The months that have a manifest for ``tenant``'s ``dataset``, newest first."""
    prefix = export_folder(tenant, dataset, "2000-01").rsplit("/", 1)[0] + "/"  # {tenant}/exports/{dataset}/
    months = {
        item.key.removeprefix(prefix).split("/")[0]
        for item in artifacts.store.list(prefix)
        if item.key.endswith("/manifest.json")
    }
    return sorted((m for m in months if _is_month(m)), reverse=True)


def _is_month(name: str) -> bool:
    """A folder named like a month (``YYYY-MM`` in ASCII digits); anything else under the dataset's
    folder is not a published month."""
    try:
        validate_month(name)
    except InvalidPartitionKey:
        return False
    return True
