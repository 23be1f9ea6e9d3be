"""The source database as a Dagster resource: the reads a run makes for one tenant, all seeing one
snapshot, scoped to the tenant by row-level security."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from export_platform.datasets.window import ReportWindow, Tenant
from export_platform.errors import UnknownTenant
from export_platform.source import schema
from export_platform.source.reads import read_batches, read_frame
from export_platform.source.snapshot import exported_snapshot
from export_platform.source.url import SourceUrl


@dataclass(frozen=True)
class TenantReads:
    """One tenant's reads of the source, scoped to it by the ``:tenant`` parameter and row-level
    security; with a ``snapshot`` (``SourceDatabase.tenant_reads``) all of them see one moment."""

    url: SourceUrl
    tenant: str
    snapshot: str | None = None

    def read(self, stmt: sa.Select, **params: Any) -> pl.DataFrame:
        """Run a statement for this tenant: what dataset builders take as their ``TenantReader``."""
        return read_frame(
            self.url, stmt, {"tenant": self.tenant, **params}, tenant=self.tenant, snapshot=self.snapshot
        )

    def read_batches(self, stmt: sa.Select, **params: Any) -> Iterator[pl.DataFrame]:
        """``read`` a batch at a time, with memory that does not grow with the row count."""
        return read_batches(
            self.url, stmt, {"tenant": self.tenant, **params}, tenant=self.tenant, snapshot=self.snapshot
        )

    def tenant_row(self) -> Tenant:
        t = schema.tenants
        rows = self.read(sa.select(t).where(t.c.id == sa.bindparam("tenant")))
        if rows.is_empty():
            raise UnknownTenant(f"unknown tenant {self.tenant!r}: no such row in the source's tenants table")
        row = rows.row(0, named=True)
        return Tenant(row["id"], row["name"], row["timezone"], row["currency"], row["is_active"])

    def window(self, month: str) -> ReportWindow:
        return ReportWindow.for_month(self.tenant_row(), month)


class SourceDatabase(dg.ConfigurableResource):
    """The operational database the datasets are read from (PostgreSQL or SQLite)."""

    url: str = Field(description="sqlite:///path or postgresql://user:password@host:port/database")

    @property
    def source_url(self) -> SourceUrl:
        return SourceUrl(self.url)

    @contextlib.contextmanager
    def tenant_reads(self, tenant: str) -> Iterator[TenantReads]:
        """``tenant``'s reads inside the block, all seeing the database as of one moment (see
        ``exported_snapshot``): the datasets a run reads in one block (``read_in_one_snapshot``), the
        sales and their lines, the lines and the products they name, customers and their credit, agree
        even while the source takes new sales. The moment lasts as long as the block, in this process."""
        with exported_snapshot(self.source_url) as snapshot:
            yield TenantReads(self.source_url, tenant, snapshot)

    def tenant(self, slug: str) -> Tenant:
        return TenantReads(self.source_url, slug).tenant_row()

    def active_tenant_slugs(self) -> list[str]:
        t = schema.tenants
        stmt = sa.select(t.c.id).where(t.c.is_active.is_(True)).order_by(t.c.id)
        return read_frame(self.source_url, stmt, {}, tenant_directory=True)["id"].to_list()
