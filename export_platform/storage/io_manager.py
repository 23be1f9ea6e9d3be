"""Stores each dataset partition as Parquet at ``{root}/{tenant}/data/{dataset}/{month}.parquet`` and
hands downstream assets a lazy frame over it."""

from __future__ import annotations

import shutil

import dagster as dg
import polars as pl
from pydantic import Field

from export_platform.errors import InvalidSourceData
from export_platform.partitions import TenantMonth, parse_partition_key
from export_platform.storage.layout import dataset_key
from export_platform.storage.object_store import ObjectStore, object_store
from export_platform.storage.spool import ROW_GROUP_ROWS, ParquetSpool


class DatasetNotMaterialized(dg.Failure):
    """A run needs a dataset partition that was never materialized: its step fails before it starts,
    for good (no retries), with a message that names the dataset, the partition and the two ways out."""

    def __init__(self, dataset: str, partition: TenantMonth) -> None:
        super().__init__(
            description=(
                f"{dataset} for {partition.key} has not been materialized: "
                "select it too, or run datasets_job for that partition"
            ),
            metadata={"dataset": dataset, "partition": partition.key},
            allow_retries=False,
        )
        self.dataset, self.partition = dataset, partition


class DatasetParquetIOManager(dg.ConfigurableIOManager):
    """Parquet files per (tenant, month) in the artifact root, local or S3."""

    root: str = Field(description="Artifact root: a folder path or s3://bucket/prefix")

    @property
    def store(self) -> ObjectStore:
        return object_store(self.root)

    def _key(self, context: dg.OutputContext | dg.InputContext) -> str:
        partition = parse_partition_key(context.asset_partition_key)
        return dataset_key(partition.tenant, context.asset_key.path[-1], partition.month)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | ParquetSpool) -> None:
        partition = parse_partition_key(context.asset_partition_key)
        try:
            frame = obj.scan() if isinstance(obj, ParquetSpool) else obj.lazy()
            foreign = frame.filter(pl.col("tenant_id") != partition.tenant).select(pl.len()).collect().item()
            if foreign:
                # Last line of defence: never write another tenant's rows under this tenant's prefix.
                raise InvalidSourceData(
                    f"refusing to store {foreign} rows of other tenants in partition {partition.key}"
                )
            key = self._key(context)
            with self.store.writing(key) as path:
                if isinstance(obj, ParquetSpool):
                    shutil.move(obj.path, path)
                else:
                    obj.write_parquet(
                        path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS
                    )
        finally:
            if isinstance(obj, ParquetSpool):
                obj.discard()
        context.add_output_metadata({"path": dg.MetadataValue.path(self.store.uri(key))})

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        """A lazy frame over the partition's file; ``DatasetNotMaterialized`` at once if there is none
        (the frame itself would only fail when read, deep inside a render)."""
        key = self._key(context)
        if not self.store.exists(key):
            raise DatasetNotMaterialized(
                context.asset_key.path[-1], parse_partition_key(context.asset_partition_key)
            )
        return self.store.scan_parquet(key)
