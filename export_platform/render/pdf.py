"""PDF reports: landscape pages with a title, the summary figures, then each table in full, its header
repeated on every page and "Page X of Y" in the footer. A report with an overview (KPI tiles, charts)
starts with an overview page (``pdf_overview``); it is a page like the others, in the count and the
page budget.

Drawn with reportlab's canvas in one pass, page by page, and written to the file page by page:
rows stream from the frame in batches, each finished page goes to the file at once (see
``reportlab_internals.StreamingCanvas``), and the total page count, unknown until the end, is a form
XObject that every footer refers to and that is filled in last. What memory grows with is a
cross-reference entry per page, a few hundred bytes.

Text is drawn with embedded fonts shipped in the package (DejaVu Sans Condensed for Latin, Greek,
Cyrillic, Armenian, Georgian, Hebrew and Arabic; Droid Sans Fallback for CJK; NanumGothic for Hangul),
chosen per character; a character none of them has is drawn as a box. Text wraps within its column; a
single cell longer than ``MAX_CELL_LINES`` lines ends with a mark saying how much was left out, so one
row always fits on a page. Control characters are drawn as spaces and lone surrogates as U+FFFD.
Right-to-left text is drawn as it is read (``bidi_text``): Arabic letters joined in the forms they take
within a word, with only the ligatures the fonts have, then each line put in display order by the
Unicode bidirectional algorithm, brackets mirrored in right-to-left runs; wrapping measures the joined
forms.
An optional row cap limits each table, and the report says how many rows it left out.

A page budget (``DEFAULT_PAGE_BUDGET`` pages unless asked otherwise, 0 for none) keeps a report one a
person can read: the summary and the tables are drawn until the budget's last page is full, and that
page ends with a note saying how many rows of each table were left out and which files hold them all
(``Report.complete_files``). Room for the note is kept on the budget's last page only, so the file has
exactly the budget's pages and "Page X of Y" still counts every one. The file's keywords carry
``record_count`` (the main table's rows), ``rows_in_pdf`` (those drawn) and ``rows_left_out`` (over all
tables), which the read-back check compares with the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4, landscape

from export_platform.render.pdf_note import DEFAULT_PAGE_BUDGET, NOTE_TITLE, table_line, total_line
from export_platform.render.pdf_overview import Box, draw_overview, has_overview_page
from export_platform.render.pdf_text import (
    BOLD_FONTS,
    FONT_DIR,
    MAX_CELL_LINES,
    REGULAR_FONTS,
    FontSet,
    arabic_joiner,
    display_line,
    fonts,
    format_value,
    wrap,
)
from export_platform.render.progress import Progress
from export_platform.render.report import NO_ROWS, Kind, Report, SummaryItem, Table, TableColumn
from export_platform.render.reportlab_internals import StreamingCanvas

__all__ = [
    "BOLD_FONTS",
    "FONT_DIR",
    "MAX_CELL_LINES",
    "REGULAR_FONTS",
    "PdfWritten",
    "arabic_joiner",
    "display_line",
    "fonts",
    "wrap",
    "write_pdf",
]


PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28.0
BODY_SIZE, BODY_LEADING = 6.5, 8.0
HEADER_SIZE = 6.8
FOOTER_SIZE = 7.0
CELL_PAD = 2.0
HEADER_COLOR = HexColor("#2C3E50")
STRIPE_COLOR = HexColor("#F2F4F6")
RULE_COLOR = HexColor("#BDC3C7")
TOP = PAGE_HEIGHT - MARGIN - 14  # below the running head
BOTTOM = MARGIN + 14  # above the footer
PAGE_COUNT_FORM = "EP-PageCount"
NUMERIC_KINDS = (Kind.MONEY, Kind.PERCENT, Kind.INTEGER)
NOTE_SLACK = 16.0  # a block may end a few points below the line it checked against (its gap)


@dataclass(frozen=True)
class PdfWritten:
    """What a PDF holds: the rows drawn and the rows there are, per table drawn, and its pages."""

    rows: dict[str, int]
    row_counts: dict[str, int]
    pages: int

    @property
    def rows_left_out(self) -> int:
        return sum(count - self.rows[name] for name, count in self.row_counts.items())


class _BudgetSpent(Exception):
    """A page past the page budget was asked for: the report ends on the page it is on."""


@dataclass(frozen=True)
class _Layout:
    columns: list[TableColumn]
    widths: list[float]
    right_aligned: list[bool]

    @property
    def width(self) -> float:
        return sum(self.widths)


class _PdfWriter:
    """Lays out and draws the report onto a canvas, page by page."""

    def __init__(
        self,
        report: Report,
        tables: tuple[Table, ...],
        canvas: StreamingCanvas,
        row_cap: int | None,
        page_budget: int,
        progress: Progress,
    ) -> None:
        self.report, self.tables, self.canvas, self.progress = report, tables, canvas, progress
        self.row_cap, self.page_budget = row_cap, page_budget
        self.heading = display_line(report.heading)  # the running head of every page
        self.regular, self.bold = fonts()
        self.page = 0
        self.y = TOP
        self.floor = BOTTOM  # what is drawn on a page stays above this
        self.budget_spent = False
        self.rows_written: dict[str, int] = {}
        self.row_counts: dict[str, int] = {}
        # The note at its longest (every figure nine digits), kept free on the budget's last page.
        longest = self._note({t.name: 0 for t in tables}, {t.name: 999_999_999 for t in tables}, True)
        self.note_room = self._height(longest) + NOTE_SLACK
        self.footer_x = PAGE_WIDTH - MARGIN - self.regular.width("Page 8,888,888 of 8,888,888", FOOTER_SIZE)

    # -- pages ------------------------------------------------------------------------------------

    def new_page(self) -> None:
        if self.page_budget and self.page >= self.page_budget:
            raise _BudgetSpent
        canvas = self.canvas
        if self.page:
            canvas.showPage()
        self.page += 1
        self.y = TOP
        self.floor = BOTTOM + self.note_room if self.page == self.page_budget else BOTTOM
        self.regular.draw(canvas, MARGIN, PAGE_HEIGHT - MARGIN, self.heading, FOOTER_SIZE)
        footer = f"Page {self.page:,} of "
        self.regular.draw(canvas, self.footer_x, MARGIN, footer, FOOTER_SIZE)
        canvas.saveState()
        canvas.translate(self.footer_x + self.regular.width(footer, FOOTER_SIZE), MARGIN)
        canvas.doForm(PAGE_COUNT_FORM)
        canvas.restoreState()
        self.regular.draw(
            canvas,
            MARGIN,
            MARGIN,
            f"Times in {self.report.timezone}; amounts in {self.report.currency}",
            FOOTER_SIZE,
        )

    def finish(self) -> None:
        """Fill in the page-count form that every footer refers to, now that the count is known."""
        self.canvas.showPage()
        count = self.canvas.beginText()
        self.regular.write(count, 0, 0, f"{self.page:,}", FOOTER_SIZE)
        self.canvas.set_page_count(count)

    def text(self, text: str, size: float, bold: bool = False, gap: float = 2.0) -> None:
        font = self.bold if bold else self.regular
        for line in wrap(text, PAGE_WIDTH - 2 * MARGIN, size, font):
            if self.y - size < self.floor:
                self.new_page()
            self.y -= size + gap
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
            if self.y - 11 < self.floor:
                self.new_page()
            self.y -= 11
            for offset, item in enumerate(items[start : start + per_row]):
                x = MARGIN + offset * cell_width
                value = display_line(format_value(item.value, item.kind) or "–")
                self.regular.draw(self.canvas, x, self.y, f"{item.label}:", 7.5)
                self.bold.draw(self.canvas, x + cell_width * 0.62, self.y, value, 7.5)
        self.y -= 8

    # -- tables -----------------------------------------------------------------------------------

    def tables_within_budget(self) -> None:
        """Every table, until the page budget is spent; a table not reached counts as left out."""
        try:
            for table in self.tables:
                self.table(table)
        except _BudgetSpent:
            self.budget_spent = True
            for table in self.tables:
                if table.name not in self.row_counts:
                    self.row_counts[table.name] = table.row_count()
                    self.rows_written[table.name] = 0

    def table(self, table: Table) -> None:
        layout = self._layout(table)
        total = table.row_count()
        self.row_counts[table.name], self.rows_written[table.name] = total, 0
        shown = total if self.row_cap is None else min(total, self.row_cap)
        self.progress.start_table(table.name, shown)
        if self.y - 60 < self.floor:
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
        self.header(layout)
        if total == 0:
            self.text(NO_ROWS, 8)
            return
        written = 0
        regular, column_widths = self.regular, [w - 2 * CELL_PAD for w in layout.widths]
        # Only the columns drawn are read: the others (the sales table has 22 columns, 11 drawn) would
        # be decoded into Python values, datetimes and decimals among them, for nothing.
        drawn = table.select([c.name for c in layout.columns])
        try:
            for row in drawn.rows(shown, self.progress):
                cells = [
                    wrap(format_value(value, c.kind), w, BODY_SIZE, regular)
                    for value, c, w in zip(row, layout.columns, column_widths, strict=True)
                ]
                height = max(len(lines) for lines in cells) * BODY_LEADING + 2 * CELL_PAD
                if self.y - height < self.floor:
                    self.new_page()
                    self.text(f"{table.name} (continued)", 8, bold=True)
                    self.header(layout)
                self.row(layout, cells, height, striped=written % 2 == 1)
                written += 1
        finally:
            self.rows_written[table.name] = written

    def header(self, layout: _Layout) -> None:
        cells = [
            wrap(c.label, w - 2 * CELL_PAD, HEADER_SIZE, self.bold)
            for c, w in zip(layout.columns, layout.widths, strict=True)
        ]
        height = max(len(lines) for lines in cells) * BODY_LEADING + 2 * CELL_PAD
        if self.y - height - BODY_LEADING * 2 < self.floor:
            self.new_page()
        canvas = self.canvas
        canvas.setFillColor(HEADER_COLOR)
        canvas.rect(MARGIN, self.y - height, layout.width, height, stroke=0, fill=1)
        canvas.setFillColor(white)
        self._cells(layout, cells, HEADER_SIZE, self.bold, [False] * len(cells))
        canvas.setFillColorRGB(0, 0, 0)
        self.y -= height

    def row(self, layout: _Layout, cells: list[list[str]], height: float, striped: bool) -> None:
        canvas = self.canvas
        if striped:
            canvas.setFillColor(STRIPE_COLOR)
            canvas.rect(MARGIN, self.y - height, layout.width, height, stroke=0, fill=1)
            canvas.setFillColorRGB(0, 0, 0)
        canvas.setStrokeColor(RULE_COLOR)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, self.y - height, MARGIN + layout.width, self.y - height)
        self._cells(layout, cells, BODY_SIZE, self.regular, layout.right_aligned)
        self.y -= height

    def _cells(
        self, layout: _Layout, cells: list[list[str]], size: float, font: FontSet, right_aligned: list[bool]
    ) -> None:
        """Draw a row's cells as one text object: one BT/ET block instead of one per cell."""
        lines = self.canvas.beginText()
        x = MARGIN
        first_baseline = self.y - CELL_PAD - size
        for width, right, cell in zip(layout.widths, right_aligned, cells, strict=True):
            baseline = first_baseline
            for line in cell:
                if line:
                    left = x + width - CELL_PAD - font.width(line, size) if right else x + CELL_PAD
                    font.write(lines, left, baseline, line, size)
                baseline -= BODY_LEADING
            x += width
        self.canvas.drawText(lines)

    # -- the note on rows left out ----------------------------------------------------------------

    def note(self) -> None:
        """End the report with the note, if a table was cut short: on the budget's last page, in the
        room kept for it, or on the page the tables ended on (a new one if it is full)."""
        if all(self.rows_written[n] == count for n, count in self.row_counts.items()):
            return
        lines = self._note(self.rows_written, self.row_counts, self.budget_spent)
        if self.y - self._height(lines) < BOTTOM:  # never on the budget's last page: room was kept there
            self.new_page()
        self.floor = BOTTOM
        self.y -= 8
        for text, size, bold, gap in lines:
            self.text(text, size, bold=bold, gap=gap)

    def _note(
        self, shown: dict[str, int], totals: dict[str, int], budget_spent: bool
    ) -> list[tuple[str, float, bool, float]]:
        reasons = []
        if budget_spent:
            reasons.append(f"page budget {self.page_budget:,} pages")
        if self.row_cap is not None and any(count > self.row_cap for count in totals.values()):
            reasons.append(f"row cap {self.row_cap:,} rows per table")
        left_out = sum(count - shown[name] for name, count in totals.items())
        return [
            (NOTE_TITLE, 11, True, 4),
            (total_line(left_out, "; ".join(reasons) or "row cap"), 8, False, 3),
            *((table_line(name, shown[name], count), 8, False, 3) for name, count in totals.items()),
            (self._where_every_row_is(), 8, False, 3),
        ]

    def _where_every_row_is(self) -> str:
        files, main = self.report.complete_files, self.report.main_table.name
        if files.workbook and files.csv:
            return (
                f"Every row is in {files.workbook} (every table) and in {files.csv} (the {main} table), "
                "exported with this report."
            )
        if files.workbook:
            return f"Every row is in {files.workbook} (every table), exported with this report."
        if files.csv:
            return (
                f"Every row of the {main} table is in {files.csv}, exported with this report; "
                "ask for this export as xlsx for every table."
            )
        return f"For every row, ask for this export as csv (the {main} table) or xlsx (every table)."

    def _height(self, lines: list[tuple[str, float, bool, float]]) -> float:
        width = PAGE_WIDTH - 2 * MARGIN
        return 8 + sum(
            len(wrap(text, width, size, self.bold if bold else self.regular)) * (size + gap)
            for text, size, bold, gap in lines
        )

    def _layout(self, table: Table) -> _Layout:
        positions = self.report.pdf_column_positions(table)
        columns = [table.columns[p] for p in positions]
        sample = table.frame.head(300).collect()
        weights = []
        for column in columns:
            values = [format_value(v, column.kind) for v in sample[column.name].to_list()]
            longest = sorted(len(v) for v in values)[int(len(values) * 0.9)] if values else 0
            weights.append(min(max(longest, len(column.label) * 0.9, 4), 45))
        scale = (PAGE_WIDTH - 2 * MARGIN) / sum(weights)
        return _Layout(columns, [w * scale for w in weights], [c.kind in NUMERIC_KINDS for c in columns])


