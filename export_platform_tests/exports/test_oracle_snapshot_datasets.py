"""Every figure of acme's October customers, inventory and audit log exports, recomputed from the
source rows by the oracle with plain ``Decimal`` and compared with the CSV and the workbook cell by
cell, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from export_platform.source import schema
from export_platform_tests.conftest import MONTH, PARTITION, TENANT, materialize_exports
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.audit_log import expected_audit_log
from export_platform_tests.oracle.customers import RECENT_TRANSACTIONS, expected_customers
from export_platform_tests.oracle.inventory import expected_inventory
from export_platform_tests.oracle.report import ExpectedReport, compare_csv, compare_workbook

EXPECTED: dict[str, Callable[[SourceOracle, str], ExpectedReport]] = {
    "customers": expected_customers,
    "inventory": expected_inventory,
    "audit_log": expected_audit_log,
}


@pytest.fixture(scope="module")
def artifacts(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oracle-artifacts")
    result = materialize_exports(source_url, str(root), PARTITION)
    assert result.success, [
        e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure
    ]
    return root


def export_file(root: Path, dataset: str, fmt: str) -> Path:
    return root / TENANT / "exports" / dataset / MONTH / f"{dataset}_{TENANT}_{MONTH}.{fmt}"


@pytest.mark.parametrize("dataset", EXPECTED)
def test_every_cell_matches_the_oracle(
    source_url: str, artifacts: Path, dataset: str, record_property: pytest.RecordProperty
) -> None:
    expected = EXPECTED[dataset](SourceOracle(source_url, TENANT), MONTH)
    csv_cells = compare_csv(export_file(artifacts, dataset, "csv"), expected.main_rows)
    xlsx_cells = compare_workbook(export_file(artifacts, dataset, "xlsx"), expected)
    record_property("cells_compared", csv_cells + xlsx_cells)
    print(f"{dataset}: {csv_cells} CSV and {xlsx_cells} workbook cells compared")
    main = expected.main_rows
    assert len(main) >= 20 and csv_cells == (len(main) + 1) * len(main[0])
    every_sheet = sum((len(rows) + 1) * len(rows[0]) for rows in expected.tables.values())
    assert xlsx_cells == every_sheet + 2 * len(expected.summary) > len(main) * len(main[0])


def test_the_seed_holds_the_cases_the_oracle_checks(source_url: str) -> None:
    """The comparisons above mean something only if the seeded month has these cases: a change to
    the seed that drops one fails here rather than quietly."""
    source = SourceOracle(source_url, TENANT)
    customers = expected_customers(source, MONTH)
    details = customers.tables["Customer Details"]
    assert {r["Credit Status"] for r in details} == {"good", "over_limit", "blocked"}
    assert any(r["Blocked"] and r["Outstanding"] > r["Credit Limit"] for r in details)
    assert all(value > 0 for label, value in customers.summary if label.startswith("Aged "))
    shown = Counter((r["Customer ID"], r["Date"], r["Kind"]) for r in customers.tables["Credit Transactions"])
    assert max(shown.values()) > 1, "no customer has two transactions of one kind at one instant"
    recorded = Counter(t["customer_id"] for t in source.rows(schema.credit_transactions))
    assert max(recorded.values()) > RECENT_TRANSACTIONS, "no customer has more transactions than shown"
    inventory = expected_inventory(source, MONTH).main_rows
    assert {r["Stock Status"] for r in inventory} == {"in_stock", "low_stock", "out_of_stock"}
    events = expected_audit_log(source, MONTH).main_rows
    assert any(r["User"] is None for r in events) and any(r["User"] for r in events)
    assert any(r["Entity Type"] and r["Entity ID"] is None for r in events)
