"""The ``export-platform`` command line: seed a source, sync tenants into Dagster, run the demo.

Dagster's own CLI does the rest (``dagster dev``, ``dagster asset materialize``); this covers what it
has no command for.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from export_platform import settings
from export_platform.api.config import ApiConfig
from export_platform.catalog import EXPORT_FORMATS, FORMAT_NAMES
from export_platform.errors import validation_message
from export_platform.tracking.api_tokens import MAX_EXPIRY_DAYS
from export_platform.tracking.schema import CADENCES, ROLES, WEEKDAYS

if TYPE_CHECKING:
    import dagster as dg


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


class _Refused(click.ClickException):
    """Input refused: printed as one line, ``Error: <field>: <problem and fix>``, exit status 2 like
    a usage error."""

    exit_code = 2


def _shown(value: object) -> str:
    """A stored or typed value as printed: control characters escaped, so a value cannot print a line
    of its own, move the cursor or recolour the terminal. Every command printing users' text uses it."""
    from export_platform.plain_text import escaped

    return escaped("" if value is None else str(value))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Export tenants' POS and ledger data as CSV, Excel and PDF with Dagster.

    \b
    The common tasks, in order (Dagster's own CLI runs single partitions and jobs):
      export-platform seed --tenants 3 --months 3     demo data in the source database
      export-platform tenants sync                     one Dagster partition per tenant
      dagster asset materialize -m export_platform.definitions \\
          --select 'group:datasets or group:exports' --partition '2026-10|acme'
      export-platform backfill --month 2026-10         that month for every tenant
      export-platform history --tenant acme            what was exported, newest first
      dagster dev -w workspace.yaml                    the UI, on http://127.0.0.1:3000

    Sources and storage come from EXPORT_SOURCE_URL and EXPORT_ARTIFACT_ROOT; unset, they default to
    a SQLite file and a folder under .export_platform/ in the current directory. Commands that touch
    the Dagster instance read DAGSTER_HOME. Add --help to any command for its options.
    """


@main.command(short_help="Fill the source database with deterministic demo data.")
@click.option("--tenants", default=3, show_default=True, help="How many tenants to create.")
@click.option("--months", default=3, show_default=True, help="How many calendar months of history.")
@click.option("--sales-per-day", default=20, show_default=True, help="Average sales per tenant per day.")
@click.option("--end-month", default=None, help="Last month to generate, YYYY-MM [default: last month].")
@click.option(
    "--source-url", default=None, help="Database to fill [default: EXPORT_SOURCE_URL or the SQLite file]."
)
def seed(
    tenants: int, months: int, sales_per_day: int, end_month: str | None, source_url: str | None
) -> None:
    """Recreate the source schema and fill it with deterministic demo data, printing each tenant as
    it is loaded.

    \b
    Example:
        export-platform seed --tenants 3 --months 3 --sales-per-day 20 --end-month 2026-10

    The same options always produce the same rows. Existing source tables are dropped first.
    """
    from export_platform.source.seeding import seed as run_seed
    from export_platform.source.url import SourceUrl

    url = SourceUrl(source_url or settings.source_url())
    plan = _plan(tenants, months, sales_per_day, end_month)
    click.echo(f"Seeding {url.redacted}: {tenants} tenants, {plan.first_day:%Y-%m} to {plan.end_month}")
    started = time.perf_counter()
    counts = run_seed(url, plan, progress=click.echo)
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    )


def _plan(tenants: int, months: int, sales_per_day: int, end_month: str | None):
    from export_platform.source.demo_data import SeedPlan

    try:
        if end_month:
            return SeedPlan(tenants, months, sales_per_day, end_month)
        return SeedPlan(tenants, months, sales_per_day)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@main.group(short_help="Sync tenant partitions into the Dagster instance.")
def tenants() -> None:
    """Manage the tenant partitions of the Dagster instance."""


@tenants.command("sync")
@click.option(
    "--confirm-removals",
    is_flag=True,
    help="Remove the tenants gone from the source even when that is more than 10% of them at once.",
)
def tenants_sync(confirm_removals: bool) -> None:
    """Make the instance's tenant partitions equal the source's active tenants (as tenant_sensor does).

    \b
    Example:
        DAGSTER_HOME=$PWD/.export_platform/dagster_home export-platform tenants sync

    Reads EXPORT_SOURCE_URL and writes to the Dagster instance in DAGSTER_HOME. A running
    `dagster dev` does the same by itself within a minute (tenant_sensor).

    A sync that would remove more than 10% of the tenant partitions at once (and more than one
    tenant) removes none and exits with an error, since a source that suddenly lists few tenants is
    more likely misread (reader role, row-level security, restore in progress) than emptied. New
    tenants are still added. Pass --confirm-removals when the removals are intended.
    """
    import dagster as dg

    from export_platform.automation.tenants import sync_tenants
    from export_platform.datasets.source_database import SourceDatabase

    if not os.environ.get("DAGSTER_HOME"):
        raise click.UsageError("DAGSTER_HOME is not set: point it at the Dagster instance folder")
    with dg.DagsterInstance.get() as instance:
        plan = sync_tenants(
            instance, SourceDatabase(url=settings.source_url()), confirm_removals=confirm_removals
        )
    for slug in plan.rejected:
        _echo_err(f"skipped tenant with an unsafe slug: {slug!r}")
    click.echo(f"tenants added: {', '.join(plan.add) or 'none'}; removed: {', '.join(plan.remove) or 'none'}")
    if plan.refusal:
        raise click.ClickException(plan.refusal)


def _schedule_store():
    from export_platform.tracking.history import ExportHistory
    from export_platform.tracking.tenant_schedules import TenantScheduleStore

    return TenantScheduleStore(ExportHistory(url=settings.source_url()).engine)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@main.group(short_help="Add, list, pause, resume or remove tenants' export schedules.")
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
    from pydantic import ValidationError

    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.errors import UnknownTenant
    from export_platform.tracking.tenant_schedules import TenantScheduleSpec

    try:
        spec = TenantScheduleSpec(
            tenant=tenant,
            name=name,
            datasets=_split(datasets),
            formats=_split(formats),
            cadence=cadence,
            time_of_day=time_of_day,
            day_of_week=WEEKDAYS.index(day_of_week) if day_of_week else None,
            day_of_month=day_of_month,
            timezone=timezone,
            recipients=_split(recipients),
            subject=subject,
            message=message,
        )
    except ValidationError as exc:
        raise _Refused(f"invalid schedule: {_shown(validation_message(exc, whole='schedule'))}") from None
    try:
        SourceDatabase(url=settings.source_url()).tenant(spec.tenant)
    except UnknownTenant as exc:
        raise click.UsageError(str(exc)) from exc
    import sqlalchemy as sa

    try:
        schedule = _schedule_store().add(spec)
    except sa.exc.IntegrityError as exc:
        raise click.UsageError(f"tenant {tenant} already has a schedule named {name!r}") from exc
    click.echo(f"added schedule {schedule.id} for {tenant}: {_shown(name)}")


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
            f"{schedule.id}  {_shown(spec.tenant):<10} {_shown(repr(spec.name)):<24} {state:<7} {when} at "
            f"{_shown(spec.time_of_day)} {_shown(spec.timezone)}: {_shown(what)} "
            f"-> {_shown(', '.join(spec.recipients)) or '-'}"
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


@main.group(short_help="Show or set a tenant's e-mail and retention settings.")
def notifications() -> None:
    """Per-tenant e-mail settings: recipients, allowed domains, retention."""


def _notification_store():
    from export_platform.tracking.history import ExportHistory
    from export_platform.tracking.notifications import NotificationSettingsStore

    return NotificationSettingsStore(ExportHistory(url=settings.source_url()).engine)


@notifications.command("show")
@click.option("--tenant", required=True, help="Tenant slug.")
def notifications_show(tenant: str) -> None:
    """Print a tenant's notification settings (defaults if none were set)."""
    current = _notification_store().get(tenant)
    for name, value in vars(current).items():
        shown = _shown(", ".join(value) if isinstance(value, tuple) else value)
        click.echo(f"{name}: {shown or '-'}")


@notifications.command("set")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option(
    "--allowed-domains", help="Comma-separated domains recipients must belong to, e.g. acme.example."
)
@click.option("--default-recipients", help="Comma-separated addresses for deliveries and weekly summaries.")
@click.option("--failure-recipients", help="Comma-separated addresses for failure notices.")
@click.option("--notify-on-success/--no-notify-on-success", default=None)
@click.option("--notify-on-failure/--no-notify-on-failure", default=None)
@click.option("--sender-name", help="Display name of the sender, on one line.")
@click.option("--reply-to", help="Reply-To address, in an allowed domain.")
@click.option("--retention-days", type=click.IntRange(1, 3650), help="Keep ad-hoc exports this many days.")
def notifications_set(tenant: str, **changes) -> None:
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
        if name in ("allowed_domains", "default_recipients", "failure_recipients"):
            value = _split(value)
        updates[name] = value
    updated = dataclasses.replace(store.get(tenant), **updates)
    try:
        updated.check()
    except InvalidSettings as exc:
        raise _Refused(_shown(f"--{exc.field_name.replace('_', '-')}: {exc.problem}")) from None
    reply_to = (updated.reply_to,) if updated.reply_to else ()
    refused = updated.refused(updated.default_recipients + updated.failure_recipients + reply_to)
    if refused:
        raise _Refused(f"addresses outside the allowed domains (--allowed-domains): {refused}")
    store.put(updated)
    click.echo(f"notification settings of {tenant} updated")


@main.command(short_help="List export attempts, newest first.")
@click.option("--tenant", default=None, help="Only this tenant's exports.")
@click.option(
    "--status",
    type=click.Choice(["pending", "processing", "success", "failed", "emailed"]),
    default=None,
    help="Only exports in this status.",
)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first."
)
def history(tenant: str | None, status: str | None, limit: int) -> None:
    """List export attempts, newest first: who asked, what, the outcome, and where the file is.

    \b
    Example:
        export-platform history --tenant acme --status failed --limit 20

    Reads the export_history table of the database in EXPORT_SOURCE_URL.
    """
    from export_platform.partitions import InvalidPartitionKey, validate_tenant_slug
    from export_platform.tracking.history import ExportHistory

    if tenant is not None:
        try:
            validate_tenant_slug(tenant)
        except InvalidPartitionKey as exc:
            raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    rows = ExportHistory(url=settings.source_url()).entries(tenant=tenant, status=status, limit=limit)
    if not rows:
        click.echo(
            "no exports recorded"
            + (f" for {tenant}" if tenant else "")
            + (f" with status {status}" if status else "")
        )
        return
    click.echo(
        f"{'created (UTC)':<20} {'tenant':<10} {'export':<16} {'partition':<18} {'status':<10} {'rows':>8}  "
        "requested by / file or error"
    )
    for row in rows:
        created = row["created_at"].strftime("%Y-%m-%d %H:%M:%S")
        detail = row["uri"] if row["status"] in ("success", "emailed") else (row["error_message"] or "")
        export = _shown(f"{row['dataset']}_{row['format']}")
        click.echo(
            f"{created:<20} {_shown(row['tenant_id']):<10} {export:<16} "
            f"{_shown(row['partition_key']):<18} {_shown(row['status']):<10} {row['record_count'] or 0:>8}  "
            f"{_shown(row['requested_by'])}: {_shown(detail.splitlines()[0] if detail else '')}"
        )


