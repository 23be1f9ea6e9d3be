"""The streamed, column-wise workbook writer against the per-cell openpyxl writer it replaced.

Both write the same report; openpyxl reads both back (read-only and full) and every cell must hold the
same value, of the same type, with the same number format. Where the two deliberately differ (integers
past 15 digits, characters the old writer crashed on) the test says so and checks the new behaviour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from decimal import Decimal as D
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from export_platform.exports.formats import count_xlsx_rows
from export_platform.render import xlsx
from export_platform.render.report import NO_ROWS, Report, SummaryItem, Table
from export_platform.render.xlsx import (
    EXCEL_MAX_CELL_CHARS,
    TRUNCATION_MARK,
    ZIP_TIMESTAMP,
    write_workbook,
)
from export_platform.render.xlsx_sheet import ILLEGAL_XML_CHARACTERS
from export_platform_tests.support.xlsx_write_only import write_workbook_per_cell

TZ = "Europe/Lisbon"
TEXTS = [
    None,
    "",
    "=SUM(A1:A9)",
    "+44 20 7946 0000",
    "-50% off",
    "@user",
    "& < > \" ' ]]>",
    "bell\x07 nul\x00 esc\x1b",
    "tab\there",
    "line\nbreak",
    "cr\r\nlf and a lone\rcr",
    "  leading and trailing  ",
    "北京烤鸭礼盒",
    "قهوة عربية",
    "Café crème 😀",
    "x" * 40_000,
    "é" * (EXCEL_MAX_CELL_CHARS + 1),
    "y" * EXCEL_MAX_CELL_CHARS,
]
ROWS = len(TEXTS)


def awkward_frame(rows: int = ROWS) -> pl.LazyFrame:
    def cycle(values: list) -> list:
        return [values[i % len(values)] for i in range(rows)]

    return pl.LazyFrame(
        {
            "line_id": list(range(1, rows + 1)),
            "quantity": cycle([0, -3, None, 999_999_999_999_999, -123_456_789_012_345, 7]),
            "note": cycle(TEXTS),
            "amount": cycle(["-12.30", "0.05", None, "12.00", "-0.01", "9999999999999.99", "1234.5"]),
            "margin_pct": cycle(["12.50", None, "-100.00", "0.00"]),
            "sold_at": cycle(
                [
                    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),  # 01:30 summer time in Lisbon
                    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),  # 01:30 again, winter time
                    None,
                    dt.datetime(2026, 3, 29, 23, 59, 59, 123_456, tzinfo=dt.UTC),
                    dt.datetime(1999, 12, 31, 12, 34, 56, 789_000, tzinfo=dt.UTC),
                ]
            ),
            "logged_at": cycle([dt.datetime(2026, 1, 2, 3, 4, 5), None, dt.datetime(1900, 2, 28, 18)]),
            "day": cycle(
                [dt.date(2026, 10, 1), dt.date(1900, 1, 15), dt.date(1900, 3, 1), None, dt.date(2100, 12, 31)]
            ),
            "ok": cycle([True, False, None]),
            "channel": cycle(["web", "store", None]),
        },
        schema={
            "line_id": pl.Int64,
            "quantity": pl.Int64,
            "note": pl.String,
            "amount": pl.String,
            "margin_pct": pl.String,
            "sold_at": pl.Datetime("us", "UTC"),
            "logged_at": pl.Datetime("us"),
            "day": pl.Date,
            "ok": pl.Boolean,
            "channel": pl.String,
        },
    ).with_columns(
        pl.col("amount").cast(pl.Decimal(18, 2)),
        pl.col("margin_pct").cast(pl.Decimal(18, 2)),
        pl.col("sold_at").dt.convert_time_zone(TZ),
        pl.col("channel").cast(pl.Categorical),
    )


def awkward_report(frame: pl.LazyFrame, *more: Table) -> Report:
    labels = {"line_id": "Line ID", "note": 'Note <& "quoted">', "margin_pct": "Margin %"}
    table = Table.of("Line Items", frame, labels, frame.collect_schema().names())
    summary = (
        SummaryItem("Lines", ROWS),
        SummaryItem("Revenue", D("1234.50")),
        SummaryItem("First sale", dt.datetime(2026, 10, 1, 9, 0)),
    )
    return Report("sales", "Sales", "acme", "Acme & Co", "2026-10", TZ, "EUR", summary, (table, *more))


def _category(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"  # Excel has one number type; "12.00" reads back as 12.0, "%.16g" of it as 12
    return type(value).__name__


def read_cells(path: Path, read_only: bool) -> dict[str, dict[str, tuple]]:
    """Every non-empty cell of every sheet: value, its type, openpyxl's data type, number format."""
    workbook = load_workbook(path, read_only=read_only)
    sheets = {}
    for sheet in workbook.worksheets:
        sheets[sheet.title] = {
            cell.coordinate: (cell.value, _category(cell.value), cell.data_type, cell.number_format)
            for row in sheet.iter_rows()
            for cell in row
            if cell.value is not None
        }
    workbook.close()
    return sheets


