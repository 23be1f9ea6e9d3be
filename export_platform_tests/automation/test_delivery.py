"""E-mail delivery and failure notices through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from export_platform.automation.delivery import Undeliverable, deliver_run
from export_platform.automation.mailer import Mailer
from export_platform.automation.tenant_schedule_sensor import SCHEDULE_TAG
from export_platform.datasets.source_database import SourceDatabase
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory, awaiting_delivery
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schema import export_schedules, notification_settings
from export_platform_tests.support.mail_delivery import (
    OPERATOR,
    SENDER,
    Inbox,
    add_schedule,
    deliver,
    notice_failure,
    scheduled_run,
    smtp_inbox,
)
from export_platform_tests.support.materialize import ephemeral_instance


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    with smtp_inbox() as served:
        yield served


@pytest.fixture
def platform(tmp_path: Path):
    """A one-tenant source whose database also holds the platform tables, and a local artifact root."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=3, end_month="2026-10"))
    history = ExportHistory(url=url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings(
            "acme",
            default_recipients=("boss@acme.example",),
            failure_recipients=("it@acme.example", "x@evil.example"),
            allowed_domains=("acme.example",),
            sender_name="Acme Exports",
            reply_to="help@acme.example",
        )
    )
    return url, history, tmp_path / "artifacts"


def test_delivered_once_after_a_deferral_with_identical_attachments(platform, inbox) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    run = scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",)))
    assert run.success

    handler.defer = 1  # the server says "try again later" once
    deliver(instance, history, root, smtp_url)
    assert handler.messages == []
    assert {r["status"] for r in history.entries(tenant="acme")} == {"success"}

    deliver(instance, history, root, smtp_url)
    deliver(instance, history, root, smtp_url)  # a later tick (or a retry) sends nothing more
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["To"] == "finance@acme.example" and message["Subject"] == "Acme monthly sales"
    assert message["Reply-To"] == "help@acme.example" and "Acme Exports" in message["From"]
    assert message.get_body(("plain",)) and message.get_body(("html",))
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    folder = root / "acme" / "exports" / "sales" / "2026-10"
    assert sorted(attachments) == [
        "sales_acme_2026-10.csv",
        "sales_acme_2026-10.pdf",
        "sales_acme_2026-10.xlsx",
    ]
    for name, body in attachments.items():
        assert body == (folder / name).read_bytes(), name
    assert {r["status"] for r in history.entries(tenant="acme")} == {"emailed"}


def test_over_the_size_limit_sends_links(platform, inbox) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    assert scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",))).success
    deliver(instance, history, root, smtp_url, limit=1_000)
    message = handler.messages[0]
    assert list(message.iter_attachments()) == []
    text = message.get_body(("plain",)).get_content()
    assert text.count("Download: ") == 3 and "sales_acme_2026-10.pdf" in text


def test_a_recipient_outside_the_allowed_domains_is_refused(platform, inbox) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    run = scheduled_run(
        url, root, instance, add_schedule(history, ("finance@acme.example", "spy@evil.example"))
    )
    assert run.success
    deliver(instance, history, root, smtp_url)
    assert [m["To"] for m in handler.messages] == [OPERATOR]  # the tenant's files went nowhere
    reason = "not delivered: recipients ['spy@evil.example'] are not addresses in acme's allowed domains"
    rows = history.entries(tenant="acme")
    assert {(r["status"], r["error_message"]) for r in rows} == {("failed", reason)}
    assert all(r["uri"] for r in rows)  # the files were written; only the delivery failed
    notice = handler.messages[0].get_body(("plain",)).get_content()
    assert f"Run: {run.run_id}" in notice and reason.replace("not delivered", "Not delivered") in notice
    assert isinstance(deliver(instance, history, root, smtp_url), dg.SkipReason)
    assert len(handler.messages) == 1


