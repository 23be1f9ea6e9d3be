"""Export schedules: validation, due times in the schedule's timezone, and exactly-once requests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import dagster as dg
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from export_platform.automation import tenant_schedule_sensor as sensor_module
from export_platform.automation.tenant_schedule_sensor import export_schedule_sensor, plan_due_exports
from export_platform.cli import main
from export_platform.partitions import TENANT_DIMENSION
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.schema import export_schedules
from export_platform.tracking.tenant_schedules import (
    TenantSchedule,
    TenantScheduleSpec,
    TenantScheduleStore,
    due_at,
    due_times,
    latest_due,
)

UTC = dt.UTC
# month_to_date: these runs are the tenant's month of the monthly exports (test_schedule_content.py has
# the periods that follow the cadence).
BASE = {
    "tenant": "acme",
    "name": "Monthly close",
    "datasets": ("sales",),
    "formats": ("csv", "xlsx"),
    "period": "month_to_date",
}


def spec(**changes) -> TenantScheduleSpec:
    values = {**BASE, "cadence": "daily", **changes}
    return TenantScheduleSpec(**values)


def schedule(created: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=UTC), **changes) -> TenantSchedule:
    return TenantSchedule("s1", spec(**changes), True, created)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"time_of_day": "25:00"}, "time_of_day"),
        ({"datasets": ("payroll",)}, "datasets"),
        ({"formats": ("docx",)}, "formats"),
        ({"cadence": "hourly"}, "cadence"),
        ({"recipients": ("not-an-address",)}, "recipients"),
        ({"tenant": "../etc"}, "tenant"),
        ({"cadence": "monthly", "day_of_month": "32"}, "day_of_month"),
        ({"day_of_week": 9, "cadence": "weekly"}, "day_of_week"),
        ({"subject": "Sales\r\nBcc: spy@evil.example"}, "subject"),
        ({"subject": "Sales \x1b[2J"}, "subject"),
        ({"name": "Monthly\nschedule:other"}, "name"),
        ({"name": "Monthly \u202eesolc"}, "name"),
        ({"message": "Hello\r\nBcc: spy@evil.example"}, "message"),
        ({"message": "Hello \x00"}, "message"),
        ({"recipients": ("a\x1b[31m@acme.example",)}, "recipients"),
    ],
)
def test_invalid_schedules_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        spec(**changes)
    assert field in {str(e["loc"][0]) for e in raised.value.errors()}


def test_a_message_may_hold_line_breaks_and_tabs() -> None:
    assert (
        spec(message="Hello,\n\tthe files are attached.\n").message == "Hello,\n\tthe files are attached.\n"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"cadence": "weekly"},
        {"cadence": "monthly"},
        {"day_of_week": 2},
        {"datasets": ("sale_items",), "formats": ("pdf",)},
    ],
)
def test_inconsistent_schedules_are_refused(changes: dict) -> None:
    with pytest.raises(ValidationError):
        spec(**changes)


def test_due_time_follows_the_local_clock_across_dst() -> None:
    lisbon = spec(time_of_day="06:00", timezone="Europe/Lisbon")
    # Clocks go back on 25 October 2026: 06:00 is 05:00 UTC before and 06:00 UTC after.
    assert due_at(lisbon, dt.date(2026, 10, 24)) == dt.datetime(2026, 10, 24, 5, 0, tzinfo=UTC)
    assert due_at(lisbon, dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    new_york = spec(time_of_day="02:30", timezone="America/New_York")
    # 02:30 does not exist on 14 March 2027: it runs at 03:30 EDT.
    assert due_at(new_york, dt.date(2027, 3, 14)) == dt.datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    repeated = spec(time_of_day="01:30", timezone="America/New_York")
    # 01:30 happens twice on 1 November 2026: the first time, still EDT.
    assert due_at(repeated, dt.date(2026, 11, 1)) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_schedule_falls_due_once_a_day_at_the_right_instant_across_dst() -> None:
    lisbon = schedule(time_of_day="06:00", timezone="Europe/Lisbon")
    just_before = dt.datetime(2026, 10, 25, 5, 59, tzinfo=UTC)  # 05:59 WET
    assert latest_due(lisbon, just_before) == dt.datetime(2026, 10, 24, 5, 0, tzinfo=UTC)
    assert latest_due(lisbon, just_before + dt.timedelta(minutes=1)) == dt.datetime(
        2026, 10, 25, 6, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("day", "now", "expected"),
    [
        ("last", dt.datetime(2027, 3, 1, 12, tzinfo=UTC), dt.datetime(2027, 2, 28, 23, 0, tzinfo=UTC)),
        ("last", dt.datetime(2028, 3, 1, 12, tzinfo=UTC), dt.datetime(2028, 2, 29, 23, 0, tzinfo=UTC)),
        ("31", dt.datetime(2027, 3, 1, 12, tzinfo=UTC), dt.datetime(2027, 2, 28, 23, 0, tzinfo=UTC)),
        ("1", dt.datetime(2027, 3, 1, 12, tzinfo=UTC), dt.datetime(2027, 2, 1, 23, 0, tzinfo=UTC)),
    ],
)
def test_last_day_of_month(day: str, now: dt.datetime, expected: dt.datetime) -> None:
    monthly = schedule(cadence="monthly", day_of_month=day, time_of_day="23:00")
    assert latest_due(monthly, now) == expected


def test_due_times_list_each_instant_of_a_window_across_dst() -> None:
    """A daily 02:30 in New York over the spring-forward night: 02:30 does not exist on 14 March 2027,
    so that day it falls due at 03:30 EDT. The window leaves out its start and holds its end."""
    daily = schedule(time_of_day="02:30", timezone="America/New_York")
    start = dt.datetime(2027, 3, 13, 0, 0, tzinfo=UTC)
    expected = [
        dt.datetime(2027, 3, 13, 7, 30, tzinfo=UTC),  # 02:30 EST
        dt.datetime(2027, 3, 14, 7, 30, tzinfo=UTC),  # 03:30 EDT
        dt.datetime(2027, 3, 15, 6, 30, tzinfo=UTC),  # 02:30 EDT
    ]
    assert due_times(daily, start, start + dt.timedelta(days=3)) == expected
    assert due_times(daily, expected[0], expected[1]) == [expected[1]]
    month_end = schedule(cadence="monthly", day_of_month="last")
    assert due_times(month_end, start, start + dt.timedelta(days=30)) == [
        dt.datetime(2027, 3, 31, 6, tzinfo=UTC)
    ]


def test_what_month_a_run_exports() -> None:
    first = schedule(cadence="monthly", day_of_month="1", time_of_day="06:00", timezone="Asia/Tokyo")
    due = latest_due(first, dt.datetime(2026, 11, 3, tzinfo=UTC))
    plan, _ = plan_due_exports([first], dt.datetime(2026, 11, 3, tzinfo=UTC), {}, {"acme"})
    assert due == dt.datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 06:00 on 1 November in Tokyo
    assert plan[0].partition_key == "2026-10|acme"  # the month just ended
    daily = schedule(time_of_day="18:00")
    plan, _ = plan_due_exports([daily], dt.datetime(2026, 11, 21, 19, tzinfo=UTC), {}, {"acme"})
    assert plan[0].partition_key == "2026-11|acme"  # the month to date
    keys = [k.to_user_string() for k in plan[0].asset_keys]
    assert keys == ["sale_items", "sales", "sales_csv", "sales_xlsx"]


def test_exactly_once_and_catch_up() -> None:
    daily = schedule(time_of_day="06:00")
    now = dt.datetime(2026, 11, 21, 7, tzinfo=UTC)
    first, cursor = plan_due_exports([daily], now, {}, {"acme"})
    assert len(first) == 1
    again, _ = plan_due_exports([daily], now + dt.timedelta(minutes=5), cursor, {"acme"})
    assert again == []  # the same due time is never requested twice
    lost_cursor, _ = plan_due_exports([daily], now, {}, {"acme"})
    assert lost_cursor[0].run_key == first[0].run_key  # and Dagster never launches a run key twice
    # Daemon down for three days: one request, for the latest due time.
    later, _ = plan_due_exports([daily], now + dt.timedelta(days=3), cursor, {"acme"})
    assert [e.due for e in later] == [dt.datetime(2026, 11, 24, 6, tzinfo=UTC)]


def test_paused_new_and_unknown_tenant_schedules_do_not_run() -> None:
    now = dt.datetime(2026, 11, 21, 7, tzinfo=UTC)
    paused = TenantSchedule("p", spec(), False, dt.datetime(2026, 1, 1, tzinfo=UTC))
    created_after_due = schedule(created=dt.datetime(2026, 11, 21, 6, 30, tzinfo=UTC))
    assert plan_due_exports([paused, created_after_due], now, {}, {"acme"})[0] == []
    assert plan_due_exports([schedule()], now, {}, {"globex"})[0] == []


@pytest.fixture
def store(source_url: str) -> TenantScheduleStore:
    return TenantScheduleStore(ExportHistory(url=source_url).engine)


def test_store_round_trip(store: TenantScheduleStore) -> None:
    added = store.add(
        spec(
            tenant="initech",
            name=f"n{dt.datetime.now().timestamp()}",
            cadence="weekly",
            day_of_week=4,
            timezone="Asia/Riyadh",
            recipients=("a@initech.example",),
        )
    )
    listed = {s.id: s for s in store.list(tenant="initech")}
    assert listed[added.id].spec == added.spec and listed[added.id].is_active
    assert store.set_active(added.id, False) and not {s.id for s in store.list(active_only=True)} & {added.id}
    assert store.remove(added.id) and not store.remove(added.id)


def test_replace_changes_what_a_schedule_says_in_its_own_tenant_only(store: TenantScheduleStore) -> None:
    name = f"n{dt.datetime.now().timestamp()}"
    added = store.add(spec(tenant="initech", name=name))
    store.set_active(added.id, False)
    weekly = spec(tenant="initech", name=name, cadence="weekly", day_of_week=0, subject="Weekly")
    assert store.replace(added.id, weekly)
    replaced = store.get(added.id)
    assert replaced is not None and replaced.spec == weekly
    assert (replaced.is_active, replaced.created_at) == (False, added.created_at)
    assert not store.replace(added.id, spec(tenant="globex", name=name))  # another tenant's id
    assert store.get(added.id) == replaced


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, ["acme"])
        yield instance


def test_sensor_requests_one_run_per_due_time(instance, tmp_path, monkeypatch) -> None:
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    TenantScheduleStore(history.engine).add(
        spec(time_of_day="06:00"), now=dt.datetime(2026, 1, 1, tzinfo=UTC)
    )
    monkeypatch.setattr(sensor_module, "now_utc", lambda: dt.datetime(2026, 11, 21, 7, tzinfo=UTC))
    context = dg.build_sensor_context(instance=instance, resources={"history": history})
    result = export_schedule_sensor(context)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.partition_key == "2026-11|acme"
    assert request.tags["export_platform/requested_by"] == "schedule:Monthly close"
    context = dg.build_sensor_context(instance=instance, resources={"history": history}, cursor=result.cursor)
    assert isinstance(export_schedule_sensor(context), dg.SkipReason)
    assert json.loads(result.cursor)


def test_a_schedule_saved_before_the_text_rules_still_runs_beside_the_others(
    instance, tmp_path, monkeypatch
) -> None:
    """A row saved before names and subjects were checked (or written by other means) is read as
    stored: re-validating it on read would stop every tenant's schedules. Its delivery is checked when
    it is built (test_delivery.py)."""
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    store = TenantScheduleStore(history.engine)
    created = dt.datetime(2026, 1, 1, tzinfo=UTC)
    old = store.add(spec(name="Old"), now=created)
    store.add(spec(tenant="globex"), now=created)
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["globex"])
    with history.engine.begin() as conn:
        conn.execute(
            export_schedules.update()
            .where(export_schedules.c.id == old.id)
            .values(name="Old\r\nschedule:x", subject="Sales\r\nBcc: spy@evil.example")
        )
    assert store.get(old.id).spec.subject == "Sales\r\nBcc: spy@evil.example"
    monkeypatch.setattr(sensor_module, "now_utc", lambda: dt.datetime(2026, 11, 21, 7, tzinfo=UTC))
    result = export_schedule_sensor(
        dg.build_sensor_context(instance=instance, resources={"history": history})
    )
    assert sorted(r.partition_key for r in result.run_requests) == ["2026-11|acme", "2026-11|globex"]


@pytest.mark.parametrize(
    "damage",
    [{"datasets": "[not json"}, {"timezone": "Mars/Olympus_Mons"}, {"formats": '["docx"]'}],
    ids=["broken-json", "unknown-zone", "unknown-format"],
)
def test_one_broken_schedule_row_stops_no_other_tenants_schedules(
    instance, tmp_path, monkeypatch, damage: dict
) -> None:
    """A stored row the sensor cannot use is skipped and named in the log; the others run this tick."""
    history = ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}")
    store = TenantScheduleStore(history.engine)
    created = dt.datetime(2026, 1, 1, tzinfo=UTC)
    broken = store.add(spec(name="Broken"), now=created)
    store.add(spec(tenant="globex"), now=created)
    instance.add_dynamic_partitions(TENANT_DIMENSION, ["globex"])
    with history.engine.begin() as conn:
        conn.execute(export_schedules.update().where(export_schedules.c.id == broken.id).values(**damage))
    monkeypatch.setattr(sensor_module, "now_utc", lambda: dt.datetime(2026, 11, 21, 7, tzinfo=UTC))
    result = export_schedule_sensor(
        dg.build_sensor_context(instance=instance, resources={"history": history})
    )
    assert [r.partition_key for r in result.run_requests] == ["2026-11|globex"]
    # Broken JSON is left out when the rows are read; the others when their run is worked out.
    assert len(store.readable()[1]) == (1 if "datasets" in damage else 0)


def test_schedules_cli(sqlite_source: str, monkeypatch) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", sqlite_source)
    runner = CliRunner()
    name = f"Weekly {dt.datetime.now().timestamp()}"
    added = runner.invoke(
        main,
        [
            "schedules",
            "add",
            "--tenant",
            "acme",
            "--name",
            name,
            "--datasets",
            "sales,customers",
            "--formats",
            "csv,pdf",
            "--cadence",
            "weekly",
            "--day-of-week",
            "monday",
            "--at",
            "07:30",
            "--timezone",
            "America/New_York",
            "--recipients",
            "ops@acme.example",
        ],
    )
    assert added.exit_code == 0, added.output
    schedule_id = added.output.split()[2]
    listed = runner.invoke(main, ["schedules", "list", "--tenant", "acme"])
    assert name in listed.output and "weekly on monday at 07:30 America/New_York" in listed.output
    assert "sales_csv, sales_pdf, customers_csv, customers_pdf" in listed.output
    assert "paused" in runner.invoke(main, ["schedules", "pause", schedule_id]).output
    assert "resumed" in runner.invoke(main, ["schedules", "resume", schedule_id]).output
    assert "removed" in runner.invoke(main, ["schedules", "remove", schedule_id]).output
    missing = runner.invoke(main, ["schedules", "remove", schedule_id])
    assert missing.exit_code == 2 and "no schedule" in missing.output

    bad = runner.invoke(
        main,
        [
            "schedules",
            "add",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--datasets",
            "sales",
            "--formats",
            "csv",
            "--cadence",
            "monthly",
            "--timezone",
            "Nowhere/City",
        ],
    )
    assert bad.exit_code == 2
    assert "timezone: unknown timezone 'Nowhere/City'" in bad.output
    no_day = runner.invoke(
        main,
        [
            "schedules",
            "add",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--datasets",
            "sales",
            "--formats",
            "csv",
            "--cadence",
            "monthly",
        ],
    )
    assert no_day.exit_code == 2
    assert "day_of_month is required for monthly schedules and only for them" in no_day.output
    ghost = runner.invoke(
        main,
        [
            "schedules",
            "add",
            "--tenant",
            "ghost",
            "--name",
            "x",
            "--datasets",
            "sales",
            "--formats",
            "csv",
            "--cadence",
            "daily",
        ],
    )
    assert ghost.exit_code == 2 and "unknown tenant 'ghost'" in ghost.output


def test_notifications_cli(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXPORT_SOURCE_URL", f"sqlite:///{tmp_path / 'platform.db'}")
    runner = CliRunner()
    refused = runner.invoke(
        main, ["notifications", "set", "--tenant", "acme", "--default-recipients", "boss@acme.example"]
    )
    assert refused.exit_code == 2 and "outside the allowed domains" in refused.output
    ok = runner.invoke(
        main,
        [
            "notifications",
            "set",
            "--tenant",
            "acme",
            "--allowed-domains",
            "acme.example",
            "--default-recipients",
            "boss@acme.example",
            "--retention-days",
            "14",
        ],
    )
    assert ok.exit_code == 0, ok.output
    shown = runner.invoke(main, ["notifications", "show", "--tenant", "acme"]).output
    assert "allowed_domains: acme.example" in shown and "default_recipients: boss@acme.example" in shown
    assert "retention_days: 14" in shown and "notify_on_success: True" in shown
