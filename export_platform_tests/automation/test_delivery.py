"""E-mail delivery and failure notices through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from export_platform.automation.delivery import export_delivery_sensor, export_failure_notice_sensor
from export_platform.automation.mailer import Mailer
from export_platform.datasets.assets import dataset_assets
from export_platform.exports.assets import export_assets
from export_platform.resources import SourceDatabase
from export_platform.source.database import SourceUrl
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schedules import ScheduleSpec, ScheduleStore
from export_platform_tests.conftest import ephemeral_instance, free_port

SALES_EXPORTS = ["sales", "sale_items", "sales_csv", "sales_xlsx", "sales_pdf"]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.defer = 0

    async def handle_DATA(self, server, session, envelope):
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


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


def scheduled_run(
    url: str, root: Path, instance: dg.DagsterInstance, schedule_id: str, artifact_root: str | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*dataset_assets, *export_assets],
        selection=SALES_EXPORTS,
        partition_key="2026-10|acme",
        instance=instance,
        tags={"export_platform/schedule_id": schedule_id, "export_platform/requested_by": "schedule:Monthly"},
        resources={
            "source": SourceDatabase(url=url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(root)),
            "artifacts": ArtifactStore(root=artifact_root or str(root)),
            "history": ExportHistory(url=url),
        },
        raise_on_error=False,
    )


def add_schedule(history: ExportHistory, recipients: tuple[str, ...]) -> str:
    spec = ScheduleSpec(
        tenant="acme",
        name=f"Monthly {len(recipients)}{recipients[0]}",
        datasets=("sales",),
        formats=("csv", "xlsx", "pdf"),
        cadence="monthly",
        day_of_month="1",
        recipients=recipients,
        subject="Acme monthly sales",
    )
    return ScheduleStore(history.engine).add(spec).id


def deliver(instance, history, root, smtp_url, cursor=None, limit=10 * 1024 * 1024):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "history": history,
            "artifacts": ArtifactStore(root=str(root)),
            "mailer": Mailer(smtp_url=smtp_url, attachment_limit_bytes=limit),
        },
    )
    return export_delivery_sensor(context)


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
    assert scheduled_run(
        url, root, instance, add_schedule(history, ("finance@acme.example", "spy@evil.example"))
    ).success
    result = deliver(instance, history, root, smtp_url)
    assert handler.messages == []
    assert {r["status"] for r in history.entries(tenant="acme")} == {"success"}
    assert isinstance(deliver(instance, history, root, smtp_url, cursor=result.cursor), dg.SkipReason)


def test_a_failed_export_sends_one_notice(platform, inbox, tmp_path: Path) -> None:
    url, history, root = platform
    handler, smtp_url = inbox
    instance = ephemeral_instance("acme")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifact root should be")
    run = scheduled_run(url, root, instance, "none", artifact_root=str(blocked))
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="export_failure_notice_sensor",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run.dagster_run,
        resources={
            "history": history,
            "mailer": Mailer(smtp_url=smtp_url, operators=["ops@platform.example"]),
        },
    ).for_run_failure()
    export_failure_notice_sensor(context)
    assert len(handler.messages) == 1
    notice = handler.messages[0]
    assert set(handler.envelopes[0].rcpt_tos) == {
        "it@acme.example",
        "ops@platform.example",
    }  # not evil.example
    text = notice.get_body(("plain",)).get_content()
    assert "Tenant: acme" in text and "Partition: 2026-10|acme" in text and "sales_csv: " in text
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
        resources={"history": history, "mailer": Mailer(smtp_url=smtp_url)},
    )
    metadata = result.asset_materializations_for_node("weekly_export_summary")[0].metadata
    assert (metadata["exports"].value, metadata["succeeded"].value, metadata["failed"].value) == (3, 2, 1)
    assert metadata["bytes"].value == 1500 and metadata["success_rate_pct"].value == 66.67  # 2 of 3
    assert len(handler.messages) == 1 and handler.envelopes[0].rcpt_tos == ["boss@acme.example"]
    text = handler.messages[0].get_body(("plain",)).get_content()
    assert "Succeeded: 2 (66.67%)" in text and "Failure: sales_xlsx 2026-10|acme: boom" in text
