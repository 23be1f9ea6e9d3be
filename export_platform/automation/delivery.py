"""E-mail: scheduled exports delivered to their recipients, and failure notices.

``export_delivery_sensor`` looks for successful exports of scheduled runs that were not e-mailed yet:
a schedule's month of the monthly exports, or its ad-hoc export of a day, a week or a filtered period
(files under ``{tenant}/adhoc/{run_id}/``).
Once the whole run has succeeded it sends one message per run: the files attached while their total
stays under the mailer's limit, download links for the rest. Recipients and the reply-to address must
belong to the tenant's allowed domains, checked at send time. The history rows move to ``emailed`` only
after the SMTP server accepted the message; a temporary SMTP failure leaves them for the next tick, so
delivery is retried and, once accepted, never sent again.

One tick handles many tenants' runs, so each run is delivered on its own: a run that can never be
delivered (its run failed or is gone, nobody allowed to receive it, settings that cannot go into a
header, a refusal by the server, any other error) has its rows closed as ``failed`` with the reason
(``ExportHistory.close_undelivered``), the operators get a notice unless they already know (a failed
run has its own), and the other runs of the tick go on. Closed rows also leave the queue, so they can
never keep a newer delivery waiting.

``export_failure_notice_sensor`` tells the tenant's failure recipients and the platform operators,
once per failed run, which exports failed and why; a scheduled run that
``scheduled_export_retry_sensor`` will retry is not told of until its last attempt fails.

A schedule's webhooks (``automation.webhooks``: a signed JSON document; ``automation.slack_messages``:
a Slack message) are sent in the same step, before the e-mail: each with links to the run's files,
their sizes and sha256, only to URLs whose host the tenant allows (``webhook_hosts``, checked again at
send time) and only for the schedule the run names, which must be the run's tenant's. Each outcome is
logged (``tracking.webhook_deliveries``); a webhook already reached is not sent again when the e-mail
is deferred to a later tick. A webhook that refuses or stays unreachable after its tries makes the run
undeliverable as a refused message does: its rows are closed ``failed`` naming the webhook, the
operators are told, and no e-mail follows. When every destination took the run (a schedule with
webhooks and nobody to e-mail counts), its rows move to ``emailed``, the status of a delivered row.

Every message is from ``EXPORT_MAIL_FROM`` (the ``Mailer``'s sender); one the tenant's people receive
shows the tenant's sender name and reply-to address when its settings give them, and its subject
names the tenant (``branding.tenant_name``) and the period.
"""

import calendar
import datetime as dt
import html
import json
import tempfile
from email.message import EmailMessage
from pathlib import Path

import dagster as dg

from export_platform.automation.branding import add_reply_to, sender_name, tenant_name
from export_platform.automation.mailer import Mailer
from export_platform.automation.scheduled_retries import awaits_retry, launched_by_schedule
from export_platform.automation.slack_messages import slack_message
from export_platform.automation.tenant_schedule_sensor import SCHEDULE_TAG
from export_platform.automation.webhooks import (
    DeliveredRun,
    LinkedFile,
    post_webhook,
    webhook_document,
)
from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import DeliveryRefused, ExportPlatformError, TransientDeliveryError
from export_platform.exports.formats import FORMATS_BY_NAME
from export_platform.partitions import parse_partition_key, validate_tenant_slug
from export_platform.plain_text import control_character_problem, escaped
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import adhoc_key, export_key
from export_platform.tracking.history import BATCH, ExportHistory, awaiting_delivery
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform.tracking.tenant_schedules import TenantSchedule, TenantScheduleStore
from export_platform.tracking.webhook_deliveries import WebhookDeliveryLog

COMPRESSED_TYPES = {".gz": "application/gzip", ".zip": "application/zip"}


