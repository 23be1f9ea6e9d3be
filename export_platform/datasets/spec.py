"""What a dataset is: its columns (one place for names, types and the labels reports print), its key,
and the function that builds it for one partition."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.window import ReportWindow
from export_platform.source.column_types import MONEY, PolarsType

LOCAL_TIME = pl.Datetime("us", "UTC")
"""Placeholder for a timestamp shown in the tenant's timezone; resolved per tenant by ``schema_for``."""
PERCENT = pl.Decimal(18, 2)


class TenantReader(Protocol):
    """Runs a statement with the ``tenant`` parameter (and row-level security) bound to one tenant."""

    def __call__(self, stmt: sa.Select, **params: Any) -> pl.DataFrame: ...


class TenantBatchReader(Protocol):
    """Like ``TenantReader``, but yields the rows a batch at a time."""

    def __call__(self, stmt: sa.Select, **params: Any) -> Iterator[pl.DataFrame]: ...


@dataclass(frozen=True)
class Column:
    name: str
    dtype: PolarsType
    label: str
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    build: Callable[[TenantReader, ReportWindow], pl.DataFrame]
    kind: str  # "period" or "snapshot"
    stream: Callable[[TenantBatchReader, ReportWindow], Iterator[pl.DataFrame]] | None = None
    """For datasets whose rows are computed one by one (no joins or totals across rows): the same rows
    as ``build``, a batch at a time, so the partition is written without ever being held whole."""
    csv_columns: tuple[str, ...] | None = None
    """The columns its CSV and tables list, where a published schema fixes them (the ledger CSVs);
    otherwise every column but the tenant and nested lists."""

    def schema_for(self, timezone: str) -> pl.Schema:
        return pl.Schema({c.name: localise(c.dtype, timezone) for c in self.columns})

    @property
    def labels(self) -> Mapping[str, str]:
        return {c.name: c.label for c in self.columns}

    def compute(self, read: TenantReader, window: ReportWindow) -> pl.DataFrame:
        """The dataset for ``window``, with its declared columns and types."""
        return self.conform(self.build(read, window), window.tenant.timezone)

    def compute_batches(self, read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
        """``compute`` a batch at a time; only for datasets with a ``stream``."""
        if self.stream is None:
            raise ValueError(f"dataset {self.name} is computed whole, not in batches")
        for batch in self.stream(read, window):
            yield self.conform(batch, window.tenant.timezone)

    def conform(self, frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
        """Select the declared columns in order, with their declared types (local times in ``timezone``)."""
        schema = self.schema_for(timezone)
        missing = [name for name in schema if name not in frame.columns]
        if missing:
            raise ValueError(f"dataset {self.name} is missing columns {missing}")
        exprs = []
        for name, dtype in schema.items():
            expr = pl.col(name)
            if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, "UTC"):
                expr = expr.dt.convert_time_zone(dtype.time_zone)
            exprs.append(expr.cast(dtype).alias(name))
        return frame.select(exprs)


def localise(dtype: PolarsType, timezone: str) -> PolarsType:
    """Replace every ``LOCAL_TIME`` placeholder in ``dtype``, nested ones too, by the tenant's zone."""
    if dtype == LOCAL_TIME:
        return pl.Datetime("us", timezone)
    if isinstance(dtype, pl.List):
        return pl.List(localise(dtype.inner, timezone))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({field.name: localise(field.dtype, timezone) for field in dtype.fields})
    return dtype


def tenant_of(table: sa.FromClause) -> sa.ColumnElement[bool]:
    """The tenant filter every query applies to every table it reads."""
    return table.c.tenant_id == sa.bindparam("tenant")


def money(name: str, label: str, description: str = "") -> Column:
    return Column(name, MONEY, label, description)
