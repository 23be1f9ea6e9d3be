"""``export-platform schedules``: tenants' export schedules, which export_schedule_sensor runs.

``add`` and ``update`` take the same options; a schedule is checked whole before it is saved, as the
Export API checks it (``TenantScheduleSpec``, then ``check_schedule``: the ad-hoc request's own
validators over each dataset, and its webhooks' hosts against the tenant's ``webhook_hosts``), so one
that could never run is refused naming the field. A new webhook's signing secret is printed once. ``upcoming``
and ``overdue`` answer as the Export API's routes of those names do; ``trigger`` runs a schedule's
period now, in this process, recorded as a manual run (not e-mailed), as the API's trigger is.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from export_platform.catalog import EXPORT_FORMATS, REQUEST_FORMAT_NAMES
from export_platform.cli.group import Commands
from export_platform.cli.refusals import Refused, checked_source_url, require_dagster_home
from export_platform.cli.text import comma_separated, shown
from export_platform.tracking.schema import CADENCES, WEEKDAYS

if TYPE_CHECKING:
    from export_platform.tracking.tenant_schedules import (
        TenantSchedule,
        TenantScheduleSpec,
        TenantScheduleStore,
    )

PERIOD_CHOICES = ("previous", "month_to_date")
OVERDUE_AFTER = dt.timedelta(minutes=10)
"""As the Export API's: how late a schedule's run may start before the schedule counts as overdue."""


def _schedule_store() -> TenantScheduleStore:
    from export_platform.tracking.history import ExportHistory
    from export_platform.tracking.tenant_schedules import TenantScheduleStore

    return TenantScheduleStore(ExportHistory(url=checked_source_url().raw).engine)


@click.group(
    cls=Commands,
    short_help="Add, change, list, run or remove tenants' export schedules; see which are due or overdue.",
)
def schedules() -> None:
    """Manage tenants' export schedules (run by export_schedule_sensor).

    Schedules live in the platform tables of the database in EXPORT_SOURCE_URL.
    """


def _option(value: str) -> tuple[str, Any]:
    """``NAME=VALUE`` as a schedule option: the value read as YAML (``true``, ``100``, ``[a, b]``),
    so it has the type the ad-hoc request's field takes; ``NAME=`` removes the option."""
    import yaml  # type: ignore[import-untyped]  # pyyaml, installed with Dagster, ships no types

    name, sep, text = value.partition("=")
    if not sep or not name.strip():
        raise Refused(f"--option {shown(value)}: write NAME=VALUE, e.g. storefront=Downtown")
    try:
        parsed = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        parsed = text
    # A date or a decimal amount (min_balance=100.00) stays the text it was typed as.
    return name.strip(), text if isinstance(parsed, dt.date | float) else parsed


