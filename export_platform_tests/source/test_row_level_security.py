"""Row-level security on the PostgreSQL source: a query that forgets its tenant filter still sees one
tenant, and the role the platform reads as cannot turn the policies off."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.engine import make_url

from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import SourceAccessDenied
from export_platform.source import schema
from export_platform.source.reads import read_frame
from export_platform.source.security import READER_ROLE
from export_platform.source.url import SourceUrl
from export_platform_tests.support.seed_plan import OTHER_TENANT, TENANT
from export_platform_tests.support.source_reads import reads_outside_a_snapshot


def tenant_column(table: sa.Table) -> str:
    return "id" if table.name == "tenants" else "tenant_id"


def admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


@pytest.mark.parametrize("table", schema.TABLES, ids=lambda t: t.name)
def test_an_unfiltered_query_returns_only_the_tenants_rows(postgresql_source: str, table: sa.Table) -> None:
    column = tenant_column(table)
    with admin(postgresql_source) as conn:
        counts = dict(conn.execute(f"SELECT {column}, count(*) FROM {table.name} GROUP BY 1").fetchall())
    assert counts.get(TENANT, 0) > 0 and counts.get(OTHER_TENANT, 0) > 0, counts

    for tenant in (TENANT, OTHER_TENANT):
        # No WHERE clause at all: only the policies stand between this query and other tenants' rows.
        rows = reads_outside_a_snapshot(postgresql_source, tenant).read(sa.select(table))
        assert rows.height == counts[tenant]
        assert set(rows[column]) == {tenant}


def test_no_tenant_set_means_no_rows(postgresql_source: str) -> None:
    url = SourceUrl(postgresql_source)
    for table in schema.TABLES:
        assert read_frame(url, sa.select(table), {}).is_empty(), table.name


def test_the_tenant_directory_opens_the_tenants_table_and_nothing_else(postgresql_source: str) -> None:
    url = SourceUrl(postgresql_source)
    assert SourceDatabase(url=postgresql_source).active_tenant_slugs() == sorted([TENANT, OTHER_TENANT])
    for table in schema.TABLES:
        rows = read_frame(url, sa.select(table), {}, tenant_directory=True)
        assert rows.height == (2 if table.name == "tenants" else 0), table.name


def test_a_tenant_value_is_a_parameter_not_sql(postgresql_source: str) -> None:
    rows = reads_outside_a_snapshot(postgresql_source, "acme' OR '1'='1").read(sa.select(schema.sales))
    assert rows.is_empty()


def test_the_reader_role_cannot_bypass_or_disable_the_policies(postgresql_source: str) -> None:
    with admin(postgresql_source) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s", (READER_ROLE,)
        ).fetchone()
        assert role == (False, False, False)
        tables = conn.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity "
            "FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r'",
            ([t.name for t in schema.TABLES],),
        ).fetchall()
        assert len(tables) == len(schema.TABLES)
        for name, owner, enabled, forced in tables:
            assert owner != READER_ROLE and enabled and forced, name

        conn.execute(f"SET ROLE {READER_ROLE}")
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (TENANT,))
        with pytest.raises(pg_errors.InsufficientPrivilege, match="must be owner"):
            conn.execute("ALTER TABLE sales DISABLE ROW LEVEL SECURITY")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="must be owner"):
            conn.execute("DROP POLICY tenant_isolation ON sales")
        conn.execute("SET row_security = off")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("SELECT count(*) FROM sales").fetchone()
        conn.execute("SET row_security = on")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("UPDATE sales SET total = 0")
        assert conn.execute("SELECT DISTINCT tenant_id FROM sales").fetchall() == [(TENANT,)]


def test_a_login_without_the_reader_role_is_refused_clearly(postgresql_source: str) -> None:
    login, password = f"ep_outsider_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with admin(postgresql_source) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}'")
    try:
        url = make_url(postgresql_source).set(username=login, password=password)
        reads = reads_outside_a_snapshot(url.render_as_string(hide_password=False), TENANT)
        with pytest.raises(SourceAccessDenied, match=READER_ROLE) as failure:
            reads.read(sa.select(schema.sales))
        assert password not in str(failure.value)
    finally:
        with admin(postgresql_source) as conn:
            conn.execute(f"DROP ROLE {login}")
