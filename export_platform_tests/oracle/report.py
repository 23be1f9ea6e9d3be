"""What an export should hold, computed by the oracle, and the cell-by-cell comparison with the files.

An ``ExpectedReport`` holds plain Python values (``Decimal``, ``int``, ``str``, ``bool``, ``None``,
timezone-aware ``datetime`` in the tenant's zone, ``date``) keyed by the labels a reader of the file
sees. ``compare_csv`` and ``compare_workbook`` read the files with the standard ``csv`` module and
openpyxl, compare every cell and return how many they compared; a mismatch fails with its place.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl

from export_platform.render.xlsx_charts import CHART_DATA_SHEET

Row = dict[str, object]
FORMULA_SIGNS = "=+-@＝＋－＠﹦﹢﹣﹫"  # and their full-width and small forms
INVISIBLE_CATEGORIES = ("Zs", "Zl", "Zp", "Cc", "Cf")


@dataclass
class ExpectedReport:
    """``tables`` maps each sheet name, in workbook order, to its rows in file order; the first is the
    flat table a CSV holds. ``summary`` lists the Summary sheet's figures, label and value, in order."""

    tables: dict[str, list[Row]]
    summary: list[tuple[str, object]] = field(default_factory=list)

    @property
    def main_rows(self) -> list[Row]:
        return next(iter(self.tables.values()))


def csv_text(value: object) -> str:
    """How the CSV should print ``value``: decimals at their scale, ISO 8601 with the UTC offset,
    ``true``/``false``, empty for null, formula-like text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if looks_like_formula(value) else value
    return str(value)


def looks_like_formula(text: str) -> bool:
    """Starts with a tab or CR, or its first visible character is a formula sign (OWASP)."""
    if text[:1] in ("\t", "\r"):
        return True
    visible = text.lstrip("".join({c for c in text if unicodedata.category(c) in INVISIBLE_CATEGORIES}))
    return visible[:1] != "" and visible[0] in FORMULA_SIGNS


def compare_csv(path: Path, expected: list[Row]) -> int:
    """Every header and data cell of the CSV at ``path`` (comma, BOM, header) against ``expected``."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    labels = list(expected[0]) if expected else header
    assert header == labels, f"{path.name}: header {header} != {labels}"
    assert len(body) == len(expected), f"{path.name}: {len(body)} rows, expected {len(expected)}"
    cells = len(header)
    for number, (got, want) in enumerate(zip(body, expected, strict=True), start=2):
        for label, text in zip(header, got, strict=True):
            assert text == csv_text(want[label]), (
                f"{path.name} line {number}, {label}: {text!r} != {want[label]!r}"
            )
            cells += 1
    return cells


def cell_matches(got: object, want: object) -> bool:
    """An Excel cell against the oracle's value: numbers by value (Excel keeps them as doubles, which
    hold every two-decimal amount the tests use exactly enough to round-trip), times as the tenant's
    wall-clock time (Excel has no zones), text as written."""
    if want is None:
        return got is None or got == ""
    if isinstance(want, bool):
        return got is want
    if isinstance(want, Decimal | int):
        return isinstance(got, int | float) and not isinstance(got, bool) and Decimal(repr(got)) == want
    if isinstance(want, dt.datetime):
        return isinstance(got, dt.datetime) and got == want.replace(tzinfo=None)
    if isinstance(want, dt.date):
        return isinstance(got, dt.datetime | dt.date) and got == dt.datetime.combine(want, dt.time())
    return got == want


def compare_workbook(path: Path, expected: ExpectedReport) -> int:
    """The Summary sheet's figures and every cell of every table sheet against ``expected``."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        tables = [name for name in workbook.sheetnames if name != CHART_DATA_SHEET]  # the charts' own test
        assert tables == ["Summary", *expected.tables], f"{path.name}: {workbook.sheetnames}"
        # The summary's figures end at the empty row before the overview's (``test_export_overview``).
        rows = workbook["Summary"].iter_rows(min_row=7, values_only=True)
        summary = list(itertools.takewhile(any, (tuple(row[:2]) for row in rows)))
        assert len(summary) == len(expected.summary), f"{path.name} Summary: {summary}"
        cells = 0
        for (label, got), (want_label, want) in zip(summary, expected.summary, strict=True):
            assert label == want_label, f"{path.name} Summary: label {label!r} != {want_label!r}"
            assert cell_matches(got, want), f"{path.name} Summary, {label}: {got!r} != {want!r}"
            cells += 2
        for name, rows in expected.tables.items():
            cells += _compare_sheet(path.name, workbook[name], rows)
        return cells
    finally:
        workbook.close()


def _compare_sheet(file_name: str, sheet, expected: list[Row]) -> int:
    rows = [row for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)]
    width = len(rows[0])
    header, body = list(rows[0]), [[*row, *[None] * (width - len(row))] for row in rows[1:]]
    if not expected:
        return len(header)
    assert header == list(expected[0]), f"{file_name} {sheet.title}: header {header} != {list(expected[0])}"
    assert len(body) == len(expected), (
        f"{file_name} {sheet.title}: {len(body)} rows, expected {len(expected)}"
    )
    cells = len(header)
    for number, (got, want) in enumerate(zip(body, expected, strict=True), start=2):
        for label, value in zip(header, got, strict=True):
            assert cell_matches(value, want[label]), (
                f"{file_name} {sheet.title} row {number}, {label}: {value!r} != {want[label]!r}"
            )
            cells += 1
    return cells