def _run_partitions(
    instance: dg.DagsterInstance, job_name: str, month: str, tenants: list[str]
) -> list[tuple[str, dg.ExecuteInProcessResult]]:
    """Run ``job_name`` for each tenant's ``month`` in this process, one partition after another,
    printing a line as each starts and ends (with an estimate of the time left). The runs are recorded
    in ``instance``, so the UI shows them. Returns (tenant, result) pairs."""
    from export_platform.definitions import defs
    from export_platform.partitions import TenantMonth

    job = defs.resolve_job_def(job_name)
    results: list[tuple[str, dg.ExecuteInProcessResult]] = []
    started = time.perf_counter()
    for number, slug in enumerate(tenants, start=1):
        key = TenantMonth(slug, month).key
        click.echo(f"    [{number}/{len(tenants)}] {key}: running {job_name} ...")
        began = time.perf_counter()
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        results.append((slug, result))
        elapsed = time.perf_counter() - started
        left = elapsed / number * (len(tenants) - number)
        assets = len(result.get_asset_materialization_events())
        outcome = f"{assets} assets" if result.success else f"FAILED (run {result.run_id}; logs in the UI)"
        click.echo(
            f"    [{number}/{len(tenants)}] {key}: {outcome} in {time.perf_counter() - began:.1f}s"
            + (f", about {left:.0f}s left" if number < len(tenants) else "")
        )
    return results


