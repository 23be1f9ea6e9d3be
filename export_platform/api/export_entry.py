"""One export attempt as the API shows it: the old system's response fields (``export_id``,
``success``, ``message``, ``download_url``, ``record_count``, ``file_size_bytes``, ``error_code``,
``error_message``) with the history row's own. The row's ``uri`` stays inside: it names the bucket or
folder, and ``download_url`` is how a caller fetches the file."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel

from export_platform.partitions import InvalidPartitionKey, parse_partition_key
from export_platform.storage.layout import export_file_name

SUCCEEDED = ("success", "emailed")
_MESSAGES = {
    "pending": "Waiting to start.",
    "processing": "Being exported.",
    "success": "Exported.",
    "emailed": "Exported and e-mailed.",
    "failed": "Failed; error_message says why.",
}


class ExportEntry(BaseModel):
    export_id: str
    success: bool
    status: str
    message: str
    dataset: str
    format: str
    month: str | None
    filters: dict[str, Any]
    requested_by: str
    user_id: int | None
    record_count: int | None
    file_size_bytes: int | None
    sha256: str | None
    download_url: str | None
    error_code: str | None
    error_message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    emailed_at: dt.datetime | None
    attempt: int | None = None
    """A scheduled run's attempt (1, then 2... for its retries); null for other exports."""
    first_run_id: str | None = None
    """The Dagster run id of a scheduled run's first attempt, which every retry names."""


def _month(partition_key: str | None) -> str | None:
    try:
        return parse_partition_key(partition_key).month if partition_key else None
    except InvalidPartitionKey:
        return None


def monthly_download_url(public_url: str, tenant: str, dataset: str, month: str, name: str) -> str:
    """Where the API serves a published monthly export file."""
    return f"{public_url}/v1/tenants/{tenant}/artifacts/{dataset}/{month}/{name}"


def export_entry(row: dict[str, Any], public_url: str) -> ExportEntry:
    """The API's view of a history row. ``download_url`` is given for a monthly export that succeeded
    and is served under ``artifacts``; it fetches the file now published for that month, which a
    later run may have replaced (compare ``sha256``)."""
    month, status = _month(row["partition_key"]), row["status"]
    download_url = None
    if month and status in SUCCEEDED:
        name = export_file_name(row["tenant_id"], row["dataset"], month, row["format"])
        if (row["uri"] or "").endswith(f"/{name}"):
            download_url = monthly_download_url(public_url, row["tenant_id"], row["dataset"], month, name)
    return ExportEntry(
        export_id=row["id"],
        success=status in SUCCEEDED,
        status=status,
        message=_MESSAGES.get(status, status),
        dataset=row["dataset"],
        format=row["format"],
        month=month,
        filters=json.loads(row["filters"] or "{}"),
        requested_by=row["requested_by"],
        user_id=row["user_id"],
        record_count=row["record_count"],
        file_size_bytes=row["file_size_bytes"],
        sha256=row["sha256"],
        download_url=download_url,
        error_code="export_failed" if status == "failed" else None,
        error_message=row["error_message"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        emailed_at=row["emailed_at"],
        attempt=row.get("attempt"),
        first_run_id=row.get("first_run_id"),
    )
