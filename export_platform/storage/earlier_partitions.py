"""A tenant's stored dataset partition of another month, when there is one: what a report's overview
compares its month with. Absent is an answer (None), not an error: a tenant's first month has no
previous one."""

from __future__ import annotations

import polars as pl

from export_platform.storage.layout import dataset_key
from export_platform.storage.object_store import ObjectStore


def stored_partition(store: ObjectStore, tenant: str, dataset: str, month: str) -> pl.LazyFrame | None:
    """A lazy frame over ``dataset``'s Parquet for ``tenant``'s ``month``, or None if it was never
    materialized."""
    key = dataset_key(tenant, dataset, month)
    return store.scan_parquet(key) if store.exists(key) else None
