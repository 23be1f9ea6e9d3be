"""How far a renderer has got, so a long export can say so while it runs.

A renderer updates a ``Progress`` as it writes (the table it is on, that table's row count when it
knows it, the rows written so far); whoever runs the renderer reads it from another thread and reports
it. Reads of plain attributes are atomic under the GIL, so no lock is needed: a reader sees a slightly
old figure at worst. The CSV writer is one native call, so its row figure moves only when a table is
finished; the file's size, which the reporter reads from the file itself, shows it moving meanwhile.
"""

from __future__ import annotations


class Progress:
    def __init__(self) -> None:
        self.table: str | None = None
        self.table_rows: int | None = None  # rows the current table has, when the renderer knows
        self.rows = 0  # rows of the current table written so far
        self.rows_before = 0  # rows of the tables finished before it

    def start_table(self, name: str, rows: int | None = None) -> None:
        self.rows_before += self.rows
        self.table, self.table_rows, self.rows = name, rows, 0

    def advance(self, rows: int) -> None:
        self.rows += rows

    @property
    def total_rows(self) -> int:
        """Rows written so far, over every table."""
        return self.rows_before + self.rows

    def describe(self) -> str:
        """Where the renderer is, e.g. ``Line Items: 40,000 of 100,000 rows (40%)``."""
        if self.table is None:
            return "starting"
        if self.table_rows is None:
            return f"{self.table}: {self.rows:,} rows"
        share = f" ({self.rows / self.table_rows:.0%})" if self.table_rows else ""
        return f"{self.table}: {self.rows:,} of {self.table_rows:,} rows{share}"
