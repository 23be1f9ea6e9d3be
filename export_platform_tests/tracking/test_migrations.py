"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL, and re-running
them changes nothing; a database made by an older release keeps its rows when upgraded."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from export_platform.source.url import SourceUrl
from export_platform.tracking import schema
from export_platform_tests.support.platform_migrations import engine_at_revision, insert_old_row
from export_platform_tests.support.postgres import create_database, database_url, drop_database


def differences(url: str) -> list:
    source = SourceUrl(url)
    engine = schema.engine_for(source.sqlalchemy_url, source.dialect)
    schema.create_platform_tables(engine)
    schema.create_platform_tables(engine)  # idempotent
    postgres = source.dialect == "postgresql"
    expected = schema.metadata if postgres else sa.MetaData()
    if not postgres:
        for table in schema.metadata.tables.values():
            table.to_metadata(expected, schema=None)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": postgres,
                "version_table": "platform_schema_version",
                "version_table_schema": schema.PLATFORM_SCHEMA if postgres else None,
                "include_name": lambda name, kind, parent: (
                    kind != "schema" or name in (None, schema.PLATFORM_SCHEMA)
                ),
                "include_object": lambda obj, name, kind, reflected, compare_to: (
                    kind != "table"
                    or name in expected.tables
                    or name.split(".")[-1] in {t.name for t in expected.tables.values()}
                ),
            },
        )
        return compare_metadata(context, expected)


def test_sqlite(tmp_path) -> None:
    assert differences(f"sqlite:///{tmp_path / 'platform.db'}") == []


def test_postgres() -> None:
    name = create_database()
    try:
        assert differences(database_url(name)) == []
    finally:
        drop_database(name)


def upgraded_from_0002(url: str) -> None:
    """A history row and settings saved at revision 0002 survive the upgrade to the newest, which
    then accepts ``expired`` and still refuses a status it does not know."""
    engine = engine_at_revision(url, "0002")
    insert_old_row(engine, "export_history", REVISION_2_ROW)
    schema.create_platform_tables(engine)
    t = schema.export_history
    with engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == "old").values(status="expired"))
        assert conn.execute(sa.select(t.c.tenant_id, t.c.status)).all() == [("acme", "expired")]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.update(t).values(status="archived"))


REVISION_2_ROW = {
    "id": "old",
    "tenant_id": "acme",
    "requested_by": "schedule:Daily",
    "dataset": "sales",
    "format": "csv",
    "status": "emailed",
    "created_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
}


def test_sqlite_upgrade_keeps_rows_and_allows_expired(tmp_path) -> None:
    upgraded_from_0002(f"sqlite:///{tmp_path / 'platform.db'}")


def test_postgres_upgrade_keeps_rows_and_allows_expired() -> None:
    name = create_database()
    try:
        upgraded_from_0002(database_url(name))
    finally:
        drop_database(name)
