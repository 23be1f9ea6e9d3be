"""``export-platform schedules``: tenants' export schedules, which export_schedule_sensor runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from export_platform.catalog import EXPORT_FORMATS, FORMAT_NAMES
from export_platform.cli.group import Commands
from export_platform.cli.refusals import Refused, checked_source_url
from export_platform.cli.text import comma_separated, shown
from export_platform.tracking.schema import CADENCES, WEEKDAYS

if TYPE_CHECKING:
    from export_platform.tracking.tenant_schedules import TenantScheduleStore


def _schedule_store() -> TenantScheduleStore:
    from export_platform.tracking.history import ExportHistory
    from export_platform.tracking.tenant_schedules import TenantScheduleStore

    return TenantScheduleStore(ExportHistory(url=checked_source_url().raw).engine)


@click.group(cls=Commands, short_help="Add, list, pause, resume or remove tenants' export schedules.")
def schedules() -> None:
    """Manage tenants' export schedules (run by export_schedule_sensor).

    Schedules live in the platform tables of the database in EXPORT_SOURCE_URL.
    """


@schedules.command("add")
@click.option("--tenant", required=True, help="Tenant slug, e.g. acme.")
@click.option("--name", required=True, help="A name unique within the tenant, e.g. 'Monthly close'.")
@click.option(
    "--datasets",
    required=True,
    help=f"Comma-separated: {','.join(EXPORT_FORMATS)}.",
)
@click.option("--formats", required=True, help=f"Comma-separated: {','.join(FORMAT_NAMES)}.")
@click.option("--cadence", required=True, type=click.Choice(CADENCES))
@click.option(
    "--at", "time_of_day", default="06:00", show_default=True, help="Time of day, HH:MM, in --timezone."
)
@click.option(
    "--day-of-week",
    type=click.Choice(WEEKDAYS),
    help="For weekly schedules.",
)
@click.option(
    "--day-of-month", help="For monthly schedules: 1-31 (past the month's end means its last day) or 'last'."
)
@click.option("--timezone", default="UTC", show_default=True, help="IANA timezone, e.g. Europe/Lisbon.")
@click.option("--recipients", default="", help="Comma-separated e-mail addresses.")
@click.option("--subject", default=None, help="E-mail subject.")
@click.option("--message", default=None, help="E-mail message.")
def schedules_add(
    tenant: str,
    name: str,
    datasets: str,
    formats: str,
    cadence: str,
    time_of_day: str,
    day_of_week: str | None,
    day_of_month: str | None,
    timezone: str,
    recipients: str,
    subject: str | None,
    message: str | None,
) -> None:
    """Add a schedule. Each run exports the month before the due day: a run on the 1st exports the
    month just ended, any other run the month to date."""
    import sqlalchemy as sa
    from pydantic import ValidationError

    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.errors import UnknownTenant, validation_message
    from export_platform.tracking.tenant_schedules import TenantScheduleSpec

    try:
        spec = TenantScheduleSpec(
            tenant=tenant,
            name=name,
            datasets=comma_separated(datasets),
            formats=comma_separated(formats),
            cadence=cadence,
            time_of_day=time_of_day,
            day_of_week=WEEKDAYS.index(day_of_week) if day_of_week else None,
            day_of_month=day_of_month,
            timezone=timezone,
            recipients=comma_separated(recipients),
            subject=subject,
            message=message,
        )
    except ValidationError as exc:
        raise Refused(f"invalid schedule: {shown(validation_message(exc, whole='schedule'))}") from None
    try:
        SourceDatabase(url=checked_source_url().raw).tenant(spec.tenant)
    except UnknownTenant as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        schedule = _schedule_store().add(spec)
    except sa.exc.IntegrityError as exc:
        raise click.UsageError(f"tenant {tenant} already has a schedule named {name!r}") from exc
    click.echo(f"added schedule {schedule.id} for {tenant}: {shown(name)}")


@schedules.command("list")
@click.option("--tenant", default=None, help="Only this tenant's schedules.")
def schedules_list(tenant: str | None) -> None:
    """List schedules: when each runs, what it exports, and to whom."""

    found = _schedule_store().list(tenant=tenant)
    if not found:
        click.echo("no schedules")
    for schedule in found:
        spec = schedule.spec
        when = {
            "daily": "daily",
            "weekly": f"weekly on {WEEKDAYS[spec.day_of_week or 0]}",
            "monthly": f"monthly on day {spec.day_of_month}",
        }[spec.cadence]
        state = "active" if schedule.is_active else "paused"
        what = ", ".join(schedule.export_assets)
        click.echo(
            f"{schedule.id}  {shown(spec.tenant):<10} {shown(repr(spec.name)):<24} {state:<7} {when} at "
            f"{shown(spec.time_of_day)} {shown(spec.timezone)}: {shown(what)} "
            f"-> {shown(', '.join(spec.recipients)) or '-'}"
        )


def _set_active(schedule_id: str, active: bool) -> None:
    if not _schedule_store().set_active(schedule_id, active):
        raise click.UsageError(f"no schedule {schedule_id}")
    click.echo(f"schedule {schedule_id} {'resumed' if active else 'paused'}")


@schedules.command("pause")
@click.argument("schedule_id")
def schedules_pause(schedule_id: str) -> None:
    """Stop a schedule from running until it is resumed."""
    _set_active(schedule_id, False)


@schedules.command("resume")
@click.argument("schedule_id")
def schedules_resume(schedule_id: str) -> None:
    """Let a paused schedule run again."""
    _set_active(schedule_id, True)


@schedules.command("remove")
@click.argument("schedule_id")
def schedules_remove(schedule_id: str) -> None:
    """Delete a schedule."""
    if not _schedule_store().remove(schedule_id):
        raise click.UsageError(f"no schedule {schedule_id}")
    click.echo(f"schedule {schedule_id} removed")