def sheet_layout(path: Path) -> dict[str, tuple]:
    workbook = load_workbook(path)
    layout = {}
    for sheet in workbook.worksheets:
        header = sheet["A1"]
        layout[sheet.title] = (
            sheet.freeze_panes,
            sheet.auto_filter.ref,
            {letter: dim.width for letter, dim in sheet.column_dimensions.items()},
            header.font.b,
            header.font.color.rgb if header.font.color is not None else None,
            header.fill.fgColor.rgb,
            sheet.max_row,
            sheet.max_column,
        )
    return layout


def render_both(report: Report, tmp_path: Path, **options) -> tuple[Path, Path]:
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "per_cell.xlsx"
    assert write_workbook(report, fast, **options) == write_workbook_per_cell(report, slow, **options)
    return fast, slow


def assert_same_workbook(fast: Path, slow: Path) -> None:
    for read_only in (True, False):
        expected, actual = read_cells(slow, read_only), read_cells(fast, read_only)
        assert list(actual) == list(expected)
        for name in expected:
            assert actual[name].keys() == expected[name].keys(), name
            for coordinate, cell in expected[name].items():
                assert actual[name][coordinate] == cell, (name, coordinate, read_only)
    assert sheet_layout(fast) == sheet_layout(slow)


def test_awkward_values_match_the_per_cell_writer(tmp_path: Path) -> None:
    fast, slow = render_both(awkward_report(awkward_frame()), tmp_path)
    assert_same_workbook(fast, slow)
    # Spot checks that the comparison itself saw what matters.
    sheet = load_workbook(fast)["Line Items"]
    notes = {sheet.cell(row, 3).value for row in range(2, ROWS + 2)}
    assert "=SUM(A1:A9)" in notes and "& < > \" ' ]]>" in notes and "cr\r\nlf and a lone\rcr" in notes
    assert "bell\ufffd nul\ufffd esc\ufffd" in notes
    truncated = [n for n in notes if n and n.endswith(TRUNCATION_MARK)]
    assert len(truncated) == 2 and all(len(n) == EXCEL_MAX_CELL_CHARS for n in truncated)
    assert "y" * EXCEL_MAX_CELL_CHARS in notes  # exactly at the limit: kept whole
    assert sheet["C3"].value is None  # the empty string leaves the cell empty, as before
    assert sheet["C4"].data_type == "s" and sheet["B5"].value == 999_999_999_999_999
    assert sheet["D2"].value == -12.3 and sheet["D2"].number_format == "#,##0.00"
    assert sheet["F2"].value == sheet["F3"].value == dt.datetime(2026, 10, 25, 1, 30)
    assert sheet["H3"].value == dt.datetime(1900, 1, 15) and sheet["I3"].value is False
    assert sheet["A1"].value == "Line ID" and sheet["C1"].value == 'Note <& "quoted">'


