"""The storage layout ARCHITECTURE fixes. Every key starts with a validated tenant slug, so a tenant's
whole footprint is one prefix and no key can climb out of it."""

from __future__ import annotations

from export_platform.partitions import validate_month, validate_tenant_slug


def dataset_key(tenant: str, dataset: str, month: str) -> str:
    return f"{validate_tenant_slug(tenant)}/data/{dataset}/{validate_month(month)}.parquet"


def tenant_prefix(tenant: str) -> str:
    return f"{validate_tenant_slug(tenant)}/"
