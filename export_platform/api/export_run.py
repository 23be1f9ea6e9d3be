"""An export the API launched, as it shows it while it runs and after: the old system's response
fields (``export_id`` to poll, ``success``, ``message``, ``download_url``, ``record_count``,
``file_size_bytes``, ``error_code``, ``error_message``), worked out from the Dagster run and the
history rows it made, with each file's own history entry under ``files``.

``export_id`` is the Dagster run's id. The status is the run's: ``pending`` until a worker starts
it, ``processing`` while it runs, then ``success`` or ``failed``; the files' rows say how far it got.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel

from export_platform.api.dagster_runs import TENANT_TAG, DagsterRun
from export_platform.api.export_entry import SUCCEEDED, ExportEntry, export_entry
from export_platform.api.run_tags import REQUESTED_BY_TAG
from export_platform.tracking.history import requesting_user

ExportStatus = Literal["pending", "processing", "success", "failed"]
_RUN_STATUSES: dict[str, ExportStatus] = {
    "QUEUED": "pending",
    "NOT_STARTED": "pending",
    "STARTING": "pending",
    "MANAGED": "pending",
    "STARTED": "processing",
    "CANCELING": "processing",
    "SUCCESS": "success",
    "FAILURE": "failed",
    "CANCELED": "failed",
}
MESSAGES: dict[ExportStatus, str] = {
    "pending": "Waiting to start; poll status_url.",
    "processing": "Being exported; poll status_url.",
    "success": "Exported; files lists each file with its download_url.",
    "failed": "Failed; error_message says why.",
}


class ExportRun(BaseModel):
    export_id: str
    success: bool
    status: ExportStatus
    message: str
    status_url: str
    requested_by: str | None
    user_id: int | None
    record_count: int | None
    """Rows in the files exported so far, summed; null before the first."""
    file_size_bytes: int | None
    download_url: str | None
    """The file's, when the export is one file."""
    error_code: str | None
    error_message: str | None
    files: list[ExportEntry]
    """One history entry per file, in the order they were made (``export_id`` there is the entry's)."""
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def export_status_url(public_url: str, tenant: str, run_id: str) -> str:
    return f"{public_url}/v1/tenants/{tenant}/exports/{run_id}"


def export_file_url(public_url: str, tenant: str, run_id: str, name: str) -> str:
    """Where the API serves a file of an ad-hoc export."""
    return f"{export_status_url(public_url, tenant, run_id)}/files/{name}"


def adhoc_file_name(row: dict[str, Any]) -> str | None:
    """The name of the ad-hoc file a history row published, if it is one (a monthly row has a
    partition, and its file is served under ``artifacts``)."""
    if row["partition_key"] is not None or row["status"] not in SUCCEEDED or not row["uri"]:
        return None
    return str(row["uri"]).rsplit("/", 1)[-1]


def _file(row: dict[str, Any], public_url: str) -> ExportEntry:
    entry = export_entry(row, public_url)
    name = adhoc_file_name(row)
    if name is None:
        return entry
    url = export_file_url(public_url, row["tenant_id"], row["run_id"], name)
    return entry.model_copy(update={"download_url": url})


def _error(
    status: ExportStatus, run: DagsterRun, rows: list[dict[str, Any]]
) -> tuple[str | None, str | None]:
    if status != "failed":
        return None, None
    failed = [row for row in rows if row["status"] == "failed"]
    if failed:
        return "export_failed", failed[0]["error_message"]
    if run.status == "CANCELED":
        return "run_canceled", "The export was canceled before it finished."
    return "run_failed", "The export stopped before it made a file; the operators can see why in Dagster."


def export_run(run: DagsterRun, rows: list[dict[str, Any]], public_url: str) -> ExportRun:
    """The API's view of ``run`` and the history ``rows`` it made (oldest first)."""
    status = _RUN_STATUSES.get(run.status, "processing")
    files = [_file(row, public_url) for row in rows]
    made = [entry for entry in files if entry.success]
    error_code, error_message = _error(status, run, rows)
    return ExportRun(
        export_id=run.run_id,
        success=status == "success",
        status=status,
        message=MESSAGES[status],
        status_url=export_status_url(public_url, run.tags[TENANT_TAG], run.run_id),
        requested_by=run.tags.get(REQUESTED_BY_TAG),
        user_id=requesting_user(run.tags),
        record_count=sum(entry.record_count or 0 for entry in made) if made else None,
        file_size_bytes=sum(entry.file_size_bytes or 0 for entry in made) if made else None,
        download_url=files[0].download_url if len(files) == 1 else None,
        error_code=error_code,
        error_message=error_message,
        files=files,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )
