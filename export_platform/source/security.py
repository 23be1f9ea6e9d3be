"""Tenant isolation inside PostgreSQL: row-level security on every source table, read through a role
that cannot bypass it.

Every dataset query already filters each table by ``tenant_id = :tenant``. Row-level security is the
second wall, for the query that forgets: each source table gets the policy ``tenant_isolation``
(``tenant_id = current_setting('app.tenant_id', true)``; ``id`` on ``tenants``) with ``FORCE ROW LEVEL
SECURITY``, so the table's owner is bound by it too. The platform reads as ``READER_ROLE``: it is
granted SELECT only, owns nothing, and is neither superuser nor ``BYPASSRLS``. Every read switches
to it (``enter_reader_role``: ``SET LOCAL ROLE``) and sets ``app.tenant_id`` for that one transaction,
so whichever login the source URL names (a member of the reader role in production, ``postgres`` in a
test), source rows are only ever read under the policies. An unset tenant matches no row:
``current_setting(.., true)`` yields NULL (or ``''`` after an earlier transaction) and
``tenant_id = NULL`` is never true.

The one read across tenants is the tenant directory (which slugs exist and are active, for the tenant
sensor): the extra policy ``tenant_directory`` on ``tenants`` alone lets a transaction that sets
``app.tenant_directory`` to ``on`` see every row of ``tenants``, and nothing of any other table.
"""

from __future__ import annotations

from typing import Any

import adbc_driver_manager
import sqlalchemy as sa

from export_platform.errors import SourceAccessDenied, SourceUnavailable
from export_platform.source import schema
from export_platform.source.connection import first_line
from export_platform.source.ddl import ddl_connection
from export_platform.source.url import SourceUrl

READER_ROLE = "export_reader"
"""The PostgreSQL role every source read runs as; ``row_level_security_sql`` creates it and its policies."""
TENANT_SETTING = "app.tenant_id"
DIRECTORY_SETTING = "app.tenant_directory"


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


def enter_reader_role(url: SourceUrl, cursor: Any, *, tenant: str | None, tenant_directory: bool) -> None:
    """Switch this transaction to the reader role and set the row-level security settings."""
    try:
        cursor.execute(f'SET LOCAL ROLE "{READER_ROLE}"')
        if tenant is not None:
            cursor.execute(f"SELECT set_config('{TENANT_SETTING}', $1, true)", parameters=(tenant,))
        if tenant_directory:
            cursor.execute(f"SELECT set_config('{DIRECTORY_SETTING}', 'on', true)")
    except adbc_driver_manager.OperationalError as exc:
        raise SourceUnavailable(f"source database {url.redacted} failed: {first_line(exc)}") from exc
    except adbc_driver_manager.Error as exc:
        raise SourceAccessDenied(
            f"source database {url.redacted} does not let this login read as role {READER_ROLE!r} "
            f"({first_line(exc)}): create the role and its policies (docs/reliability.md) and grant "
            "it to the login"
        ) from exc
