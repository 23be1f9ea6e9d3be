"""The storage layout ARCHITECTURE fixes. Every key starts with a validated tenant slug, so a tenant's
whole footprint is one prefix and no key can climb out of it."""

from __future__ import annotations

import re

from export_platform.partitions import validate_month, validate_tenant_slug

# ASCII only, no separators, no leading dot: a name can neither climb a folder nor hide as a dot file.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


def dataset_key(tenant: str, dataset: str, month: str) -> str:
    return f"{validate_tenant_slug(tenant)}/data/{dataset}/{validate_month(month)}.parquet"


def export_folder(tenant: str, dataset: str, month: str) -> str:
    return f"{validate_tenant_slug(tenant)}/exports/{dataset}/{validate_month(month)}"


def export_file_name(tenant: str, dataset: str, month: str, extension: str) -> str:
    return f"{dataset}_{validate_tenant_slug(tenant)}_{validate_month(month)}.{extension}"


def export_key(tenant: str, dataset: str, month: str, extension: str) -> str:
    return f"{export_folder(tenant, dataset, month)}/{export_file_name(tenant, dataset, month, extension)}"


def manifest_key(tenant: str, dataset: str, month: str) -> str:
    return f"{export_folder(tenant, dataset, month)}/manifest.json"


def adhoc_key(tenant: str, run_id: str, file_name: str) -> str:
    if not _RUN_ID.fullmatch(run_id) or not _FILE_NAME.fullmatch(file_name) or ".." in file_name:
        raise ValueError(f"unsafe ad-hoc key part: {run_id!r}, {file_name!r}")
    return f"{validate_tenant_slug(tenant)}/adhoc/{run_id}/{file_name}"
