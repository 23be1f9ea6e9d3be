"""An export of a month shows its overview compared with the stored earlier months: the sales PDF's
first page and the workbook's Summary sheet state each headline figure's change against the previous
month, equal to what the oracle computes from the seeded source rows, and "no data" for a month
that was never materialized (a year earlier; the month before a tenant's first), on SQLite and
PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import openpyxl
import pytest
from pypdf import PdfReader

from export_platform.exports.assets import OVERVIEW_METADATA, report_for
from export_platform.exports.formats import CSV, CSV_BUNDLE, PDF, XLSX
from export_platform.reports.overview import NO_DATA
from export_platform.reports.tables import TenantInfo
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle import overview as expected
from export_platform_tests.support.materialize import (
    Materialized,
    materialize_datasets,
    materialize_exports,
)
from export_platform_tests.support.seed_plan import MONTH, TENANT

PREVIOUS = "2026-09"  # the seed's first month
LABELS = {
    "completed_sales": "Completed sales",
    "revenue": "Revenue",
    "profit": "Profit",
    "margin_pct": "Margin %",
}


def export_sales(source_url: str, root: Path, month: str) -> dict[str, dict]:
    """The month's sales CSV, workbook and PDF; each one's materialization metadata."""
    result = materialize_exports(
        source_url,
        str(root),
        f"{month}|{TENANT}",
        selection=["sales_csv", "sales_xlsx", "sales_pdf"],
        run_config={"ops": {"sales_pdf": {"config": {"page_budget": 3}}}},
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


class Exported(NamedTuple):
    root: Path
    metadata: dict[str, dict[str, dict]]  # month -> asset -> its materialization's metadata


@pytest.fixture(scope="module")
def exported(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """acme's September and October datasets, then both months' sales CSV, workbook and PDF."""
    root = tmp_path_factory.mktemp("export-overview")
    for month in (PREVIOUS, MONTH):
        result = materialize_datasets(source_url, str(root), f"{month}|{TENANT}")
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    return Exported(root, {month: export_sales(source_url, root, month) for month in (PREVIOUS, MONTH)})


def exported_file(root: Path, month: str, extension: str) -> Path:
    return root / TENANT / "exports" / "sales" / month / f"sales_{TENANT}_{month}.{extension}"


def stated_changes(source_url: str) -> dict[str, str]:
    """Each sales KPI's change against September as the oracle words it, from the source rows."""
    oracle = SourceOracle(source_url, TENANT)
    october, _ = expected.sales(oracle, MONTH)
    september, _ = expected.sales(oracle, PREVIOUS)
    said = {}
    for name, label in LABELS.items():
        points = name == "margin_pct"
        moved = expected.change(october[name], september[name], points)
        said[label] = "n/a" if moved is None else f"{moved:+}{' pts' if points else '%'}"
    return said


def test_the_pdf_states_each_change_against_the_previous_month(exported: Exported, source_url: str) -> None:
    first_page = PdfReader(exported_file(exported.root, MONTH, "pdf")).pages[0].extract_text()
    changes = stated_changes(source_url)
    assert any(text.startswith(("+", "-")) and text != "+0.00%" for text in changes.values())
    for label, text in changes.items():
        assert f"vs {PREVIOUS}: {text}" in first_page, (label, text)
    assert first_page.count(f"vs 2025-10: {NO_DATA}") == len(LABELS)


def test_the_workbook_summary_states_the_same_changes(exported: Exported, source_url: str) -> None:
    oracle = SourceOracle(source_url, TENANT)
    october, _ = expected.sales(oracle, MONTH)
    sheet = openpyxl.load_workbook(exported_file(exported.root, MONTH, "xlsx"), read_only=True)["Summary"]
    rows = {
        row[0]: row[1:3] for row in sheet.iter_rows(values_only=True) if row and row[0] in LABELS.values()
    }
    changes = stated_changes(source_url)
    for name, label in LABELS.items():
        value, said = rows[label]
        figure = october[name]
        assert value == (float(figure) if isinstance(figure, Decimal) else figure), label
        assert said == f"vs {PREVIOUS}: {changes[label]}; vs 2025-10: {NO_DATA}", label


def test_a_tenants_first_month_has_no_data_to_compare(exported: Exported) -> None:
    first_page = PdfReader(exported_file(exported.root, PREVIOUS, "pdf")).pages[0].extract_text()
    assert first_page.count(f"vs 2026-08: {NO_DATA}") == len(LABELS)
    assert f"vs {PREVIOUS}:" not in first_page


def test_each_exports_metadata_says_where_its_overview_is(exported: Exported) -> None:
    october = exported.metadata[MONTH]
    assert october["sales_xlsx"][OVERVIEW_METADATA] == (
        "Summary sheet: 4 headline figures with their change against 2026-09 and 2025-10; 4 charts"
    )
    assert october["sales_pdf"][OVERVIEW_METADATA] == (
        "Page 1: 4 headline figures with their change against 2026-09 and 2025-10; 4 charts"
    )
    workbook, pdf = (exported_file(exported.root, MONTH, extension).name for extension in ("xlsx", "pdf"))
    assert october["sales_csv"][OVERVIEW_METADATA] == f"Summary sheet of {workbook}; page 1 of {pdf}"
    assert exported.metadata[PREVIOUS]["sales_pdf"][OVERVIEW_METADATA].endswith(
        "against 2026-08 and 2025-09; 4 charts"
    )
    first_page = PdfReader(exported_file(exported.root, MONTH, "pdf")).pages[0].extract_text()
    assert "Overview: Sales" in first_page


def test_only_the_formats_that_show_an_overview_compute_one(materialized: Materialized) -> None:
    """A CSV (one flat table) computes none; the workbook, the PDF and the CSV bundle (the workbook's
    Summary sheet as a CSV) do."""
    frames = {name: materialized.frame(name).lazy() for name in ("sales", "sale_items")}
    acme = TenantInfo(TENANT, "Acme", "America/New_York", "USD")
    for fmt in (CSV, CSV_BUNDLE, XLSX, PDF):
        report = report_for(fmt, "sales", frames, acme, MONTH)
        shown = fmt is not CSV
        assert (len(report.tiles), len(report.charts)) == ((4, 4) if shown else (0, 0)), fmt.name
