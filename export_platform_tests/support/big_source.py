"""A PostgreSQL source large enough that a read takes about a second, for the fault tests that cut a
connection mid-read or mid-upload."""

from __future__ import annotations

from dataclasses import dataclass

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import build_datasets_asset
from export_platform.source.demo_data import SeedPlan

BIG_PLAN = SeedPlan(tenants=1, months=1, sales_per_day=1500, end_month="2026-10")
BIG_PARTITION = "2026-10|acme"
SALE_ITEMS = [build_datasets_asset([DATASETS_BY_NAME["sale_items"]])]


@dataclass(frozen=True)
class BigSource:
    name: str
    url: str