class Undeliverable(ExportPlatformError):
    """A run's exports can never be e-mailed. ``tell_operators`` is False when they already know
    (the run failed) or nothing is broken. ``nothing_to_send`` when the exports succeeded and simply
    have nobody to go to (the tenant turned delivery e-mails off, or neither the schedule nor the
    tenant names a recipient): their rows stay ``success``, marked not delivered; otherwise they fail."""

    def __init__(self, reason: str, *, tell_operators: bool = True, nothing_to_send: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tell_operators = tell_operators and not nothing_to_send
        self.nothing_to_send = nothing_to_send


def _file_key(row: dict) -> str:
    """The row's file, found from its tenant, run, dataset and month, never from where its stored
    ``uri`` points: an ad-hoc file's key is the tenant's folder of the row's run, holding the file
    of the row's dataset (its name is the uri's last part, checked to be that dataset's)."""
    if row["partition_key"] is None:
        name = (row["uri"] or "").rsplit("/", 1)[-1]
        if not name.startswith(f"{row['dataset']}_{row['tenant_id']}_"):
            raise Undeliverable(f"history row {row['id']} names no file of its dataset")
        return adhoc_key(row["tenant_id"], row["run_id"], name)
    partition = parse_partition_key(row["partition_key"])
    return export_key(partition.tenant, row["dataset"], partition.month, row["format"])


def _content_type(row: dict, file_name: str) -> str:
    for suffix, content_type in COMPRESSED_TYPES.items():
        if file_name.endswith(suffix) and not FORMATS_BY_NAME[row["format"]].extension.endswith(suffix):
            return content_type
    return FORMATS_BY_NAME[row["format"]].content_type


def period_of(row: dict) -> str:
    """What a delivered row covers, as its subject says it: the partition's month, or the ad-hoc
    period's days (one day, or ``first to last``)."""
    if row["partition_key"] is not None:
        return parse_partition_key(row["partition_key"]).month
    asked = json.loads(row["filters"] or "{}")
    first, last = asked.get("date_from", "?"), asked.get("date_to", "?")
    return first if first == last else f"{first} to {last}"


def period_days(row: dict) -> tuple[str, str]:
    """The first and last day a delivered row covers (ISO dates): its partition's month, or the ad-hoc
    period's."""
    if row["partition_key"] is not None:
        year, month = map(int, parse_partition_key(row["partition_key"]).month.split("-"))
        last = calendar.monthrange(year, month)[1]
        return dt.date(year, month, 1).isoformat(), dt.date(year, month, last).isoformat()
    asked = json.loads(row["filters"] or "{}")
    return str(asked.get("date_from", "")), str(asked.get("date_to", ""))


def delivered_run(
    run_id: str, rows: list[dict], schedule: TenantSchedule, tenant_name: str, artifacts: ArtifactStore
) -> DeliveredRun:
    """What the schedule's webhooks are told of the run: each file with a link valid for the artifact
    store's link lifetime. The files are found from the rows' tenant, run and dataset (``_file_key``)."""
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
        seconds=artifacts.presigned_url_expiry_seconds
    )
    files = []
    for row in sorted(rows, key=lambda r: (r["dataset"], r["format"])):
        key = _file_key(row)
        files.append(
            LinkedFile(
                dataset=row["dataset"],
                format=row["format"],
                name=key.rsplit("/", 1)[-1],
                size=row["file_size_bytes"],
                sha256=row["sha256"],
                record_count=row["record_count"],
                url=artifacts.download_url(key),
                expires_at=expires_at,
            )
        )
    first, last = period_days(rows[0])
    return DeliveredRun(
        tenant=schedule.spec.tenant,
        tenant_name=tenant_name,
        schedule_id=schedule.id,
        schedule_name=schedule.spec.name,
        run_id=run_id,
        period_label=period_of(rows[0]),
        date_from=first,
        date_to=last,
        files=tuple(files),
    )


def deliver_to_webhooks(run: DeliveredRun, schedule: TenantSchedule, log: WebhookDeliveryLog) -> list[str]:
    """Send ``run`` to each of the schedule's webhooks it has not reached yet, logging each outcome;
    the failures, one line each (empty when every webhook took it)."""
    done = log.delivered_urls(run.run_id)
    destinations = [("webhook", url) for url in schedule.spec.webhooks]
    destinations += [("slack", url) for url in schedule.spec.slack_webhooks]
    failures = []
    for kind, url in destinations:
        if url in done:
            continue
        if kind == "webhook":
            outcome = post_webhook(
                url,
                webhook_document(run),
                delivery_id=run.run_id,
                secret=schedule.webhook_secrets[url],
            )
        else:
            outcome = post_webhook(url, slack_message(run), delivery_id=run.run_id, secret=None)
        log.record(
            tenant=run.tenant,
            run_id=run.run_id,
            schedule_id=schedule.id,
            kind=kind,
            url=url,
            delivered=outcome.delivered,
            tries=outcome.tries,
            http_status=outcome.http_status,
            error=outcome.error,
        )
        if not outcome.delivered:
            failures.append(f"{kind} {url} {outcome.error}")
    return failures


def _header(field: str, value: str) -> str:
    """``value`` if it can be a header value, else ``Undeliverable`` naming the setting."""
    problem = control_character_problem(value)
    if problem:
        raise Undeliverable(f"{field}: {problem}")
    return value


