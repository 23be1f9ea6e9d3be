"""``export-platform notifications``: a tenant's e-mail, webhook and retention settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from export_platform.cli.group import Commands
from export_platform.cli.refusals import Refused, checked_source_url
from export_platform.cli.text import comma_separated, shown

if TYPE_CHECKING:
    from export_platform.tracking.notifications import NotificationSettingsStore


@click.group(cls=Commands, short_help="Show or set a tenant's e-mail and retention settings.")
def notifications() -> None:
    """Per-tenant e-mail settings (recipients, allowed domains, sender name, reply-to) and how long
    the tenant's files are kept."""


KEEP = "keep"


class RetentionDays(click.ParamType):
    """A number of days from 1 to 3650, or ``keep`` (for good)."""

    name = "DAYS|keep"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            return value
        if str(value).strip().lower() == KEEP:
            return KEEP
        try:
            return click.IntRange(1, 3650).convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is neither a number of days from 1 to 3650 nor 'keep'", param, ctx)


def _notification_store() -> NotificationSettingsStore:
    from export_platform.tracking.history import ExportHistory
    from export_platform.tracking.notifications import NotificationSettingsStore

    return NotificationSettingsStore(ExportHistory(url=checked_source_url().raw).engine)


@notifications.command("show")
@click.option("--tenant", required=True, help="Tenant slug.")
def notifications_show(tenant: str) -> None:
    """Print a tenant's notification settings (defaults if none were set)."""
    current = _notification_store().get(tenant)
    for name, value in vars(current).items():
        if name == "monthly_retention_days" and value is None:
            value = "keep"
        text = shown(", ".join(value) if isinstance(value, tuple) else value)
        click.echo(f"{name}: {text or '-'}")


@notifications.command("set")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option(
    "--allowed-domains", help="Comma-separated domains recipients must belong to, e.g. acme.example."
)
@click.option(
    "--webhook-hosts",
    help="Comma-separated hosts the tenant's schedules may send webhooks to, e.g. hooks.slack.com "
    "(exact host names; none: every webhook is refused).",
)
@click.option("--default-recipients", help="Comma-separated addresses for deliveries and weekly summaries.")
@click.option("--failure-recipients", help="Comma-separated addresses for failure notices.")
@click.option("--notify-on-success/--no-notify-on-success", default=None)
@click.option("--notify-on-failure/--no-notify-on-failure", default=None)
@click.option("--sender-name", help="Display name of the sender, on one line.")
@click.option("--reply-to", help="Reply-To address, in an allowed domain.")
@click.option(
    "--retention-days", type=click.IntRange(1, 3650), help="Keep ad-hoc and scheduled files this many days."
)
@click.option(
    "--monthly-retention-days",
    type=RetentionDays(),
    help="Keep monthly exports this many days, or 'keep' them for good (the default).",
)
def notifications_set(tenant: str, **changes: Any) -> None:
    """Change some of a tenant's notification settings; the others stay as they are.

    Every recipient and the reply-to address must belong to an allowed domain, and the sender name
    must be one line of text, or nothing is changed."""
    import dataclasses

    from export_platform.partitions import InvalidPartitionKey, validate_tenant_slug
    from export_platform.tracking.notifications import InvalidSettings

    try:
        validate_tenant_slug(tenant)
    except InvalidPartitionKey as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    store = _notification_store()
    updates = {}
    for name, value in changes.items():
        if value is None:
            continue
        if value == KEEP:
            value = None
        if name in ("allowed_domains", "default_recipients", "failure_recipients", "webhook_hosts"):
            value = comma_separated(value)
        updates[name] = value
    updated = dataclasses.replace(store.get(tenant), **updates)
    try:
        updated.check()
    except InvalidSettings as exc:
        raise Refused(shown(f"--{exc.field_name.replace('_', '-')}: {exc.problem}")) from None
    reply_to = (updated.reply_to,) if updated.reply_to else ()
    refused = updated.refused(updated.default_recipients + updated.failure_recipients + reply_to)
    if refused:
        raise Refused(f"addresses outside the allowed domains (--allowed-domains): {refused}")
    store.put(updated)
    click.echo(f"notification settings of {tenant} updated")