@main.command(short_help="Export one month for every tenant, with progress.")
@click.option("--month", required=True, help="The month to export, YYYY-MM, e.g. 2026-10.")
@click.option(
    "--tenants", default=None, help="Comma-separated tenant slugs [default: every tenant partition]."
)
@click.option(
    "--job",
    "job_name",
    type=click.Choice(["exports_job", "datasets_job"]),
    default="exports_job",
    show_default=True,
    help="exports_job: the eight datasets and all 22 CSV, Excel and PDF files; datasets_job: datasets only.",
)
def backfill(month: str, tenants: str | None, job_name: str) -> None:
    """Export one month for every tenant (or some), one run per tenant, with progress as it goes.

    \b
    Example, after `export-platform seed` and `export-platform tenants sync`:
        export-platform backfill --month 2026-10
        export-platform backfill --month 2026-10 --tenants acme,globex --job datasets_job

    The runs execute in this process and are recorded in the Dagster instance in DAGSTER_HOME, so they
    appear in the UI's run list. To hand the runs to the daemon of a running `dagster dev` instead, use
    the UI: Jobs > exports_job > Materialize, month 2026-10, tenant All. Exits 1 if any run failed.
    """
    import dagster as dg

    from export_platform.partitions import InvalidPartitionKey, validate_month, validate_tenant_slug

    if not os.environ.get("DAGSTER_HOME"):
        raise click.UsageError("DAGSTER_HOME is not set: point it at the Dagster instance folder")
    try:
        validate_month(month)
        wanted = [validate_tenant_slug(slug) for slug in _split(tenants)]
    except InvalidPartitionKey as exc:
        raise click.BadParameter(str(exc)) from exc
    with dg.DagsterInstance.get() as instance:
        known = sorted(set(instance.get_dynamic_partitions("tenant")))
        unknown = [slug for slug in wanted if slug not in known]
        if unknown or not known:
            raise click.UsageError(
                f"not tenant partitions of this instance: {', '.join(unknown) or 'none exist yet'}; "
                "run `export-platform tenants sync` first"
            )
        slugs = wanted or known
        click.echo(f"Backfilling {month} for {len(slugs)} tenants with {job_name}")
        started = time.perf_counter()
        results = _run_partitions(instance, job_name, month, slugs)
    failed = [slug for slug, result in results if not result.success]
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: {len(results) - len(failed)} succeeded"
        + (f", failed: {', '.join(failed)}" if failed else "")
    )
    if failed:
        sys.exit(1)


