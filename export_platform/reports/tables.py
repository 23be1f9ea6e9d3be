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


def choose_columns(dataset: str, wanted: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The names of the columns ``wanted`` picks from ``dataset``'s flat table, in the order given: each
    by its name or its label (a label in any letter case). Raises ``ValueError`` naming any unknown or
    repeated one and listing the valid ones, as ``label (name)``."""
    labels = DATASETS_BY_NAME[dataset].labels
    names = export_columns(dataset)
    by_key = {name.casefold(): name for name in names} | {labels[name].casefold(): name for name in names}
    chosen = [by_key.get(text.strip().casefold()) for text in wanted]
    unknown = [text for text, name in zip(wanted, chosen, strict=True) if name is None]
    if unknown:
        valid = ", ".join(f"{labels[name]} ({name})" for name in names)
        raise ValueError(
            f"columns: {dataset} has no column {', '.join(map(repr, unknown))}; choose from {valid}"
        )
    repeated = sorted({labels[n] for n in chosen if n is not None and chosen.count(n) > 1})
    if repeated:
        raise ValueError(f"columns: {', '.join(map(repr, repeated))} chosen more than once")
    return tuple(name for name in chosen if name is not None)


@dataclass(frozen=True)
class ReportOptions:
    """What a request may change in what a report lists: ``include_inactive`` is the seed's accounts
    option (off by default, as in the monthly exports; the ad-hoc job takes it from its request);
    ``columns`` the dataset's own table's columns by name, in order (empty: all, as the spec lists
    them), from ``choose_columns``. Only that table changes: a workbook's other sheets stay whole."""

    include_inactive: bool = False
    columns: tuple[str, ...] = ()


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
