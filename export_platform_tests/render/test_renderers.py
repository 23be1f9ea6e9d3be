"""Renderers on small explicit frames, read back with independent readers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import unicodedata
import zipfile
from decimal import Decimal as D
from pathlib import Path

import polars as pl
import pypdf
import pytest
from arabic_reshaper import reshape
from bidi import get_display
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from reportlab.pdfbase.pdfdoc import PDFObjectReference, PDFPage, PDFStream

from export_platform.exports.formats import count_pdf_rows, count_xlsx_rows
from export_platform.render import pdf
from export_platform.render.csv import CsvOptions, write_csv
from export_platform.render.pdf import MAX_CELL_LINES, display_line, write_pdf
from export_platform.render.progress import Progress
from export_platform.render.report import NO_ROWS, Report, SummaryItem, Table
from export_platform.render.reportlab_internals import StreamingCanvas
from export_platform.render.xlsx import EXCEL_MAX_CELL_CHARS, TRUNCATION_MARK, write_workbook
from export_platform_tests.support.pdf_reading import page_footer

TZ = "Europe/Lisbon"


def sample_frame(rows: int = 5) -> pl.LazyFrame:
    texts = [
        "=1+1",
        "-50% off",
        "plain, with comma",
        'say "hi"',
        "line\nbreak",
        "@user",
        "+44",
        "北京",
        "قهوة",
    ]
    return pl.LazyFrame(
        {
            "item_id": list(range(1, rows + 1)),
            "name": [texts[i % len(texts)] for i in range(rows)],
            "amount": [str(D("-12.30") + i) for i in range(rows)],
            "margin_pct": ["12.50"] * rows,
            "sold_at": [
                dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(rows)
            ],
            "day": [dt.date(2026, 10, 1)] * rows,
            "ok": [i % 2 == 0 for i in range(rows)],
        },
        schema={
            "item_id": pl.Int64,
            "name": pl.String,
            "amount": pl.String,
            "margin_pct": pl.String,
            "sold_at": pl.Datetime("us", "UTC"),
            "day": pl.Date,
            "ok": pl.Boolean,
        },
    ).with_columns(
        pl.col("amount").cast(pl.Decimal(18, 2)),
        pl.col("margin_pct").cast(pl.Decimal(18, 2)),
        pl.col("sold_at").dt.convert_time_zone(TZ),
    )


def table(frame: pl.LazyFrame, name: str = "Items") -> Table:
    labels = {
        "item_id": "Item ID",
        "name": "Name",
        "amount": "Amount",
        "margin_pct": "Margin %",
        "sold_at": "Sold At",
        "day": "Day",
        "ok": "OK",
    }
    return Table.of(name, frame, labels, list(labels))


def report(frame: pl.LazyFrame) -> Report:
    return Report(
        "sales", "Sales", "acme", "Acme", "2026-10", TZ, "EUR", (SummaryItem("Rows", 5),), (table(frame),)
    )


@pytest.mark.parametrize(
    ("delimiter", "bom", "header"), [(",", True, True), (";", False, True), ("\t", True, False)]
)
def test_csv_dialects(tmp_path: Path, delimiter: str, bom: bool, header: bool) -> None:
    path = tmp_path / "out.csv"
    assert write_csv(table(sample_frame(9)), path, CsvOptions(delimiter, bom, header)) == 9
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source, delimiter=delimiter, strict=True))
    if header:
        assert rows.pop(0) == ["Item ID", "Name", "Amount", "Margin %", "Sold At", "Day", "OK"]
    assert len(rows) == 9
    names = [r[1] for r in rows]
    assert names[:7] == [
        "'=1+1",
        "'-50% off",
        "plain, with comma",
        'say "hi"',
        "line\nbreak",
        "'@user",
        "'+44",
    ]
    assert rows[0][2] == "-12.30"  # a negative number stays a number
    assert rows[0][3] == "12.50"
    # 00:30 UTC on Oct 25 is 01:30 summer time in Lisbon; an hour later the clocks have gone back.
    assert rows[0][4] == "2026-10-25T01:30:00+01:00" and rows[1][4] == "2026-10-25T01:30:00+00:00"
    assert rows[0][5] == "2026-10-01" and rows[0][6] == "true" and rows[1][6] == "false"


@pytest.mark.parametrize("delimiter", [";;", "|", "", ".."])
def test_csv_refuses_other_delimiters(delimiter: str) -> None:
    with pytest.raises(ValueError, match="delimiter must be one of"):
        CsvOptions(delimiter=delimiter)


def test_empty_csv_is_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    assert write_csv(table(sample_frame(0)), path, CsvOptions()) == 0
    assert path.read_bytes() == "\ufeffItem ID,Name,Amount,Margin %,Sold At,Day,OK\r\n".encode()


def test_workbook_continues_past_the_sheet_limit(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    written = write_workbook(report(sample_frame(25)), path, max_rows_per_sheet=11)
    assert written == {"Items": 25}
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["Summary", "Items", "Items (2)", "Items (3)"]
    sizes = [len(list(workbook[name].iter_rows(min_row=2))) for name in workbook.sheetnames[1:]]
    assert sizes == [10, 10, 5]
    ids = [
        r[0]
        for name in workbook.sheetnames[1:]
        for r in workbook[name].iter_rows(min_row=2, values_only=True)
    ]
    assert ids == list(range(1, 26))
    workbook.close()
    assert count_xlsx_rows(path, "Items") == 25


def test_workbook_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    long_text = "x" * (EXCEL_MAX_CELL_CHARS + 500)
    frame = sample_frame(2).with_columns(pl.Series("name", ["=SUM(A1)", long_text]))
    write_workbook(report(frame), path)
    sheet = load_workbook(path)["Items"]
    assert sheet["B2"].value == "=SUM(A1)" and sheet["B2"].data_type == "s"
    assert len(sheet["B3"].value) == EXCEL_MAX_CELL_CHARS and sheet["B3"].value.endswith(TRUNCATION_MARK)
    assert sheet["C2"].value == D("-12.30") or sheet["C2"].value == -12.3
    assert sheet["C2"].number_format == "#,##0.00" and sheet["D2"].number_format == '0.00"%"'
    assert sheet["E2"].value == dt.datetime(2026, 10, 25, 1, 30) and sheet["E2"].is_date
    assert sheet["F2"].value == dt.datetime(2026, 10, 1) and sheet["F2"].number_format == "yyyy-mm-dd"
    assert sheet["G2"].value is True and sheet["G3"].value is False
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G3"


def test_empty_workbook_says_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    assert write_workbook(report(sample_frame(0)), path) == {"Items": 0}
    sheet = load_workbook(path)["Items"]
    assert sheet["A1"].value == "Item ID" and sheet["A2"].value == NO_ROWS
    assert count_xlsx_rows(path, "Items") == 0


def test_same_report_same_bytes(tmp_path: Path) -> None:
    digests = set()
    for name in ("a", "b"):
        write_workbook(report(sample_frame(30)), tmp_path / f"{name}.xlsx")
        write_pdf(report(sample_frame(30)), tmp_path / f"{name}.pdf")
        digests.add(
            tuple(
                hashlib.sha256((tmp_path / f"{name}.{ext}").read_bytes()).hexdigest()
                for ext in ("xlsx", "pdf")
            )
        )
    assert len(digests) == 1


def test_pdf_row_cap_is_stated(tmp_path: Path) -> None:
    path = tmp_path / "capped.pdf"
    assert write_pdf(report(sample_frame(400)), path, row_cap=150).rows == {"Items": 150}
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Showing the first 150 of 400 rows: 250 rows were left out (row cap 150)." in text
    assert "Items (400 rows)" in text
    assert [page_footer(page) for page in reader.pages] == [
        (number, len(reader.pages)) for number in range(1, len(reader.pages) + 1)
    ]


def test_pdf_wraps_long_text_and_caps_a_giant_cell(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    words = " ".join(f"word{i}" for i in range(20_000))
    frame = sample_frame(2).with_columns(pl.Series("name", ["short", words]))
    write_pdf(report(frame), path)
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert "word0" in text and "word40" in text  # wrapped onto further lines, not cut at the column edge
    assert "more characters)" in text and f"word{MAX_CELL_LINES * 100}" not in text


def test_empty_pdf_is_one_page_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    assert write_pdf(report(sample_frame(0)), path).rows == {"Items": 0}
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert NO_ROWS in text and page_footer(reader.pages[0]) == (1, 1)


def test_pdf_pages_leave_memory_as_they_are_finished(tmp_path: Path, monkeypatch) -> None:
    """Each finished page is written to the file at once; the document keeps only references to it."""
    canvases = []
    original = StreamingCanvas.save_streamed

    def keep_canvas(canvas):
        canvases.append(canvas)
        original(canvas)

    monkeypatch.setattr(StreamingCanvas, "save_streamed", keep_canvas)
    write_pdf(report(sample_frame(400)), tmp_path / "streamed.pdf")
    doc = canvases[0]._doc
    page_count = len(PdfReader(tmp_path / "streamed.pdf").pages)
    assert page_count > 3 and len(doc.Pages.pages) == page_count
    assert all(isinstance(page, PDFObjectReference) for page in doc.Pages.pages)
    assert not [obj for obj in doc.idToObject.values() if isinstance(obj, (PDFPage, PDFStream))]


def test_pdf_rows_are_read_back_from_the_open_file_and_a_damaged_one_is_refused(
    tmp_path: Path, monkeypatch
) -> None:
    """The read-back check reads the count the report states through the file's cross-references:
    it hands pypdf the open file (with a path, pypdf reads the whole file into memory) and never
    lists the pages (an object per page: 3.2 GB for a 344,052-page report)."""
    path = tmp_path / "report.pdf"
    write_pdf(report(sample_frame(400)), path)
    assert len(PdfReader(path).pages) > 3
    given = []

    class Reader(pypdf.PdfReader):
        def __init__(self, stream, *args, **kwargs) -> None:
            given.append(stream)
            super().__init__(stream, *args, **kwargs)

        @property
        def pages(self):
            raise AssertionError("the check listed every page")

    monkeypatch.setattr(pypdf, "PdfReader", Reader)
    assert count_pdf_rows(path) == 400
    assert not isinstance(given[0], (str, Path))
    whole = path.read_bytes()
    for damage, data in {"cut in half": whole[: len(whole) // 2], "end cut off": whole[:-10]}.items():
        damaged = tmp_path / "damaged.pdf"
        damaged.write_bytes(data)
        with pytest.raises(PdfReadError):
            count_pdf_rows(damaged)
            pytest.fail(f"{damage}: read as a whole report")


def test_streamed_pdf_cross_references_point_at_their_objects(tmp_path: Path) -> None:
    """Pages are written out of object-number order; the xref table must still say where each is."""
    path = tmp_path / "streamed.pdf"
    write_pdf(report(sample_frame(300)), path)
    data = path.read_bytes()
    xref_at = int(data.rsplit(b"startxref", 1)[1].split()[0])
    lines = data[xref_at:].split(b"\n")
    assert lines[0] == b"xref"
    first, count = map(int, lines[1].split())
    entries = lines[2 : 2 + count]
    assert first == 0 and entries[0].startswith(b"0000000000 65535 f")
    for number, entry in enumerate(entries[1:], start=1):
        offset = int(entry.split()[0])
        assert data[offset:].startswith(f"{number} 0 obj".encode()), number
    reader = PdfReader(path, strict=True)
    assert len(reader.pages) > 3 and all(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_writers_report_their_progress(tmp_path: Path, fmt: str) -> None:
    """Every writer says which table it is on and counts the rows it wrote, which is what the export's
    progress lines show; the PDF also knows each table's length up front, the CSV writer its total."""
    progress = Progress()
    path = tmp_path / f"out.{fmt}"
    if fmt == "csv":
        write_csv(table(sample_frame(12_345)), path, CsvOptions(), progress)
    elif fmt == "xlsx":
        write_workbook(report(sample_frame(12_345)), path, max_rows_per_sheet=5_000, progress=progress)
    else:
        write_pdf(report(sample_frame(12_345)), path, row_cap=7_000, progress=progress)
    rows = 7_000 if fmt == "pdf" else 12_345
    assert (progress.table, progress.rows, progress.total_rows) == ("Items", rows, rows)
    assert progress.describe() == (
        "Items: 12,345 rows" if fmt == "xlsx" else f"Items: {rows:,} of {rows:,} rows (100%)"
    )


