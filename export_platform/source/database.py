"""Tenant-scoped, parameterised reads from the source database straight into Arrow.

Queries are SQLAlchemy Core statements, compiled for the source's dialect with positional parameters
and executed through ADBC (libpq's COPY protocol on PostgreSQL), so rows arrive as Arrow record batches
with no Python loop over rows. Columns are then conformed to exact Polars types using the SQLAlchemy
column types of the statement: money becomes ``Decimal(18, 2)``, timestamps UTC ``Datetime``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import adbc_driver_manager
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from export_platform.credentials import masked_url, split_credentials
from export_platform.errors import InvalidSourceData, MalformedUrl, SourceAccessDenied, SourceUnavailable
from export_platform.source import schema
from export_platform.source.read_ahead import read_ahead

MONEY = pl.Decimal(18, 2)
READER_ROLE = "export_reader"
"""The PostgreSQL role every source read runs as; ``source/security.py`` creates it and its policies."""
TENANT_SETTING = "app.tenant_id"
DIRECTORY_SETTING = "app.tenant_directory"
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
BATCH_ROWS = 100_000
_SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
_ONE_CENT = pl.lit(Decimal("0.01"), pl.Decimal(38, 2))


@dataclass(frozen=True)
class SourceUrl:
    """A source database URL, parsed once: which dialect, and how each client wants it spelled."""

    raw: str

    def __post_init__(self) -> None:
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported source database {self.redacted}: use sqlite:/// or postgresql://")

    def __repr__(self) -> str:
        return f"SourceUrl({self.redacted!r})"

    @property
    def _url(self) -> sa.URL:
        """Parsed by ``credentials.split_credentials``'s rule, so a raw ``@``, ``/`` or ``#`` in the
        password stays in the password; a URL that still does not parse is refused without its text."""
        parts = split_credentials(self.raw)
        try:
            return make_url(self.raw if parts is None else parts.with_encoded_credentials())
        except (sa.exc.ArgumentError, ValueError):
            raise MalformedUrl(
                "the source database URL (EXPORT_SOURCE_URL) cannot be parsed; it is not shown, as it may "
                "hold a password: write it as postgresql://user:password@host:port/database or sqlite:///path"
            ) from None

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    @property
    def redacted(self) -> str:
        """The URL with every credential masked (``credentials.masked_url``), safe for messages and logs."""
        return masked_url(self.raw)

    @property
    def sqlite_path(self) -> Path:
        return Path(self._url.database or "")

    @property
    def sqlalchemy_url(self) -> sa.URL:
        if self.dialect == "postgresql":
            return self._url.set(drivername="postgresql+psycopg")
        return self._url

    @property
    def adbc_uri(self) -> str:
        if self.dialect == "postgresql":
            return self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        return f"file:{self.sqlite_path}?mode=ro"

    @property
    def compile_dialect(self) -> sa.Dialect:
        if self.dialect == "postgresql":
            return postgresql.psycopg.dialect(paramstyle="numeric_dollar")
        return sqlite.dialect(paramstyle="qmark")


def create_engine(url: SourceUrl) -> sa.Engine:
    return sa.create_engine(url.sqlalchemy_url)


def create_schema(url: SourceUrl, *, drop_existing: bool = False, defer_constraints: bool = False) -> None:
    """Create the source tables (dropping them first if asked). Idempotent without ``drop_existing``.

    With ``defer_constraints`` PostgreSQL tables get only their primary keys; ``add_constraints``
    adds foreign keys and indexes after a bulk load, which checks them in one pass instead of row by
    row (a 1M-row COPY into ``sale_items`` drops from ~22 s to ~3 s).
    """
    if url.dialect == "sqlite":
        url.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with ddl_connection(url) as conn:
        if drop_existing:
            schema.metadata.drop_all(conn)
        if defer_constraints and url.dialect == "postgresql":
            for table in schema.TABLES:
                conn.execute(sa.schema.CreateTable(table, include_foreign_key_constraints=[]))
        else:
            schema.metadata.create_all(conn)


def add_constraints(url: SourceUrl) -> None:
    """Add the foreign keys and indexes that ``create_schema(defer_constraints=True)`` left out."""
    if url.dialect != "postgresql":
        return
    with ddl_connection(url) as conn:
        for table in schema.TABLES:
            for constraint in table.foreign_key_constraints:
                conn.execute(sa.schema.AddConstraint(constraint))
            for index in table.indexes:
                index.create(conn)
        conn.exec_driver_sql("ANALYZE")


@contextlib.contextmanager
def ddl_connection(url: SourceUrl) -> Iterator[sa.Connection]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        raise SourceUnavailable(f"cannot reach source database {url.redacted}: {exc.orig}") from exc
    finally:
        engine.dispose()


@contextlib.contextmanager
def arrow_connection(url: SourceUrl, *, read_only: bool = True) -> Iterator[Any]:
    """An ADBC DB-API connection; failures to connect become ``SourceUnavailable``."""
    try:
        if url.dialect == "postgresql":
            import adbc_driver_postgresql.dbapi as driver

            conn = driver.connect(url.adbc_uri)
        else:
            import adbc_driver_sqlite.dbapi as driver

            if not url.sqlite_path.is_file():
                raise SourceUnavailable(
                    f"source database file {url.sqlite_path} does not exist: run `export-platform seed` "
                    "or set EXPORT_SOURCE_URL"
                )
            uri = url.adbc_uri if read_only else str(url.sqlite_path)
            conn = driver.connect(uri)
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(f"cannot reach source database {url.redacted}: {_first_line(exc)}") from exc
    try:
        yield conn
    finally:
        conn.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _compile(url: SourceUrl, stmt: sa.Executable, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
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


def _compile_inline(url: SourceUrl, stmt: sa.Executable, params: Mapping[str, Any]) -> str:
    """Compile ``stmt`` with its parameters written in as literals, refusing any value that could
    carry SQL."""
    unsafe = sorted(name for name, value in params.items() if not _inlinable(value))
    if unsafe:
        raise ValueError(f"parameters {unsafe} cannot be written into SQL as literals")
    bound = stmt.params(dict(params))
    return str(bound.compile(dialect=url.compile_dialect, compile_kwargs={"literal_binds": True}))


def _polars_type(column_type: sa.types.TypeEngine) -> pl.DataType | None:
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


def _conform(frame: pl.DataFrame, stmt: sa.Select) -> pl.DataFrame:
    conversions = []
    for column in stmt.selected_columns:
        target = _polars_type(column.type)
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
        elif current == pl.Int64 and target == MONEY:  # whole cents (``_as_the_driver_reads_best``)
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
            f"source rows do not fit the schema's column types: {_first_line(exc)}"
        ) from exc


def _without_extensions(table: pa.Table) -> pa.Table:
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
        table = _without_type_sample(url, _fetch(url, cursor.fetch_arrow_table))
    return _conform(pl.from_arrow(_without_extensions(table)), stmt)


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
        reader = _fetch(url, cursor.fetch_record_batch)
        empty, first = True, True
        for batch in read_ahead(iter(lambda: _fetch(url, lambda: next(reader, None)), None)):
            table = pa.Table.from_batches([batch])
            if first:
                table, first = _without_type_sample(url, table), False
            if table.num_rows == 0:
                continue
            empty = False
            yield _conform(pl.from_arrow(_without_extensions(table)), stmt)
        if empty:
            yield _conform(pl.from_arrow(_without_extensions(reader.schema.empty_table())), stmt)


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
    stmt_for_source = _as_the_driver_reads_best(url, stmt)
    if inline and url.dialect == "postgresql":
        sql, values = _compile_inline(url, stmt_for_source, params), []
    else:
        sql, values = _compile(url, stmt_for_source, params)
    if url.dialect == "sqlite":
        sql = _with_typed_first_row(stmt_for_source, sql)
    with arrow_connection(url) as conn, conn.cursor() as cursor:
        if url.dialect == "postgresql":
            if snapshot is not None:
                _join_snapshot(url, cursor, snapshot)
            _enter_reader_role(url, cursor, tenant=tenant, tenant_directory=tenant_directory)
        if batch_rows is not None:
            cursor.adbc_statement.set_options(**_batch_options(url, batch_rows))
        _fetch(url, lambda: cursor.execute(sql, parameters=values or None))
        yield cursor


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(?:-[0-9A-F]+)+")
_SNAPSHOT_ISOLATION = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


@contextlib.contextmanager
def exported_snapshot(url: SourceUrl) -> Iterator[str | None]:
    """The id of one snapshot of the database, for reads on other connections to share until exit.

    A dataset is several statements (the tenant row; the month's lines and the products they name;
    customers, their credit and their sales), each on a connection of its own and some at once, and a
    run reads several datasets (the sales and their line items). Read committed, each statement would
    see the database as of its own start, so a product sold between two of them could have its line in
    one read and its name missing from the other, or a sale be in the sales and not in the line items.

    On PostgreSQL this opens a read-only REPEATABLE READ transaction, exports its snapshot
    (``pg_export_snapshot``) and holds the transaction open, which keeps the snapshot importable,
    until the block ends; ``read_frame`` and ``read_batches`` given the id start their own
    transactions in it. On SQLite it yields None: the embedded source is written only when it is
    seeded, and each statement sees the file as of its own start.
    """
    if url.dialect != "postgresql":
        yield None
        return
    with arrow_connection(url) as conn, conn.cursor() as cursor:

        def export() -> str:
            cursor.execute(_SNAPSHOT_ISOLATION)
            cursor.execute("SELECT pg_export_snapshot()")
            return cursor.fetchone()[0]

        try:
            snapshot = _fetch(url, export)
        except adbc_driver_manager.Error as exc:
            raise SourceUnavailable(
                f"source database {url.redacted} cannot export a snapshot: {_first_line(exc)}"
            ) from exc
        yield snapshot


def _join_snapshot(url: SourceUrl, cursor: Any, snapshot: str) -> None:
    """Start this connection's transaction in ``snapshot``; its first statements must be these."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # written into the SQL: SET takes no parameters
        raise ValueError(f"{snapshot!r} is not a PostgreSQL snapshot id")

    def join() -> None:
        cursor.execute(_SNAPSHOT_ISOLATION)
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")

    try:
        _fetch(url, join)  # a lost connection: SourceUnavailable from _fetch
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(
            f"source database {url.redacted} no longer has snapshot {snapshot} (its transaction ended?): "
            f"{_first_line(exc)}"
        ) from exc


