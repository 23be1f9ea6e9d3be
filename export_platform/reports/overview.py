"""A dataset's overview: its headline figures (KPIs) compared with the previous month and the same
month a year earlier, and the charts that fit its data (``overview_charts``).

Comparisons read only the partitions that exist; where one does not, the comparison says so ("no
data") and carries no figure, never a guess. The change rule, written once here:

- a money or count KPI changes by ``(current - earlier) / |earlier| x 100`` percent, worked out
  exactly and rounded once, half away from zero, to two decimals; there is no percentage where the
  earlier figure is 0 or either figure is missing;
- a percentage KPI (the sales margin) changes by ``current - earlier`` percentage points, exactly.

Pure functions of frames: the caller reads the earlier partitions (``storage.earlier_partitions``).
A report shows the overview as tiles (``report_overview``), each comparison worded on one line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import polars as pl

from export_platform.datasets.exact import round_half_away
from export_platform.datasets.headlines import HEADLINES, Figure, Headlines, headlines
from export_platform.render.charts import Tile
from export_platform.render.report import Kind
from export_platform.reports.overview_charts import CHARTS, Chart, Frames
from export_platform.source.schema import ACCOUNT_TYPES

NO_DATA = "no data"
NOT_APPLICABLE = "n/a"

# Each headline figure's label and kind, in the order the overview shows them.
KPIS: dict[str, tuple[str, Kind]] = {
    "revenue": ("Revenue", Kind.MONEY),
    "profit": ("Profit", Kind.MONEY),
    "margin_pct": ("Margin %", Kind.PERCENT),
    "completed_sales": ("Completed sales", Kind.INTEGER),
    "outstanding": ("Outstanding", Kind.MONEY),
    "overdue": ("Overdue (over 30 days)", Kind.MONEY),
    "customers_with_balance": ("Customers with a balance", Kind.INTEGER),
    "over_limit": ("Over credit limit", Kind.INTEGER),
    "stock_value": ("Stock value at cost", Kind.MONEY),
    "retail_value": ("Stock value at retail", Kind.MONEY),
    "items_to_reorder": ("Items low or out of stock", Kind.INTEGER),
    "events": ("Events", Kind.INTEGER),
    "active_users": ("Active users", Kind.INTEGER),
    "open_balance": ("Open balance", Kind.MONEY),
    "overdue_balance": ("Overdue balance", Kind.MONEY),
    "paid_invoices": ("Paid invoices", Kind.INTEGER),
    **{kind: (kind.title(), Kind.MONEY) for kind in ACCOUNT_TYPES},
}


@dataclass(frozen=True)
class Comparison:
    """The KPI in an earlier month: ``available`` False when that partition does not exist (then
    ``value`` and ``change`` are None); ``change`` in percent, or in points for a percentage KPI."""

    month: str
    available: bool
    value: Figure
    change: Decimal | None

    @property
    def change_text(self) -> str:
        """``+12.50`` / ``-3.10``; "no data" without the earlier partition; "n/a" where the rule gives
        no change (an earlier figure of 0, a margin without revenue)."""
        if not self.available:
            return NO_DATA
        return NOT_APPLICABLE if self.change is None else f"{self.change:+}"


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    kind: Kind
    value: Figure
    month_ago: Comparison
    year_ago: Comparison


@dataclass(frozen=True)
class Overview:
    dataset: str
    month: str
    kpis: tuple[Kpi, ...]
    charts: tuple[Chart, ...]


def months_compared(month: str) -> tuple[str, str]:
    """The previous month and the same month a year earlier, as ``YYYY-MM``."""
    first = dt.date.fromisoformat(f"{month}-01")
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return previous.strftime("%Y-%m"), first.replace(year=first.year - 1).strftime("%Y-%m")


def has_overview(dataset: str) -> bool:
    return dataset in CHARTS


def compares_months(dataset: str) -> bool:
    """Whether the dataset's overview has headline figures to compare with earlier months (bills have
    charts alone)."""
    return dataset in HEADLINES


def change(kind: Kind, current: Figure, earlier: Figure) -> Decimal | None:
    """The change from ``earlier`` to ``current`` by the module docstring's rule."""
    if current is None or earlier is None:
        return None
    if kind is Kind.PERCENT:
        return Decimal(current) - Decimal(earlier)
    if earlier == 0:
        return None
    return round_half_away((Fraction(current) - Fraction(earlier)) * 100 / abs(Fraction(earlier)))


def _compare(kind: Kind, current: Figure, month: str, earlier: Headlines | None, name: str) -> Comparison:
    if earlier is None:
        return Comparison(month, False, None, None)
    return Comparison(month, True, earlier[name], change(kind, current, earlier[name]))


def build_overview(
    dataset: str,
    frames: Frames,
    month: str,
    month_ago: pl.LazyFrame | None,
    year_ago: pl.LazyFrame | None,
) -> Overview:
    """The overview of ``dataset``'s ``month`` from its ``frames`` (those its report reads), with its
    own partition of the previous month and of a year earlier where they exist (None: not stored)."""
    current = headlines(dataset, frames[dataset])
    earlier = [None if frame is None else headlines(dataset, frame) for frame in (month_ago, year_ago)]
    previous, last_year = months_compared(month)
    kpis = tuple(
        Kpi(
            name,
            KPIS[name][0],
            KPIS[name][1],
            value,
            _compare(KPIS[name][1], value, previous, earlier[0], name),
            _compare(KPIS[name][1], value, last_year, earlier[1], name),
        )
        for name, value in current.items()
    )
    return Overview(dataset, month, kpis, CHARTS[dataset](frames, month))


Earlier = tuple[pl.LazyFrame | None, pl.LazyFrame | None]
"""The dataset's partitions of the previous month and of the same month a year earlier (None: not
stored), in that order."""
NOT_COMPARED: Earlier = (None, None)


def comparison_line(comparison: Comparison, kind: Kind) -> str:
    """One comparison as a tile words it: ``vs 2026-09: +12.50%`` (points for a percentage KPI),
    ``vs 2025-10: no data``, ``vs 2026-09: n/a``."""
    unit = " pts" if kind is Kind.PERCENT else "%"
    text = comparison.change_text
    return f"vs {comparison.month}: {text}{unit if comparison.change is not None else ''}"


def tiles(overview: Overview) -> tuple[Tile, ...]:
    return tuple(
        Tile(
            kpi.label,
            kpi.value,
            kpi.kind,
            (comparison_line(kpi.month_ago, kpi.kind), comparison_line(kpi.year_ago, kpi.kind)),
        )
        for kpi in overview.kpis
    )


def report_overview(
    dataset: str, frames: Frames, period: str, earlier: Earlier = NOT_COMPARED
) -> tuple[tuple[Tile, ...], tuple[Chart, ...]]:
    """The tiles and charts a report of ``dataset``'s ``period`` shows. A month is compared with the
    ``earlier`` partitions; an ad-hoc run of days (``2026-10-01 to 2026-10-15``) is a period no stored
    partition matches, so its tiles carry the figures alone."""
    if " to " in period:
        figures = headlines(dataset, frames[dataset])
        return (
            tuple(Tile(KPIS[name][0], value, KPIS[name][1]) for name, value in figures.items()),
            CHARTS[dataset](frames, period),
        )
    overview = build_overview(dataset, frames, period, *earlier)
    return tiles(overview), overview.charts