def _content_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``add`` and ``update`` share: what a schedule exports, when, and to whom."""
    for decorator in reversed(
        [
            click.option("--datasets", help=f"Comma-separated: {','.join(EXPORT_FORMATS)}."),
            click.option("--formats", help=f"Comma-separated: {','.join(REQUEST_FORMAT_NAMES)}."),
            click.option("--cadence", type=click.Choice(CADENCES)),
            click.option("--at", "time_of_day", help="Time of day, HH:MM, in --timezone (06:00 when added)."),
            click.option("--day-of-week", type=click.Choice(WEEKDAYS), help="For weekly schedules."),
            click.option(
                "--day-of-month",
                help="For monthly schedules: 1-31 (past the month's end means its last day) or 'last'.",
            ),
            click.option("--timezone", help="IANA timezone, e.g. Europe/Lisbon (UTC when added)."),
            click.option(
                "--period",
                type=click.Choice(PERIOD_CHOICES),
                help="previous (default): the day, ISO week or month before the due day, as the cadence "
                "says; month_to_date: the month of the day before.",
            ),
            click.option(
                "--option",
                "options",
                multiple=True,
                help="NAME=VALUE, repeatable: an ad-hoc request's filter, CSV or file option, e.g. "
                "storefront=Downtown, delimiter=';', columns='[Date, Total]', compression=zip; "
                "NAME= removes one.",
            ),
            click.option("--recipients", help="Comma-separated e-mail addresses."),
            click.option("--subject", help="E-mail subject."),
            click.option("--message", help="E-mail message."),
            click.option(
                "--webhook",
                "webhooks",
                multiple=True,
                help="Repeatable: an https URL that gets each run's file links as signed JSON; its host "
                "must be on the tenant's --webhook-hosts. Given on update, they replace the schedule's; "
                "--webhook '' removes them.",
            ),
            click.option(
                "--slack",
                "slack_webhooks",
                multiple=True,
                help="Repeatable: a Slack incoming-webhook URL that gets each run's file links, as "
                "--webhook.",
            ),
        ]
    ):
        command = decorator(command)
    return command


def _fields(given: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The schedule's fields: ``current`` with what the command line gave over it."""
    fields = dict(current)
    for name in ("cadence", "time_of_day", "day_of_month", "timezone", "period", "subject", "message"):
        if given[name] is not None:
            fields[name] = given[name]
    for name in ("datasets", "formats", "recipients"):
        if given[name] is not None:
            fields[name] = comma_separated(given[name])
    for name in ("webhooks", "slack_webhooks"):
        if given[name]:
            fields[name] = [url for url in given[name] if url]
    if given["cadence"] is not None and given["cadence"] != current.get("cadence"):
        # A new cadence takes its own day: the old cadence's would make the schedule inconsistent.
        fields["day_of_week"], fields["day_of_month"] = None, given["day_of_month"]
    if given["day_of_week"] is not None:
        fields["day_of_week"] = WEEKDAYS.index(given["day_of_week"])
    options = dict(fields.get("options", {}))
    for name, value in map(_option, given["options"]):
        if value is None:
            options.pop(name, None)
        else:
            options[name] = value
    fields["options"] = options
    return fields


def _checked(fields: dict[str, Any]) -> TenantScheduleSpec:
    """The schedule ``fields`` say, if it could run; else ``Refused`` naming the field."""
    from pydantic import ValidationError

    from export_platform.errors import validation_message
    from export_platform.exports.scheduled_requests import ScheduleRefused, check_schedule
    from export_platform.tracking.tenant_schedules import TenantScheduleSpec

    try:
        spec = check_schedule(TenantScheduleSpec(**fields))
    except ValidationError as exc:
        raise Refused(f"invalid schedule: {shown(validation_message(exc, whole='schedule'))}") from None
    except ScheduleRefused as exc:
        raise Refused(f"invalid schedule: {shown(str(exc))}") from None
    _refuse_unlisted_hosts(spec)
    return spec


def _refuse_unlisted_hosts(spec: TenantScheduleSpec) -> None:
    """``Refused`` when a webhook's host is not one the tenant allows, as the Export API refuses it."""
    from export_platform.tracking.notifications import NotificationSettingsStore

    settings = NotificationSettingsStore(_schedule_store().engine).get(spec.tenant)
    for option, urls in (("--webhook", spec.webhooks), ("--slack", spec.slack_webhooks)):
        refused = settings.refused_webhooks(urls)
        if refused:
            raise Refused(
                shown(
                    f"{option}: {', '.join(refused)}: host not on {spec.tenant}'s webhook hosts; add it "
                    f"with export-platform notifications set --tenant {spec.tenant} --webhook-hosts HOST"
                )
            )


def _show_new_secrets(schedule: TenantSchedule, before: TenantSchedule | None = None) -> None:
    """Print the signing secret of each webhook this save added: the only time it is shown."""
    for url, secret in schedule.webhook_secrets.items():
        if before is None or url not in before.webhook_secrets:
            click.echo(f"signing secret of webhook {shown(url)}: {secret} (shown once; keep it)")