def test_right_to_left_text_is_joined_and_drawn_in_display_order(tmp_path: Path) -> None:
    # Written out by hand: قهوة (qaf, heh, waw, teh marbuta) joins as initial qaf U+FED7, medial heh
    # U+FEEC, final waw U+FEEE and isolated teh marbuta U+FE93, and is drawn from the right.
    assert display_line("قهوة") == "\ufe93\ufeee\ufeec\ufed7"
    assert display_line("חלב 3%") == "3% בלח"  # Hebrew has no joining; the number keeps its order
    assert display_line("Café 3%") == "Café 3%"
    # Wrapping measures the joined forms and keeps the reading order: the first words on the first line.
    words = " ".join(f"كلمة{n}" for n in range(40))
    regular, _ = pdf.fonts()
    lines = pdf.wrap(words, 120, 8, regular)
    assert len(lines) > 3 and all(regular.width(line, 8) <= 120 for line in lines)
    assert " ".join(get_display(line) for line in lines) == reshape(words)
    assert get_display(lines[0]).startswith(reshape("كلمة0 "))
    # In the file: pypdf reads right-to-left runs back in reading order and finds the joined letters.
    frame = pl.LazyFrame({"item_id": [1], "name": ["قهوة عربية"]})
    rtl = Report(
        "sales",
        "Sales",
        "acme",
        "مقهى",
        "2026-10",
        TZ,
        "EUR",
        (),
        (Table.of("Items", frame, {}, ["item_id", "name"]),),
    )
    path = tmp_path / "rtl.pdf"
    write_pdf(rtl, path)
    text = PdfReader(path).pages[0].extract_text()
    assert reshape("قهوة عربية") in text and "قهوة" not in text


