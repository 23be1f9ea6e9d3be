"""Worksheet XML for one table, built column-wise with Polars expressions instead of cell by cell.

A table sheet is simple SpreadsheetML: a header row, then one ``<row>`` per record whose cells are
numbers with a style index, booleans or inline strings. Each column becomes its cells' XML in one
expression (``concat_str`` of the cell reference, the attributes and the value), and the cells of a
row are concatenated the same way, so Python never touches a single value. The caller reads the
table a batch at a time (Polars' streaming engine), turns each batch into XML and writes it to the
zip entry at once: memory stays at a few batches whatever the row count.

What a cell holds follows the column's Polars type, as openpyxl would write the same value:

- integers and decimals: the exact digits (``<v>-12.30</v>``, no float noise, no rounding past 15
  digits); floats: their shortest round-trip text, NaN and infinities left empty;
- dates and datetimes: Excel serial numbers (days since 1899-12-30, with the fraction of the day),
  in the wall-clock time the column carries, i.e. the tenant's local time for zoned columns, since
  Excel has no time zones; the serial of 1900-01-01 to 1900-02-28 skips Excel's phantom leap day,
  as openpyxl does;
- booleans: ``t="b"`` with 1 or 0;
- text: an inline string, never a formula whatever it starts with. Control characters that XML 1.0
  cannot carry (and the non-characters U+FFFE and U+FFFF) become U+FFFD; text over Excel's
  32,767-character cell limit is cut with a visible mark; ``& < >`` are escaped and carriage returns
  kept as ``&#13;`` (a raw CR would be read back as a line feed);
- nulls and empty strings: no cell at all.

The number formats are style indexes the caller takes from the workbook's own style table, so they
match its ``styles.xml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
from openpyxl.utils import get_column_letter

from export_platform.render.report import Kind, Table

EXCEL_MAX_CELL_CHARS = 32_767
TRUNCATION_MARK = "… [truncated]"
CONTROL_CHARACTER_MARK = "\ufffd"
# XML 1.0 allows tab, LF and CR among the C0 controls; U+FFFE and U+FFFF are not characters at all.
# (The pattern is valid for both Python's re and Polars' regex engine.)
ILLEGAL_XML_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}

EXCEL_DAYS_AT_UNIX_EPOCH = 25_569  # 1970-01-01 in Excel's 1900 date system
MICROSECONDS_PER_DAY = 86_400_000_000

_ROW = "__xlsx_row"

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
    "</sheetView></sheetViews>"
    '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
)
_TAIL = (
    '</sheetData><autoFilter ref="{ref}"/>'
    '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>'
)
_INLINE_STRING = (' t="inlineStr"', '<is><t xml:space="preserve">', "</t></is>")


def sheet_head(widths: Sequence[float], labels: Sequence[str], header_style: int) -> str:
    """Everything before the data rows: frozen header pane, column widths and the header row."""
    cols = "".join(
        f'<col min="{index}" max="{index}" width="{width:g}" customWidth="1"/>'
        for index, width in enumerate(widths, start=1)
    )
    return f"{_HEAD}<cols>{cols}</cols><sheetData>{text_row(1, labels, header_style)}"


def autofilter_ref(columns: int, rows: int) -> str:
    """The range the header's filter covers: the header and ``rows`` data rows."""
    return f"A1:{get_column_letter(columns)}{rows + 1}"


def sheet_tail(autofilter: str) -> str:
    """Everything after the data rows."""
    return _TAIL.format(ref=autofilter)


def text_row(number: int, texts: Sequence[str], style: int | None = None) -> str:
    """A row of inline strings (the header, the "no rows" line), escaped as data cells are."""
    frame = pl.DataFrame({get_column_letter(i): [t] for i, t in enumerate(texts, start=1)})
    row = pl.lit(str(number))
    style_attribute = "" if style is None else f' s="{style}"'
    cells = [
        _cell(letter, row, style_attribute + _INLINE_STRING[0], _INLINE_STRING[1:], cell_text(pl.col(letter)))
        for letter in frame.columns
    ]
    return frame.select(_row_xml(row, cells)).item()


