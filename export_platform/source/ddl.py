"""Create the source tables, and add their foreign keys and indexes after a bulk load: the schema
changes that seeding and test fixtures make, through SQLAlchemy rather than the reads' ADBC driver."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from export_platform.errors import SourceUnavailable
from export_platform.source import schema
from export_platform.source.url import SourceUrl, create_engine


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
