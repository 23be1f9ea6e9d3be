"""E-mail: scheduled exports delivered to their recipients, and failure notices.

``export_delivery_sensor`` looks for successful exports of scheduled runs that were not e-mailed yet.
Once the whole run has succeeded it sends one message per run: the files attached while their total
stays under the mailer's limit, download links for the rest. Recipients must belong to the tenant's
allowed domains, checked at send time. The history rows move to ``emailed`` only after the SMTP server
accepted the message; a temporary SMTP failure leaves them for the next tick, so delivery is retried
and, once accepted, never sent again. ``export_failure_notice_sensor`` tells the tenant's failure
recipients and the platform operators, once per failed run, which exports failed and why.
"""

import html
import json
import tempfile
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import dagster as dg

from export_platform.automation.mailer import DeliveryRefused, Mailer, TransientDeliveryError
from export_platform.exports.formats import EXPORTS
from export_platform.partitions import parse_partition_key
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import export_key
from export_platform.tracking.history import ExportHistory, awaiting_delivery
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.schedules import ScheduleStore

CONTENT_TYPES = {fmt.name: fmt.content_type for _, fmt in EXPORTS}


def _file_key(row: dict) -> str:
    partition = parse_partition_key(row["partition_key"])
    return export_key(partition.tenant, row["dataset"], partition.month, row["format"])


def compose_delivery(
    *,
    run_id: str,
    tenant: str,
    rows: list[dict],
    recipients: list[str],
    settings: NotificationSettings,
    artifacts: ArtifactStore,
    attachment_limit: int,
    subject: str | None,
    message: str | None,
    schedule_name: str,
) -> EmailMessage:
    """The delivery message for one run: attachments while they fit under ``attachment_limit``
    bytes in total (smallest first), links for the others."""
    period = parse_partition_key(rows[0]["partition_key"]).month
    email = EmailMessage()
    email["Subject"] = subject or f"{schedule_name}: {tenant} exports for {period}"
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = f"<delivery-{run_id}@export-platform>"
    if settings.sender_name:
        email["From"] = formataddr((settings.sender_name, "exports@export-platform.invalid"))
    if settings.reply_to:
        email["Reply-To"] = settings.reply_to
    attached, linked, used = [], [], 0
    for row in sorted(rows, key=lambda r: (r["file_size_bytes"], r["dataset"], r["format"])):
        if used + row["file_size_bytes"] <= attachment_limit:
            attached.append(row)
            used += row["file_size_bytes"]
        else:
            linked.append((row, artifacts.download_url(_file_key(row)) or row["uri"]))
    lines = [message or f"Your scheduled exports for {period} are ready.", ""]
    lines += [f"Attached: {r['dataset']}_{r['format']} ({r['record_count']} rows)" for r in attached]
    lines += [
        f"Download: {r['dataset']}_{r['format']} ({r['record_count']} rows): {link}" for r, link in linked
    ]
    email.set_content("\n".join(lines) + "\n")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[2:])
    email.add_alternative(f"<p>{html.escape(lines[0])}</p><ul>{items}</ul>", subtype="html")
    with tempfile.TemporaryDirectory(prefix="export-mail-") as folder:
        for row in attached:
            key = _file_key(row)
            copy = Path(folder) / key.rsplit("/", 1)[1]
            artifacts.download(key, copy)
            maintype, subtype = CONTENT_TYPES[row["format"]].split(";")[0].split("/")
            email.add_attachment(copy.read_bytes(), maintype=maintype, subtype=subtype, filename=copy.name)
    return email