@schedules.command("add")
@click.option("--tenant", required=True, help="Tenant slug, e.g. acme.")
@click.option("--name", required=True, help="A name unique within the tenant, e.g. 'Monthly close'.")
@_content_options
def schedules_add(tenant: str, name: str, **given: Any) -> None:
    """Add a schedule. Each run exports the period before the due day that the cadence names (daily:
    the day before, weekly: the ISO week before, monthly: the month before), or with --period
    month_to_date the month of the day before; with the options an ad-hoc request takes."""
    import sqlalchemy as sa

    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.errors import UnknownTenant

    missing = [
        f"--{name.replace('_', '-')}" for name in ("datasets", "formats", "cadence") if not given[name]
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    spec = _checked(_fields(given, {"tenant": tenant, "name": name}))
    try:
        SourceDatabase(url=checked_source_url().raw).tenant(spec.tenant)
    except UnknownTenant as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        schedule = _schedule_store().add(spec)
    except sa.exc.IntegrityError as exc:
        raise click.UsageError(f"tenant {tenant} already has a schedule named {name!r}") from exc
    click.echo(f"added schedule {schedule.id} for {tenant}: {shown(name)}")
    _show_new_secrets(schedule)


@schedules.command("update")
@click.argument("schedule_id")
@click.option("--name", default=None, help="A new name, unique within the tenant.")
@_content_options
def schedules_update(schedule_id: str, name: str | None, **given: Any) -> None:
    """Change what a schedule says: only the options given change; its id, tenant, state and
    creation time stay. The result is checked whole, as when it was added."""
    import sqlalchemy as sa

    store = _schedule_store()
    schedule = _existing(store, schedule_id)
    current = schedule.spec.model_dump()
    if name is not None:
        current["name"] = name
    spec = _checked(_fields(given, current))
    try:
        saved = store.replace(schedule_id, spec)
    except sa.exc.IntegrityError as exc:
        raise click.UsageError(f"tenant {spec.tenant} already has a schedule named {spec.name!r}") from exc
    click.echo(f"schedule {schedule_id} updated: {shown(_described(saved or schedule))}")
    if saved is not None:
        _show_new_secrets(saved, schedule)


def _existing(store: TenantScheduleStore, schedule_id: str) -> TenantSchedule:
    schedule = store.get(schedule_id)
    if schedule is None:
        raise click.UsageError(f"no schedule {schedule_id}")
    return schedule


def _described(schedule: TenantSchedule) -> str:
    """What a schedule says, on one line (unescaped: the caller shows it)."""
    spec = schedule.spec
    when = {
        "daily": "daily",
        "weekly": f"weekly on {WEEKDAYS[spec.day_of_week or 0]}",
        "monthly": f"monthly on day {spec.day_of_month}",
    }[spec.cadence]
    options = " ".join(f"{name}={value}" for name, value in spec.options.items())
    return (
        f"{when} at {spec.time_of_day} {spec.timezone}, {spec.period}: {', '.join(schedule.export_assets)}"
        + (f" [{options}]" if options else "")
        + f" -> {', '.join(spec.recipients) or '-'}"
        + "".join(f", webhook {url}" for url in spec.webhooks)
        + "".join(f", slack {url}" for url in spec.slack_webhooks)
    )


@schedules.command("list")
@click.option("--tenant", default=None, help="Only this tenant's schedules.")
def schedules_list(tenant: str | None) -> None:
    """List schedules: when each runs, what it exports, and to whom."""

    found = _schedule_store().list(tenant=tenant)
    if not found:
        click.echo("no schedules")
    for schedule in found:
        spec = schedule.spec
        state = "active" if schedule.is_active else "paused"
        click.echo(
            f"{schedule.id}  {shown(spec.tenant):<10} {shown(repr(spec.name)):<24} {state:<7} "
            f"{shown(_described(schedule))}"
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


def _due_line(schedule: TenantSchedule, due: dt.datetime) -> str:
    from export_platform.tracking.tenant_schedules import period_covered

    first, last = period_covered(schedule, due)
    return (
        f"{due.isoformat()}  {schedule.id}  {shown(schedule.spec.tenant):<10} "
        f"{shown(repr(schedule.spec.name))}: {first} to {last}"
    )


@schedules.command("upcoming")
@click.option("--tenant", default=None, help="Only this tenant's schedules.")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 31), help="How far ahead.")
def schedules_upcoming(tenant: str | None, days: int) -> None:
    """When the active schedules fall due in the coming days, and what each run will cover."""
    from export_platform.tracking.tenant_schedules import due_times

    now = dt.datetime.now(dt.UTC)
    due = sorted(
        (instant, schedule.spec.name, schedule)
        for schedule in _schedule_store().list(tenant=tenant, active_only=True)
        for instant in due_times(schedule, now, now + dt.timedelta(days=days))
    )
    if not due:
        click.echo(f"nothing due in the next {days} days")
    for instant, _, schedule in due:
        click.echo(_due_line(schedule, instant))


