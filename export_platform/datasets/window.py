"""The time window of one partition: a tenant's local calendar month, expressed in UTC for queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Tenant:
    slug: str
    name: str
    timezone: str
    currency: str
    is_active: bool


@dataclass(frozen=True)
class ReportWindow:
    """Bounds for one (tenant, month).

    Period datasets (sales, audit log, bills) take rows in ``[start_utc, end_utc)``; snapshot datasets
    (customers, inventory, accounts) are computed as of ``as_of_utc``: the end of the month, or now
    while the month is still running.
    """

    tenant: Tenant
    month: str
    first_day: dt.date
    next_first_day: dt.date
    start_utc: dt.datetime
    end_utc: dt.datetime
    as_of_utc: dt.datetime

    @classmethod
    def for_month(cls, tenant: Tenant, month: str, now: dt.datetime | None = None) -> ReportWindow:
        zone = ZoneInfo(tenant.timezone)
        first_day = dt.datetime.strptime(month, "%Y-%m").date()
        next_first_day = (first_day + dt.timedelta(days=32)).replace(day=1)
        start = dt.datetime.combine(first_day, dt.time(), zone).astimezone(dt.UTC)
        end = dt.datetime.combine(next_first_day, dt.time(), zone).astimezone(dt.UTC)
        now = now or dt.datetime.now(dt.UTC)
        return cls(tenant, month, first_day, next_first_day, start, end, min(end, now))

    @classmethod
    def for_days(
        cls, tenant: Tenant, first_day: dt.date, last_day: dt.date, now: dt.datetime | None = None
    ) -> ReportWindow:
        """A window over whole local days, ``first_day`` to ``last_day`` inclusive (ad-hoc exports)."""
        zone = ZoneInfo(tenant.timezone)
        next_first_day = last_day + dt.timedelta(days=1)
        start = dt.datetime.combine(first_day, dt.time(), zone).astimezone(dt.UTC)
        end = dt.datetime.combine(next_first_day, dt.time(), zone).astimezone(dt.UTC)
        now = now or dt.datetime.now(dt.UTC)
        return cls(tenant, f"{first_day} to {last_day}", first_day, next_first_day, start, end, min(end, now))

    @property
    def last_day(self) -> dt.date:
        return self.next_first_day - dt.timedelta(days=1)

    @property
    def as_of_date(self) -> dt.date:
        """The tenant-local calendar day the snapshot describes (the month's last day, or today)."""
        instant = self.as_of_utc - dt.timedelta(microseconds=1)
        return instant.astimezone(ZoneInfo(self.tenant.timezone)).date()