def test_decimals_are_written_exactly(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_workbook(awkward_report(awkward_frame()), path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    assert '<c r="D2" s="' in sheet and "<v>-12.30</v>" in sheet and "<v>9999999999999.99</v>" in sheet
    assert "<v>12.00</v>" in sheet and "<v>1234.50</v>" in sheet


def test_integers_past_fifteen_digits_keep_every_digit(tmp_path: Path) -> None:
    """The per-cell writer went through a float ("%.16g"); the exact digits are what Excel rounds."""
    frame = pl.LazyFrame({"quantity": [2**53 + 1, -(10**17) - 7]})
    path = tmp_path / "big.xlsx"
    write_workbook(awkward_report(frame), path)
    sheet = load_workbook(path, read_only=True)["Line Items"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [2**53 + 1, -(10**17) - 7]


def test_continuation_sheets_match_across_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "BATCH_ROWS", 7)  # batches that straddle sheet boundaries
    frame = pl.concat([awkward_frame()] * 3)
    rows = 3 * ROWS
    fast, slow = render_both(awkward_report(frame), tmp_path, max_rows_per_sheet=11)
    names = ["Summary", "Line Items", *(f"Line Items ({n})" for n in range(2, 7))]
    assert load_workbook(fast, read_only=True).sheetnames == names
    assert_same_workbook(fast, slow)
    assert count_xlsx_rows(fast, "Line Items") == rows == 54
    ids = [
        r[0]
        for name in names[1:]
        for r in load_workbook(fast, read_only=True)[name].iter_rows(min_row=2, values_only=True)
    ]
    assert ids == [i % ROWS + 1 for i in range(rows)]


def test_a_table_filling_its_last_sheet_exactly_adds_no_empty_sheet(tmp_path: Path) -> None:
    frame = pl.LazyFrame({"line_id": list(range(1, 21)), "note": [f"n{i}" for i in range(20)]})
    fast, slow = render_both(awkward_report(frame), tmp_path, max_rows_per_sheet=11)
    assert load_workbook(fast, read_only=True).sheetnames == ["Summary", "Line Items", "Line Items (2)"]
    assert_same_workbook(fast, slow)


def test_empty_table_says_no_rows(tmp_path: Path) -> None:
    empty = Table.of("Credit Aging", awkward_frame().head(0), {}, ["line_id", "amount"])
    fast, slow = render_both(awkward_report(awkward_frame(), empty), tmp_path)
    assert_same_workbook(fast, slow)
    sheet = load_workbook(fast)["Credit Aging"]
    assert sheet["A2"].value == NO_ROWS and sheet.auto_filter.ref == "A1:B2" and sheet.freeze_panes == "A2"
    assert count_xlsx_rows(fast, "Credit Aging") == 0 and count_xlsx_rows(fast, "Line Items") == ROWS


def test_same_report_same_bytes(tmp_path: Path) -> None:
    digests = set()
    for name in ("a", "b"):
        write_workbook(awkward_report(awkward_frame(40)), tmp_path / f"{name}.xlsx", max_rows_per_sheet=15)
        digests.add(hashlib.sha256((tmp_path / f"{name}.xlsx").read_bytes()).hexdigest())
    assert len(digests) == 1
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {entry.date_time for entry in archive.infolist()} == {ZIP_TIMESTAMP}
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == len(set(names))  # streamed sheets are not written a second time
        assert {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet4.xml"} <= set(names)
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_sheets_are_streamed_a_batch_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """No write to a sheet's zip entry holds more than one batch of rows."""
    monkeypatch.setattr(xlsx, "BATCH_ROWS", 50)
    written: list[int] = []
    original = xlsx._StreamedSheet.write

    def record(sheet, xml: bytes, rows: int) -> None:
        written.append(xml.count(b"<row "))
        original(sheet, xml, rows)

    monkeypatch.setattr(xlsx._StreamedSheet, "write", record)
    frame = pl.LazyFrame({"line_id": list(range(1, 1001)), "note": ["a & b"] * 1000})
    assert write_workbook(awkward_report(frame), tmp_path / "out.xlsx") == {"Line Items": 1000}
    assert sum(written) == 1000 and len(written) >= 20 and max(written) <= 50


def test_illegal_characters_are_the_ones_openpyxl_refuses() -> None:
    pattern = re.compile(ILLEGAL_XML_CHARACTERS)
    for code in range(0x20):
        char = chr(code)
        assert bool(pattern.fullmatch(char)) == bool(ILLEGAL_CHARACTERS_RE.fullmatch(char)), code
    assert pattern.fullmatch("\ufffe") and pattern.fullmatch("\uffff") and not pattern.search("é北😀\t\n\r")


def test_noncharacters_and_floats(tmp_path: Path) -> None:
    """Cases the per-cell writer could not take (lxml refused U+FFFE) or the datasets do not have."""
    frame = pl.LazyFrame(
        {
            "note": ["a\ufffeb\uffff", "ok"],
            "ratio": [0.1, float("nan")],
            "scale": [1e20, float("inf")],
        }
    )
    path = tmp_path / "out.xlsx"
    write_workbook(awkward_report(frame), path)
    sheet = load_workbook(path)["Line Items"]
    assert sheet["A2"].value == "a\ufffdb\ufffd"
    assert sheet["B2"].value == 0.1 and sheet["B2"].number_format == "General" and sheet["B3"].value is None
    assert sheet["C2"].value == 1e20 and sheet["C3"].value is None


def test_a_column_excel_cannot_show_is_refused_by_name(tmp_path: Path) -> None:
    frame = pl.LazyFrame({"line_id": [1], "waited": [dt.timedelta(minutes=5)]})
    with pytest.raises(TypeError, match="'waited'"):
        write_workbook(awkward_report(frame), tmp_path / "out.xlsx")


def test_rows_are_counted_in_any_workbook_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    """The read-back count finds sheets through the workbook's own index, not through our writer's
    layout: a workbook openpyxl wrote (shared strings, its own part names) counts the same way."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Summary"
    empty, items = workbook.create_sheet("Credit Aging"), workbook.create_sheet("Line Items")
    empty.append(["Customer"])
    empty.append([NO_ROWS])
    for row in (["SKU"], ["A-1"], ["A-2"], ["A-3"]):
        items.append(row)
    workbook.create_sheet("Line Items (2)").append(["SKU"])
    workbook["Line Items (2)"].append(["A-4"])
    path = tmp_path / "openpyxl.xlsx"
    workbook.save(path)
    assert count_xlsx_rows(path, "Line Items") == 4
    assert count_xlsx_rows(path, "Credit Aging") == 0
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(zipfile.BadZipFile):
        count_xlsx_rows(damaged, "Line Items")
