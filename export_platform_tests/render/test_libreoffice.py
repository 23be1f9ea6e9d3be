"""A sales workbook with its charts opens in openpyxl and LibreOffice converts it to PDF without
error (``soffice --headless --convert-to pdf``, as a reader's spreadsheet program would open it):
the PDF holds the Summary sheet's figures and overview, and the Chart Data sheet the charts draw
from, and no figure too wide for its column (printed as ###)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from export_platform.datasets import DATASETS
from export_platform.render.charts import Tile
from export_platform.render.report import Kind
from export_platform.render.xlsx import write_workbook
from export_platform.render.xlsx_charts import CHART_DATA_SHEET
from export_platform.reports.layouts import build_report
from export_platform.reports.tables import TenantInfo
from export_platform_tests.support.libreoffice import pdf_text, workbook_pdf
from export_platform_tests.support.materialize import Materialized
from export_platform_tests.support.seed_plan import MONTH, TENANT

ACME = TenantInfo(TENANT, "Acme", "America/New_York", "USD")


def shown(tile: Tile) -> str:
    """A figure as the workbook's number formats show it: 1,234.50, 1,234 and 28.52%."""
    if tile.kind is Kind.INTEGER:
        return f"{tile.value:,}"
    return f"{tile.value:,.2f}" + ("%" if tile.kind is Kind.PERCENT else "")


def test_libreoffice_converts_the_sales_workbook_with_its_charts(
    materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    frames = {d.name: materialized_sqlite.frame(d.name).lazy() for d in DATASETS}
    report = build_report("sales", frames, ACME, MONTH)
    workbook = tmp_path / "sales.xlsx"
    write_workbook(report, workbook)
    opened = load_workbook(workbook)
    assert len(opened["Summary"]._charts) == len(report.charts) > 0
    # The changes' column is as wide as its text, so the charts right of it never cover it.
    changes = max(len("; ".join(tile.changes)) for tile in report.tiles)
    assert opened["Summary"].column_dimensions["C"].width >= changes
    opened.close()

    pages = pdf_text(workbook_pdf(workbook, tmp_path / "pdf"))
    text = "\n".join(pages)
    summary = pages[0]  # the Summary sheet prints first, its labels' column on the first page
    for label in ("Sales", "Tenant", "Period", "Overview", *(item.label[:40] for item in report.summary)):
        assert label in summary, label
    assert "Acme (acme)" in text and "America/New_York" in text
    for tile in report.tiles:
        assert tile.label in text and shown(tile) in text, tile.label
        assert all(change in text for change in tile.changes), tile.label
    for chart in report.charts:  # each chart's block of the Chart Data sheet, with its categories
        assert chart.title in text, chart.title
        assert all(category in text for category in chart.categories[:3]), chart.title
    assert f"{MONTH}-01" in text
    assert "###" not in text  # every figure fits its column
    assert CHART_DATA_SHEET not in summary
