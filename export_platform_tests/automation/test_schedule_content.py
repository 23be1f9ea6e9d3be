"""Per-schedule content: the period a run covers follows the cadence in the schedule's timezone, the
ad-hoc request's options are checked when a schedule is saved, and a schedule whose run is not a month
of the monthly exports runs as ad-hoc exports that the delivery sensor e-mails."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from export_platform.automation import tenant_schedule_sensor as sensor_module
from export_platform.automation.tenant_schedule_sensor import DueExport, export_schedule_sensor
from export_platform.cli import main
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.adhoc import AdhocExportConfig, adhoc_export
from export_platform.exports.scheduled_requests import ScheduleRefused, check_schedule
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.artifacts import ArtifactStore
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_schedules
from export_platform.tracking.tenant_schedules import (
    TenantSchedule,
    TenantScheduleSpec,
    TenantScheduleStore,
    due_times,
    period_covered,
)
from export_platform_tests.support.mail_delivery import deliver, smtp_inbox
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.project import BIN

UTC = dt.UTC
LISBON = "Europe/Lisbon"


def spec(**changes: object) -> TenantScheduleSpec:
    values: dict = {"tenant": "acme", "name": "Sales", "datasets": ("sales",), "formats": ("csv",)}
    return TenantScheduleSpec(**{**values, "cadence": "daily", **changes})


def schedule(**changes: object) -> TenantSchedule:
    return TenantSchedule("s1", spec(**changes), True, dt.datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "due", "period"),
    [
        # 00:30 on 3 November in Lisbon is still the 2nd in UTC: the schedule's calendar decides.
        ({}, dt.datetime(2026, 11, 3, 0, 30, tzinfo=UTC), ("2026-11-02", "2026-11-02")),
        ({"timezone": "Asia/Tokyo"}, dt.datetime(2026, 11, 2, 16, tzinfo=UTC), ("2026-11-02", "2026-11-02")),
        # Wednesday 4 November: the ISO week before is Monday 26 October to Sunday 1 November.
        (
            {"cadence": "weekly", "day_of_week": 2},
            dt.datetime(2026, 11, 4, 6, tzinfo=UTC),
            ("2026-10-26", "2026-11-01"),
        ),
        (
            {"cadence": "monthly", "day_of_month": "15"},
            dt.datetime(2026, 3, 15, 6, tzinfo=UTC),
            ("2026-02-01", "2026-02-28"),
        ),
        (
            {"cadence": "monthly", "day_of_month": "1"},
            dt.datetime(2027, 1, 1, 6, tzinfo=UTC),
            ("2026-12-01", "2026-12-31"),
        ),
        (
            {"cadence": "monthly", "day_of_month": "15", "period": "month_to_date"},
            dt.datetime(2026, 3, 15, 6, tzinfo=UTC),
            ("2026-03-01", "2026-03-14"),
        ),
        ({"period": "month_to_date"}, dt.datetime(2026, 3, 1, 6, tzinfo=UTC), ("2026-02-01", "2026-02-28")),
    ],
    ids=["daily", "daily-tokyo", "weekly", "monthly", "monthly-new-year", "month-to-date", "mtd-on-the-1st"],
)
def test_the_period_follows_the_cadence_in_the_schedules_timezone(
    changes: dict, due: dt.datetime, period: tuple[str, str]
) -> None:
    changes = {"timezone": LISBON, **changes}
    first, last = period_covered(schedule(**changes), due)
    assert (str(first), str(last)) == period


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"datasets": ("sales", "customers"), "options": {"category": "Tools"}}, "options.category"),
        ({"formats": ("csv", "xlsx"), "options": {"compression": "gzip"}}, "options.compression"),
        ({"formats": ("csv_bundle",), "options": {"compression": "zip"}}, "options.compression"),
        ({"options": {"columns": ["No such column"]}}, "options.columns"),
        ({"options": {"delimiter": "||"}}, "options.delimiter"),
        ({"options": {"date_preset": "all_time"}}, "options.date_preset"),
        ({"options": {"requested_by": "schedule:x"}}, "options.requested_by"),
        ({"datasets": ("inventory",), "options": {"include_movement_history": True}}, "options"),
    ],
)
def test_a_schedule_that_could_never_run_is_refused_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ScheduleRefused) as refused:
        check_schedule(spec(**changes))
    assert refused.value.field.startswith(field), refused.value


def test_a_schedule_with_options_runs_ad_hoc_exports_of_its_period() -> None:
    weekly = schedule(
        datasets=("sales", "inventory"),
        formats=("csv", "csv_bundle"),
        cadence="weekly",
        day_of_week=0,
        timezone=LISBON,
        options={"storefront": "Downtown", "delimiter": ";", "include_bom": False},
    )
    due = dt.datetime(2026, 11, 9, 6, tzinfo=UTC)
    requests = DueExport(weekly, due).run_requests()
    assert [r.run_key for r in requests] == [
        f"export-schedule:s1:{due.isoformat()}:sales",
        f"export-schedule:s1:{due.isoformat()}:inventory",
    ]
    for request, dataset in zip(requests, ("sales", "inventory"), strict=True):
        assert request.job_name == adhoc_export.name and request.partition_key is None
        config = request.run_config["ops"]["run_adhoc_export"]["config"]
        accepted = AdhocExportConfig(**config)  # what the run will check first, it accepts
        assert (accepted.dataset, accepted.date_from, accepted.date_to) == (
            dataset,
            "2026-11-02",
            "2026-11-08",
        )
        assert (accepted.storefront, accepted.delimiter, accepted.requested_by) == ("Downtown", ";", "adhoc")
        assert request.tags["export_platform/schedule_id"] == "s1"
    # Monthly, no options: the tenant's month of the monthly exports, as before.
    monthly = schedule(cadence="monthly", day_of_month="1")
    [request] = DueExport(monthly, dt.datetime(2026, 11, 1, 6, tzinfo=UTC)).run_requests()
    assert (request.job_name, request.partition_key) == ("exports_job", "2026-10|acme")


def test_options_and_period_are_stored_and_read_back(tmp_path: Path) -> None:
    store = TenantScheduleStore(ExportHistory(url=f"sqlite:///{tmp_path / 'platform.db'}").engine)
    added = store.add(check_schedule(spec(period="month_to_date", options={"customer_type": "retail"})))
    stored = store.get(added.id)
    assert stored is not None and stored.spec == added.spec
    assert (stored.spec.period, stored.spec.options) == ("month_to_date", {"customer_type": "retail"})


def test_a_daily_schedule_with_options_is_exported_ad_hoc_and_e_mailed(tmp_path: Path, monkeypatch) -> None:
    """The sensor's request for yesterday, run as the daemon would run it, then one delivery tick
    through a real SMTP server: the gzipped, semicolon-separated CSV of that day arrives once."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=3, end_month="2026-10"))
    history, root = ExportHistory(url=url), tmp_path / "artifacts"
    NotificationSettingsStore(history.engine).put(
        NotificationSettings("acme", allowed_domains=("acme.example",))
    )
    daily = spec(
        name="Daily sales",
        time_of_day="06:00",
        recipients=("finance@acme.example",),
        options={"delimiter": ";", "compression": "gzip"},
    )
    TenantScheduleStore(history.engine).add(check_schedule(daily), now=dt.datetime(2026, 10, 1, tzinfo=UTC))
    instance = ephemeral_instance("acme")
    monkeypatch.setattr(sensor_module, "now_utc", lambda: dt.datetime(2026, 10, 16, 7, tzinfo=UTC))
    result = export_schedule_sensor(
        dg.build_sensor_context(instance=instance, resources={"history": history})
    )
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    run = adhoc_export.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags={**request.tags, "dagster/sensor_name": "export_schedule_sensor"},
        resources={
            "source": SourceDatabase(url=url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": history,
        },
    )
    assert run.success
    [row] = history.entries(tenant="acme")
    assert (row["requested_by"], row["partition_key"], row["status"]) == (
        "schedule:Daily sales",
        None,
        "success",
    )
    with smtp_inbox() as (inbox, smtp_url):
        deliver(instance, history, root, smtp_url)
        deliver(instance, history, root, smtp_url)  # a later tick sends nothing more
    [message] = inbox.messages
    assert message["Subject"].endswith("exports for 2026-10-15")
    [attachment] = message.iter_attachments()
    name = "sales_acme_2026-10-15_2026-10-15.csv.gz"
    assert (attachment.get_filename(), attachment.get_content_type()) == (name, "application/gzip")
    published = root / "acme" / "adhoc" / run.run_id / name
    assert attachment.get_payload(decode=True) == published.read_bytes()
    assert gzip.decompress(published.read_bytes()).splitlines()[0].count(b";") > 1
    assert [r["status"] for r in history.entries(tenant="acme")] == ["emailed"]