@main.command(short_help="Seed demo data and export last month for every tenant.")
@click.option("--tenants", "tenant_count", default=3, show_default=True, help="How many demo tenants.")
@click.option("--month", default=None, help="The month to export, YYYY-MM [default: last month].")
@click.option("--sales-per-day", default=20, show_default=True, help="Average sales per tenant per day.")
def demo(tenant_count: int, month: str | None, sales_per_day: int) -> None:
    """Seed the embedded SQLite source, then materialize one month for each tenant: the eight datasets
    and their CSV, Excel and PDF exports.

    Uses the local defaults (SQLite source, local artifact folder) and the Dagster instance in
    DAGSTER_HOME, or .export_platform/dagster_home when it is unset.
    """
    home = os.environ.setdefault("DAGSTER_HOME", str(settings.local_state_dir() / "dagster_home"))
    Path(home).mkdir(parents=True, exist_ok=True)
    instance_config = Path(home) / "dagster.yaml"
    if not instance_config.exists() and Path("dagster.local.yaml").is_file():
        shutil.copyfile("dagster.local.yaml", instance_config)

    import dagster as dg

    from export_platform.automation.tenants import sync_tenants
    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.source.seeding import seed as run_seed
    from export_platform.source.url import SourceUrl

    plan = _plan(tenant_count, 3, sales_per_day, month)
    url = SourceUrl(settings.source_url())
    click.echo(
        f"1/3 Seeding {url.redacted} with {tenant_count} tenants ({plan.first_day:%Y-%m} to {plan.end_month})"
    )
    run_seed(url, plan, progress=lambda line: click.echo(f"    {line}"))

    with dg.DagsterInstance.get() as instance:
        # The demo has just replaced the source itself: tenants gone from it are meant to go.
        synced = sync_tenants(instance, SourceDatabase(url=url.raw), confirm_removals=True)
        slugs = sorted(set(instance.get_dynamic_partitions("tenant")))
        click.echo(f"2/3 Tenant partitions in {home}: {', '.join(slugs)} (added {len(synced.add)})")
        click.echo(f"3/3 Materializing {plan.end_month} for {len(slugs)} tenants")
        results = _run_partitions(instance, "exports_job", plan.end_month, slugs)
    if not all(result.success for _, result in results):
        sys.exit(1)
    rows = []
    for slug, result in results:
        for event in result.get_asset_materialization_events():
            metadata = event.materialization.metadata
            where = metadata["uri"] if "uri" in metadata else metadata["path"]
            rows.append(
                (
                    slug,
                    event.materialization.asset_key.to_user_string(),
                    metadata["dagster/row_count"].value,
                    where.value,
                )
            )

    click.echo("")
    click.echo(f"{'tenant':<10} {'asset':<16} {'rows':>8}  where")
    for slug, asset, count, path in sorted(rows):
        click.echo(f"{slug:<10} {asset:<16} {count:>8}  {path}")
    click.echo("")
    click.echo("Open the Dagster UI on these results with:")
    click.echo(f"    DAGSTER_HOME={home} .venv/bin/dagster dev -w workspace.yaml")
    click.echo("then browse to http://127.0.0.1:3000 (Assets: groups 'datasets' and 'exports').")


