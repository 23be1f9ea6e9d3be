"""PDF reports: landscape pages with a title, the summary figures, then each table in full, its header
repeated on every page and "Page X of Y" in the footer.

Drawn with reportlab's canvas, page by page, in two passes over the rows: the first only lays them
out to count the pages, the second draws them knowing the total. Rows stream from the frame in
batches, so memory does not depend on the row count.

Every script is drawn with embedded fonts shipped in the package (DejaVu Sans Condensed for Latin,
Greek, Cyrillic, Arabic and Hebrew; Droid Sans Fallback for CJK; NanumGothic for Hangul), chosen per
character. Text wraps within its column; a single cell longer than ``MAX_CELL_LINES`` lines ends with
a mark saying how much was left out, so one row always fits on a page. Right-to-left text is drawn in
its stored (logical) order. An optional row cap limits each table, and the report says how many rows
it left out.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from export_platform.render.report import NO_ROWS, Kind, Report, SummaryItem, Table

FONT_DIR = Path(__file__).parent / "fonts"
REGULAR_FONTS = (
    ("EP-Sans", "DejaVuSansCondensed.ttf"),
    ("EP-CJK", "DroidSansFallbackFull.ttf"),
    ("EP-Hangul", "NanumGothic.ttf"),
)
BOLD_FONTS = (("EP-Sans-Bold", "DejaVuSansCondensed-Bold.ttf"), *REGULAR_FONTS[1:])

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28.0
BODY_SIZE, BODY_LEADING = 6.5, 8.0
HEADER_SIZE = 6.8
CELL_PAD = 2.0
MAX_CELL_LINES = 30
BATCH_ROWS = 5_000
HEADER_COLOR = HexColor("#2C3E50")
STRIPE_COLOR = HexColor("#F2F4F6")
RULE_COLOR = HexColor("#BDC3C7")
TOP = PAGE_HEIGHT - MARGIN - 14  # below the running head
BOTTOM = MARGIN + 14  # above the footer


class FontSet:
    """Picks, per character, the first font of a chain that has a glyph for it."""

    def __init__(self, chain: tuple[tuple[str, str], ...]) -> None:
        self.names = [_register(name, file) for name, file in chain]
        self.cmaps = [pdfmetrics.getFont(name).face.charToGlyph for name in self.names]

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - two long-lived instances
    def font_for(self, char: str) -> str:
        code = ord(char)
        return next(
            (name for name, cmap in zip(self.names, self.cmaps, strict=True) if code in cmap), self.names[0]
        )

    def runs(self, text: str) -> Iterator[tuple[str, str]]:
        start, current = 0, None
        for index, char in enumerate(text):
            font = self.font_for(char)
            if font != current:
                if current is not None:
                    yield current, text[start:index]
                start, current = index, font
        if current is not None:
            yield current, text[start:]

    def width(self, text: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(text))

    def draw(self, canvas: Canvas, x: float, y: float, text: str, size: float) -> None:
        for font, run in self.runs(text):
            canvas.setFont(font, size)
            canvas.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, font, size)


@functools.cache
def _register(name: str, file: str) -> str:
    pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    return name


@functools.cache
def fonts() -> tuple[FontSet, FontSet]:
    return FontSet(REGULAR_FONTS), FontSet(BOLD_FONTS)


def _clean(text: str) -> str:
    """Tabs and other control characters become spaces; line breaks stay."""
    return "".join(c if c == "\n" or c >= " " else " " for c in text)


def wrap(text: str, width: float, size: float, font: FontSet, max_lines: int = MAX_CELL_LINES) -> list[str]:
    """Greedy word wrap to ``width`` points; words wider than a line (and CJK runs) break anywhere."""
    lines: list[str] = []
    for paragraph in _clean(text).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if font.width(line + char, size) > width and line:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        shown = lines[: max_lines - 1]
        left_out = len(text) - sum(len(s) for s in shown)
        return [*shown, f"… ({left_out:,} more characters)"]
    return lines


def format_value(value, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.MONEY:
        return f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    if kind is Kind.PERCENT:
        return f"{value:.2f}%"
    if kind is Kind.INTEGER:
        return f"{value:,}"
    if kind is Kind.DATETIME and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if kind is Kind.DATE and isinstance(value, dt.date):
        return value.isoformat()
    if kind is Kind.BOOLEAN:
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class _Layout:
    columns: list  # TableColumn
    positions: list[int]  # index of each shown column in the table row
    widths: list[float]


class _PdfWriter:
    """Lays out (and, when ``canvas`` is set, draws) the report; both passes share this code."""

    def __init__(self, report: Report, canvas: Canvas | None, total_pages: int, row_cap: int | None) -> None:
        self.report, self.canvas, self.total_pages, self.row_cap = report, canvas, total_pages, row_cap
        self.regular, self.bold = fonts()
        self.page = 0
        self.y = TOP
        self.rows_written: dict[str, int] = {}

    # -- pages ------------------------------------------------------------------------------------

    def new_page(self) -> None:
        if self.page and self.canvas:
            self.canvas.showPage()
        self.page += 1
        self.y = TOP
        if self.canvas:
            self.regular.draw(self.canvas, MARGIN, PAGE_HEIGHT - MARGIN, self.report.heading, 7)
            footer = f"Page {self.page} of {self.total_pages}"
            self.regular.draw(
                self.canvas, PAGE_WIDTH - MARGIN - self.regular.width(footer, 7), MARGIN, footer, 7
            )
            self.regular.draw(
                self.canvas,
                MARGIN,
                MARGIN,
                f"Times in {self.report.timezone}; amounts in {self.report.currency}",
                7,
            )

    def text(self, text: str, size: float, bold: bool = False, gap: float = 2.0) -> None:
        font = self.bold if bold else self.regular
        for line in wrap(text, PAGE_WIDTH - 2 * MARGIN, size, font):
            if self.y - size < BOTTOM:
                self.new_page()
            self.y -= size + gap
            if self.canvas:
                font.draw(self.canvas, MARGIN, self.y, line, size)

    # -- title and summary ------------------------------------------------------------------------

    def title_block(self) -> None:
        report = self.report
        self.text(f"{report.title}: {report.tenant_name}", 16, bold=True, gap=6)
        self.text(
            f"Tenant {report.tenant} · period {report.period} · times in {report.timezone} · "
            f"amounts in {report.currency}",
            8,
            gap=4,
        )
        self.y -= 6
        self.summary(report.summary)

    def summary(self, items: tuple[SummaryItem, ...]) -> None:
        per_row, cell_width = 3, (PAGE_WIDTH - 2 * MARGIN) / 3
        for start in range(0, len(items), per_row):
            if self.y - 11 < BOTTOM:
                self.new_page()
            self.y -= 11
            for offset, item in enumerate(items[start : start + per_row]):
                x = MARGIN + offset * cell_width
                value = format_value(item.value, item.kind) or "–"
                if self.canvas:
                    self.regular.draw(self.canvas, x, self.y, f"{item.label}:", 7.5)
                    self.bold.draw(self.canvas, x + cell_width * 0.62, self.y, value, 7.5)
        self.y -= 8

    # -- tables -----------------------------------------------------------------------------------

    def table(self, table: Table) -> None:
        layout = self._layout(table)
        total = table.row_count()
        shown = total if self.row_cap is None else min(total, self.row_cap)
        if self.y - 60 < BOTTOM:
            self.new_page()
        self.y -= 8
        self.text(f"{table.name} ({total:,} rows)", 11, bold=True, gap=4)
        if shown < total:
            self.text(
                f"Showing the first {shown:,} of {total:,} rows: {total - shown:,} rows were left out "
                f"(row cap {self.row_cap:,}).",
                8,
                gap=3,
            )
        self.y -= 3
        if total == 0:
            self.header(layout)
            self.text(NO_ROWS, 8)
            self.rows_written[table.name] = 0
            return
        self.header(layout)
        written = 0
        for row in _rows(table, shown):
            cells = [
                wrap(format_value(row[p], c.kind), w - 2 * CELL_PAD, BODY_SIZE, self.regular)
                for p, c, w in zip(layout.positions, layout.columns, layout.widths, strict=True)
            ]
            height = max(len(lines) for lines in cells) * BODY_LEADING + 2 * CELL_PAD
            if self.y - height < BOTTOM:
                self.new_page()
                self.text(f"{table.name} (continued)", 8, bold=True)
                self.header(layout)
            self.row(layout, cells, height, striped=written % 2 == 1)
            written += 1
        self.rows_written[table.name] = written

    def header(self, layout: _Layout) -> None:
        cells = [
            wrap(c.label, w - 2 * CELL_PAD, HEADER_SIZE, self.bold)
            for c, w in zip(layout.columns, layout.widths, strict=True)
        ]
        height = max(len(lines) for lines in cells) * BODY_LEADING + 2 * CELL_PAD
        if self.y - height - BODY_LEADING * 2 < BOTTOM:
            self.new_page()
        if self.canvas:
            self.canvas.setFillColor(HEADER_COLOR)
            self.canvas.rect(MARGIN, self.y - height, sum(layout.widths), height, stroke=0, fill=1)
            self.canvas.setFillColor(white)
        self._cells(layout, cells, HEADER_SIZE, self.bold, numeric_right=False)
        if self.canvas:
            self.canvas.setFillColorRGB(0, 0, 0)
        self.y -= height

    def row(self, layout: _Layout, cells: list[list[str]], height: float, striped: bool) -> None:
        if self.canvas:
            if striped:
                self.canvas.setFillColor(STRIPE_COLOR)
                self.canvas.rect(MARGIN, self.y - height, sum(layout.widths), height, stroke=0, fill=1)
                self.canvas.setFillColorRGB(0, 0, 0)
            self.canvas.setStrokeColor(RULE_COLOR)
            self.canvas.setLineWidth(0.3)
            self.canvas.line(MARGIN, self.y - height, MARGIN + sum(layout.widths), self.y - height)
        self._cells(layout, cells, BODY_SIZE, self.regular, numeric_right=True)
        self.y -= height

    def _cells(
        self, layout: _Layout, cells: list[list[str]], size: float, font: FontSet, numeric_right: bool
    ) -> None:
        if not self.canvas:
            return
        x = MARGIN
        for column, width, lines in zip(layout.columns, layout.widths, cells, strict=True):
            right = numeric_right and column.kind in (Kind.MONEY, Kind.PERCENT, Kind.INTEGER)
            baseline = self.y - CELL_PAD - size
            for line in lines:
                left = x + width - CELL_PAD - font.width(line, size) if right else x + CELL_PAD
                font.draw(self.canvas, left, baseline, line, size)
                baseline -= BODY_LEADING
            x += width

    def _layout(self, table: Table) -> _Layout:
        wanted = self.report.pdf_columns.get(table.name)
        names = [c.name for c in table.columns]
        positions = [names.index(n) for n in wanted if n in names] if wanted else list(range(len(names)))
        columns = [table.columns[p] for p in positions]
        sample = table.frame.head(300).collect()
        weights = []
        for column in columns:
            values = [format_value(v, column.kind) for v in sample[column.name].to_list()]
            longest = sorted(len(v) for v in values)[int(len(values) * 0.9)] if values else 0
            weights.append(min(max(longest, len(column.label) * 0.9, 4), 45))
        scale = (PAGE_WIDTH - 2 * MARGIN) / sum(weights)
        return _Layout(columns, positions, [w * scale for w in weights])


class _CompactCanvas(Canvas):
    """A canvas that compresses each page as soon as it is finished.

    reportlab keeps every finished page's drawing commands as text until ``save()`` and compresses
    them only then (about 21 KB a page here), so memory would grow with the page count. Here the
    page's stream is Flate-compressed at once (about 4 KB), with the same encoding and ``/Filter``
    reportlab itself writes, which tells it not to filter the content again.
    """

    def showPage(self) -> None:
        super().showPage()
        page = self._doc.Pages.pages[-1]
        if page.stream and not page.Contents:
            raw = page.stream.encode("utf8") if isinstance(page.stream, str) else page.stream
            page.Contents = PDFStream(
                PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}), content=zlib.compress(raw)
            )
            page.stream = None


def _rows(table: Table, limit: int) -> Iterator[tuple]:
    frame = table.frame.head(limit)
    for batch in frame.collect_batches(chunk_size=BATCH_ROWS):
        yield from batch.iter_rows()


def _render(
    report: Report, canvas: Canvas | None, total_pages: int, row_cap: int | None, tables: tuple[Table, ...]
) -> _PdfWriter:
    writer = _PdfWriter(report, canvas, total_pages, row_cap)
    writer.new_page()
    writer.title_block()
    for table in tables:
        writer.table(table)
    return writer


def write_pdf(
    report: Report, path: Path, *, row_cap: int | None = None, skipped_tables: tuple[str, ...] = ()
) -> dict[str, int]:
    """Write ``report`` to ``path``; returns the number of rows drawn per table."""
    if row_cap is not None and row_cap < 1:
        raise ValueError("row_cap must be at least 1")
    tables = tuple(t for t in report.tables if t.name not in skipped_tables)
    pages = _render(report, None, 0, row_cap, tables).page
    canvas = _CompactCanvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    canvas.setTitle(report.heading)
    canvas.setAuthor("export-platform")
    canvas.setSubject(f"{report.dataset} {report.tenant} {report.period}")
    writer = _render(report, canvas, pages, row_cap, tables)
    canvas.setKeywords(f"record_count={writer.rows_written[report.main_table.name]}")
    canvas.save()
    return writer.rows_written