def test_a_failed_export_sends_one_notice(platform, inbox, tmp_path: Path) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifact root should be")
    run = scheduled_run(url, root, instance, "none", artifact_root=str(blocked))
    assert not run.success
    # An export of the run that was written, then closed because the run failed, is not a failure.
    written = history.start(
        tenant="acme",
        requested_by="schedule:Monthly",
        dataset="customers",
        fmt="csv",
        partition_key="2026-10|acme",
        run_id=run.run_id,
    )
    history.move(written, "processing")
    history.move(written, "success", record_count=1, file_size_bytes=1, uri="file:///customers.csv")
    history.close_undelivered([written], f"not delivered: run {run.run_id} ended FAILURE")
    notice_failure(run, instance, history, smtp_url)
    assert len(handler.messages) == 1
    notice = handler.messages[0]
    assert set(handler.envelopes[0].rcpt_tos) == {
        "it@acme.example",
        "ops@platform.example",
    }  # not evil.example
    text = notice.get_body(("plain",)).get_content()
    assert "Tenant: acme" in text and "Partition: 2026-10|acme" in text and "sales_csv: " in text
    assert "customers_csv" not in text and "not delivered" not in notice["Subject"]
    assert "NotADirectoryError" in text or "FileExistsError" in text
    failed = [r for r in history.entries(tenant="acme", status="failed") if r["run_id"] == run.run_id]
    assert failed and all(r["error_message"] for r in failed)


def test_weekly_summary_counts_only_the_tenants_last_week(platform, inbox) -> None:
    import datetime as dt

    from export_platform.automation.weekly_summary import weekly_export_summary
    from export_platform.tracking.schema import export_history

    _, history, _ = platform
    handler, smtp_url = inbox
    base = {"requested_by": "x", "dataset": "sales", "partition_key": "2026-10|acme", "run_id": "r"}
    for tenant, fmt, status, size, age in [
        ("acme", "csv", "success", 1000, 1),
        ("acme", "pdf", "emailed", 500, 2),
        ("acme", "xlsx", "failed", None, 3),
        ("acme", "csv", "success", 9999, 20),
        ("globex", "csv", "failed", None, 1),
    ]:
        entry = history.start(tenant=tenant, fmt=fmt, **base)
        with history.engine.begin() as conn:
            conn.execute(
                export_history.update()
                .where(export_history.c.id == entry)
                .values(
                    status=status,
                    file_size_bytes=size,
                    error_message="boom" if status == "failed" else None,
                    created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=age),
                )
            )
    result = dg.materialize(
        [weekly_export_summary],
        partition_key="acme",
        instance=ephemeral_instance("acme"),
        resources={
            "history": history,
            "mailer": Mailer(smtp_url=smtp_url, sender=SENDER),
            "source": SourceDatabase(url=history.url),
        },
    )
    metadata = result.asset_materializations_for_node("weekly_export_summary")[0].metadata
    assert (metadata["exports"].value, metadata["succeeded"].value, metadata["failed"].value) == (3, 2, 1)
    assert metadata["bytes"].value == 1500 and metadata["success_rate_pct"].value == 66.67  # 2 of 3
    assert len(handler.messages) == 1 and handler.envelopes[0].rcpt_tos == ["boss@acme.example"]
    text = handler.messages[0].get_body(("plain",)).get_content()
    assert "Succeeded: 2 (66.67%)" in text and "Failure: sales_xlsx 2026-10|acme: boom" in text


