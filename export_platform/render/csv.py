"""CSV per RFC 4180: one flat table, UTF-8 (optionally with a BOM for Excel), CRLF line ends, fields
quoted only when they hold the delimiter, a quote or a line break.

Values are formatted explicitly so every writer and locale agrees: ISO 8601 dates and timestamps
(with the tenant's UTC offset), decimals exactly as stored (``0.10``, never ``0.1`` or float noise),
``true``/``false``. Text cells that a spreadsheet would run as a formula get a leading apostrophe, as
OWASP recommends: those starting with a tab or carriage return, and those whose first visible
character is ``=``, ``+``, ``-`` or ``@``, in ASCII or their full-width (``＝＋－＠``) or small forms,
whatever invisible characters come before it (spaces of any kind, no-break and zero-width spaces,
bidi marks, a BOM, other control and format characters, fillers), since a spreadsheet or the person
who opens the file may skip them. Numbers are never touched, so a negative amount stays a number.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from export_platform.render.progress import Progress
from export_platform.render.report import STREAMING_CHUNK_ROWS, Kind, Table

DELIMITERS = (",", ";", "\t")
# Skipped before the first visible character: the categories Zs (spaces, NBSP), Zl and Zp (line and
# paragraph separators), Cc (controls) and Cf (format: zero-width spaces and joiners, bidi marks, BOM,
# soft hyphen), and the invisible characters of other categories: the combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian and other variation selectors, the Braille blank.
_INVISIBLE = (
    r"\p{Zs}\p{Zl}\p{Zp}\p{Cc}\p{Cf}"
    r"\x{034F}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{2800}\x{3164}\x{FE00}-\x{FE0F}\x{FFA0}"
)
# = + - @, then their full-width (＝ ＋ － ＠) and small (﹦ ﹢ ﹣ ﹫) forms.
_FORMULA_START = r"=+\-@\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}\x{FE66}\x{FE62}\x{FE63}\x{FE6B}"
FORMULA_TRIGGER = r"^(?:[\t\r]|[" + _INVISIBLE + r"]*[" + _FORMULA_START + r"])"


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    include_bom: bool = True
    include_header: bool = True

    def __post_init__(self) -> None:
        if self.delimiter not in DELIMITERS:
            raise ValueError(
                f"delimiter must be one of {', '.join(map(repr, DELIMITERS))}, not {self.delimiter!r}"
            )


def neutralise_formula(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(FORMULA_TRIGGER)).then(pl.lit("'") + text).otherwise(text)


def _formatted(name: str, kind: Kind) -> pl.Expr:
    column = pl.col(name)
    match kind:
        case Kind.TEXT:
            return neutralise_formula(column)
        case Kind.DATETIME:
            return column.dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        case Kind.DATE:
            return column.dt.strftime("%Y-%m-%d")
        case Kind.BOOLEAN:
            return pl.when(column).then(pl.lit("true")).when(column.not_()).then(pl.lit("false"))
        case Kind.INTEGER | Kind.IDENTIFIER | Kind.MONEY | Kind.PERCENT:
            # The writer prints integers, and decimals at their scale ("0.10", "-5.00"), exactly; a
            # string column in between would cost a quarter of the CPU time for the same bytes.
            return column
        case _:
            return column.cast(pl.String)


def csv_frame(table: Table) -> pl.LazyFrame:
    """The table with every value already formatted as its CSV text, under its label."""
    return table.frame.select(_formatted(c.name, c.kind).alias(c.label) for c in table.columns)


def sink_formatted(
    frame: pl.LazyFrame, target: Path | io.BytesIO, options: CsvOptions, *, opening: bool
) -> None:
    """Write ``csv_frame``'s output to ``target``: the one place the CSV's bytes are made. Without
    ``opening``, no BOM and no header: the rows continue a file begun before."""
    frame.sink_csv(
        target,
        include_bom=options.include_bom and opening,
        include_header=options.include_header and opening,
        separator=options.delimiter,
        line_terminator="\r\n",
        quote_style="necessary",
        null_value="",
    )


def write_csv(table: Table, path: Path, options: CsvOptions, progress: Progress | None = None) -> int:
    """Stream ``table`` to ``path``; returns the number of data rows written."""
    rows = table.row_count()
    progress = progress or Progress()
    progress.start_table(table.name, rows)
    sink_formatted(csv_frame(table), path, options, opening=True)
    progress.advance(rows)
    return rows


def csv_pieces(table: Table, options: CsvOptions, *, opening: bool = True) -> Iterator[bytes]:
    """``write_csv``'s bytes for ``table``, ``STREAMING_CHUNK_ROWS`` rows a piece, for a caller that
    sends the file while it is made. The first piece has the BOM and header (just those, for a table
    without rows); with ``opening=False`` none has, so the pieces of several tables in a row join into
    the one file ``write_csv`` makes of them all."""
    formatted = csv_frame(table)
    for batch in formatted.collect_batches(chunk_size=STREAMING_CHUNK_ROWS):
        piece = io.BytesIO()
        sink_formatted(batch.lazy(), piece, options, opening=opening)
        opening = False
        yield piece.getvalue()
    if opening:
        piece = io.BytesIO()
        sink_formatted(formatted.head(0), piece, options, opening=True)
        yield piece.getvalue()