def cell_text(text: pl.Expr) -> pl.Expr:
    """Text as XML character data for a cell: legal characters only, within Excel's limit, escaped."""
    clean = text.str.replace_all(ILLEGAL_XML_CHARACTERS, CONTROL_CHARACTER_MARK)
    kept = EXCEL_MAX_CELL_CHARS - len(TRUNCATION_MARK)
    fitting = (
        pl.when(clean.str.len_chars() > EXCEL_MAX_CELL_CHARS)
        .then(pl.concat_str([clean.str.slice(0, kept), pl.lit(TRUNCATION_MARK)]))
        .otherwise(clean)
    )
    return fitting.str.replace_many(list(XML_ESCAPES), list(XML_ESCAPES.values()))


class SheetRows:
    """The XML of a table's data rows, built a batch at a time.

    The expressions run on each batch the caller has read, not inside the streaming query: Polars'
    streaming engine runs ahead of a slow consumer by a fixed number of morsels, which is harmless for
    the compact input columns but would hold hundreds of megabytes of finished XML.
    """

    def __init__(self, table: Table, number_styles: Mapping[Kind, int]) -> None:
        """Raises ``TypeError`` for a column whose type a sheet cannot show."""
        schema = table.frame.collect_schema()
        row = pl.col(_ROW)
        cells = [
            _column_cells(c.name, schema[c.name], get_column_letter(i), row, number_styles.get(c.kind))
            for i, c in enumerate(table.columns, start=1)
        ]
        self._xml = _row_xml(row, cells).str.join("").cast(pl.Binary)

    def xml(self, rows: pl.DataFrame, first_row: int) -> bytes:
        """``rows`` as UTF-8 ``<row>`` elements numbered from ``first_row`` (the header is row 1)."""
        numbers = pl.int_range(first_row, first_row + pl.len()).cast(pl.String).alias(_ROW)
        return rows.with_columns(numbers).select(self._xml).item()


def _row_xml(row: pl.Expr, cells: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True)


def _cell(letter: str, row: pl.Expr, attributes: str, wrap: tuple[str, str], value: pl.Expr) -> pl.Expr:
    """``<c r="B7" ...><v>value</v></c>``; null (no cell) where the value is null."""
    return pl.concat_str(
        [pl.lit(f'<c r="{letter}'), row, pl.lit(f'"{attributes}>{wrap[0]}'), value, pl.lit(f"{wrap[1]}</c>")]
    )


def _column_cells(name: str, dtype: pl.DataType, letter: str, row: pl.Expr, style: int | None) -> pl.Expr:
    column = pl.col(name)
    number = ("" if style is None else f' s="{style}"', ("<v>", "</v>"))
    if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        text = column.cast(pl.String)
        value = pl.when(text != "").then(cell_text(text))
        return _cell(letter, row, _INLINE_STRING[0], _INLINE_STRING[1:], value)
    if dtype == pl.Boolean:
        return _cell(letter, row, ' t="b"', ("<v>", "</v>"), column.cast(pl.UInt8).cast(pl.String))
    if dtype.is_integer() or isinstance(dtype, pl.Decimal):
        return _cell(letter, row, *number, column.cast(pl.String))
    if dtype.is_float():
        return _cell(letter, row, *number, pl.when(column.is_finite()).then(column.cast(pl.String)))
    if dtype == pl.Date:
        return _cell(letter, row, *number, _excel_day(column.cast(pl.Int64)).cast(pl.String))
    if isinstance(dtype, pl.Datetime):
        wall_clock = column.dt.replace_time_zone(None) if dtype.time_zone else column
        micros = wall_clock.dt.epoch("us")
        serial = _excel_day(micros // MICROSECONDS_PER_DAY) + (micros % MICROSECONDS_PER_DAY) / float(
            MICROSECONDS_PER_DAY
        )
        return _cell(letter, row, *number, serial.cast(pl.String))
    if dtype == pl.Null:
        return pl.lit(None, pl.String)
    raise TypeError(f"column {name!r} has type {dtype}, which an Excel sheet cannot show")


def _excel_day(unix_day: pl.Expr) -> pl.Expr:
    """Excel's day number for days since 1970-01-01, skipping the 29 February 1900 Excel counts."""
    day = unix_day + EXCEL_DAYS_AT_UNIX_EPOCH
    return pl.when((day > 0) & (day <= 60)).then(day - 1).otherwise(day)
