"""Stores each dataset partition as Parquet at ``{root}/{tenant}/data/{dataset}/{month}.parquet`` and
hands downstream assets a lazy frame over it."""

from __future__ import annotations

import dagster as dg
import polars as pl
from pydantic import Field

from export_platform.errors import InvalidSourceData
from export_platform.partitions import parse_partition_key
from export_platform.storage.layout import dataset_key
from export_platform.storage.object_store import ObjectStore, object_store

# Readers stream a file a row group at a time (renderers hold about two in memory), so smaller groups
# keep exports' memory flat; 50k rows still compress well and keep the footer small.
ROW_GROUP_ROWS = 50_000


class DatasetParquetIOManager(dg.ConfigurableIOManager):
    """Parquet files per (tenant, month) in the artifact root, local or S3."""

    root: str = Field(description="Artifact root: a folder path or s3://bucket/prefix")

    @property
    def store(self) -> ObjectStore:
        return object_store(self.root)

    def _key(self, context: dg.OutputContext | dg.InputContext) -> str:
        partition = parse_partition_key(context.asset_partition_key)
        return dataset_key(partition.tenant, context.asset_key.path[-1], partition.month)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        partition = parse_partition_key(context.asset_partition_key)
        foreign = obj.filter(pl.col("tenant_id") != partition.tenant).height
        if foreign:
            # Last line of defence: never write another tenant's rows under this tenant's prefix.
            raise InvalidSourceData(
                f"refusing to store {foreign} rows of other tenants in partition {partition.key}"
            )
        key = self._key(context)
        with self.store.writing(key) as path:
            obj.write_parquet(path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)
        context.add_output_metadata({"path": dg.MetadataValue.path(self.store.uri(key))})

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        return self.store.scan_parquet(self._key(context))