# Formula neutralisation. What counts as invisible before the first visible character, computed here
# from Python's own Unicode database: categories Zs, Zl, Zp, Cc and Cf, and the invisible characters
# of other categories (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and
# other variation selectors, Braille blank).
INVISIBLE_ELSEWHERE = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}
INVISIBLE_ELSEWHERE |= {*range(0x180B, 0x1810), *range(0xFE00, 0xFE10)}
TRIGGERS = "=+-@" + "＝＋－＠" + "﹦﹢﹣﹫"  # ASCII, full-width, small forms


def invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf") or ord(char) in INVISIBLE_ELSEWHERE


def looks_like_a_formula(text: str) -> bool:
    visible = text.lstrip("".join(c for c in text if invisible(c)))
    return text[:1] in ("\t", "\r") or (visible != "" and visible[0] in TRIGGERS)


def formula_variants() -> list[str]:
    """Every trigger behind every invisible character of the Basic Multilingual Plane (and a few
    beyond), alone and in runs; and the same characters before ordinary text."""
    invisibles = [chr(c) for c in [*range(0x10000), 0x1D173, 0xE0001, 0xE0041] if invisible(chr(c))]
    prefixes = ["", *invisibles, " \u00a0\u200b\ufeff", "\u202e\u2066\u00ad\t", "\r\n \u3000"]
    texts = [prefix + trigger + "1+2" for prefix in prefixes for trigger in TRIGGERS]
    texts += [prefix + "Plain tea" for prefix in prefixes]
    return [*texts, "-50% off", "Tab\tseparated", "a=1", "x@y", "北京", "قهوة", "1-2", "", "'=already"]