_SQLITE_TYPE_SAMPLES = {
    pl.String: "''",
    MONEY: "'0'",
    UTC_TIMESTAMP: "''",
    pl.Date: "''",
    pl.Int64: "0",
    pl.Boolean: "0",
}


def _with_typed_first_row(stmt: sa.Select, sql: str) -> str:
    """SQLite's driver takes each column's Arrow type from the values in its first batch, and a
    column that holds only nulls there becomes int64, so a later batch with text in it fails (a
    known driver limitation: apache/arrow-adbc#581). The result is therefore preceded by one row with
    a value of each column's type, which the readers drop (``_without_type_sample``)."""
    samples = ", ".join(
        f'{_SQLITE_TYPE_SAMPLES.get(_polars_type(column.type), "NULL")} AS "{column.key}"'
        for column in stmt.selected_columns
    )
    return f"SELECT {samples} UNION ALL SELECT * FROM ({sql})"


def _without_type_sample(url: SourceUrl, table: pa.Table) -> pa.Table:
    return table.slice(1) if url.dialect == "sqlite" else table


def _fetch(url: SourceUrl, call: Callable[[], Any]) -> Any:
    """``call()``; a lost connection becomes ``SourceUnavailable``. The driver's record batch stream
    reports one while streaming as an Arrow IOError (an ``OSError``), not as an ADBC error."""
    try:
        return call()
    except (adbc_driver_manager.OperationalError, OSError) as exc:
        raise SourceUnavailable(f"source database {url.redacted} failed: {_first_line(exc)}") from exc


