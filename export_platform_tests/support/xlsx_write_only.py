"""The workbook writer as it was before the vectorised sheet writer: openpyxl's write-only mode, one
``WriteOnlyCell`` per value. Kept as the oracle the tests compare the fast writer with, cell by cell,
and as the baseline the renderer benchmark measures it against. Not used by the platform."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from export_platform.render.report import NO_ROWS, Kind, Report, Table
from export_platform.render.xlsx import (
    EXCEL_MAX_ROWS,
    HEADER_FILL,
    HEADER_FONT,
    _cell,
    _column_widths,
    _ReproducibleZip,
    _sheet_names,
    _write_summary,
)


def write_workbook_per_cell(
    report: Report,
    path: Path,
    *,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    created: dt.datetime | None = None,
) -> dict[str, int]:
    workbook = Workbook(write_only=True)
    stamp = created or dt.datetime(2000, 1, 1)
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = workbook.properties.lastModifiedBy = "export-platform"
    workbook.properties.title = report.heading

    _write_summary(workbook.create_sheet("Summary"), report)
    written = {table.name: _write_table(workbook, table, max_rows_per_sheet) for table in report.tables}
    with _ReproducibleZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return written


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
    kinds: list[Kind] = [column.kind for column in table.columns]
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
