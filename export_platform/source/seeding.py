"""Load a demo data plan into a source database in bulk (COPY on PostgreSQL, Arrow ingest on SQLite),
then put PostgreSQL tables under row-level security (``source/security.py``)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from export_platform.source.ddl import add_constraints, create_schema
from export_platform.source.demo_data import SeedPlan, generate
from export_platform.source.loading import bulk_load
from export_platform.source.security import enable_row_level_security
from export_platform.source.url import SourceUrl


def seed(url: SourceUrl, plan: SeedPlan, *, progress: Callable[[str], None] = lambda _: None) -> Counter[str]:
    """Recreate the source schema and fill it with ``plan``'s data. Returns row counts per table."""
    create_schema(url, drop_existing=True, defer_constraints=True)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for number, tables in enumerate(generate(plan), start=1):
        bulk_load(url, tables)
        counts.update({name: len(frame) for name, frame in tables.items()})
        tenant = tables["tenants"]["id"][0]
        progress(
            f"[{number}/{plan.tenants}] {tenant}: {len(tables['sales']):,} sales, "
            f"{len(tables['sale_items']):,} line items ({time.perf_counter() - started:.1f}s)"
        )
    started_constraints = time.perf_counter()
    add_constraints(url)
    progress(f"foreign keys and indexes added ({time.perf_counter() - started_constraints:.1f}s)")
    enable_row_level_security(url)
    return counts
