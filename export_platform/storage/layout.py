"""The storage layout ARCHITECTURE fixes. Every key starts with a validated tenant slug, so a tenant's
whole footprint is one prefix and no key can climb out of it."""

from __future__ import annotations

from export_platform.partitions import validate_month, validate_tenant_slug


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
    if not run_id.replace("-", "").isalnum() or "/" in file_name:
        raise ValueError(f"unsafe ad-hoc key part: {run_id!r}, {file_name!r}")
    return f"{validate_tenant_slug(tenant)}/adhoc/{run_id}/{file_name}"
