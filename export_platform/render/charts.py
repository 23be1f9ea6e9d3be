"""What a chart is, whatever draws it: a title, a style (``line`` over a month's days, ``bar`` over
categories), its categories and one or more series of exact values over them, and the kind of those
values (money or counts); and what a KPI tile is: a headline figure with its comparisons, worded.
Reports decide the charts and tiles; writers draw them and compute nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from export_platform.render.report import Kind

ChartValue = int | Decimal | None
NO_CHART_DATA = "No data for this period."
OVERVIEW_HEADING = "Overview"  # the Summary sheet's block of headline figures and their changes


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[ChartValue, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    style: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    kind: Kind

    @property
    def is_empty(self) -> bool:
        """No categories at all (a top 10 of an empty month): drawn as a note, not an empty plot."""
        return not self.categories


@dataclass(frozen=True)
class Tile:
    """A headline figure as an overview shows it: its label, its value (None: none this period, such
    as a margin without revenue) and kind, and one line per comparison with an earlier month, worded
    by the report ("+12.50% vs 2026-09", "2025-10: no data")."""

    label: str
    value: ChartValue
    kind: Kind
    changes: tuple[str, ...] = ()