def _batch_options(url: SourceUrl, batch_rows: int) -> dict[str, str]:
    if url.dialect == "postgresql":  # the driver sizes batches in bytes; line items are ~200 bytes a row
        return {"adbc.postgresql.batch_size_hint_bytes": str(batch_rows * 200)}
    return {"adbc.sqlite.query.batch_rows": str(batch_rows)}


def _as_the_driver_reads_best(url: SourceUrl, stmt: sa.Select) -> sa.Select:
    """``stmt`` with some columns cast for the driver; ``_conform`` reads either form exactly.

    On PostgreSQL, NUMERIC columns are selected as whole cents, a BIGINT: libpq's binary NUMERIC costs
    the driver about 400 ns a value to decode, and text has to be parsed into decimals again (0.3 s of
    the client's time for the four money columns of 1M line items), while the cents are the decimal's
    own integer. The cast rounds half away from zero, as NUMERIC(18, 2) does on storage.

    On SQLite, text columns are cast to TEXT: SQLite stores what it is given, and the driver takes
    each column's type from the values of its first batch, so a text column whose first rows happen
    to hold numbers would fail later batches (see ``_with_typed_first_row`` for columns whose first
    rows are all null)."""

    def for_driver(column: sa.ColumnElement) -> sa.ColumnElement:
        target = _polars_type(column.type)
        if url.dialect == "postgresql" and target == MONEY:
            return sa.cast(column * 100, sa.BigInteger).label(column.key)
        if url.dialect == "sqlite" and target in (pl.String, MONEY):
            return sa.cast(column, sa.Text).label(column.key)
        return column

    columns = [for_driver(column) for column in stmt.selected_columns]
    return stmt.with_only_columns(*columns, maintain_column_froms=True)


def _enter_reader_role(url: SourceUrl, cursor: Any, *, tenant: str | None, tenant_directory: bool) -> None:
    """Switch this transaction to the reader role and set the row-level security settings."""
    try:
        cursor.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        if tenant is not None:
            cursor.execute(f"SELECT set_config('{TENANT_SETTING}', $1, true)", parameters=(tenant,))
        if tenant_directory:
            cursor.execute(f"SELECT set_config('{DIRECTORY_SETTING}', 'on', true)")
    except adbc_driver_manager.OperationalError as exc:
        raise SourceUnavailable(f"source database {url.redacted} failed: {_first_line(exc)}") from exc
    except adbc_driver_manager.Error as exc:
        raise SourceAccessDenied(
            f"source database {url.redacted} does not let this login read as role {READER_ROLE!r} "
            f"({_first_line(exc)}): create the role and its policies (docs/reliability.md) and grant "
            "it to the login"
        ) from exc


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
