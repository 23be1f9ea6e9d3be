"""Platform databases as an older release left them, for the tests that upgrade them: the migrations
run up to a given revision, then a row written with only the columns that revision had."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from export_platform.source.url import SourceUrl
from export_platform.tracking import schema


def engine_at_revision(url: str, revision: str) -> sa.Engine:
    """The platform database at ``url`` migrated up to ``revision`` (and no further)."""
    source = SourceUrl(url)
    engine = schema.engine_for(source.sqlalchemy_url, source.dialect)
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.schema.CreateSchema(schema.PLATFORM_SCHEMA, if_not_exists=True))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return engine


def insert_old_row(engine: sa.Engine, table_name: str, row: Mapping[str, Any]) -> None:
    """``row`` into the platform table ``table_name``, naming only its keys as columns (those an older
    revision had)."""
    table = sa.Table(table_name, sa.MetaData(schema=schema.PLATFORM_SCHEMA), *(sa.Column(c) for c in row))
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(**row))
