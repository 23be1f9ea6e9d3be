"""The note that ends a PDF report which left rows out, worded in one place for the writer that draws
it and the read-back check that reads it, and the page budget that usually causes it.

Kept apart from ``render.pdf`` so that reading a report back does not load reportlab and its fonts.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_PAGE_BUDGET = 2_000
"""Pages a PDF report may have unless asked otherwise: about 80,000 one-line rows, more than anyone
reads; the CSV and the workbook hold every row."""

NOTE_TITLE = "Rows left out of this report"


def table_line(name: str, shown: int, total: int) -> str:
    """The note's line for one table."""
    return f"{name}: {shown:,} of {total:,} rows shown, {total - shown:,} left out."


def total_line(left_out: int, reasons: str) -> str:
    return f"{left_out:,} rows were left out of this report ({reasons})."


class StatedFigures(NamedTuple):
    """What a note states: the rows left out over all tables, and the main table's shown and total."""

    rows_left_out: int
    rows_in_pdf: int
    record_count: int


_NUMBER = r"([0-9][0-9,]*)"
_TOTAL = re.compile(rf"{_NUMBER} rows were left out of this report")


def stated_figures(page_text: str, main_table: str) -> StatedFigures | None:
    """The figures the note on a page (its extracted text) states, None when the page has no note or
    the note does not say them as ``table_line`` and ``total_line`` word them."""
    if NOTE_TITLE not in page_text:
        return None
    note = page_text[page_text.rindex(NOTE_TITLE) :]
    total = _TOTAL.search(note)
    main = re.search(
        rf"(?m)^\s*{re.escape(main_table)}: {_NUMBER} of {_NUMBER} rows shown, {_NUMBER} left out\.", note
    )
    if total is None or main is None:
        return None
    shown, count, left = (int(group.replace(",", "")) for group in main.groups())
    if count - shown != left:
        return None
    return StatedFigures(int(total.group(1).replace(",", "")), shown, count)
