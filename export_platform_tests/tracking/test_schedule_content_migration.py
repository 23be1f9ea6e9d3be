"""Migration 0004: a schedule saved before schedules had a period and options keeps running as it did
(the month of the day before it is due, no options), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

from export_platform.tracking import schema
from export_platform.tracking.tenant_schedules import TenantScheduleStore
from export_platform_tests.support.platform_migrations import engine_at_revision, insert_old_row
from export_platform_tests.support.postgres import create_database, database_url, drop_database

REVISION_3_SCHEDULE = {
    "id": "old",
    "tenant_id": "acme",
    "name": "Daily ledger",
    "datasets": json.dumps(["bills"]),
    "formats": json.dumps(["csv"]),
    "cadence": "daily",
    "time_of_day": "06:00",
    "timezone": "UTC",
    "recipients": "[]",
    "is_active": True,
    "created_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
}


def upgraded_from_0003(url: str) -> None:
    engine = engine_at_revision(url, "0003")
    insert_old_row(engine, "export_schedules", REVISION_3_SCHEDULE)
    schema.create_platform_tables(engine)
    old = TenantScheduleStore(engine).get("old")
    assert old is not None
    assert (old.spec.period, old.spec.options, old.runs_monthly_exports) == ("month_to_date", {}, True)


def test_sqlite_upgrade_keeps_what_old_schedules_export(tmp_path) -> None:
    upgraded_from_0003(f"sqlite:///{tmp_path / 'platform.db'}")


def test_postgres_upgrade_keeps_what_old_schedules_export() -> None:
    name = create_database()
    try:
        upgraded_from_0003(database_url(name))
    finally:
        drop_database(name)
