"""``export-platform backfill``: one month for every tenant (or some) as a Dagster backfill, which the
daemon runs through the run queue; progress read from the backfill until it ends, or its id at once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from export_platform.cli.job_runs import existing_month
from export_platform.cli.refusals import Refused, checked_source_url, require_dagster_home
from export_platform.cli.text import comma_separated

POLL_SECONDS = 2.0


@click.command(short_help="Backfill a month for every tenant, with progress.")
@click.option("--month", default=None, help="The month to export, YYYY-MM, e.g. 2026-10.")
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
@click.option(
    "--no-wait", is_flag=True, help="Print the backfill's id and where the UI shows it, and return."
)
@click.option(
    "--cancel",
    "cancel_id",
    metavar="ID",
    default=None,
    help="Cancel the backfill ID, as the UI's Cancel does: no more runs, queued and running ones canceled.",
)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(path_type=Path),
    default=None,
    help="The workspace file the daemon loads [default: the platform's code location, export_platform].",
)
@click.option("--location", default=None, help="The code location of that workspace that has the job.")
def backfill(
    month: str | None,
    tenants: str | None,
    job_name: str,
    no_wait: bool,
    cancel_id: str | None,
    workspace: Path | None,
    location: str | None,
) -> None:
    """Export one month for every tenant (or some) as one Dagster backfill, a run per tenant.

    \b
    Example, after `export-platform seed` and `export-platform tenants sync`, with `dg dev` (or
    `dagster-daemon run`) running on the same DAGSTER_HOME:
        export-platform backfill --month 2026-10
        export-platform backfill --month 2026-10 --tenants acme,globex --job datasets_job --no-wait
        export-platform backfill --cancel <ID>

    The backfill is recorded in the Dagster instance in DAGSTER_HOME; the daemon submits its runs to
    the run queue, which starts them within the instance's concurrency limits. The UI shows it under
    Overview > Backfills (its path is printed), where it can be cancelled too; a daemon restarted
    between its passes carries on where it stopped. Without a running daemon the backfill waits for
    one. The command prints a line as the runs progress until the backfill ends (Ctrl-C stops
    watching, not the backfill) and exits 1 if any run failed or the backfill was cancelled.
    """
    import dagster as dg

    from export_platform.cli import partition_backfill as backfills
    from export_platform.partitions import (
        TENANT_DIMENSION,
        InvalidPartitionKey,
        TenantMonth,
        validate_tenant_slug,
    )

    if cancel_id is None and month is None:
        raise click.UsageError("Missing option '--month'.", ctx=click.get_current_context())
    require_dagster_home()
    if cancel_id is not None:
        if month or tenants:
            raise Refused(
                "--cancel ID takes no --month or --tenants: it cancels a backfill already submitted"
            )
        with dg.DagsterInstance.get() as instance:
            backfills.cancel(instance, cancel_id)
        click.echo(
            f"Canceling backfill {cancel_id}: the daemon cancels its queued and running runs "
            f"({backfills.ui_path(cancel_id)} in the UI)"
        )
        return
    assert month is not None
    checked_source_url()
    existing_month(month)
    try:
        wanted = [validate_tenant_slug(slug) for slug in comma_separated(tenants)]
    except InvalidPartitionKey as exc:
        raise Refused(f"--tenants: {exc}") from None
    with dg.DagsterInstance.get() as instance:
        known = sorted(set(instance.get_dynamic_partitions(TENANT_DIMENSION)))
        unknown = [slug for slug in wanted if slug not in known]
        if unknown or not known:
            raise Refused(
                f"not tenant partitions of this instance: {', '.join(unknown) or 'none exist yet'}; "
                "run `export-platform tenants sync` first"
            )
        slugs = wanted or known
        keys = [TenantMonth(slug, month).key for slug in slugs]
        with backfills.partition_set_origin(instance, job_name, workspace, location) as origin:
            backfill_id = backfills.submit(instance, origin, keys, title=f"{job_name} {month}")
        click.echo(
            f"Backfill {backfill_id}: {job_name} for {month}, {len(slugs)} tenants "
            f"({backfills.ui_path(backfill_id)} in the UI)"
        )
        if not backfills.daemon_running(instance):
            click.echo("No daemon is running on this instance: the backfill waits until one starts.")
        if no_wait:
            return
        failed = backfills.watch(instance, backfill_id, POLL_SECONDS)
    if failed:
        sys.exit(1)
