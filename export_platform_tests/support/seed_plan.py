"""The demo data the shared sources are seeded with, and the tenant and month most tests read."""

from __future__ import annotations

from export_platform.source.demo_data import SeedPlan

TEST_PLAN = SeedPlan(tenants=2, months=2, sales_per_day=8, end_month="2026-10")
TENANT, OTHER_TENANT = "acme", "globex"
MONTH = "2026-10"
PARTITION = f"{MONTH}|{TENANT}"
