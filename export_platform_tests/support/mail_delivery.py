"""Support for delivery tests: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it accepts,
a scheduled run of one tenant's sales exports, and one tick of the delivery sensor."""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from aiosmtpd.controller import Controller

from export_platform.automation.delivery import (
    deliver_scheduled_exports,
    export_delivery_sensor,
    export_failure_notice_sensor,
)
from export_platform.automation.mailer import Mailer
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.ports import free_port

SALES_EXPORTS = ["sales", "sale_items", "sales_csv", "sales_xlsx", "sales_pdf"]
OPERATOR = "ops@platform.example"
SENDER = "Export Platform <exports@platform.example>"
"""What EXPORT_MAIL_FROM says in these tests."""


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

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The accepted messages whose envelope named ``address``."""
        return [m for m, e in zip(self.messages, self.envelopes, strict=True) if address in e.rcpt_tos]


@contextlib.contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, str]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def scheduled_run(
    url: str,
    root: Path,
    instance: dg.DagsterInstance,
    schedule_id: str,
    artifact_root: str | None = None,
    *,
    tenant: str = "acme",
    requested_by: str = "schedule:Monthly",
) -> dg.ExecuteInProcessResult:
    """October's sales exports of ``tenant``, tagged as the schedule sensor tags its runs."""
    return dg.materialize(
        [*dataset_assets, *export_assets],
        selection=SALES_EXPORTS,
        partition_key=f"2026-10|{tenant}",
        instance=instance,
        tags={
            "export_platform/schedule_id": schedule_id,
            "export_platform/requested_by": requested_by,
            "dagster/sensor_name": "export_schedule_sensor",  # as Dagster tags a sensor's runs
        },
        resources={
            "source": SourceDatabase(url=url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(root)),
            "artifacts": ArtifactStore(root=artifact_root or str(root)),
            "history": ExportHistory(url=url),
        },
        raise_on_error=False,
    )


def add_schedule(history: ExportHistory, recipients: tuple[str, ...], *, tenant: str = "acme", **spec) -> str:
    values = {
        "tenant": tenant,
        "name": f"Monthly {len(recipients)}{recipients[0]}",
        "datasets": ("sales",),
        "formats": ("csv", "xlsx", "pdf"),
        "cadence": "monthly",
        "day_of_month": "1",
        "recipients": recipients,
        "subject": f"{tenant.title()} monthly sales",
        **spec,
    }
    return TenantScheduleStore(history.engine).add(TenantScheduleSpec(**values)).id


def deliver(
    instance: dg.DagsterInstance,
    history: ExportHistory,
    root: Path,
    smtp_url: str,
    limit: int = 10 * 1024 * 1024,
    *,
    batch: int | None = None,
    operators: tuple[str, ...] = (OPERATOR,),
):
    """One tick of ``export_delivery_sensor``, or with ``batch`` of the function behind it over that
    many rows."""
    resources = {
        "history": history,
        "artifacts": ArtifactStore(root=str(root)),
        "mailer": Mailer(
            smtp_url=smtp_url, sender=SENDER, attachment_limit_bytes=limit, operators=list(operators)
        ),
        "source": SourceDatabase(url=history.url),
    }
    if batch is None:
        return export_delivery_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    context = dg.build_sensor_context(instance=instance)
    return deliver_scheduled_exports(context, **resources, batch=batch)


def notice_failure(
    run: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, history: ExportHistory, smtp_url: str
) -> None:
    """One evaluation of the failure-notice sensor on ``run``'s failure, operators ops@platform.example."""
    failure = next(e for e in run.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="export_failure_notice_sensor",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run.dagster_run,
        resources={
            "history": history,
            "mailer": Mailer(smtp_url=smtp_url, sender=SENDER, operators=[OPERATOR]),
            "source": SourceDatabase(url=history.url),
        },
    ).for_run_failure()
    export_failure_notice_sensor(context)
