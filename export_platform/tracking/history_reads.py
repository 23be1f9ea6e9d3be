"""A tenant's export history as the API reads it: filtered pages, newest first, and single rows.

Every read is scoped to one tenant in its WHERE clause, so a row of another tenant is exactly as
absent as a row that does not exist. Pages are keyed on ``(created_at, id)``: a page starts after the
last row of the one before, so rows added meanwhile never shift a row onto two pages or off all of
them, as an offset would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from export_platform.tracking.schema import as_utc, export_history


@dataclass(frozen=True)
class HistoryFilter:
    """Which rows to read: all given conditions hold. ``created_from`` is inclusive,
    ``created_before`` exclusive."""

    dataset: str | None = None
    format: str | None = None
    status: str | None = None
    created_from: dt.datetime | None = None
    created_before: dt.datetime | None = None

    def conditions(self, tenant: str) -> list[sa.ColumnElement[bool]]:
        h = export_history
        found = [h.c.tenant_id == tenant]
        for column, value in (
            (h.c.dataset, self.dataset),
            (h.c.format, self.format),
            (h.c.status, self.status),
        ):
            if value is not None:
                found.append(column == value)
        if self.created_from is not None:
            found.append(h.c.created_at >= self.created_from)
        if self.created_before is not None:
            found.append(h.c.created_at < self.created_before)
        return found


@dataclass(frozen=True)
class HistoryPosition:
    """Where a page ended: the last row's ``created_at`` and ``id``."""

    created_at: dt.datetime
    id: str


def _row(row: sa.Row) -> dict:
    values = dict(row._mapping)
    for name in ("created_at", "started_at", "finished_at", "emailed_at"):
        values[name] = as_utc(values[name])
    return values


def history_page(
    engine: sa.Engine,
    tenant: str,
    where: HistoryFilter,
    *,
    limit: int,
    after: HistoryPosition | None = None,
) -> list[dict]:
    """Up to ``limit`` of ``tenant``'s rows matching ``where``, newest first, starting after ``after``."""
    h = export_history
    stmt = (
        sa.select(h)
        .where(*where.conditions(tenant))
        .order_by(h.c.created_at.desc(), h.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(
            sa.or_(
                h.c.created_at < after.created_at,
                sa.and_(h.c.created_at == after.created_at, h.c.id < after.id),
            )
        )
    with engine.connect() as conn:
        return [_row(row) for row in conn.execute(stmt)]


def history_entry(engine: sa.Engine, tenant: str, entry_id: str) -> dict | None:
    """``tenant``'s row ``entry_id``; None if there is none, or it is another tenant's."""
    h = export_history
    with engine.connect() as conn:
        row = conn.execute(sa.select(h).where(h.c.tenant_id == tenant, h.c.id == entry_id)).first()
    return _row(row) if row is not None else None
