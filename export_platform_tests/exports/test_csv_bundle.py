"""The CSV bundle: one zip with a CSV per sheet of the workbook, named as the sheets are, in their
order, whose cells equal the workbook's cell by cell (read with openpyxl and the ``csv`` module);
the table CSVs are the plain CSV export's bytes, and the same request bundles to the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from export_platform.catalog import REQUEST_FORMATS
from export_platform.exports.adhoc import AdhocExportConfig
from export_platform.render.report import NO_ROWS
from export_platform.render.xlsx_charts import CHART_DATA_SHEET
from export_platform_tests.oracle.report import looks_like_formula
from export_platform_tests.support.adhoc_runs import adhoc_files, history_rows, run_adhoc
from export_platform_tests.support.seed_plan import TENANT

OCTOBER = {"date_from": "2026-10-01", "date_to": "2026-10-31"}
BUNDLED = [dataset for dataset, formats in REQUEST_FORMATS.items() if "csv_bundle" in formats]
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what a workbook cell cannot hold


def csv_cell_matches(text: str, value: object) -> bool:
    """Whether the CSV's ``text`` shows the workbook's ``value``: numbers equal as decimals, times to
    the second in the tenant's wall-clock time (Excel's have no zone), text as written, behind an
    apostrophe when it looks like a formula (which the workbook stores as text, never run)."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int | float):
        return Decimal(text) == Decimal(repr(value))
    if isinstance(value, dt.datetime):
        if len(text) == 10:  # a date cell, which openpyxl reads as midnight
            return dt.date.fromisoformat(text) == value.date() and value.time() == dt.time()
        shown = dt.datetime.fromisoformat(text).replace(tzinfo=None)
        return abs(shown - value) < dt.timedelta(seconds=1)
    assert isinstance(value, str), value
    text = XML_ILLEGAL.sub("\ufffd", text)
    return text == value or (looks_like_formula(value) and text == "'" + value)


def compare_bundle_with_workbook(bundle: Path, workbook_path: Path) -> int:
    """Every cell of every sheet against the bundle's CSV of that sheet; returns the cells compared."""
    workbook = load_workbook(workbook_path, read_only=True)
    cells = 0
    with zipfile.ZipFile(bundle) as archive:
        sheets = [name for name in workbook.sheetnames if name != CHART_DATA_SHEET]  # the charts' figures
        assert archive.namelist() == [f"{name}.csv" for name in sheets]
        for name in sheets:
            sheet = [list(row) for row in workbook[name].iter_rows(values_only=True)]
            if name != "Summary" and sheet[1:] == [[NO_ROWS, *[None] * (len(sheet[0]) - 1)]]:
                sheet = sheet[:1]  # an empty table: the workbook says so, the CSV has its header alone
            text = archive.read(f"{name}.csv").decode("utf-8-sig")
            rows = list(csv.reader(io.StringIO(text, newline="")))
            assert len(rows) == len(sheet), f"{name}: {len(rows)} CSV rows, {len(sheet)} in the sheet"
            for number, (got, want) in enumerate(zip(rows, sheet, strict=True), start=1):
                width = max(len(got), len(want))
                got, want = got + [""] * (width - len(got)), want + [None] * (width - len(want))
                for column, (text_cell, value) in enumerate(zip(got, want, strict=True), start=1):
                    assert csv_cell_matches(text_cell, value), (
                        f"{name} row {number} column {column}: {text_cell!r} != {value!r}"
                    )
                    cells += 1
    workbook.close()
    return cells


@pytest.mark.parametrize("dataset", BUNDLED)
def test_the_bundle_holds_every_sheet_of_the_workbook(
    sqlite_source: str, tmp_path: Path, dataset: str
) -> None:
    extra = {"include_movement_history": True} if dataset == "inventory" else {}
    request = {"dataset": dataset, **OCTOBER, **extra}
    result = run_adhoc(sqlite_source, tmp_path, formats=["xlsx", "csv_bundle", "csv"], **request)
    again = run_adhoc(sqlite_source, tmp_path, formats=["csv_bundle"], **request)
    assert result.success and again.success
    stem = f"{dataset}_{TENANT}_2026-10-01_2026-10-31"
    files = adhoc_files(tmp_path, result)
    bundle = files[f"{stem}.csv_bundle.zip"]
    assert compare_bundle_with_workbook(bundle, files[f"{stem}.xlsx"]) > 0
    assert adhoc_files(tmp_path, again)[bundle.name].read_bytes() == bundle.read_bytes()

    with zipfile.ZipFile(bundle) as archive:
        main_table = archive.namelist()[1]
        assert dataset != "inventory" or "Stock Movements.csv" in archive.namelist()
        assert archive.read(main_table) == files[f"{stem}.csv"].read_bytes()  # the CSV export's own bytes
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    entries = {e["format"]: e for e in history_rows(sqlite_source, result.run_id)}
    assert entries["csv_bundle"]["record_count"] == entries["csv"]["record_count"]
    assert entries["csv_bundle"]["file_size_bytes"] == bundle.stat().st_size


def test_the_bundle_takes_the_csv_options_and_the_chosen_columns(sqlite_source: str, tmp_path: Path) -> None:
    result = run_adhoc(
        sqlite_source,
        tmp_path,
        dataset="sales",
        formats=["csv_bundle"],
        delimiter=";",
        include_bom=False,
        columns=["Receipt", "Total"],
        **OCTOBER,
    )
    assert result.success
    (bundle,) = adhoc_files(tmp_path, result).values()
    with zipfile.ZipFile(bundle) as archive:
        sales = archive.read("Sales.csv").decode("utf-8")
        line_items = archive.read("Line Items.csv").decode("utf-8")
    assert sales.startswith("Receipt;Total\r\n") and len(sales.splitlines()) > 1
    assert line_items.startswith("Line ID;")  # the other tables stay whole


def test_a_bundle_is_refused_where_there_is_no_workbook_and_is_not_zipped_again() -> None:
    with pytest.raises(ValidationError, match="formats: sale_items is not exported as csv_bundle"):
        AdhocExportConfig(tenant=TENANT, dataset="sale_items", formats=["csv_bundle"])
    with pytest.raises(ValidationError, match="compression: a csv_bundle is a zip already"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", formats=["csv_bundle"], compression="zip")