def compose_delivery(
    *,
    run_id: str,
    tenant_name: str,
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
    bytes in total (smallest first), links for the others; its subject is the schedule's own, else
    the schedule's name, ``tenant_name`` and the period. A subject or sender name that cannot be a
    header value raises ``Undeliverable``; the mailer sets From, under the tenant's sender name."""
    period = period_of(rows[0])
    email = EmailMessage()
    email["Subject"] = _header(
        "the schedule's subject" if subject else "the schedule's name",
        subject or f"{schedule_name}: {tenant_name} exports for {period}",
    )
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = f"<delivery-{run_id}@export-platform>"
    if settings.sender_name:
        _header("sender_name", settings.sender_name)
    if settings.reply_to:
        email["Reply-To"] = settings.reply_to
    attached, linked, used = [], [], 0
    for row in sorted(rows, key=lambda r: (r["file_size_bytes"], r["dataset"], r["format"])):
        if used + row["file_size_bytes"] <= attachment_limit:
            attached.append(row)
            used += row["file_size_bytes"]
        else:
            key = _file_key(row)  # built from the row's tenant, dataset and month, never its stored uri
            linked.append((row, artifacts.download_url(key) or artifacts.store.uri(key)))
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
            maintype, subtype = _content_type(row, copy.name).split(";")[0].split("/")
            email.add_attachment(copy.read_bytes(), maintype=maintype, subtype=subtype, filename=copy.name)
    return email


def deliver_run(
    run: dg.DagsterRun | None,
    run_id: str,
    rows: list[dict],
    history: ExportHistory,
    artifacts: ArtifactStore,
    mailer: Mailer,
    source: SourceDatabase,
) -> bool:
    """E-mail the exports of one finished run (``run``, None when it no longer exists); True once the
    server accepted the message. Raises ``Undeliverable`` when it can never be sent, and the mailer's
    errors as they come."""
    if any(r["partition_key"] is None for r in rows) and (run is None or not launched_by_schedule(run.tags)):
        # Anyone may tag an ad-hoc run, and a row may say anything: only a schedule's own run is sent.
        raise Undeliverable(f"run {run_id} is an ad-hoc export, not a schedule's run", nothing_to_send=True)
    if run is None:
        raise Undeliverable(f"run {run_id} no longer exists", tell_operators=False)
    if run.status != dg.DagsterRunStatus.SUCCESS:
        raise Undeliverable(f"run {run_id} ended {run.status.value}", tell_operators=False)
    tenant = rows[0]["tenant_id"]
    # Whose files these are decides who may receive them: every row must say the same.
    owners = {
        (
            r["tenant_id"],
            parse_partition_key(r["partition_key"]).tenant if r["partition_key"] else r["tenant_id"],
        )
        for r in rows
    }
    if owners != {(tenant, tenant)}:
        raise Undeliverable(f"run {run_id} holds exports of several tenants: {sorted(owners)}")
    settings = NotificationSettingsStore(history.engine).get(tenant)
    if not settings.notify_on_success:
        raise Undeliverable(f"{tenant} turned delivery e-mails off (notify_on_success)", nothing_to_send=True)
    schedule = TenantScheduleStore(history.engine).get(run.tags.get("export_platform/schedule_id", ""))
    if schedule is not None and schedule.spec.tenant != tenant:
        raise Undeliverable(f"the run names a schedule of another tenant ({schedule.spec.tenant})")
    recipients = list(
        schedule.spec.recipients if schedule and schedule.spec.recipients else settings.default_recipients
    )
    webhooks = (schedule.spec.webhooks + schedule.spec.slack_webhooks) if schedule else ()
    if not recipients and not webhooks:
        raise Undeliverable(
            f"no recipients: neither the schedule nor {tenant}'s settings name any",
            nothing_to_send=True,  # a schedule may just keep the files fresh for their readers
        )
    refused = settings.refused(recipients)
    if refused:
        raise Undeliverable(f"recipients {refused} are not addresses in {tenant}'s allowed domains")
    if recipients and settings.reply_to and settings.refused([settings.reply_to]):
        raise Undeliverable(f"reply_to {settings.reply_to!r} is not an address in {tenant}'s allowed domains")
    refused = settings.refused_webhooks(webhooks)
    if refused:
        raise Undeliverable(f"webhooks {refused} are not https URLs on {tenant}'s webhook_hosts")
    name = tenant_name(source, tenant)
    if schedule is not None and webhooks:
        failures = deliver_to_webhooks(
            delivered_run(run_id, rows, schedule, name, artifacts),
            schedule,
            WebhookDeliveryLog(history.engine),
        )
        if failures:
            raise Undeliverable("; ".join(failures))
    if not recipients:
        return True  # the webhooks were the schedule's only destinations
    message = compose_delivery(
        run_id=run_id,
        tenant_name=name,
        rows=rows,
        recipients=recipients,
        settings=settings,
        artifacts=artifacts,
        attachment_limit=mailer.attachment_limit_bytes,
        subject=schedule.spec.subject if schedule else None,
        message=schedule.spec.message if schedule else None,
        schedule_name=schedule.spec.name if schedule else rows[0]["requested_by"].removeprefix("schedule:"),
    )
    return mailer.send(message, sender_name=settings.sender_name)


def compose_undelivered_notice(
    *, run_id: str, tenant: str, rows: list[dict], reason: str, recipients: list[str]
) -> EmailMessage:
    """The operators' notice that a run's exports were closed undelivered, and why."""
    email = EmailMessage()
    email["Subject"] = escaped(f"Delivery failed: {tenant} run {run_id}")
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = escaped(f"<undelivered-{run_id}@export-platform>")
    exports = ", ".join(sorted(f"{r['dataset']}_{r['format']}" for r in rows))
    lines = [
        f"Tenant: {tenant}",
        f"Run: {run_id}",
        f"Partition: {rows[0]['partition_key']}",
        f"Exports: {exports}",
        f"Not delivered: {reason}",
    ]
    email.set_content("\n".join(escaped(line) for line in lines) + "\n")
    return email


def _close_undelivered(
    context: dg.SensorEvaluationContext,
    history: ExportHistory,
    mailer: Mailer,
    run_id: str,
    rows: list[dict],
    problem: Undeliverable,
) -> None:
    tenant = rows[0]["tenant_id"]
    ids, reason = [r["id"] for r in rows], f"not delivered: {problem.reason}"
    if problem.nothing_to_send:
        history.mark_not_delivered(ids, reason)
    else:
        history.close_undelivered(ids, reason)
    context.log.error(escaped(f"not delivering run {run_id} of {tenant}: {problem.reason}"))
    if not problem.tell_operators:
        return
    if not mailer.operators:
        context.log.warning("no operators to tell about the undelivered run (EXPORT_OPERATOR_EMAILS)")
        return
    notice = compose_undelivered_notice(
        run_id=run_id, tenant=tenant, rows=rows, reason=problem.reason, recipients=list(mailer.operators)
    )
    try:
        mailer.send(notice)
    except (TransientDeliveryError, DeliveryRefused) as exc:
        context.log.error(f"could not tell the operators about the undelivered run {run_id}: {exc}")


def deliver_scheduled_exports(
    context: dg.SensorEvaluationContext,
    history: ExportHistory,
    artifacts: ArtifactStore,
    mailer: Mailer,
    source: SourceDatabase,
    batch: int = BATCH,
) -> dg.SkipReason | None:
    """One delivery tick over the oldest ``batch`` rows awaiting delivery: each finished run is sent,
    deferred or closed on its own."""
    runs: dict[str, list[dict]] = {}
    for row in awaiting_delivery(history, limit=batch):
        runs.setdefault(row["run_id"], []).append(row)
    sent = closed = 0
    for run_id, rows in runs.items():
        run = context.instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            continue  # its other exports may still be running
        try:
            accepted = deliver_run(run, run_id, rows, history, artifacts, mailer, source)
        except TransientDeliveryError as exc:
            context.log.warning(f"delivery of run {run_id} deferred, will retry: {exc}")
            continue
        except Undeliverable as exc:
            problem = exc
        except DeliveryRefused as exc:
            problem = Undeliverable(str(exc))
        except Exception as exc:  # one tenant's bad data must not stop the others' deliveries
            problem = Undeliverable(f"{type(exc).__name__}: {exc}")
        else:
            if accepted:  # not accepted: no SMTP server is configured, and the rows wait for one
                for row in rows:
                    history.move(row["id"], "emailed")
                sent += 1
            continue
        _close_undelivered(context, history, mailer, run_id, rows, problem)
        closed += 1
    if sent:
        return None
    return dg.SkipReason(f"closed {closed} undeliverable runs" if closed else "nothing to deliver")


@dg.sensor(
    name="export_delivery_sensor",
    description=(
        "E-mails the files of each successful scheduled export run to the schedule's recipients (or the "
        "tenant's default recipients), attaching them up to the size limit and linking the rest; only to "
        "addresses in the tenant's allowed domains. Posts their links to the schedule's webhooks (signed "
        "JSON) and Slack webhooks first, only to https hosts on the tenant's webhook_hosts. Retries until "
        "the mail server accepts; never sends twice. A run that can never be delivered is marked failed "
        "with the reason and the operators are told; the other tenants' deliveries go on."
    ),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def export_delivery_sensor(
    context: dg.SensorEvaluationContext,
    history: ExportHistory,
    artifacts: ArtifactStore,
    mailer: Mailer,
    source: SourceDatabase,
) -> dg.SkipReason | None:
    return deliver_scheduled_exports(context, history, artifacts, mailer, source)


def compose_failure_notice(
    *,
    run_id: str,
    partition_key: str | None,
    failures: list[dict],
    error: str,
    recipients: list[str],
    tenant_name: str | None = None,
) -> EmailMessage:
    """The notice of a failed run; its subject names the tenant (``tenant_name``, else the slug) and
    the period (the partition's month, or "ad-hoc" for a run without one)."""
    tenant = failures[0]["tenant_id"] if failures else (partition_key or "?").split("|")[-1]
    exports = ", ".join(f"{r['dataset']}_{r['format']}" for r in failures) or "the export run"
    period = partition_key.split("|")[0] if partition_key and "|" in partition_key else "ad-hoc"
    email = EmailMessage()
    # A run's tags are anyone's text: shown escaped, a line break cannot add a header.
    email["Subject"] = escaped(f"Export failed: {tenant_name or tenant} {exports} for {period}")
    email["To"] = ", ".join(recipients)
    email["Message-ID"] = f"<failure-{run_id}@export-platform>"
    lines = [f"Tenant: {tenant}", f"Partition: {partition_key}", f"Run: {run_id}", ""]
    lines += [f"{r['dataset']}_{r['format']}: {r['error_message']}" for r in failures] or [f"Error: {error}"]
    email.set_content("\n".join(lines) + "\n")
    email.add_alternative("".join(f"<p>{html.escape(line)}</p>" for line in lines), subtype="html")
    return email


def tenant_of_failed_run(partition_key: str | None, failures: list[dict]) -> str | None:
    """Whose run failed: its partition's tenant (``month|tenant``, or a tenant alone for the weekly
    summary), else its failed rows'. None when neither names a valid tenant: then only the operators
    are told, and the sensor goes on to the next failed run instead of failing on this one for ever."""
    try:
        if partition_key and "|" in partition_key:
            return parse_partition_key(partition_key).tenant
        return validate_tenant_slug(partition_key or failures[0]["tenant_id"])
    except (ValueError, IndexError):
        return None


@dg.run_failure_sensor(
    name="export_failure_notice_sensor",
    description="E-mails the tenant's failure recipients and the platform operators when an export fails.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def export_failure_notice_sensor(
    context: dg.RunFailureSensorContext, history: ExportHistory, mailer: Mailer, source: SourceDatabase
) -> None:
    run = context.dagster_run
    if awaits_retry(context.instance, run):
        context.log.info(f"failed run {run.run_id} will be retried: no notice until its last attempt fails")
        return
    partition_key = run.tags.get("dagster/partition")
    # A failed row with a file was written and only not delivered: not an export that failed.
    failures = [
        r for r in history.entries(status="failed", run_id=run.run_id, limit=1000) if r["uri"] is None
    ]
    # A schedule's ad-hoc run may fail before it records a row (the source unreachable): its schedule
    # says whose it was.
    schedule = (
        TenantScheduleStore(history.engine).get(run.tags[SCHEDULE_TAG])
        if launched_by_schedule(run.tags)
        else None
    )
    if not failures and not partition_key and schedule is None:
        return
    tenant = tenant_of_failed_run(partition_key, failures) or (schedule.spec.tenant if schedule else None)
    tenant_recipients: list[str] = []
    settings = NotificationSettings(tenant or "?")
    if tenant is not None:
        settings = NotificationSettingsStore(history.engine).get(tenant)
        if settings.notify_on_failure:
            refused = settings.refused(settings.failure_recipients)
            tenant_recipients = [r for r in settings.failure_recipients if r not in refused]
    recipients = tenant_recipients + list(mailer.operators)
    if not recipients:
        context.log.warning(f"failed run {run.run_id} of {tenant}: nobody to notify")
        return
    notice = compose_failure_notice(
        run_id=run.run_id,
        partition_key=partition_key,
        failures=failures,
        error=context.failure_event.message or "",
        recipients=recipients,
        tenant_name=tenant_name(source, tenant) if tenant is not None else None,
    )
    add_reply_to(notice, settings)
    mailer.send(notice, sender_name=sender_name(settings))