@pytest.fixture
def two_tenants(tmp_path: Path):
    """acme and globex, each allowed its own domain, with a schedule to its finance address."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=2, months=1, sales_per_day=3, end_month="2026-10"))
    history = ExportHistory(url=url)
    schedules = {}
    for tenant in ("acme", "globex"):
        NotificationSettingsStore(history.engine).put(
            NotificationSettings(
                tenant,
                allowed_domains=(f"{tenant}.example",),
                sender_name=f"{tenant.title()} Exports",
                reply_to=f"help@{tenant}.example",
            )
        )
        schedules[tenant] = add_schedule(history, (f"finance@{tenant}.example",), tenant=tenant)
    return url, history, tmp_path / "artifacts", schedules


def store_directly(history: ExportHistory, table: sa.Table, key: sa.ColumnElement, **values) -> None:
    """Write values as a row saved before the rules existed (or by another program) would hold them."""
    with history.engine.begin() as conn:
        assert conn.execute(table.update().where(key).values(**values)).rowcount == 1


INJECTION = "\r\nBcc: spy@evil.example"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sender_name", f"Acme{INJECTION}", "sender_name: control characters are not allowed (U+000D at"),
        ("reply_to", f"help@acme.example{INJECTION}", "reply_to 'help@acme.example\\r\\nBcc: spy@evil"),
        ("subject", f"Sales{INJECTION}", "the schedule's subject: control characters are not allowed"),
    ],
)
def test_one_tenants_bad_header_fails_its_delivery_only(two_tenants, inbox, field, value, reason) -> None:
    """A header value holding a line break fails that tenant's delivery alone: its rows are closed as
    failed with the reason and the operators told, while the other tenant's run, later in the same
    tick, is delivered."""
    url, history, root, schedules = two_tenants
    handler, smtp_url = inbox
    if field == "subject":
        store_directly(history, export_schedules, export_schedules.c.id == schedules["acme"], subject=value)
    else:
        key = notification_settings.c.tenant_id == "acme"
        store_directly(history, notification_settings, key, **{field: value})
    instance = ephemeral_instance("acme", "globex")
    runs = {t: scheduled_run(url, root, instance, schedules[t], tenant=t) for t in ("acme", "globex")}
    assert all(run.success for run in runs.values())

    deliver(instance, history, root, smtp_url)  # one tick, acme's run first (the older)

    assert [m["Subject"] for m in handler.to("finance@globex.example")] == ["Globex monthly sales"]
    assert {r["status"] for r in history.entries(tenant="globex")} == {"emailed"}
    acme = history.entries(tenant="acme")
    assert {r["status"] for r in acme} == {"failed"}
    assert all(r["error_message"].startswith(f"not delivered: {reason}") for r in acme), acme[0]
    [notice] = handler.to(OPERATOR)
    assert notice["Subject"] == f"Delivery failed: acme run {runs['acme'].run_id}"
    assert not handler.to("spy@evil.example") and not any(m["Bcc"] for m in handler.messages)
    assert isinstance(deliver(instance, history, root, smtp_url), dg.SkipReason)  # nothing left to send


def test_a_reply_to_outside_the_allowed_domains_is_refused(platform, inbox) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    settings = NotificationSettingsStore(history.engine)
    settings.put(dataclasses.replace(settings.get("acme"), reply_to="orders@evil.example"))
    instance = ephemeral_instance("acme")
    assert scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",))).success
    deliver(instance, history, root, smtp_url)
    assert not handler.to("finance@acme.example")  # a reply would carry the files to evil.example
    assert {r["error_message"] for r in history.entries(tenant="acme")} == {
        "not delivered: reply_to 'orders@evil.example' is not an address in acme's allowed domains"
    }
    assert len(handler.to(OPERATOR)) == 1


def _fail() -> None:
    raise RuntimeError("the run failed after some of its exports had succeeded")


@dg.job
def failing_job() -> None:
    dg.op(name="boom")(_fail)()


def test_dead_rows_past_the_batch_size_do_not_starve_a_new_delivery(platform, inbox) -> None:
    """More dead rows than one tick reads (successful exports of a run that then failed, or of a run
    since deleted) are closed as failed, a batch per tick, so a newer delivery is reached; operators
    are not told about runs whose failure has its own notice."""
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    failed_run = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert failed_run.dagster_run.status == dg.DagsterRunStatus.FAILURE
    batch, dead = 5, {}
    for number in range(12):
        run_id = failed_run.run_id if number % 2 else f"deleted-run-{number}"
        entry = history.start(
            tenant="acme",
            requested_by="schedule:Monthly",
            dataset="sales",
            fmt="csv",
            partition_key="2026-10|acme",
            run_id=run_id,
        )
        history.move(entry, "processing")
        history.move(entry, "success", record_count=1, file_size_bytes=1, uri="file:///gone.csv")
        dead[entry] = run_id
    assert len(dead) > 2 * batch
    fresh = scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",)))
    assert fresh.success

    ticks = 0
    while not handler.to("finance@acme.example"):
        ticks += 1
        assert ticks <= len(dead) // batch + 1, "the new delivery was never reached"
        deliver(instance, history, root, smtp_url, batch=batch)
    rows = {r["id"]: r for r in history.entries(tenant="acme", limit=100)}
    assert {rows[e]["error_message"] for e in dead} == {
        f"not delivered: run {failed_run.run_id} ended FAILURE",
        *(f"not delivered: run {run} no longer exists" for run in dead.values() if run != failed_run.run_id),
    }
    assert {rows[e]["status"] for e in dead} == {"failed"}
    assert {r["status"] for r in rows.values() if r["run_id"] == fresh.run_id} == {"emailed"}
    assert not handler.to(OPERATOR)


def test_a_tenant_that_turned_deliveries_off_gets_none_and_its_rows_stay_successful(platform, inbox) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    settings = NotificationSettingsStore(history.engine)
    settings.put(dataclasses.replace(settings.get("acme"), notify_on_success=False))
    instance = ephemeral_instance("acme")
    assert scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",))).success
    deliver(instance, history, root, smtp_url)
    assert handler.messages == []  # nor the operators: nothing is broken
    # The exports succeeded: they stay so, marked as having had nobody to go to, and are not retried.
    assert {(r["status"], r["error_message"]) for r in history.entries(tenant="acme")} == {
        ("success", "not delivered: acme turned delivery e-mails off (notify_on_success)")
    }
    assert awaiting_delivery(history) == []


@pytest.mark.parametrize(
    ("partition", "recipients"),
    [
        ("acme", {"it@acme.example", "ops@platform.example"}),  # the weekly summary's tenant partition
        ("bogus\r\nBcc: thief@evil.example", {"ops@platform.example"}),  # a tag anyone could set
    ],
)
def test_a_failed_run_of_any_partition_is_noticed_without_stopping_the_sensor(
    platform, inbox, partition: str, recipients: set[str]
) -> None:
    """The failure sensor handles one run at a time: a run whose partition is a bare tenant, or not a
    partition at all, must still be noticed (operators at least) rather than fail the sensor, which
    would then retry that run for ever and tell nobody of any later failure."""
    _, history, _ = platform
    handler, smtp_url = inbox

    @dg.op
    def boom() -> None:
        raise RuntimeError("boom")

    @dg.job
    def weekly() -> None:
        boom()

    instance = ephemeral_instance("acme")
    run = weekly.execute_in_process(
        instance=instance, tags={"dagster/partition": partition}, raise_on_error=False
    )
    notice_failure(run, instance, history, smtp_url)
    assert len(handler.messages) == 1 and set(handler.envelopes[0].rcpt_tos) == recipients
    assert handler.messages[0]["Bcc"] is None and "\n" not in handler.messages[0]["Subject"]


@pytest.mark.parametrize(
    ("tags", "sent"),
    [
        ({SCHEDULE_TAG: "s1"}, False),  # anyone may tag an ad-hoc run with a schedule's id
        ({SCHEDULE_TAG: "s1", "dagster/sensor_name": "someone_elses_sensor"}, False),
        ({SCHEDULE_TAG: "s1", "dagster/sensor_name": "export_schedule_sensor"}, True),
    ],
)
def test_a_days_ad_hoc_files_are_sent_only_for_a_run_the_schedule_sensor_launched(
    tags: dict[str, str], sent: bool
) -> None:
    """A schedule's run of a day or a week is an ad-hoc export, whose rows carry no partition: the
    run's own tags, set by Dagster for the sensor that launched it, decide whether it is one."""
    run = dg.DagsterRun(job_name="adhoc_export", run_id="r1", tags=tags, status=dg.DagsterRunStatus.FAILURE)
    rows = [{"partition_key": None, "tenant_id": "acme"}]
    with pytest.raises(Undeliverable) as refused:
        deliver_run(run, "r1", rows, None, None, None, None)  # refused before anything is read or sent
    if sent:  # past the schedule check, stopped by the run's status (FAILURE) instead
        assert refused.value.reason == "run r1 ended FAILURE"
    else:
        assert refused.value.reason == "run r1 is an ad-hoc export, not a schedule's run"
        assert refused.value.nothing_to_send