def _token_store():
    from export_platform.tracking.api_tokens import ApiTokenStore
    from export_platform.tracking.history import ExportHistory

    return ApiTokenStore(ExportHistory(url=settings.source_url()).engine)


@main.group(short_help="Issue, list or revoke tokens for the Export API.")
def tokens() -> None:
    """Bearer tokens for the Export API (`export-platform api`), each bound to one tenant, one user
    of that tenant and one role: viewer (history, artifacts, downloads), exporter (and request
    exports) or admin (and schedules and notification settings).

    Tokens live, hashed, in the platform tables of the database in EXPORT_SOURCE_URL.
    """


@tokens.command("issue")
@click.option("--tenant", required=True, help="Tenant slug, e.g. acme.")
@click.option("--user", "user_id", required=True, type=int, help="The user's id (users.id) in that tenant.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@click.option(
    "--expires-in-days",
    default=90,
    show_default=True,
    type=click.IntRange(1, MAX_EXPIRY_DAYS),
    help="Days until the token stops working.",
)
@click.option("--label", default=None, help="A note saying what the token is for, e.g. 'finance laptop'.")
def tokens_issue(tenant: str, user_id: int, role: str, expires_in_days: int, label: str | None) -> None:
    """Issue a token and print it, on a line of its own, this one time: only its hash is stored.

    \b
    Example:
        export-platform tokens issue --tenant acme --user 3 --role viewer --label 'finance laptop'
    """
    from export_platform.datasets.source_database import SourceDatabase
    from export_platform.errors import UnknownTenant
    from export_platform.partitions import InvalidPartitionKey, validate_tenant_slug
    from export_platform.source.users import tenant_has_user

    try:
        validate_tenant_slug(tenant)
    except InvalidPartitionKey as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    source = SourceDatabase(url=settings.source_url())
    try:
        source.tenant(tenant)
    except UnknownTenant as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    if not tenant_has_user(source.source_url, tenant, user_id):
        raise click.BadParameter(f"{tenant} has no user {user_id} (users.id)", param_hint="--user")
    try:
        issued = _token_store().issue(
            tenant=tenant, user_id=user_id, role=role, expires_in_days=expires_in_days, label=label
        )
    except ValueError as exc:
        raise _Refused(_shown(exc)) from None
    token = issued.token
    _echo_err(
        f"issued token {token.id} for {tenant} user {user_id} ({role}), "
        f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC; it is shown only now:"
    )
    click.echo(issued.bearer)