def test_cli_update_upcoming_overdue_and_trigger(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month="2026-10"))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("EXPORT_SOURCE_URL", url)
    monkeypatch.setenv("EXPORT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    base = [
        "schedules",
        "add",
        "--tenant",
        "acme",
        "--name",
        "Sales",
        "--datasets",
        "sales",
        "--formats",
        "csv",
    ]
    refused = runner.invoke(main, [*base, "--cadence", "daily", "--option", "category=Tools"])
    assert refused.exit_code == 2 and "options.category" in refused.output, refused.output
    added = runner.invoke(main, [*base, "--cadence", "daily", "--at", "00:00", "--option", "delimiter=;"])
    assert added.exit_code == 0, added.output
    schedule_id = added.output.split()[2]
    store = TenantScheduleStore(ExportHistory(url=url).engine)

    bad = runner.invoke(
        main, ["schedules", "update", schedule_id, "--formats", "csv,xlsx", "--option", "compression=gzip"]
    )
    assert bad.exit_code == 2 and "options.compression" in bad.output, bad.output
    updated = runner.invoke(
        main,
        [
            "schedules",
            "update",
            schedule_id,
            "--cadence",
            "weekly",
            "--day-of-week",
            "monday",
            "--option",
            "delimiter=",
        ],
    )
    assert updated.exit_code == 0, updated.output
    stored = store.get(schedule_id)
    assert stored is not None
    assert (stored.spec.cadence, stored.spec.day_of_week, stored.spec.options) == ("weekly", 0, {})
    assert stored.spec.formats == ("csv",)  # what the update did not name stays

    upcoming = runner.invoke(main, ["schedules", "upcoming", "--tenant", "acme", "--days", "7"])
    assert upcoming.exit_code == 0 and upcoming.output.count(schedule_id) == 1, upcoming.output
    [monday] = due_times(stored, dt.datetime.now(UTC), dt.datetime.now(UTC) + dt.timedelta(days=7))
    first, last = period_covered(stored, monday)
    assert f"{monday.isoformat()}  {schedule_id}" in upcoming.output
    assert f"{first} to {last}" in upcoming.output and (last - first).days == 6

    # Due every day at 00:00 since two days ago, never run: overdue until a run for that due time exists.
    runner.invoke(
        main, ["schedules", "update", schedule_id, "--cadence", "daily", "--period", "month_to_date"]
    )
    with store.engine.begin() as conn:
        conn.execute(
            export_schedules.update()
            .where(export_schedules.c.id == schedule_id)
            .values(created_at=dt.datetime.now(UTC) - dt.timedelta(days=2))
        )
    overdue = runner.invoke(main, ["schedules", "overdue", "--tenant", "acme"])
    assert overdue.exit_code == 1 and schedule_id in overdue.output, overdue.output

    assert runner.invoke(main, ["tenants", "sync"]).exit_code == 0  # acme's partitions, as the daemon's
    # The real command in its own process: it runs the code location's job, whose resources read the
    # environment when the code location is imported (in this process, perhaps by an earlier test).
    triggered = subprocess.run(
        [str(BIN / "export-platform"), "schedules", "trigger", schedule_id],
        env=dict(os.environ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert triggered.returncode == 0 and "success" in triggered.stdout, triggered.stdout + triggered.stderr
    [row] = ExportHistory(url=url).entries(tenant="acme")
    month = (dt.datetime.now(UTC).date() - dt.timedelta(days=1)).strftime("%Y-%m")
    assert (row["requested_by"], row["partition_key"], row["status"]) == (
        "manual",
        f"{month}|acme",
        "success",
    )
