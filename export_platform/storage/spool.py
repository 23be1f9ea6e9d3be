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
    def _new(cls) -> ParquetSpool:
        return cls(Path(tempfile.mkdtemp(prefix="export-platform-spool-")) / "data.parquet")

    @classmethod
    def write(cls, batches: Iterator[pl.DataFrame]) -> ParquetSpool:
        """Write ``batches`` (at least one; all with the same schema) to a new spool file."""
        spool = cls._new()
        try:
            writer = None
            for batch in batches:
                table = batch.to_arrow(compat_level=pl.CompatLevel.newest())
                if writer is None:
                    writer = pq.ParquetWriter(spool.path, table.schema, **encoding_for(batch))
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            if writer is None:
                raise ValueError("a streamed dataset yielded no batch, not even an empty one")
            writer.close()
        except BaseException:
            spool.discard()
            raise
        return spool

    @classmethod
    def write_frame(cls, frame: pl.DataFrame) -> ParquetSpool:
        """Write a whole frame to a new spool file, with the settings the IO manager stores frames with
        (Polars' writer: unlike ``write``, it takes nested columns of string views)."""
        spool = cls._new()
        try:
            frame.write_parquet(
                spool.path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS
            )
        except BaseException:
            spool.discard()
            raise
        return spool

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def encoding_for(first_batch: pl.DataFrame) -> dict:
    """Parquet writer settings for batches like ``first_batch``.

    pyarrow's defaults dictionary-encode every column and keep min/max statistics for every column;
    on line items that is half of the spool's CPU time (0.92 s of writing for 1M rows, against 0.55 s
    with these settings, and a 20% smaller file). Dictionaries pay off for text that repeats (status,
    storefront, product), not for ids and receipt numbers; statistics serve filters on numbers and
    times, and cost most on long unique text. Money (``Decimal(18, 2)``) is stored as Parquet INT64
    with its decimal annotation rather than as 16-byte fixed-length values: the same decimals read
    back, 0.2 s less of writing per 1M line items. Batches go to the writer in Polars' own layout
    (string views) without a copy into large strings."""
    repeating_text = [
        name
        for name, column in first_batch.to_dict().items()
        if column.dtype == pl.String and column.n_unique() <= max(1, first_batch.height // 2)
    ]
    return {
        "compression": "zstd",
        "use_dictionary": repeating_text,
        "write_statistics": [name for name, dtype in first_batch.schema.items() if dtype != pl.String],
        "store_decimal_as_integer": True,
    }
