"""A tenant's export statistics: how many attempts, in which status, how many bytes and rows, overall,
by dataset, by format and per period (a UTC day or month of ``created_at``).

The success rate is the succeeded attempts (``success`` or ``emailed``) over the finished ones (those
and ``failed``), as a percentage with two decimals rounded once, half away from zero, by the rule every
ratio of the platform follows (``datasets.exact.percent``). Pending and processing attempts are
counted but not rated; with nothing finished there is no rate (None), rather than a made-up 0 or 100.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from export_platform.datasets.exact import percent
from export_platform.tracking.history_reads import HistoryFilter
from export_platform.tracking.schema import export_history

PERIODS = ("day", "month")
SUCCEEDED = ("success", "emailed")


@dataclass
class Tally:
    """The counts of one group of attempts."""

    by_status: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    records: int = 0

    def add(self, status: str, attempts: int, size: int, records: int) -> None:
        self.by_status[status] += attempts
        self.bytes += size
        self.records += records

    @property
    def attempts(self) -> int:
        return sum(self.by_status.values())

    @property
    def succeeded(self) -> int:
        return sum(self.by_status[s] for s in SUCCEEDED)

    @property
    def failed(self) -> int:
        return self.by_status["failed"]

    @property
    def success_rate_percent(self) -> Decimal | None:
        return percent(Decimal(self.succeeded), Decimal(self.succeeded + self.failed))


@dataclass
class ExportStatistics:
    total: Tally = field(default_factory=Tally)
    by_dataset: dict[str, Tally] = field(default_factory=dict)
    by_format: dict[str, Tally] = field(default_factory=dict)
    by_period: dict[str, Tally] = field(default_factory=dict)


def _period(engine: sa.Engine, period: str) -> sa.ColumnElement[str]:
    """``created_at`` cut to its UTC day (``YYYY-MM-DD``) or month (``YYYY-MM``)."""
    created = export_history.c.created_at
    if engine.dialect.name == "postgresql":
        return sa.func.to_char(
            sa.func.timezone("UTC", created), "YYYY-MM-DD" if period == "day" else "YYYY-MM"
        )
    # SQLite keeps the UTC timestamp as ISO text, "2026-10-05 12:00:00.000000".
    return sa.func.substr(created, 1, 10 if period == "day" else 7)


def export_statistics(engine: sa.Engine, tenant: str, where: HistoryFilter, period: str) -> ExportStatistics:
    """``tenant``'s statistics over the rows matching ``where``, periods being UTC ``day``s or ``month``s;
    groups come in order (datasets, formats and periods sorted)."""
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}")
    h = export_history
    when = _period(engine, period).label("period")
    stmt = (
        sa.select(
            when,
            h.c.dataset,
            h.c.format,
            h.c.status,
            sa.func.count().label("attempts"),
            sa.func.coalesce(sa.func.sum(h.c.file_size_bytes), 0).label("bytes"),
            sa.func.coalesce(sa.func.sum(h.c.record_count), 0).label("records"),
        )
        .where(*where.conditions(tenant))
        .group_by(when, h.c.dataset, h.c.format, h.c.status)
    )
    statistics = ExportStatistics()
    with engine.connect() as conn:
        groups = conn.execute(stmt).all()
    for row in sorted(groups, key=lambda r: (r.period, r.dataset, r.format, r.status)):
        counts = (row.status, int(row.attempts), int(row.bytes), int(row.records))
        statistics.total.add(*counts)
        statistics.by_dataset.setdefault(row.dataset, Tally()).add(*counts)
        statistics.by_format.setdefault(row.format, Tally()).add(*counts)
        statistics.by_period.setdefault(row.period, Tally()).add(*counts)
    statistics.by_dataset = dict(sorted(statistics.by_dataset.items()))
    statistics.by_format = dict(sorted(statistics.by_format.items()))
    return statistics