def write_pdf(
    report: Report,
    path: Path,
    *,
    row_cap: int | None = None,
    page_budget: int = DEFAULT_PAGE_BUDGET,
    skipped_tables: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> PdfWritten:
    """Write ``report`` to ``path`` in at most ``page_budget`` pages (0: as many as it takes); returns
    the rows drawn and the rows there are per table, and the page count."""
    if row_cap is not None and row_cap < 1:
        raise ValueError("row_cap must be at least 1")
    if page_budget < 0:
        raise ValueError("page_budget must be 0 (no budget) or more")
    tables = tuple(t for t in report.tables if t.name not in skipped_tables)
    with path.open("wb") as target:
        canvas = StreamingCanvas(
            target,
            page_count_form=PAGE_COUNT_FORM,
            page_count_box=(0, -3, 80, FOOTER_SIZE + 2),
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            invariant=1,
            pageCompression=1,
        )
        canvas.setTitle(report.heading)
        canvas.setAuthor("export-platform")
        canvas.setSubject(f"{report.dataset} {report.tenant} {report.period}")
        writer = _PdfWriter(report, tables, canvas, row_cap, page_budget, progress or Progress())
        writer.new_page()
        if has_overview_page(report, page_budget):
            box = Box(MARGIN, BOTTOM, PAGE_WIDTH - 2 * MARGIN, TOP - BOTTOM)
            draw_overview(canvas, report, box, writer.regular, writer.bold)
            writer.new_page()
        try:
            writer.title_block()
        except _BudgetSpent:  # a summary longer than the budget: no room for any table
            writer.budget_spent = True
            writer.row_counts = {t.name: t.row_count() for t in tables}
            writer.rows_written = dict.fromkeys(writer.row_counts, 0)
        else:
            writer.tables_within_budget()
        writer.note()
        writer.finish()
        written = PdfWritten(writer.rows_written, writer.row_counts, writer.page)
        main = report.main_table.name
        canvas.setKeywords(
            f"record_count={written.row_counts[main]} rows_in_pdf={written.rows[main]} "
            f"rows_left_out={written.rows_left_out}"
        )
        canvas.save_streamed()
    return written
