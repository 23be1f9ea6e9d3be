"""A partition written a batch at a time to a local Parquet file, so it is never held in memory whole."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

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