@schedules.command("overdue")
@click.option("--tenant", default=None, help="Only this tenant's schedules.")
def schedules_overdue(tenant: str | None) -> None:
    """Active schedules whose last due time passed more than ten minutes ago with no run launched for
    it (the daemon down, say, or the tenant not yet a partition); asks the instance in DAGSTER_HOME.
    Exits 1 when any is overdue, so a monitor can run it."""
    import dagster as dg

    from export_platform.automation.tenant_schedule_sensor import DueExport
    from export_platform.tracking.tenant_schedules import latest_due

    require_dagster_home()
    now = dt.datetime.now(dt.UTC)
    overdue = []
    with dg.DagsterInstance.get() as instance:
        for schedule in _schedule_store().list(tenant=tenant, active_only=True):
            due = latest_due(schedule, now)
            if due is None or due > now - OVERDUE_AFTER:
                continue
            launched = instance.get_run_records(
                dg.RunsFilter(
                    tags={
                        "export_platform/schedule_id": schedule.id,
                        "export_platform/due_at": due.isoformat(),
                    }
                ),
                limit=1,
            )
            if not launched:
                overdue.append((due, DueExport(schedule, due)))
    if not overdue:
        click.echo("no schedule is overdue")
        return
    for due, export in sorted(overdue, key=lambda pair: (pair[0], pair[1].schedule.spec.name)):
        click.echo(_due_line(export.schedule, due))
    sys.exit(1)


@schedules.command("trigger")
@click.argument("schedule_id")
def schedules_trigger(schedule_id: str) -> None:
    """Run a schedule now, in this process: the runs it would start were it due now (its period before
    today, its options), recorded in the instance in DAGSTER_HOME as manual runs, so they are not
    e-mailed and the schedule still runs at its own time. Exits 1 if a run failed."""
    import dagster as dg

    from export_platform.automation.tenant_schedule_sensor import DUE_TAG, SCHEDULE_TAG, DueExport
    from export_platform.cli.job_runs import failure
    from export_platform.cli.run_logs import run_logs

    require_dagster_home()
    schedule = _existing(_schedule_store(), schedule_id)
    requests = DueExport(schedule, dt.datetime.now(dt.UTC)).run_requests()
    failed = False
    with dg.DagsterInstance.get() as instance, run_logs("schedule-trigger") as logs:
        for request in requests:
            assert request.job_name is not None  # the sensor names the job of each of its requests
            tags = {SCHEDULE_TAG: schedule.id, DUE_TAG: request.tags[DUE_TAG], "user": "manual"}
            run_config = {**logs.run_config, **(request.run_config or {})}
            result = logs.job(request.job_name).execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=request.partition_key,
                asset_selection=request.asset_selection,
                tags=tags,
                raise_on_error=False,
            )
            click.echo(
                f"run {result.run_id} ({request.job_name}): {'success' if result.success else 'failed'}"
            )
            if not result.success:
                click.echo(failure(result), err=True)
                failed = True
    if failed:
        sys.exit(1)
