"""The platform's export assets as another Dagster code location sees them: the same keys and the
same tenant x month partitions, so the UI draws one lineage graph across both locations."""

from __future__ import annotations

import dagster as dg

from export_platform.partitions import TenantMonth, parse_partition_key, tenant_month_partitions

__all__ = ["TenantMonth", "export_asset_spec", "parse_partition_key", "tenant_month_partitions"]


def export_asset_spec(dataset: str, format: str, group_name: str = "exports") -> dg.AssetSpec:
    """The export of ``dataset`` in ``format`` as an external asset: depend on it to run when it lands."""
    return dg.AssetSpec(
        f"{dataset}_{format}",
        partitions_def=tenant_month_partitions,
        group_name=group_name,
        description=f"The platform's monthly {format.upper()} export of {dataset}, materialized in its own "
        "code location.",
    )
