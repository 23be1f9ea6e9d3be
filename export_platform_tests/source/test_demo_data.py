"""The demo generator is deterministic and makes the awkward, realistic data every report needs."""

from __future__ import annotations

import json

import polars as pl

from export_platform.source import schema
from export_platform.source.demo_data import EVENT_TYPES, SeedPlan, generate

PLAN = SeedPlan(tenants=2, months=2, sales_per_day=5, end_month="2026-10")


def all_tables(plan: SeedPlan) -> dict[str, pl.DataFrame]:
    tenants = list(generate(plan))
    return {name: pl.concat([t[name] for t in tenants]) for name in tenants[0]}


def test_same_plan_same_rows() -> None:
    first, second = all_tables(PLAN), all_tables(PLAN)
    for name, frame in first.items():
        assert frame.equals(second[name]), name
    other = all_tables(SeedPlan(tenants=2, months=2, sales_per_day=5, end_month="2026-10", seed=7))
    assert not first["sales"].equals(other["sales"])


def test_every_table_and_column_is_generated() -> None:
    tables = all_tables(PLAN)
    for table in schema.TABLES:
        assert set(tables[table.name].columns) == {c.name for c in table.columns}, table.name
        assert tables[table.name].height > 0, table.name
    for name, frame in tables.items():
        if name != "tenants":
            assert frame["id"].is_unique().all(), name


def test_awkward_text_and_scripts() -> None:
    tables = all_tables(PLAN)
    names = " ".join(tables["products"]["name"]) + " ".join(tables["customers"]["name"])
    for needle in (",", '"', "\n", "北京", "قهوة", "חלב", "Café"):
        assert needle in names, needle
    for prefix in ("=", "+", "-", "@"):
        assert tables["products"]["name"].str.starts_with(prefix).any(), prefix


def test_ledger_balances_and_chart_is_three_levels() -> None:
    tables = all_tables(PLAN)
    sums = tables["journal_lines"].group_by("entry_id").agg(pl.col("amount").sum())
    assert (sums["amount"] == 0).all()
    assert sorted(tables["accounts"]["depth"].unique()) == [0, 1, 2]


def test_audit_events_are_varied_and_json() -> None:
    events = all_tables(PLAN)["audit_events"]
    assert set(events["event_type"]) == set(EVENT_TYPES)
    for payload in events["event_data"].head(500):
        json.loads(payload)
    assert events["ip_address"].str.contains(":").any() and events["ip_address"].str.contains(r"\.").any()
