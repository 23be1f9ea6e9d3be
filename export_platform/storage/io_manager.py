"""Stores each dataset partition as Parquet at ``{root}/{tenant}/data/{dataset}/{month}.parquet`` and
hands downstream assets a lazy frame over it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
from pydantic import Field

from export_platform.errors import InvalidSourceData
from export_platform.partitions import parse_partition_key
from export_platform.storage.layout import dataset_key
from export_platform.storage.object_store import ObjectStore, object_store

# Readers stream a file a row group at a time (renderers hold about two in memory), so smaller groups
# keep exports' memory flat; 50k rows still compress well and keep the footer small.
ROW_GROUP_ROWS = 50_000


@dataclass(frozen=True)
class ParquetSpool:
    """A partition already written, a batch at a time, to a Parquet file in a folder of its own.

    Streamed datasets hand this to the IO manager instead of a frame, so the partition is never held
    in memory whole; the IO manager publishes the file and removes the folder.
    """

    path: Path

    @classmethod
    def write(cls, batches: Iterator[pl.DataFrame]) -> ParquetSpool:
        """Write ``batches`` (at least one; all with the same schema) to a new spool file."""
        folder = Path(tempfile.mkdtemp(prefix="export-platform-spool-"))
        spool = cls(folder / "data.parquet")
        try:
            writer = None
            for batch in batches:
                table = batch.to_arrow(compat_level=pl.CompatLevel.oldest())
                if writer is None:
                    writer = pq.ParquetWriter(spool.path, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            if writer is None:
                raise ValueError("a streamed dataset yielded no batch, not even an empty one")
            writer.close()
        except BaseException:
            spool.discard()
            raise
        return spool

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


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
        return self.store.scan_parquet(self._key(context))
