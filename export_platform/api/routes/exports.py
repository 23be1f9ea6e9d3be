"""Ad-hoc exports: a request checked as the ``adhoc_export`` job checks it and launched through
Dagster's GraphQL API, its status while it runs, and its files.

The request is the job's run config less the tenant and who asks, which the path and the token say;
the job's own model checks it here, so a refused request answers 422 naming each field before any
run exists. The run is tagged with the tenant, the user's id and e-mail address, so the history rows
it makes carry the user, and reading it back for another tenant answers as a missing run does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from fastapi import Depends, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from export_platform.api.auth import Exporter, Viewer, tenant_router
from export_platform.api.dagster_runs import DagsterRun, tenants_run
from export_platform.api.downloads import DOWNLOAD_RESPONSES, RangeHeaders, content_type, download_response
from export_platform.api.export_run import ExportRun, adhoc_file_name, export_run, export_status_url
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import ProblemDocument, not_found
from export_platform.api.refused_requests import RecordsRefusals, record_refused
from export_platform.api.request_bodies import body_model, refused_fields
from export_platform.api.run_tags import REQUESTED_BY_TAG, launch_tags
from export_platform.consumer import Artifact
from export_platform.exports.adhoc import AdhocExportConfig, adhoc_export
from export_platform.exports.formats import FORMATS_BY_NAME
from export_platform.storage.artifacts import MANIFEST_SCHEMA_VERSION, ArtifactStore
from export_platform.storage.layout import adhoc_key

router = tenant_router(tags=["exports"], route_class=RecordsRefusals)
PlatformDep = Annotated[Platform, Depends(current_platform)]
ROWS_PER_RUN = 1000
"""More history rows than one run makes (one per format)."""

if TYPE_CHECKING:
    ExportRequest: TypeAlias = BaseModel
else:
    ExportRequest = body_model(
        AdhocExportConfig,
        "ExportRequest",
        "An ad-hoc export of the tenant's data: what, over which days, filtered how, in which formats. "
        "Dates are the tenant's calendar days; a range covers at most a year; each filter applies to "
        "the datasets its description names.",
        leave_out=("tenant", "requested_by"),
    )

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ProblemDocument, "description": "Dagster or the source is unreachable"}
}


@router.post(
    "/exports",
    status_code=202,
    summary="Request an ad-hoc export (exporter); poll status_url until it succeeds or fails",
    responses={202: {"description": "Launched; Location is its status URL"}, **UNAVAILABLE},
)
def request_export(
    caller: Exporter, platform: PlatformDep, body: ExportRequest, response: Response
) -> ExportRun:
    asked = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    try:
        AdhocExportConfig(tenant=caller.tenant, **asked)
    except ValidationError as refused:
        problem = refused_fields(refused, ExportRequest.model_fields)
        history, source_url = platform.history, platform.config.source_url
        formats = asked.get("formats") if isinstance(asked.get("formats"), list) else None
        raise record_refused(
            history, source_url, caller, problem, dataset=asked.get("dataset"), formats=formats
        ) from None
    tags = launch_tags(platform.config.source_url, caller)
    request = {"tenant": caller.tenant, "requested_by": tags[REQUESTED_BY_TAG], **asked}
    run_id = platform.dagster.launch(
        adhoc_export.name, run_config={"ops": {"run_adhoc_export": {"config": request}}}, tags=tags
    )
    launched = DagsterRun(run_id, adhoc_export.name, "QUEUED", tags, dt.datetime.now(dt.UTC), None, None)
    response.headers["Location"] = export_status_url(platform.config.public_url, caller.tenant, run_id)
    return export_run(launched, [], platform.config.public_url)


def _rows(platform: Platform, tenant: str, run_id: str) -> list[dict]:
    """The history rows ``run_id`` made for ``tenant``, oldest first."""
    return platform.history.entries(tenant=tenant, run_id=run_id, limit=ROWS_PER_RUN)[::-1]


@router.get(
    "/exports/{export_id}", summary="An export's status, and its files once they exist", responses=UNAVAILABLE
)
def get_export(caller: Viewer, platform: PlatformDep, export_id: str) -> ExportRun:
    run = tenants_run(platform.runs.run(export_id, platform.dagster.run), caller.tenant)
    if run is None:
        raise not_found()
    return export_run(run, _rows(platform, caller.tenant, export_id), platform.config.public_url)


@router.get(
    "/exports/{export_id}/files/{name}",
    summary="Download a file of an ad-hoc export (verified against its history entry; byte ranges)",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
)
def download_export_file(
    caller: Viewer,
    platform: PlatformDep,
    export_id: str,
    name: str,
    asked: RangeHeaders,
) -> Response:
    """The file is found through the history row the run recorded for it, in the caller's tenant,
    and checked against that row's size and sha256 before the first byte goes out."""
    rows = [row for row in _rows(platform, caller.tenant, export_id) if adhoc_file_name(row) == name]
    if not rows:
        raise not_found()
    row = rows[-1]
    try:
        key = adhoc_key(caller.tenant, export_id, name)
    except ValueError:
        raise not_found() from None
    artifact = Artifact(
        tenant=caller.tenant,
        dataset=row["dataset"],
        month="",  # an ad-hoc export covers its own days, not a month
        format=row["format"],
        key=key,
        uri=row["uri"],
        size=row["file_size_bytes"],
        sha256=row["sha256"],
        record_count=row["record_count"],
        content_type=content_type(name, FORMATS_BY_NAME[row["format"]].content_type),
        created_at=row["finished_at"].isoformat(),
        schema_version=MANIFEST_SCHEMA_VERSION,
        artifacts=ArtifactStore(root=platform.config.artifact_root),
    )
    return download_response(
        artifact, name, asked, redirect_seconds=platform.config.presigned_redirect_seconds
    )
