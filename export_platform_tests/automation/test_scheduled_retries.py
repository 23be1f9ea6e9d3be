"""Automatic retry of failed scheduled exports: real runs on a real instance, the retry sensor
evaluated at chosen times (its clock, not waited for), and the failure notice through a real SMTP
server, which hears of a run only when its last attempt failed or its error was not transient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from export_platform.automation import scheduled_retries as retries_module
from export_platform.automation.scheduled_retries import (
    ATTEMPT_TAG,
    FIRST_RUN_TAG,
    awaits_retry,
    scheduled_export_retry_sensor,
)
from export_platform.automation.tenant_schedule_sensor import DueExport
from export_platform.errors import InvalidSetting
from export_platform.settings import max_retries, retry_delay
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.adhoc_runs import run_sensor_request
from export_platform_tests.support.mail_delivery import notice_failure, smtp_inbox

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/nowhere"
"""A source nobody listens for: the transient fault (connection refused)."""
UTC = dt.UTC


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def platform(tmp_path: Path) -> tuple[str, ExportHistory, Path]:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=3, end_month="2026-10"))
    history = ExportHistory(url=url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings(
            "acme", failure_recipients=("it@acme.example",), allowed_domains=("acme.example",)
        )
    )
    return url, history, tmp_path / "artifacts"


def due_request(history: ExportHistory, tenant: str = "acme") -> dg.RunRequest:
    """The schedule sensor's request for a stored daily schedule's 15 October: an ad-hoc export of
    that day."""
    spec = TenantScheduleSpec(
        tenant=tenant, name="Daily sales", datasets=("sales",), formats=("csv",), cadence="daily"
    )
    schedule = TenantScheduleStore(history.engine).add(spec, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    [request] = DueExport(schedule, dt.datetime(2026, 10, 16, 6, tzinfo=UTC)).run_requests()
    return request


def evaluate(instance: dg.DagsterInstance, now: dt.datetime, monkeypatch) -> dg.SkipReason | dg.SensorResult:
    monkeypatch.setattr(retries_module, "now_utc", lambda: now)
    return scheduled_export_retry_sensor(dg.build_sensor_context(instance=instance))


def ended(instance: dg.DagsterInstance, run_id: str) -> dt.datetime:
    record = instance.get_run_record_by_id(run_id)
    assert record is not None and record.end_time is not None
    return dt.datetime.fromtimestamp(record.end_time, UTC)


def test_a_transient_failure_is_retried_after_the_delay_once_and_nobody_is_told(
    instance, platform, monkeypatch
) -> None:
    url, history, root = platform
    first = run_sensor_request(due_request(history), instance, UNREACHABLE, history, root)
    assert not first.success
    assert awaits_retry(instance, first.dagster_run)
    with smtp_inbox() as (inbox, smtp_url):
        notice_failure(first, instance, history, smtp_url)
    assert inbox.messages == []  # not final: the retry may still make the file

    failed_at = ended(instance, first.run_id)
    early = evaluate(instance, failed_at + dt.timedelta(hours=5, minutes=59), monkeypatch)
    assert isinstance(early, dg.SkipReason)
    due = evaluate(instance, failed_at + dt.timedelta(hours=6), monkeypatch)
    assert isinstance(due, dg.SensorResult)
    [retry] = due.run_requests
    assert retry.run_key == f"schedule-retry:{first.run_id}:2"
    assert (retry.tags[ATTEMPT_TAG], retry.tags[FIRST_RUN_TAG]) == ("2", first.run_id)
    assert retry.job_name == "adhoc_export" and retry.run_config == first.dagster_run.run_config
    again = evaluate(instance, failed_at + dt.timedelta(hours=6, minutes=5), monkeypatch)
    assert isinstance(again, dg.SensorResult)
    assert [r.run_key for r in again.run_requests] == [retry.run_key]  # Dagster launches a key once

    second = run_sensor_request(retry, instance, url, history, root, sensor="scheduled_export_retry_sensor")
    assert second.success
    [row] = history.entries(tenant="acme")
    assert (row["run_id"], row["status"], row["requested_by"]) == (
        second.run_id,
        "success",
        "schedule:Daily sales",
    )
    assert len(list((root / "acme" / "adhoc").rglob("*.csv"))) == 1
    assert second.dagster_run.tags[FIRST_RUN_TAG] == first.run_id


def test_the_last_attempt_failing_is_told_once(instance, platform, monkeypatch) -> None:
    _, history, root = platform
    due = due_request(history)
    last = dg.RunRequest(
        run_key=due.run_key,
        job_name=due.job_name,
        run_config=due.run_config,
        tags={**due.tags, ATTEMPT_TAG: str(max_retries() + 1), FIRST_RUN_TAG: "first-run"},
    )
    failed = run_sensor_request(
        last, instance, UNREACHABLE, history, root, sensor="scheduled_export_retry_sensor"
    )
    assert not failed.success and not awaits_retry(instance, failed.dagster_run)
    assert isinstance(
        evaluate(instance, ended(instance, failed.run_id) + dt.timedelta(days=1), monkeypatch), dg.SkipReason
    )
    with smtp_inbox() as (inbox, smtp_url):
        notice_failure(failed, instance, history, smtp_url)
    assert [m["To"] for m in inbox.messages] == ["it@acme.example, ops@platform.example"]


def test_an_error_that_is_not_transient_is_told_at_once_and_never_retried(
    instance, platform, monkeypatch
) -> None:
    url, history, root = platform
    refused = run_sensor_request(
        due_request(history, tenant="ghost"), instance, url, history, root
    )  # a tenant the source lacks
    assert not refused.success and not awaits_retry(instance, refused.dagster_run)
    assert isinstance(
        evaluate(instance, ended(instance, refused.run_id) + dt.timedelta(hours=7), monkeypatch),
        dg.SkipReason,
    )
    with smtp_inbox() as (inbox, smtp_url):
        notice_failure(refused, instance, history, smtp_url)
    assert [m["To"] for m in inbox.messages] == ["ops@platform.example"]  # ghost has no settings


def test_a_run_someone_triggered_is_theirs_to_retry(instance, platform, monkeypatch) -> None:
    _, history, root = platform
    failed = run_sensor_request(
        due_request(history), instance, UNREACHABLE, history, root, sensor="someone_elses_sensor"
    )
    assert not failed.success and not awaits_retry(instance, failed.dagster_run)
    assert isinstance(
        evaluate(instance, ended(instance, failed.run_id) + dt.timedelta(hours=7), monkeypatch), dg.SkipReason
    )


def test_the_delay_and_the_number_of_retries_are_settings(monkeypatch) -> None:
    assert (retry_delay(), max_retries()) == (dt.timedelta(hours=6), 3)
    monkeypatch.setenv("EXPORT_SCHEDULE_RETRY_DELAY_SECONDS", "60")
    monkeypatch.setenv("EXPORT_SCHEDULE_RETRIES", "0")
    assert (retry_delay(), max_retries()) == (dt.timedelta(minutes=1), 0)
    monkeypatch.setenv("EXPORT_SCHEDULE_RETRIES", "three")
    with pytest.raises(InvalidSetting, match="EXPORT_SCHEDULE_RETRIES='three'"):
        max_retries()
