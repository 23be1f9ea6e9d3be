"""Append whole frames to the source tables in one transaction, typed as each dialect stores them:
how demo data and test fixtures fill a source fast (COPY on PostgreSQL, Arrow ingest on SQLite)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa

from export_platform.source import schema
from export_platform.source.connection import arrow_connection
from export_platform.source.url import SourceUrl


def bulk_load(url: SourceUrl, frames: Mapping[str, pl.DataFrame]) -> None:
    """Append frames to their tables in one transaction: COPY on PostgreSQL, Arrow ingest on SQLite."""
    with arrow_connection(url, read_only=False) as conn, conn.cursor() as cursor:
        for table in schema.TABLES:
            frame = frames.get(table.name)
            if frame is None or frame.is_empty():
                continue
            cursor.adbc_ingest(table.name, _for_storage(url, table, frame).to_arrow(), mode="append")
        conn.commit()


def _for_storage(url: SourceUrl, table: sa.Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Order and type a frame's columns as ``table`` stores them on this dialect."""
    frame = frame.select([column.name for column in table.columns])
    if url.dialect != "sqlite":
        return frame
    conversions = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            conversions.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.Datetime):
            conversions.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif dtype == pl.Date:
            conversions.append(pl.col(name).dt.strftime("%Y-%m-%d"))
    return frame.with_columns(conversions) if conversions else frame
