"""A PostgreSQL source of one tenant's October, as many line items as a streaming test needs, with an
exporter token of the Export API on it (the platform tables live in the source's database)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.seed_plan import MONTH

ITEMS_PER_SALE = 3  # the generator's average
DAYS = 31


@dataclass(frozen=True)
class StreamingSource:
    url: str
    tenant: str
    exporter_token: str
    line_items: int  # in the tenant's October

    @property
    def october(self) -> dict[str, str]:
        """The request body for the whole of October."""
        return {"date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}


@contextlib.contextmanager
def streaming_source(line_items: int) -> Iterator[StreamingSource]:
    """A new database seeded with about ``line_items`` line items in one tenant's October; dropped after."""
    name = create_database()
    url = database_url(name)
    try:
        per_day = round(line_items / ITEMS_PER_SALE / DAYS)
        seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=per_day, end_month=MONTH))
        with psycopg.connect(url) as conn:
            tenant, user_id = conn.execute(
                "SELECT tenant_id, min(id) FROM users GROUP BY tenant_id"
            ).fetchone()
            items = conn.execute("SELECT count(*) FROM sale_items").fetchone()[0]
        issued = ApiTokenStore(ExportHistory(url=url).engine).issue(
            tenant=tenant, user_id=user_id, role="exporter", expires_in_days=1
        )
        yield StreamingSource(url, tenant, issued.bearer, items)
    finally:
        drop_database(name)
