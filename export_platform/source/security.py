"""Tenant isolation inside PostgreSQL: row-level security on every source table, read through a role
that cannot bypass it.

Every dataset query already filters each table by ``tenant_id = :tenant``. Row-level security is the
second wall, for the query that forgets: each source table gets the policy ``tenant_isolation``
(``tenant_id = current_setting('app.tenant_id', true)``; ``id`` on ``tenants``) with ``FORCE ROW LEVEL
SECURITY``, so the table's owner is bound by it too. The platform reads as ``READER_ROLE``: it is
granted SELECT only, owns nothing, and is neither superuser nor ``BYPASSRLS``. ``read_frame`` switches
to it with ``SET LOCAL ROLE`` and sets ``app.tenant_id`` for that one transaction, so whichever login
the source URL names (a member of the reader role in production, ``postgres`` in a test), source rows
are only ever read under the policies. An unset tenant matches no row: ``current_setting(.., true)``
yields NULL (or ``''`` after an earlier transaction) and ``tenant_id = NULL`` is never true.

The one read across tenants is the tenant directory (which slugs exist and are active, for the tenant
sensor): the extra policy ``tenant_directory`` on ``tenants`` alone lets a transaction that sets
``app.tenant_directory`` to ``on`` see every row of ``tenants``, and nothing of any other table.
"""

from __future__ import annotations

import sqlalchemy as sa

from export_platform.source import schema
from export_platform.source.database import (
    DIRECTORY_SETTING,
    READER_ROLE,
    TENANT_SETTING,
    SourceUrl,
    ddl_connection,
)


def _tenant_column(table: sa.Table) -> str:
    return "id" if table.name == "tenants" else "tenant_id"


def row_level_security_sql(db_schema: str = "public") -> list[str]:
    """The statements that create the reader role (if missing) and secure every source table.

    Idempotent: a DBA can run them on a live source, and ``seed`` runs them after each load.
    """
    role = f'"{READER_ROLE}"'
    statements = [
        # Roles are cluster-wide: several databases (or concurrent seeds) may race to create it.
        "DO $$ BEGIN "
        f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        f'GRANT USAGE ON SCHEMA "{db_schema}" TO {role}',
    ]
    for table in schema.TABLES:
        name, column = f'"{db_schema}"."{table.name}"', _tenant_column(table)
        isolation = f"{column} = current_setting('{TENANT_SETTING}', true)"
        statements += [
            f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS tenant_isolation ON {name}",
            f"CREATE POLICY tenant_isolation ON {name} USING ({isolation}) WITH CHECK ({isolation})",
            f"GRANT SELECT ON {name} TO {role}",
        ]
    statements += [
        f'DROP POLICY IF EXISTS tenant_directory ON "{db_schema}"."tenants"',
        f'CREATE POLICY tenant_directory ON "{db_schema}"."tenants" FOR SELECT '
        f"USING (current_setting('{DIRECTORY_SETTING}', true) = 'on')",
    ]
    return statements


def enable_row_level_security(url: SourceUrl) -> None:
    """Apply ``row_level_security_sql`` to a PostgreSQL source; SQLite has no roles and is left alone."""
    if url.dialect != "postgresql":
        return
    with ddl_connection(url) as conn:
        db_schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        for statement in row_level_security_sql(db_schema):
            conn.exec_driver_sql(statement)
