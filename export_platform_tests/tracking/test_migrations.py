"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL, and re-running
them changes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from export_platform.source.url import SourceUrl
from export_platform.tracking import schema
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
