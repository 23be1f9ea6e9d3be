"""Excel workbooks: a Summary sheet, then one sheet per table, streamed with openpyxl's write-only mode.

Cells carry real types: numbers with number formats, dates and times as Excel dates (in the tenant's
local time, since Excel has no time zones), booleans as booleans. Text that begins like a formula is
stored as text, never evaluated. Each table sheet has a styled, frozen header row, an autofilter and
column widths fitted to its content; a table longer than the sheet limit continues on further sheets
("Sales (2)", ...). Cells over Excel's 32,767-character limit are cut with a visible mark.

The same report always yields the same bytes: document dates are fixed and the zip entries carry a
fixed timestamp.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from export_platform.render.report import NO_ROWS, Kind, Report, SummaryItem, Table

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767
TRUNCATION_MARK = "… [truncated]"
CONTROL_CHARACTER_MARK = "\ufffd"
SHEET_NAME_LIMIT = 31
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

NUMBER_FORMATS = {
    Kind.MONEY: "#,##0.00",
    Kind.PERCENT: '0.00"%"',
    Kind.INTEGER: "#,##0",
    Kind.IDENTIFIER: "0",
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm:ss",
}
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2C3E50")
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(vertical="top", wrap_text=False)


def write_workbook(
    report: Report,
    path: Path,
    *,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    created: dt.datetime | None = None,
) -> dict[str, int]:
    """Write ``report`` to ``path``; returns the number of data rows written per table."""
    if max_rows_per_sheet < 2:
        raise ValueError("max_rows_per_sheet must leave room for the header and one row")
    workbook = Workbook(write_only=True)
    stamp = created or dt.datetime(2000, 1, 1)
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = workbook.properties.lastModifiedBy = "export-platform"
    workbook.properties.title = report.heading

    _write_summary(workbook.create_sheet("Summary"), report)
    written = {table.name: _write_table(workbook, table, max_rows_per_sheet) for table in report.tables}
    # ExcelWriter directly: Workbook.save would stamp the current time into the document properties.
    with _ReproducibleZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return written


def _cell(sheet: Worksheet, value, kind: Kind = Kind.TEXT, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_excel_value(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif kind in NUMBER_FORMATS and cell.value is not None:
        cell.number_format = NUMBER_FORMATS[kind]
    if font is not None:
        cell.font = font
    return cell


def _excel_value(value):
    if isinstance(value, str):
        # XML 1.0 cannot carry control characters other than tab, LF and CR (openpyxl would raise).
        value = ILLEGAL_CHARACTERS_RE.sub(CONTROL_CHARACTER_MARK, value)
        if len(value) > EXCEL_MAX_CELL_CHARS:
            return value[: EXCEL_MAX_CELL_CHARS - len(TRUNCATION_MARK)] + TRUNCATION_MARK
        return value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # already in the tenant's local time
    return value


def _write_summary(sheet: Worksheet, report: Report) -> None:
    sheet.column_dimensions["A"].width = 42
    sheet.column_dimensions["B"].width = 28
    sheet.append([_cell(sheet, report.title, font=TITLE_FONT)])
    for label, value in (
        ("Tenant", f"{report.tenant_name} ({report.tenant})"),
        ("Period", report.period),
        ("Time zone", report.timezone),
        ("Currency", report.currency),
    ):
        sheet.append([_cell(sheet, label, font=Font(bold=True)), _cell(sheet, value)])
    sheet.append([])
    for item in report.summary:
        sheet.append(_summary_row(sheet, item))


def _summary_row(sheet: Worksheet, item: SummaryItem) -> list[WriteOnlyCell]:
    return [_cell(sheet, item.label), _cell(sheet, item.value, item.kind)]


def _sheet_names(name: str) -> Iterator[str]:
    yield name[:SHEET_NAME_LIMIT]
    part = 2
    while True:
        suffix = f" ({part})"
        yield name[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        part += 1


def _column_widths(table: Table) -> list[float]:
    sample = table.frame.head(500).collect()
    widths = []
    for column in table.columns:
        values = sample[column.name]
        longest = values.cast(pl.String).str.len_chars().max() if values.len() else 0
        content = max(len(column.label), (longest or 0) + (2 if column.kind is Kind.MONEY else 0))
        widths.append(min(max(content + 2, 8), 60))
    return widths


def _new_table_sheet(workbook: Workbook, name: str, table: Table, widths: list[float]) -> Worksheet:
    sheet = workbook.create_sheet(name)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for column in table.columns:
        cell = _cell(sheet, column.label, font=HEADER_FONT)
        cell.fill = HEADER_FILL
        header.append(cell)
    sheet.append(header)
    return sheet


def _close_sheet(sheet: Worksheet, columns: int, rows: int) -> None:
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows + 1}"


def _write_table(workbook: Workbook, table: Table, max_rows_per_sheet: int) -> int:
    names = _sheet_names(table.name)
    widths = _column_widths(table)
    kinds = [column.kind for column in table.columns]
    sheet = _new_table_sheet(workbook, next(names), table, widths)
    on_sheet = total = 0
    for row in table.rows():
        if on_sheet == max_rows_per_sheet - 1:
            _close_sheet(sheet, len(kinds), on_sheet)
            sheet = _new_table_sheet(workbook, next(names), table, widths)
            on_sheet = 0
        sheet.append([_cell(sheet, value, kind) for value, kind in zip(row, kinds, strict=True)])
        on_sheet += 1
        total += 1
    if total == 0:
        sheet.append([_cell(sheet, NO_ROWS)])
    _close_sheet(sheet, len(kinds), max(on_sheet, 1))
    return total


class _ReproducibleZip(zipfile.ZipFile):
    """A zip archive whose entries all carry one fixed date, so equal content gives equal bytes."""

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):
        size = os.path.getsize(filename)
        with (
            open(filename, "rb") as reader,
            self.open(self._entry(arcname), "w", force_zip64=size > 2**31) as writer,
        ):
            shutil.copyfileobj(reader, writer, 1 << 20)

    def _entry(self, name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o600 << 16
        return entry