@dg.sensor(
    name="export_delivery_sensor",
    description=(
        "E-mails the files of each successful scheduled export run to the schedule's recipients (or the "
        "tenant's default recipients), attaching them up to the size limit and linking the rest; only to "
        "addresses in the tenant's allowed domains. Retries until the mail server accepts; never sends twice."
    ),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def export_delivery_sensor(
    context: dg.SensorEvaluationContext, history: ExportHistory, artifacts: ArtifactStore, mailer: Mailer
):
    previously_given_up = set(json.loads(context.cursor or "[]"))
    given_up = set(previously_given_up)
    runs: dict[str, list[dict]] = {}
    for row in awaiting_delivery(history):
        if row["run_id"] not in given_up:
            runs.setdefault(row["run_id"], []).append(row)
    sent = 0
    for run_id, rows in runs.items():
        run = context.instance.get_run_by_id(run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            continue  # still running, or failed: the failure notice covers it
        tenant = rows[0]["tenant_id"]
        settings = NotificationSettingsStore(history.engine).get(tenant)
        schedule = ScheduleStore(history.engine).get(run.tags.get("export_platform/schedule_id", ""))
        recipients = list(
            schedule.spec.recipients if schedule and schedule.spec.recipients else settings.default_recipients
        )
        refused = settings.refused(recipients)
        if not recipients or refused or not settings.notify_on_success:
            reason = (
                f"recipients {refused} are outside {tenant}'s allowed domains" if refused else "no recipients"
            )
            context.log.error(f"not delivering run {run_id} of {tenant}: {reason}")
            given_up.add(run_id)
            continue
        message = compose_delivery(
            run_id=run_id,
            tenant=tenant,
            rows=rows,
            recipients=recipients,
            settings=settings,
            artifacts=artifacts,
            attachment_limit=mailer.attachment_limit_bytes,
            subject=schedule.spec.subject if schedule else None,
            message=schedule.spec.message if schedule else None,
            schedule_name=schedule.spec.name
            if schedule
            else rows[0]["requested_by"].removeprefix("schedule:"),
        )
        try:
            accepted = mailer.send(message)
        except TransientDeliveryError as exc:
            context.log.warning(f"delivery of run {run_id} deferred, will retry: {exc}")
            continue
        except DeliveryRefused as exc:
            context.log.error(f"delivery of run {run_id} refused: {exc}")
            given_up.add(run_id)
            continue
        if accepted:
            for row in rows:
                history.move(row["id"], "emailed")
            sent += 1
    if given_up != previously_given_up:
        return dg.SensorResult(cursor=json.dumps(sorted(given_up)))
    return None if sent else dg.SkipReason("nothing to deliver")


def compose_failure_notice(
    *, run_id: str, partition_key: str | None, failures: list[dict], error: str, recipients: list[str]
) -> EmailMessage:
    tenant = failures[0]["tenant_id"] if failures else (partition_key or "?").split("|")[-1]
    exports = ", ".join(f"{r['dataset']}_{r['format']}" for r in failures) or "the export run"
    email = EmailMessage()
    email["Subject"] = f"Export failed: {tenant} {exports} for {partition_key}"
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = f"<failure-{run_id}@export-platform>"
    lines = [f"Tenant: {tenant}", f"Partition: {partition_key}", f"Run: {run_id}", ""]
    lines += [f"{r['dataset']}_{r['format']}: {r['error_message']}" for r in failures] or [f"Error: {error}"]
    email.set_content("\n".join(lines) + "\n")
    email.add_alternative("".join(f"<p>{html.escape(line)}</p>" for line in lines), subtype="html")
    return email


@dg.run_failure_sensor(
    name="export_failure_notice_sensor",
    description="E-mails the tenant's failure recipients and the platform operators when an export fails.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def export_failure_notice_sensor(context: dg.RunFailureSensorContext, history: ExportHistory, mailer: Mailer):
    run = context.dagster_run
    partition_key = run.tags.get("dagster/partition")
    failures = [r for r in history.entries(status="failed", limit=1000) if r["run_id"] == run.run_id]
    if not failures and not partition_key:
        return
    tenant = parse_partition_key(partition_key).tenant if partition_key else failures[0]["tenant_id"]
    settings = NotificationSettingsStore(history.engine).get(tenant)
    tenant_recipients = (
        []
        if not settings.notify_on_failure
        else [
            r for r in settings.failure_recipients if r not in settings.refused(settings.failure_recipients)
        ]
    )
    recipients = tenant_recipients + list(mailer.operators)
    if not recipients:
        context.log.warning(f"failed run {run.run_id} of {tenant}: nobody to notify")
        return
    mailer.send(
        compose_failure_notice(
            run_id=run.run_id,
            partition_key=partition_key,
            failures=failures,
            error=context.failure_event.message or "",
            recipients=recipients,
        )
    )
