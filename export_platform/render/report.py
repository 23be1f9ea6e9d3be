"""What a rendered report is, independent of its format: a title, summary figures and tables.

Renderers (CSV, Excel, PDF) take a ``Report`` and a path and know nothing of tenants' storage,
Dagster or the source. How a value is shown follows from its column kind, decided once here from the
Polars type (and a column-name convention for percentages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import polars as pl

from export_platform.render.progress import Progress

if TYPE_CHECKING:
    from export_platform.render.charts import Chart, Tile

BATCH_ROWS = 5_000

# Rows per chunk of Polars' streaming engine while a writer reads its tables. The engine keeps a fixed
# number of chunks in flight ahead of the writer, so the chunk size, not the row count, sets how much
# of a dataset is in memory at once; its default is sized from the schema and the thread pool (75,000
# to 100,000 rows here), and a long file fills more of them than a short one does. See
# ``small_streaming_chunks``.
STREAMING_CHUNK_ROWS = 10_000


def small_streaming_chunks() -> pl.Config:
    """A context in which Polars' streaming engine works in ``STREAMING_CHUNK_ROWS``-row chunks; the
    setting before it is restored on leaving. It is Polars' process-wide setting, which suits a run's
    process: its executor runs one step at a time. Writers run inside it (``render_into``): the CSV writer
    alone on 10M 12-column line items peaked at 460-490 MB with the default chunks and at 250-265 MB
    with these, against 220 MB at 1M."""
    return pl.Config(streaming_chunk_size=STREAMING_CHUNK_ROWS)


class Kind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    IDENTIFIER = "identifier"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


def kind_of(name: str, dtype: pl.DataType) -> Kind:
    if isinstance(dtype, pl.Decimal):
        return Kind.PERCENT if name.endswith("_pct") else Kind.MONEY
    if dtype.is_integer():
        return Kind.IDENTIFIER if name == "id" or name.endswith("_id") else Kind.INTEGER
    if isinstance(dtype, pl.Datetime):
        return Kind.DATETIME
    if dtype == pl.Date:
        return Kind.DATE
    if dtype == pl.Boolean:
        return Kind.BOOLEAN
    return Kind.TEXT


@dataclass(frozen=True)
class TableColumn:
    name: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class Table:
    """One flat table: a sheet in a workbook, a section of a PDF, the body of a CSV."""

    name: str
    columns: tuple[TableColumn, ...]
    frame: pl.LazyFrame

    @classmethod
    def of(cls, name: str, frame: pl.LazyFrame, labels: dict[str, str], columns: list[str]) -> Table:
        schema = frame.collect_schema()
        return cls(
            name,
            tuple(
                TableColumn(c, labels.get(c, c.replace("_", " ").title()), kind_of(c, schema[c]))
                for c in columns
            ),
            frame.select(columns),
        )

    def select(self, names: list[str] | tuple[str, ...]) -> Table:
        """The table with only the columns ``names``, in that order."""
        by_name = {c.name: c for c in self.columns}
        return Table(self.name, tuple(by_name[n] for n in names), self.frame.select(names))

    def row_count(self) -> int:
        return self.frame.select(pl.len()).collect().item()

    def rows(self, limit: int | None = None, progress: Progress | None = None) -> Iterator[tuple]:
        """The table's rows in order, as tuples, a batch at a time.

        Polars' streaming engine produces the batches and decodes ahead of a slow consumer, up to a
        bound of its own: the PDF writer (8,000 rows/s) peaked at 133 / 188 / 251 / 251 MB for 100k /
        500k / 1M / 2M rows, flat from 1M on. Feeding the engine through a bounded queue
        (``sink_batches``) or reading with pyarrow's ``iter_batches`` instead peaked the same.
        """
        frame = self.frame if limit is None else self.frame.head(limit)
        for batch in frame.collect_batches(chunk_size=BATCH_ROWS):
            yield from batch.iter_rows()
            if progress is not None:
                progress.advance(batch.height)


SummaryValue = str | int | Decimal | dt.date | dt.datetime | None


@dataclass(frozen=True)
class CompleteFiles:
    """Where every row of a report is, for a PDF that leaves rows out (its page budget or row cap):
    the file names of the same export's CSV (the main table) and workbook (every table), each None
    when there is no such file; with neither, the PDF says which formats to ask for instead."""

    csv: str | None = None
    workbook: str | None = None


@dataclass(frozen=True)
class SummaryItem:
    label: str
    value: SummaryValue
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Report:
    dataset: str
    title: str
    tenant: str
    tenant_name: str
    period: str
    timezone: str
    currency: str
    summary: tuple[SummaryItem, ...]
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...] = ()
    tiles: tuple[Tile, ...] = ()  # the overview's headline figures, with their comparisons
    pdf_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    complete_files: CompleteFiles = CompleteFiles()

    @property
    def heading(self) -> str:
        return f"{self.title} — {self.tenant_name} ({self.tenant}) — {self.period}"

    @property
    def main_table(self) -> Table:
        return self.tables[0]

    def pdf_column_positions(self, table: Table) -> list[int]:
        """Which of ``table``'s columns a landscape PDF page draws, by position, in the order drawn."""
        wanted = self.pdf_columns.get(table.name)
        names = [c.name for c in table.columns]
        return [names.index(n) for n in wanted if n in names] if wanted else list(range(len(names)))


NO_ROWS = "No rows for this period."
