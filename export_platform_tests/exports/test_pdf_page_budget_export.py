"""The sales report's PDF with a page budget, as its export asset publishes it: the manifest and the
materialization record ``rows_in_pdf`` beside the dataset's ``record_count``, the last page names the
month's CSV and workbook, and the read-back check fails when the note states other figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from pypdf import PdfReader

from export_platform.exports.adhoc import AdhocExportConfig
from export_platform.exports.assets import ARTIFACT_CHECK
from export_platform.exports.formats import PdfExportConfig
from export_platform.render import pdf
from export_platform.render.pdf_note import NOTE_TITLE
from export_platform.render.report import CompleteFiles
from export_platform_tests.support.materialize import materialize_exports
from export_platform_tests.support.pdf_reading import page_footer
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT

PDF_KEY = f"{TENANT}/exports/sales/{MONTH}/sales_{TENANT}_{MONTH}.pdf"


def sales_pdf(source_url: str, root: Path, page_budget: int) -> dg.ExecuteInProcessResult:
    return materialize_exports(
        source_url,
        str(root),
        PARTITION,
        selection=["sales", "sale_items", "sales_pdf"],
        run_config={"ops": {"sales_pdf": {"config": {"page_budget": page_budget}}}},
    )


def materialized(result: dg.ExecuteInProcessResult) -> dict:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "sales_pdf"
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def artifact_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == ARTIFACT_CHECK
    )


def test_a_two_page_sales_report_records_and_states_the_rows_it_left_out(
    sqlite_source: str, tmp_path: Path
) -> None:
    result = sales_pdf(sqlite_source, tmp_path, page_budget=2)
    assert result.success
    metadata = materialized(result)
    sales_rows = pl.read_parquet(tmp_path / TENANT / "data" / "sales" / f"{MONTH}.parquet").height
    assert metadata["record_count"] == metadata["dagster/row_count"] == sales_rows
    assert 0 < metadata["rows_in_pdf"] < sales_rows
    entry = json.loads((tmp_path / TENANT / "exports" / "sales" / MONTH / "manifest.json").read_text())[
        "files"
    ]["pdf"]
    assert (entry["record_count"], entry["rows_in_pdf"]) == (sales_rows, metadata["rows_in_pdf"])
    check = artifact_check(result)
    assert check.passed, check.metadata
    reader = PdfReader(tmp_path / PDF_KEY)
    assert [page_footer(page) for page in reader.pages] == [(1, 2), (2, 2)]
    last = " ".join(reader.pages[-1].extract_text().split())
    left = sales_rows - metadata["rows_in_pdf"]
    assert NOTE_TITLE in last
    assert f"Sales: {metadata['rows_in_pdf']:,} of {sales_rows:,} rows shown, {left:,} left out." in last
    assert f"sales_{TENANT}_{MONTH}.xlsx (every table)" in last
    assert f"sales_{TENANT}_{MONTH}.csv (the Sales table)" in last


def test_without_a_budget_every_sale_is_drawn(sqlite_source: str, tmp_path: Path) -> None:
    result = sales_pdf(sqlite_source, tmp_path, page_budget=0)
    metadata = materialized(result)
    assert result.success and metadata["rows_in_pdf"] == metadata["record_count"] > 0
    assert artifact_check(result).passed
    assert NOTE_TITLE not in PdfReader(tmp_path / PDF_KEY).pages[-1].extract_text()


def test_the_read_back_check_fails_when_the_note_states_other_figures(
    sqlite_source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_fewer(name: str, shown: int, total: int) -> str:
        return f"{name}: {shown - 1:,} of {total:,} rows shown, {total - shown + 1:,} left out."

    monkeypatch.setattr(pdf, "table_line", one_fewer)
    result = sales_pdf(sqlite_source, tmp_path, page_budget=2)
    check = artifact_check(result)
    assert not check.passed
    metadata = {k: v.value for k, v in check.metadata.items()}
    assert metadata["stated_rows_in_pdf"] == metadata["recorded_rows_in_pdf"] - 1


def test_an_adhoc_pdf_names_the_files_of_its_request() -> None:
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    request = AdhocExportConfig(tenant=TENANT, dataset="sales", formats=["pdf", "csv"], compression="zip")
    assert request.page_budget == 2_000
    assert request.complete_files(TENANT, first, last) == CompleteFiles(
        csv=f"sales_{TENANT}_2026-10-01_2026-10-31.csv.zip"
    )
    alone = AdhocExportConfig(tenant=TENANT, dataset="sales", formats=["pdf"], page_budget=0)
    assert alone.complete_files(TENANT, first, last) == CompleteFiles()
    assert alone.file_options()["page_budget"] == 0
    with pytest.raises(ValueError, match="page_budget"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", formats=["pdf"], page_budget=-1)


def test_an_export_budget_is_zero_or_more_pages() -> None:
    assert PdfExportConfig().page_budget == 2_000 and PdfExportConfig(page_budget=0).page_budget == 0
    with pytest.raises(ValueError, match="page_budget"):
        PdfExportConfig(page_budget=-1)
