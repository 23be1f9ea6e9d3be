"""Export history: one row per export attempt, moving pending -> processing -> success | failed, and
from success to emailed once a delivery was accepted.

A transition is a single conditional UPDATE, so two processes can never move the same row
backwards or twice: an attempt to do so raises ``InvalidTransition``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from export_platform.errors import ExportPlatformError
from export_platform.source.database import SourceUrl
from export_platform.tracking.schema import create_platform_tables, engine_for, export_history

# status -> the statuses it may be reached from
TRANSITIONS = {
    "processing": ("pending",),
    "success": ("processing",),
    "failed": ("pending", "processing"),
    "emailed": ("success",),
}


class InvalidTransition(ExportPlatformError):
    """A history row was asked to move to a status it cannot reach from where it is."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache
def _engine(url: str) -> sa.Engine:
    source = SourceUrl(url)
    engine = engine_for(source.sqlalchemy_url, source.dialect)
    create_platform_tables(engine)
    return engine


class ExportHistory(dg.ConfigurableResource):
    """Reads and writes the ``export_history`` table of the platform's database."""

    url: str = Field(description="The database holding the platform schema (the source database's URL).")

    @property
    def engine(self) -> sa.Engine:
        return _engine(self.url)

    def start(
        self,
        *,
        tenant: str,
        requested_by: str,
        dataset: str,
        fmt: str,
        partition_key: str | None,
        run_id: str | None,
        filters: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a new attempt as ``pending`` and return its id."""
        entry_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(export_history).values(
                    id=entry_id,
                    tenant_id=tenant,
                    requested_by=requested_by,
                    dataset=dataset,
                    format=fmt,
                    filters=json.dumps(dict(filters or {}), sort_keys=True, default=str),
                    partition_key=partition_key,
                    run_id=run_id,
                    status="pending",
                    created_at=_now(),
                )
            )
        return entry_id

    def move(self, entry_id: str, status: str, **values: Any) -> None:
        """Move an attempt to ``status``, setting the given columns, if its current status allows it."""
        allowed = TRANSITIONS[status]
        stamps = {
            "processing": "started_at",
            "success": "finished_at",
            "failed": "finished_at",
            "emailed": "emailed_at",
        }
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(export_history)
                .where(export_history.c.id == entry_id, export_history.c.status.in_(allowed))
                .values(status=status, **{stamps[status]: _now()}, **values)
            ).rowcount
        if updated != 1:
            raise InvalidTransition(f"export {entry_id} cannot move to {status!r} (allowed from {allowed})")

    def entries(self, *, tenant: str | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
        """The newest attempts first, optionally for one tenant and/or one status."""
        stmt = sa.select(export_history).order_by(export_history.c.created_at.desc()).limit(limit)
        if tenant is not None:
            stmt = stmt.where(export_history.c.tenant_id == tenant)
        if status is not None:
            stmt = stmt.where(export_history.c.status == status)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]


def awaiting_delivery(history: ExportHistory, limit: int = 1000) -> list[dict]:
    """Successful exports of scheduled runs that have not been e-mailed yet, oldest first."""
    stmt = (
        sa.select(export_history)
        .where(export_history.c.status == "success", export_history.c.requested_by.like("schedule:%"))
        .order_by(export_history.c.created_at)
        .limit(limit)
    )
    with history.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def requested_by(tags: Mapping[str, str]) -> str:
    """Who asked for a run, from its tags: a schedule, a sensor, a named user, or a manual launch."""
    if "export_platform/requested_by" in tags:
        return tags["export_platform/requested_by"]
    if "dagster/schedule_name" in tags:
        return f"schedule:{tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor:{tags['dagster/sensor_name']}"
    return tags.get("user") or "manual"
