"""Ad-hoc exports: the request is validated with the field named, filters select the right rows, and
files land under {tenant}/adhoc/{run_id}/ with a history row that records the filters."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from export_platform.exports.adhoc import AdhocExportConfig, adhoc_export
from export_platform.resources import SourceDatabase
from export_platform.storage.artifacts import ArtifactStore
from export_platform.tracking.history import ExportHistory
from export_platform_tests.conftest import TENANT


def run(source_url: str, root: Path, **request) -> dg.ExecuteInProcessResult:
    return adhoc_export.execute_in_process(
        run_config={"ops": {"run_adhoc_export": {"config": {"tenant": TENANT, **request}}}},
        resources={
            "source": SourceDatabase(url=source_url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": ExportHistory(url=source_url),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"dataset": "sales", "date_from": "2026-10-31", "date_to": "2026-10-01"}, "date_from"),
        ({"dataset": "sales", "date_from": "2025-01-01", "date_to": "2026-06-30"}, "date_to"),
        ({"dataset": "sales", "date_from": "2026-10-01"}, "date_to"),
        (
            {
                "dataset": "sales",
                "date_preset": "this_year",
                "date_from": "2026-10-01",
                "date_to": "2026-10-02",
            },
            "date_preset",
        ),
        ({"dataset": "sales", "account_types": ["assets"]}, "account_types"),
        ({"dataset": "bills", "include_inactive": True}, "include_inactive"),
        ({"dataset": "sale_items", "formats": ["pdf"]}, "formats"),
        ({"dataset": "customers", "min_balance": "lots"}, "min_balance"),
        ({"dataset": "sales", "date_from": "2026-13-01", "date_to": "2026-12-31"}, "date_from"),
    ],
)
def test_invalid_requests_name_the_field(request_: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AdhocExportConfig(tenant=TENANT, **request_)


def test_wrong_kinds_are_refused_at_launch(sqlite_source: str, tmp_path: Path) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="account_types"):
        run(sqlite_source, tmp_path, dataset="bills", account_types=["vegetables"])
    with pytest.raises(dg.DagsterInvalidConfigError, match="delimiter"):
        run(sqlite_source, tmp_path, dataset="bills", delimiter="||")
    assert not list(tmp_path.rglob("*"))


def test_a_bad_range_fails_before_anything_is_written(sqlite_source: str, tmp_path: Path) -> None:
    result = run(sqlite_source, tmp_path, dataset="sales", date_from="2026-10-31", date_to="2026-10-01")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "date_from: must not be after date_to" in failure.event_specific_data.error.to_string()
    assert not list(tmp_path.rglob("*"))


def test_filtered_bills_over_a_range(sqlite_source: str, tmp_path: Path) -> None:
    result = run(
        sqlite_source,
        tmp_path,
        dataset="bills",
        formats=["csv", "xlsx"],
        date_from="2026-09-20",
        date_to="2026-10-10",
        account_types=["expenses"],
        delimiter=";",
        requested_by="ana@acme.example",
    )
    assert result.success
    folder = tmp_path / TENANT / "adhoc" / result.run_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "bills_acme_2026-09-20_2026-10-10.csv",
        "bills_acme_2026-09-20_2026-10-10.xlsx",
    ]
    with (folder / "bills_acme_2026-09-20_2026-10-10.csv").open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source, delimiter=";"))
    assert rows
    assert all("2026-09-20" <= r["Date"] <= "2026-10-10" for r in rows)
    assert all(
        r["Debit Account"].startswith("Expenses") or r["Credit Account"].startswith("Expenses") for r in rows
    )
    entries = [
        e
        for e in ExportHistory(url=sqlite_source).entries(tenant=TENANT, limit=10_000)
        if e["run_id"] == result.run_id
    ]
    assert {e["format"] for e in entries} == {"csv", "xlsx"} and {e["status"] for e in entries} == {"success"}
    assert all(
        e["requested_by"] == "ana@acme.example"
        and '"account_types": ["expenses"]' in e["filters"]
        and '"date_from": "2026-09-20"' in e["filters"]
        for e in entries
    )
    assert {e["record_count"] for e in entries} == {len(rows)}


def test_customer_and_inventory_filters(sqlite_source: str, tmp_path: Path) -> None:
    customers = run(
        sqlite_source,
        tmp_path,
        dataset="customers",
        credit_status="over_limit",
        min_balance="100.00",
        date_preset="all_time",
    )
    inventory = run(
        sqlite_source, tmp_path, dataset="inventory", stock_status="low_stock", storefront="Main Street"
    )
    assert customers.success and inventory.success
    with next((tmp_path / TENANT / "adhoc" / customers.run_id).glob("*.csv")).open(encoding="utf-8-sig") as f:
        picked = list(csv.DictReader(f))
    assert picked and all(
        r["Credit Status"] == "over_limit" and float(r["Outstanding"]) >= 100 for r in picked
    )
    assert all(r["Active"] == "true" for r in picked)  # inactive customers only on request
    with next((tmp_path / TENANT / "adhoc" / inventory.run_id).glob("*.csv")).open(encoding="utf-8-sig") as f:
        stock = list(csv.DictReader(f))
    assert stock and all(r["Stock Status"] == "low_stock" and r["Storefront"] == "Main Street" for r in stock)
