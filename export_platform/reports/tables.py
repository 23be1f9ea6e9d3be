"""The pieces every report is built from: the dataset's own table with the columns its exports list,
the options a request may set, and summary items of money and counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.accounts import exported_accounts
from export_platform.render.report import Kind, SummaryItem, Table

Frames = dict[str, pl.LazyFrame]
Sections = tuple[tuple[SummaryItem, ...], tuple[Table, ...]]
"""A report's summary items and its tables, in order."""


@dataclass(frozen=True)
class TenantInfo:
    slug: str
    name: str
    timezone: str
    currency: str


def export_columns(dataset: str) -> list[str]:
    """The flat columns a CSV of ``dataset`` carries: the spec's ``csv_columns`` where it fixes them,
    otherwise everything but the tenant and nested lists."""
    spec = DATASETS_BY_NAME[dataset]
    if spec.csv_columns is not None:
        return list(spec.csv_columns)
    return [c.name for c in spec.columns if c.name != "tenant_id" and not isinstance(c.dtype, pl.List)]


@dataclass(frozen=True)
class ReportOptions:
    """What a request may change in what a report lists: ``include_inactive`` is the seed's accounts
    option (off by default, as in the monthly exports; the ad-hoc job takes it from its request)."""

    include_inactive: bool = False


DEFAULT_OPTIONS = ReportOptions()
# The rows of a dataset that its exports list unless ``include_inactive`` is set.
EXPORTED_ROWS: dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]] = {"accounts": exported_accounts}


def dataset_table(
    dataset: str, frame: pl.LazyFrame, name: str | None = None, options: ReportOptions = DEFAULT_OPTIONS
) -> Table:
    spec = DATASETS_BY_NAME[dataset]
    rows = frame if options.include_inactive else EXPORTED_ROWS.get(dataset, lambda every: every)(frame)
    return Table.of(name or spec.title, rows, dict(spec.labels), export_columns(dataset))


def one_row(frame: pl.LazyFrame, *exprs: pl.Expr) -> dict[str, Any]:
    return frame.select(*exprs).collect().row(0, named=True)


def money(label: str, value: Any) -> SummaryItem:
    return SummaryItem(label, value, Kind.MONEY)


def count(label: str, value: Any) -> SummaryItem:
    return SummaryItem(label, value, Kind.INTEGER)
