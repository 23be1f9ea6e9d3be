"""The weekly summary: per tenant, last week's exports (how many, success rate, bytes, failures),
recorded as an asset and e-mailed to the tenant's default recipients, under the tenant's name and the
week in the subject, from the tenant's sender name with its reply-to address."""

import datetime as dt
import html
from decimal import Decimal
from email.message import EmailMessage

import dagster as dg

from export_platform.asset_metadata import OWNER
from export_platform.automation.branding import add_reply_to, sender_name, tenant_name
from export_platform.automation.mailer import Mailer
from export_platform.datasets.exact import percent
from export_platform.datasets.source_database import SourceDatabase
from export_platform.partitions import TENANT_DIMENSION, tenant_partitions
from export_platform.retries import TRANSIENT_RETRY_POLICY
from export_platform.settings import source_kind
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettingsStore

SUCCEEDED = ("success", "emailed")


def summarise_week(rows: list[dict], since: dt.datetime) -> dict:
    week = [r for r in rows if _utc(r["created_at"]) >= since]
    succeeded = [r for r in week if r["status"] in SUCCEEDED]
    failed = [r for r in week if r["status"] == "failed"]
    rate = percent(Decimal(len(succeeded)), Decimal(len(succeeded) + len(failed)))  # None: none finished
    return {
        "exports": len(week),
        "succeeded": len(succeeded),
        "failed": len(failed),
        # Exact, rounded once half away from zero; metadata takes a float, which holds two decimals.
        "success_rate_pct": float(rate) if rate is not None else None,
        "bytes": sum(r["file_size_bytes"] or 0 for r in succeeded),
        "failures": [
            f"{r['dataset']}_{r['format']} {r['partition_key'] or ''}: {r['error_message']}" for r in failed
        ],
    }


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def summary_email(name: str, since: dt.datetime, summary: dict, recipients: list[str]) -> EmailMessage:
    """The summary message for the tenant called ``name``, of the week from ``since``."""
    rate = "n/a" if summary["success_rate_pct"] is None else f"{summary['success_rate_pct']}%"
    until = since + dt.timedelta(days=7)
    lines = [
        f"Exports for {name} from {since:%Y-%m-%d} to {until:%Y-%m-%d}:",
        f"Exports: {summary['exports']}",
        f"Succeeded: {summary['succeeded']} ({rate})",
        f"Failed: {summary['failed']}",
        f"Bytes exported: {summary['bytes']:,}",
        *(f"Failure: {line}" for line in summary["failures"]),
    ]
    message = EmailMessage()
    message["Subject"] = f"Weekly export summary: {name}, {since:%Y-%m-%d} to {until:%Y-%m-%d}"
    message["To"] = ", ".join(recipients)
    message.set_content("\n".join(lines) + "\n")
    message.add_alternative("".join(f"<p>{html.escape(line)}</p>" for line in lines), subtype="html")
    return message


@dg.asset(
    name="weekly_export_summary",
    description=(
        "Last week's exports for one tenant: how many ran, the success rate, bytes written and every failure "
        "with its cause. E-mailed to the tenant's default recipients (allowed domains only)."
    ),
    group_name="automation",
    partitions_def=tenant_partitions,
    owners=[OWNER],
    kinds={source_kind()},
    retry_policy=TRANSIENT_RETRY_POLICY,
)
def weekly_export_summary(
    context: dg.AssetExecutionContext, history: ExportHistory, mailer: Mailer, source: SourceDatabase
) -> dg.MaterializeResult:
    tenant = context.partition_key
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    summary = summarise_week(history.entries(tenant=tenant, limit=100_000), since)
    settings = NotificationSettingsStore(history.engine).get(tenant)
    recipients = [
        r for r in settings.default_recipients if r not in settings.refused(settings.default_recipients)
    ]
    sent = False
    if recipients:
        message = summary_email(tenant_name(source, tenant), since, summary, recipients)
        add_reply_to(message, settings)
        sent = mailer.send(message, sender_name=sender_name(settings))
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in summary.items() if k != "failures"},
            "failures": "\n".join(summary["failures"]) or "none",
            "emailed_to": ", ".join(recipients) if sent else "nobody",
        }
    )


weekly_summary_job = dg.define_asset_job(
    "weekly_summary_job",
    selection=[weekly_export_summary],
    description="The weekly export summary of one tenant.",
)


@dg.schedule(
    name="weekly_summary",
    job=weekly_summary_job,
    cron_schedule="0 7 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays at 07:00 UTC: every tenant's weekly export summary.",
)
def weekly_summary(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    week = context.scheduled_execution_time.strftime("%G-W%V")
    return [
        dg.RunRequest(run_key=f"weekly-summary:{week}:{tenant}", partition_key=tenant)
        for tenant in sorted(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    ]
