"""Exact Polars types for the source's columns, whichever dialect and driver delivered them.

Each column's type comes from the SQLAlchemy column type of the statement, not from what the driver
happened to decode: money becomes ``Decimal(18, 2)``, timestamps UTC ``Datetime``, on SQLite (text
that the driver types from its first rows) and PostgreSQL (money sent as whole cents) alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from polars.datatypes import DataTypeClass

from export_platform.errors import InvalidSourceData
from export_platform.source.connection import first_line
from export_platform.source.url import SourceUrl

PolarsType: TypeAlias = pl.DataType | DataTypeClass
"""A Polars type as its class (``pl.Int64``) or as an instance with parameters (``pl.Decimal(18, 2)``)."""

MONEY = pl.Decimal(18, 2)
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
_SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
_ONE_CENT = pl.lit(Decimal("0.01"), pl.Decimal(38, 2))


def polars_type(column_type: sa.types.TypeEngine) -> PolarsType | None:
    """The exact Polars type for a SQLAlchemy column type, or None to keep what Arrow gave."""
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return MONEY
    if isinstance(column_type, sa.DateTime):
        return UTC_TIMESTAMP
    if isinstance(column_type, sa.Date):
        return pl.Date
    if isinstance(column_type, sa.Boolean):
        return pl.Boolean
    if isinstance(column_type, sa.Integer):
        return pl.Int64
    if isinstance(column_type, sa.String):
        return pl.String
    return None


def conform(frame: pl.DataFrame, stmt: sa.Select) -> pl.DataFrame:
    """``frame`` (the rows of ``stmt``) with every column cast to ``polars_type`` of its column."""
    conversions = []
    for column in stmt.selected_columns:
        target = polars_type(column.type)
        if target is None or column.key not in frame.columns:
            continue
        current = frame.schema[column.key]
        expr = pl.col(column.key)
        if current == target:
            continue
        if current == pl.String and target == UTC_TIMESTAMP:
            expr = expr.str.to_datetime(_SQLITE_TIMESTAMP_FORMAT, time_unit="us", time_zone="UTC")
        elif current == pl.String and target == pl.Date:
            expr = expr.str.to_date("%Y-%m-%d")
        elif current == pl.String and target == MONEY:
            # SQLite money is text and may carry more than two decimals: round them to cents the way
            # PostgreSQL's NUMERIC(18,2) does on storage (half away from zero), never truncate.
            expr = expr.cast(pl.Decimal(38, 18)).round(2, mode="half_away_from_zero").cast(MONEY)
        elif current == pl.Int64 and target == MONEY:  # whole cents (``as_the_driver_reads_best``)
            expr = (expr.cast(pl.Decimal(38, 0)) * _ONE_CENT).cast(MONEY)
        elif isinstance(current, pl.Datetime) and target == UTC_TIMESTAMP:
            expr = expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        else:
            expr = expr.cast(target)
        conversions.append(expr.alias(column.key))
    try:
        return frame.with_columns(conversions) if conversions else frame
    except pl.exceptions.InvalidOperationError as exc:
        raise InvalidSourceData(
            f"source rows do not fit the schema's column types: {first_line(exc)}"
        ) from exc


def without_extensions(table: pa.Table) -> pa.Table:
    """Replace Arrow extension columns (libpq's opaque NUMERIC) by their plain storage arrays, and make
    every text column valid UTF-8."""
    columns = [
        _valid_utf8(
            column.cast(column.type.storage_type) if isinstance(column.type, pa.BaseExtensionType) else column
        )
        for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def _valid_utf8(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """SQLite hands TEXT bytes over unchecked (a lone surrogate stored as CESU-8, a stray Latin-1 byte),
    and Polars assumes valid UTF-8: each invalid sequence becomes U+FFFD, so one bad cell cannot crash
    the read or garble its neighbours. PostgreSQL never stores invalid UTF-8, so this costs one check."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        return column
    try:
        column.validate(full=True)
        return column
    except pa.ArrowInvalid:
        values = column.cast(pa.large_binary()).to_pylist()
        return pa.chunked_array(
            [pa.array([None if v is None else v.decode("utf-8", "replace") for v in values], column.type)]
        )


_SQLITE_TYPE_SAMPLES = {
    pl.String: "''",
    MONEY: "'0'",
    UTC_TIMESTAMP: "''",
    pl.Date: "''",
    pl.Int64: "0",
    pl.Boolean: "0",
}


def with_typed_first_row(stmt: sa.Select, sql: str) -> str:
    """SQLite's driver takes each column's Arrow type from the values in its first batch, and a
    column that holds only nulls there becomes int64, so a later batch with text in it fails (a
    known driver limitation: apache/arrow-adbc#581). The result is therefore preceded by one row with
    a value of each column's type, which the readers drop (``without_type_sample``)."""
    samples = ", ".join(
        f'{_SQLITE_TYPE_SAMPLES.get(polars_type(column.type), "NULL")} AS "{column.key}"'
        for column in stmt.selected_columns
    )
    return f"SELECT {samples} UNION ALL SELECT * FROM ({sql})"


def without_type_sample(url: SourceUrl, table: pa.Table) -> pa.Table:
    """``table`` without the row ``with_typed_first_row`` put first (SQLite only)."""
    return table.slice(1) if url.dialect == "sqlite" else table


def as_the_driver_reads_best(url: SourceUrl, stmt: sa.Select) -> sa.Select:
    """``stmt`` with some columns cast for the driver; ``conform`` reads either form exactly.

    On PostgreSQL, NUMERIC columns are selected as whole cents, a BIGINT: libpq's binary NUMERIC costs
    the driver about 400 ns a value to decode, and text has to be parsed into decimals again (0.3 s of
    the client's time for the four money columns of 1M line items), while the cents are the decimal's
    own integer. The cast rounds half away from zero, as NUMERIC(18, 2) does on storage.

    On SQLite, text columns are cast to TEXT: SQLite stores what it is given, and the driver takes
    each column's type from the values of its first batch, so a text column whose first rows happen
    to hold numbers would fail later batches (see ``with_typed_first_row`` for columns whose first
    rows are all null)."""

    def for_driver(column: sa.ColumnElement) -> sa.ColumnElement:
        target = polars_type(column.type)
        if url.dialect == "postgresql" and target == MONEY:
            return sa.cast(column * 100, sa.BigInteger).label(column.key)
        if url.dialect == "sqlite" and target in (pl.String, MONEY):
            return sa.cast(column, sa.Text).label(column.key)
        return column

    columns = [for_driver(column) for column in stmt.selected_columns]
    return stmt.with_only_columns(*columns, maintain_column_froms=True)
