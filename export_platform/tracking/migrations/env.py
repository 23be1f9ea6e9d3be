"""Alembic environment for the platform tables; run through ``tracking.schema.migrate``."""

from alembic import context

from export_platform.tracking.schema import PLATFORM_SCHEMA, metadata

connection = context.config.attributes["connection"]
postgres = connection.dialect.name == "postgresql"
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table="platform_schema_version",
    version_table_schema=PLATFORM_SCHEMA if postgres else None,
    include_schemas=postgres,
)
with context.begin_transaction():
    context.run_migrations()
