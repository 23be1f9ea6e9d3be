"""Tenant-scoped, parameterised reads from the source database straight into Arrow.

Queries are SQLAlchemy Core statements, compiled for the source's dialect with positional parameters
and executed through ADBC (libpq's COPY protocol on PostgreSQL), so rows arrive as Arrow record batches
with no Python loop over rows; ``column_types`` then gives each column its exact Polars type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from export_platform.source.column_types import (
    as_the_driver_reads_best,
    conform,
    with_typed_first_row,
    without_extensions,
    without_type_sample,
)
from export_platform.source.connection import arrow_connection, call_driver
from export_platform.source.read_ahead import read_ahead
from export_platform.source.security import enter_reader_role
from export_platform.source.snapshot import join_snapshot
from export_platform.source.url import SourceUrl

BATCH_ROWS = 100_000


def read_frame(
    url: SourceUrl,
    stmt: sa.Select,
    params: Mapping[str, Any],
    *,
    tenant: str | None = None,
    tenant_directory: bool = False,
    snapshot: str | None = None,
) -> pl.DataFrame:
    """Run one parameterised SELECT and return its rows as a typed Polars frame.

    On PostgreSQL the transaction runs as ``READER_ROLE`` with ``tenant`` set as ``app.tenant_id``, so
    the row-level security policies return that tenant's rows only, whatever the statement's filters.
    With neither ``tenant`` nor ``tenant_directory`` no source row is visible at all;
    ``tenant_directory`` opens the ``tenants`` table alone, for listing tenants. With ``snapshot`` (from
    ``exported_snapshot``) the statement sees the database as that snapshot does.
    """
    with _query(
        url, stmt, params, tenant=tenant, tenant_directory=tenant_directory, snapshot=snapshot
    ) as cursor:
        table = without_type_sample(url, call_driver(url, cursor.fetch_arrow_table))
    return _typed_frame(table, stmt)


def read_batches(
    url: SourceUrl,
    stmt: sa.Select,
    params: Mapping[str, Any],
    *,
    tenant: str,
    batch_rows: int = BATCH_ROWS,
    snapshot: str | None = None,
) -> Iterator[pl.DataFrame]:
    """``read_frame`` a batch at a time, for results too large to hold at once.

    Batches arrive in the statement's order as the driver decodes them (about ``batch_rows`` rows
    each), so memory depends on the batch size, not the row count. The driver fetches the next two
    batches on a thread while the caller works on this one (``read_ahead``). At least one batch is yielded,
    empty when no row matches, so callers always see the columns and their types.

    On PostgreSQL the driver streams only a ``COPY (query) TO STDOUT``, and COPY takes no bound
    parameters (with them, libpq would buffer the whole result: 1 GB for 1M line items). So the
    parameters are written into the SQL as literals, and only values that cannot carry SQL are
    accepted (see ``_inlinable``); the tenant is also enforced by row-level security.
    """
    with _query(
        url, stmt, params, tenant=tenant, batch_rows=batch_rows, inline=True, snapshot=snapshot
    ) as cursor:
        reader = call_driver(url, cursor.fetch_record_batch)
        empty, first = True, True
        for batch in read_ahead(iter(lambda: call_driver(url, lambda: next(reader, None)), None)):
            table = pa.Table.from_batches([batch])
            if first:
                table, first = without_type_sample(url, table), False
            if table.num_rows == 0:
                continue
            empty = False
            yield _typed_frame(table, stmt)
        if empty:
            yield _typed_frame(reader.schema.empty_table(), stmt)


def _typed_frame(table: pa.Table, stmt: sa.Select) -> pl.DataFrame:
    """The driver's rows of ``stmt`` as a frame with the exact column types."""
    frame = pl.from_arrow(without_extensions(table))
    assert isinstance(frame, pl.DataFrame)  # an Arrow table always becomes a frame, never a series
    return conform(frame, stmt)


@contextlib.contextmanager
def _query(
    url: SourceUrl,
    stmt: sa.Select,
    params: Mapping[str, Any],
    *,
    tenant: str | None,
    tenant_directory: bool = False,
    batch_rows: int | None = None,
    inline: bool = False,
    snapshot: str | None = None,
) -> Iterator[Any]:
    """A cursor that has executed ``stmt`` in a transaction scoped by row-level security."""
    stmt_for_source = as_the_driver_reads_best(url, stmt)
    values: list[Any]
    if inline and url.dialect == "postgresql":
        sql, values = _compile_inline(url, stmt_for_source, params), []
    else:
        sql, values = _compile(url, stmt_for_source, params)
    if url.dialect == "sqlite":
        sql = with_typed_first_row(stmt_for_source, sql)
    with arrow_connection(url) as conn, conn.cursor() as cursor:
        if url.dialect == "postgresql":
            if snapshot is not None:
                join_snapshot(url, cursor, snapshot)
            enter_reader_role(url, cursor, tenant=tenant, tenant_directory=tenant_directory)
        if batch_rows is not None:
            cursor.adbc_statement.set_options(**_batch_options(url, batch_rows))
        call_driver(url, lambda: cursor.execute(sql, parameters=values or None))
        yield cursor


def _compile(url: SourceUrl, stmt: sa.Select, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Compile ``stmt`` to the dialect's positional SQL and its parameter values, in order."""
    dialect = url.compile_dialect
    compiled = stmt.compile(dialect=dialect)
    values = compiled.construct_params(dict(params))
    ordered = []
    for name in compiled.positiontup or ():
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        ordered.append(processor(values[name]) if processor else values[name])
    return str(compiled), ordered


_SAFE_TEXT = re.compile(r"[A-Za-z0-9_.:@+-]*")


def _inlinable(value: Any) -> bool:
    """Values whose SQL literal cannot end the literal: numbers, dates, times, and plain words."""
    if isinstance(value, bool | int | float | Decimal | dt.date | dt.datetime) or value is None:
        return True
    return isinstance(value, str) and _SAFE_TEXT.fullmatch(value) is not None


def _compile_inline(url: SourceUrl, stmt: sa.Select, params: Mapping[str, Any]) -> str:
    """Compile ``stmt`` with its parameters written in as literals, refusing any value that could
    carry SQL."""
    unsafe = sorted(name for name, value in params.items() if not _inlinable(value))
    if unsafe:
        raise ValueError(f"parameters {unsafe} cannot be written into SQL as literals")
    bound = stmt.params(dict(params))
    return str(bound.compile(dialect=url.compile_dialect, compile_kwargs={"literal_binds": True}))


def _batch_options(url: SourceUrl, batch_rows: int) -> dict[str, str]:
    if url.dialect == "postgresql":  # the driver sizes batches in bytes; line items are ~200 bytes a row
        return {"adbc.postgresql.batch_size_hint_bytes": str(batch_rows * 200)}
    return {"adbc.sqlite.query.batch_rows": str(batch_rows)}
