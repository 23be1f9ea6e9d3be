"""The tenant's published monthly exports, as their manifests list them, and their files.

Listing and downloads go through the consumer API, which reads only the tenant's own prefix and
treats a manifest entry pointing elsewhere as absent; an unknown dataset, month or file name answers
the same 404 as another tenant's file would.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from export_platform.api.auth import Viewer, tenant_router
from export_platform.api.choices import Dataset
from export_platform.api.downloads import (
    DOWNLOAD_RESPONSES,
    RangeHeaders,
    download_response,
    file_name,
    published_file,
    published_files,
)
from export_platform.api.export_entry import monthly_download_url
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import invalid, not_found
from export_platform.catalog import EXPORT_FORMATS
from export_platform.consumer import ArtifactNotFound
from export_platform.consumer.artifacts import published_months
from export_platform.partitions import InvalidPartitionKey, validate_month
from export_platform.storage.artifacts import ArtifactStore

router = tenant_router(tags=["artifacts"])
PlatformDep = Annotated[Platform, Depends(current_platform)]


class ArtifactEntry(BaseModel):
    dataset: str
    month: str
    format: str
    name: str
    size: int
    sha256: str
    record_count: int
    content_type: str
    created_at: dt.datetime
    download_url: str


class ArtifactList(BaseModel):
    items: list[ArtifactEntry]


@router.get("/artifacts", summary="Published monthly exports, newest month first")
def list_artifacts(
    caller: Viewer,
    platform: PlatformDep,
    dataset: Dataset | None = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
) -> ArtifactList:
    if month is not None:
        try:
            validate_month(month)
        except InvalidPartitionKey:
            raise invalid("query.month", "expected YYYY-MM, e.g. 2026-10") from None
    root, public = platform.config.artifact_root, platform.config.public_url
    items = []
    for name in [dataset] if dataset else list(EXPORT_FORMATS):
        months = [month] if month else published_months(ArtifactStore(root=root), caller.tenant, name)
        for each in months:
            for artifact in published_files(caller.tenant, name, each, root):
                file = file_name(artifact.key)
                items.append(
                    ArtifactEntry(
                        dataset=name,
                        month=each,
                        format=artifact.format,
                        name=file,
                        size=artifact.size,
                        sha256=artifact.sha256,
                        record_count=artifact.record_count,
                        content_type=artifact.content_type,
                        created_at=dt.datetime.fromisoformat(artifact.created_at),
                        download_url=monthly_download_url(public, caller.tenant, name, each, file),
                    )
                )
    return ArtifactList(items=items)


@router.get(
    "/artifacts/{dataset}/{month}/{name}",
    summary="Download a published file (verified against its manifest; byte ranges for resuming)",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
)
def download_artifact(
    caller: Viewer,
    platform: PlatformDep,
    dataset: str,
    month: str,
    name: str,
    asked: RangeHeaders,
) -> Response:
    try:
        artifact = published_file(
            caller.tenant, dataset, validate_month(month), name, platform.config.artifact_root
        )
    except (ArtifactNotFound, InvalidPartitionKey):
        raise not_found() from None
    return download_response(
        artifact, name, asked, redirect_seconds=platform.config.presigned_redirect_seconds
    )
