"""The API for downstream consumers of the exports: find a published file through its partition's
``manifest.json``, make sure it is the file the manifest describes (size and sha256), then open it or
hand out a download link.

    from export_platform.consumer import latest_artifact

    artifact = latest_artifact("acme", "sales", "2026-10", "csv")  # root: EXPORT_ARTIFACT_ROOT
    artifact.record_count, artifact.sha256                           # what the manifest says
    with artifact.open() as file:                                    # a verified local copy
        header = file.readline()
    url = artifact.url(expires_in=3600)                              # verified, then presigned (S3)

``month=None`` takes the newest month whose manifest lists the format. A file that differs from its
manifest entry raises ``ArtifactIntegrityError``; a missing manifest, format or file
``ArtifactNotFound``. Only the tenant's own files are ever served: ``dataset`` must be one of the
platform's datasets, and a manifest entry whose ``key`` is not inside the tenant's prefix (see
``tenant_object_key``) is treated as absent, with the very answer a missing file gets, so a caller
learns nothing about another tenant's objects. Nothing here needs Dagster running: only read access
to the artifact root.

A consumer that loads the files back finds each CSV's columns and types in ``csv_columns``; a Dagster
code location that depends on the exports declares them with ``export_asset_spec`` (in
``export_platform.consumer.assets``). This package is the whole public API: nothing else of
``export_platform`` is promised to stay where it is.
"""

from export_platform.consumer.artifacts import (
    DEFAULT_URL_EXPIRY_SECONDS,
    Artifact,
    ArtifactIntegrityError,
    ArtifactNotFound,
    UnknownDataset,
    latest_artifact,
    validate_dataset,
)
from export_platform.consumer.columns import (
    GUARDED_FORMULA,
    ExportColumn,
    csv_columns,
    dataset_title,
    exported_datasets,
)
from export_platform.settings import artifact_root, local_state_dir
from export_platform.storage.object_store import ObjectStore, object_store

__all__ = [
    "DEFAULT_URL_EXPIRY_SECONDS",
    "GUARDED_FORMULA",
    "Artifact",
    "ArtifactIntegrityError",
    "ArtifactNotFound",
    "ExportColumn",
    "ObjectStore",
    "UnknownDataset",
    "artifact_root",
    "csv_columns",
    "dataset_title",
    "exported_datasets",
    "latest_artifact",
    "local_state_dir",
    "object_store",
    "validate_dataset",
]