def test_csv_neutralises_formulas_behind_invisible_characters(tmp_path: Path) -> None:
    texts = formula_variants()
    assert len(texts) > 1000 and sum(map(looks_like_a_formula, texts)) > 900
    frame = pl.LazyFrame(
        {"item_id": range(len(texts)), "name": texts, "amount": [D("-12.30")] * len(texts)},
        schema={"item_id": pl.Int64, "name": pl.String, "amount": pl.Decimal(18, 2)},
    )
    path = tmp_path / "formulas.csv"
    write_csv(Table.of("Items", frame, {}, ["item_id", "name", "amount"]), path, CsvOptions())
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source, strict=True))[1:]
    assert len(rows) == len(texts)
    for text, (_, cell, amount) in zip(texts, rows, strict=True):
        assert cell == ("'" + text if looks_like_a_formula(text) else text), ascii(text)
        assert amount == "-12.30"  # a negative number stays a number


def test_workbook_text_is_never_a_formula(tmp_path: Path) -> None:
    """The workbook needs no apostrophe: every text cell is written as a string, never a formula,
    whatever it starts with; checked through openpyxl and in the sheet XML itself."""
    texts = [t for t in formula_variants() if looks_like_a_formula(t)]
    frame = pl.LazyFrame(
        {"item_id": range(len(texts)), "name": texts, "amount": [D("-12.30")] * len(texts)},
        schema={"item_id": pl.Int64, "name": pl.String, "amount": pl.Decimal(18, 2)},
    )
    path = tmp_path / "formulas.xlsx"
    items = Table.of("Items", frame, {}, ["item_id", "name", "amount"])
    write_workbook(Report("sales", "Sales", "acme", "=Acme", "2026-10", TZ, "EUR", (), (items,)), path)
    workbook = load_workbook(path)
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert len(cells) > 3 * len(texts)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    names = [row[1] for row in workbook["Items"].iter_rows(min_row=2, values_only=True)]
    for text, name in zip(texts, names, strict=True):
        if not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text):
            assert name == text, ascii(text)  # as written: no apostrophe, no formula
    assert [c.value for c in workbook["Items"]["C"][1:3]] in ([D("-12.30")] * 2, [-12.3] * 2)
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(re.search(rb"<(\w+:)?f[ >]", archive.read(n)) for n in sheets)
