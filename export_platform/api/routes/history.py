"""The tenant's export history: filtered pages, one attempt, the recent ones, and statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

from export_platform.api.auth import Viewer, tenant_router
from export_platform.api.choices import Dataset, Format, Period, Status
from export_platform.api.cursor import decode_cursor, encode_cursor
from export_platform.api.export_entry import ExportEntry, export_entry
from export_platform.api.platform import Platform, current_platform
from export_platform.api.problems import invalid, not_found
from export_platform.tracking.history_reads import HistoryFilter, HistoryPosition, history_entry, history_page
from export_platform.tracking.history_statistics import Tally, export_statistics
from export_platform.tracking.schema import EXPORT_STATUSES

router = tenant_router(tags=["history"])

PlatformDep = Annotated[Platform, Depends(current_platform)]


class HistoryPage(BaseModel):
    items: list[ExportEntry]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last one."""


class RecentExports(BaseModel):
    items: list[ExportEntry]


class ExportCounts(BaseModel):
    attempts: int
    succeeded: int
    failed: int
    by_status: dict[str, int]
    success_rate_percent: Decimal | None
    bytes: int
    records: int


class ExportStatisticsBody(BaseModel):
    period: str
    date_from: dt.date | None
    date_to: dt.date | None
    total: ExportCounts
    by_dataset: dict[str, ExportCounts]
    by_format: dict[str, ExportCounts]
    by_period: dict[str, ExportCounts]


def _history_filter(
    date_from: dt.date | None, date_to: dt.date | None, **columns: str | None
) -> HistoryFilter:
    """``columns`` (dataset, format, status) and whole UTC days from ``date_from`` to ``date_to``,
    both included."""
    if date_from and date_to and date_to < date_from:
        raise invalid("query.date_to", "must not be before date_from")

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), dt.UTC)

    return HistoryFilter(
        **columns,
        created_from=midnight(date_from) if date_from else None,
        created_before=midnight(date_to + dt.timedelta(days=1)) if date_to else None,
    )


DateFrom = Annotated[dt.date | None, Query(description="Attempts created on or after this UTC day.")]
DateTo = Annotated[dt.date | None, Query(description="Attempts created on or before this UTC day.")]


@router.get("/history", summary="Export attempts, newest first, a page at a time")
def list_history(
    caller: Viewer,
    platform: PlatformDep,
    dataset: Dataset | None = None,
    format: Format | None = None,
    status: Status | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> HistoryPage:
    where = _history_filter(date_from, date_to, dataset=dataset, format=format, status=status)
    after = decode_cursor(cursor) if cursor else None
    rows = history_page(platform.engine, caller.tenant, where, limit=limit + 1, after=after)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(HistoryPosition(page[-1]["created_at"], page[-1]["id"])) if more else None
    public = platform.config.public_url
    return HistoryPage(items=[export_entry(row, public) for row in page], next_cursor=next_cursor)


@router.get("/history/recent", summary="The attempts of the last days, newest first")
def recent_history(
    caller: Viewer,
    platform: PlatformDep,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RecentExports:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    rows = history_page(platform.engine, caller.tenant, HistoryFilter(created_from=since), limit=limit)
    return RecentExports(items=[export_entry(row, platform.config.public_url) for row in rows])


def _counts(tally: Tally) -> ExportCounts:
    return ExportCounts(
        attempts=tally.attempts,
        succeeded=tally.succeeded,
        failed=tally.failed,
        by_status={status: tally.by_status[status] for status in EXPORT_STATUSES},
        success_rate_percent=tally.success_rate_percent,
        bytes=tally.bytes,
        records=tally.records,
    )


@router.get(
    "/history/statistics", summary="Counts, success rate, bytes and rows, by dataset, format and period"
)
def get_statistics(
    caller: Viewer,
    platform: PlatformDep,
    dataset: Dataset | None = None,
    format: Format | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    period: Period = "month",
) -> ExportStatisticsBody:
    """``success_rate_percent`` is succeeded (success, emailed) over finished (those and failed), in
    percent with two decimals rounded half away from zero, as a string so it stays exact; null when
    nothing finished. Periods are UTC days (YYYY-MM-DD) or months (YYYY-MM) of creation."""
    where = _history_filter(date_from, date_to, dataset=dataset, format=format)
    statistics = export_statistics(platform.engine, caller.tenant, where, period)
    return ExportStatisticsBody(
        period=period,
        date_from=date_from,
        date_to=date_to,
        total=_counts(statistics.total),
        by_dataset={name: _counts(t) for name, t in statistics.by_dataset.items()},
        by_format={name: _counts(t) for name, t in statistics.by_format.items()},
        by_period={name: _counts(t) for name, t in statistics.by_period.items()},
    )


@router.get("/history/{export_id}", summary="One export attempt")
def get_history_entry(caller: Viewer, platform: PlatformDep, export_id: str) -> ExportEntry:
    row = history_entry(platform.engine, caller.tenant, export_id)
    if row is None:
        raise not_found()
    return export_entry(row, platform.config.public_url)