@tokens.command("list")
@click.option("--tenant", default=None, help="Only this tenant's tokens.")
def tokens_list(tenant: str | None) -> None:
    """List tokens, oldest first: id, tenant, user, role, status and expiry (never the secret)."""
    import datetime as dt

    found = _token_store().list(tenant=tenant)
    if not found:
        click.echo("no tokens")
    now = dt.datetime.now(dt.UTC)
    for token in found:
        click.echo(
            f"{token.id}  {_shown(token.tenant):<10} user {token.user_id:<6} {token.role:<8} "
            f"{token.status(now):<8} expires {token.expires_at:%Y-%m-%d %H:%M} UTC  {_shown(token.label)}"
        )


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token for good: the API refuses it from the next request on."""
    if not _token_store().revoke(token_id):
        raise click.UsageError(f"no token {_shown(token_id)}")
    click.echo(f"token {token_id} revoked")


@main.command(short_help="Serve the Export API over HTTP.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option(
    "--requests-per-minute",
    default=ApiConfig.requests_per_minute,
    show_default=True,
    type=click.IntRange(1),
    help="Each token's sustained request rate; more answer 429 with Retry-After.",
)
@click.option(
    "--burst",
    default=ApiConfig.burst,
    show_default=True,
    type=click.IntRange(1),
    help="Requests a token may send at once before the rate applies.",
)
def api(host: str, port: int, requests_per_minute: int, burst: int) -> None:
    """Serve the Export API: tenants' export history, notification settings and published files, for
    the bearer tokens of `export-platform tokens issue`.

    \b
    Example, beside `dagster dev`:
        export-platform api --port 8080
        curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/tenants/acme/history

    Reads EXPORT_SOURCE_URL and EXPORT_ARTIFACT_ROOT as the code location does; download links start
    with EXPORT_API_URL. The OpenAPI document is at /v1/openapi.json, interactive docs at /docs.
    """
    from export_platform.api.server import serve

    serve(ApiConfig(requests_per_minute=requests_per_minute, burst=burst), host, port)


if __name__ == "__main__":
    main()
