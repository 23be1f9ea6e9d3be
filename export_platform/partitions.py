"""Tenant x month partitions, and the rules a tenant slug must follow.

A partition key reads ``2026-10|acme``: Dagster sorts multi-partition dimensions by name, so the month
comes first. Tenant keys are slugs taken from the source ``tenants`` table by ``tenant_sensor``; because
slugs become path segments and object-store keys, every slug is validated here, in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dagster as dg

PARTITIONS_START = "2024-01"
TENANT_DIMENSION = "tenant"
MONTH_DIMENSION = "month"

tenant_partitions = dg.DynamicPartitionsDefinition(name=TENANT_DIMENSION)
month_partitions = dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START, fmt="%Y-%m", end_offset=1)
tenant_month_partitions = dg.MultiPartitionsDefinition(
    {MONTH_DIMENSION: month_partitions, TENANT_DIMENSION: tenant_partitions}
)

# Lower-case ASCII letters, digits and inner hyphens: safe as a path segment, an S3 key part and a
# Dagster partition key, and free of look-alike characters.
_TENANT_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # not \d: it also matches "２" and "٢"


class InvalidPartitionKey(ValueError):
    """A tenant slug or partition key that could be used to escape a tenant's storage prefix."""


def validate_tenant_slug(slug: str) -> str:
    """Return ``slug`` unchanged if it is a safe tenant slug, else raise ``InvalidPartitionKey``."""
    if not isinstance(slug, str) or not _TENANT_SLUG.fullmatch(slug):
        raise InvalidPartitionKey(
            f"invalid tenant slug {slug!r}: use 1-63 lower-case ASCII letters, digits and inner hyphens"
        )
    return slug


def validate_month(month: str) -> str:
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise InvalidPartitionKey(f"invalid month {month!r}: expected YYYY-MM")
    return month


@dataclass(frozen=True)
class TenantMonth:
    """One partition: a tenant's local calendar month."""

    tenant: str
    month: str

    @property
    def key(self) -> str:
        return f"{self.month}|{self.tenant}"


def parse_partition_key(partition_key: str | dg.MultiPartitionKey) -> TenantMonth:
    """Split a ``month|tenant`` key, validating both parts.

    Runs launched with only the ``dagster/partition`` tag hand assets a plain string, so this accepts
    both forms.
    """
    key = str(partition_key)
    if key.count("|") != 1:
        raise InvalidPartitionKey(f"invalid partition key {key!r}: expected month|tenant, e.g. 2026-10|acme")
    dims = tenant_month_partitions.get_partition_key_from_str(key).keys_by_dimension
    return TenantMonth(
        tenant=validate_tenant_slug(dims[TENANT_DIMENSION]), month=validate_month(dims[MONTH_DIMENSION])
    )
