"""The seed's remaining filters, against rows the oracle computes from the source on its own, on
SQLite and PostgreSQL: the audit log by sale_id, customer_id and user_id (events about that sale or
customer, events by that user); inventory by min_quantity and exclude_zero_value, and with
include_movement_history (a Stock Movements sheet, a table in the PDF). Each is refused, naming the
filter and the dataset, where it does not apply."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from export_platform.exports.adhoc import AdhocExportConfig
from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.audit_log import expected_audit_log
from export_platform_tests.oracle.inventory import expected_inventory
from export_platform_tests.oracle.report import compare_csv, compare_workbook
from export_platform_tests.support.adhoc_runs import adhoc_files, run_adhoc
from export_platform_tests.support.seed_plan import MONTH, TENANT

OCTOBER = {"date_from": f"{MONTH}-01", "date_to": f"{MONTH}-31"}


def october_events(oracle: SourceOracle) -> list[dict]:
    start, end, _ = oracle.month_bounds(MONTH)
    return [e for e in oracle.rows(schema.audit_events) if start <= e["occurred_at"] < end]


def busiest(values: list) -> object:
    """The value that occurs most often (ties: the smallest), so the filter keeps several rows."""
    counts = Counter(v for v in values if v is not None)
    return min(counts, key=lambda v: (-counts[v], v))


def exported(source_url: str, root: Path, fmt: str, **request: object) -> Path:
    result = run_adhoc(source_url, root, formats=[fmt], **OCTOBER, **request)
    assert result.success
    (path,) = adhoc_files(root, result).values()
    return path


def test_audit_log_by_sale_customer_and_user(source_url: str, tmp_path: Path) -> None:
    oracle = SourceOracle(source_url, TENANT)
    events = october_events(oracle)
    sale = int(busiest([e["entity_id"] for e in events if e["entity_type"] == "sale"]))
    customer = int(busiest([e["entity_id"] for e in events if e["entity_type"] == "customer"]))
    user = busiest([e["user_id"] for e in events])
    cases = {
        "sale_id": (sale, lambda e: e["entity_type"] == "sale" and e["entity_id"] == str(sale)),
        "customer_id": (
            customer,
            lambda e: e["entity_type"] == "customer" and e["entity_id"] == str(customer),
        ),
        "user_id": (user, lambda e: e["user_id"] == user),
    }
    for name, (value, keep) in cases.items():
        expected = expected_audit_log(oracle, MONTH, keep)
        assert 1 < len(expected.main_rows) < len(events), name
        csv_file = exported(source_url, tmp_path, "csv", dataset="audit_log", **{name: value})
        assert compare_csv(csv_file, expected.main_rows) > 0
        workbook = exported(source_url, tmp_path, "xlsx", dataset="audit_log", **{name: value})
        assert compare_workbook(workbook, expected) > 0
    # Together they narrow further: the user's events about that sale.
    both = expected_audit_log(oracle, MONTH, lambda e: cases["sale_id"][1](e) and e["user_id"] == user)
    csv_file = exported(source_url, tmp_path, "csv", dataset="audit_log", sale_id=sale, user_id=user)
    compare_csv(csv_file, both.main_rows)  # asserts every cell, or the header alone when none is left


def test_inventory_by_quantity_and_value_with_its_movements(source_url: str, tmp_path: Path) -> None:
    oracle = SourceOracle(source_url, TENANT)
    every = expected_inventory(oracle, MONTH).main_rows
    quantities = sorted(r["On Hand"] for r in every)
    least = quantities[len(quantities) // 2]  # about half the items have at least the median
    assert any(r["Value at Cost"] == 0 for r in every), "the seed should hold items valued at zero"

    at_least = expected_inventory(oracle, MONTH, lambda r: r["On Hand"] >= least)
    assert 0 < len(at_least.main_rows) < len(every)
    assert compare_csv(
        exported(source_url, tmp_path, "csv", dataset="inventory", min_quantity=least), at_least.main_rows
    )

    valued = expected_inventory(oracle, MONTH, lambda r: r["Value at Cost"] != 0)
    assert 0 < len(valued.main_rows) < len(every)
    assert compare_csv(
        exported(source_url, tmp_path, "csv", dataset="inventory", exclude_zero_value=True), valued.main_rows
    )

    request = {"dataset": "inventory", "min_quantity": least, "include_movement_history": True}
    with_history = expected_inventory(oracle, MONTH, lambda r: r["On Hand"] >= least, movements=True)
    assert with_history.tables["Stock Movements"]
    assert compare_workbook(exported(source_url, tmp_path, "xlsx", **request), with_history) > 0

    pdf_text = "".join(
        page.extract_text() for page in PdfReader(exported(source_url, tmp_path, "pdf", **request)).pages
    )
    plain_pdf = exported(source_url, tmp_path, "pdf", dataset="inventory", min_quantity=least)
    assert "Stock Movements" in pdf_text
    assert "Stock Movements" not in "".join(page.extract_text() for page in PdfReader(plain_pdf).pages)
    first = with_history.tables["Stock Movements"][0]
    assert first["SKU"] in pdf_text


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"dataset": "sales", "sale_id": 7}, "sale_id: does not apply to sales; it filters audit_log"),
        (
            {"dataset": "customers", "customer_id": 7},
            "customer_id: does not apply to customers; it filters audit_log",
        ),
        (
            {"dataset": "inventory", "user_id": 7},
            "user_id: does not apply to inventory; it filters audit_log",
        ),
        (
            {"dataset": "customers", "min_quantity": 5},
            "min_quantity: does not apply to customers; it filters inventory",
        ),
        (
            {"dataset": "sale_items", "exclude_zero_value": True},
            "exclude_zero_value: does not apply to sale_items; it filters inventory",
        ),
        (
            {"dataset": "audit_log", "include_movement_history": True},
            "include_movement_history: does not apply to audit_log; it filters inventory",
        ),
        (
            {"dataset": "inventory", "include_movement_history": True, "formats": ["csv"]},
            "include_movement_history: a CSV holds the stock items alone",
        ),
        ({"dataset": "audit_log", "sale_id": 0}, "sale_id"),
    ],
)
def test_a_filter_is_refused_where_it_does_not_apply(request_: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AdhocExportConfig(tenant=TENANT, **request_)
