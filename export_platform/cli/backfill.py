"""``export-platform backfill``: one month for every tenant (or some), one run each, with progress."""

from __future__ import annotations

import sys
import time

import click

from export_platform.cli.job_runs import existing_month, run_partitions
from export_platform.cli.refusals import Refused, checked_source_url, require_dagster_home
from export_platform.cli.run_logs import run_logs
from export_platform.cli.text import comma_separated


@click.command(short_help="Export one month for every tenant, with progress.")
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
    appear in the UI's run list. Dagster's logs of each run are on its page in the UI and in the log
    file whose path is printed (on the terminal too with --verbose). To hand the runs to the daemon of a
    running `dg dev` instead, use the UI: Jobs > exports_job > Materialize, month 2026-10, tenant
    All. Exits 1 if any run failed.
    """
    import dagster as dg

    from export_platform.partitions import InvalidPartitionKey, validate_tenant_slug

    require_dagster_home()
    checked_source_url()
    existing_month(month)
    try:
        wanted = [validate_tenant_slug(slug) for slug in comma_separated(tenants)]
    except InvalidPartitionKey as exc:
        raise Refused(f"--tenants: {exc}") from None
    with dg.DagsterInstance.get() as instance:
        known = sorted(set(instance.get_dynamic_partitions("tenant")))
        unknown = [slug for slug in wanted if slug not in known]
        if unknown or not known:
            raise Refused(
                f"not tenant partitions of this instance: {', '.join(unknown) or 'none exist yet'}; "
                "run `export-platform tenants sync` first"
            )
        slugs = wanted or known
        click.echo(f"Backfilling {month} for {len(slugs)} tenants with {job_name}")
        started = time.perf_counter()
        with run_logs("backfill") as logs:
            results = run_partitions(instance, logs, job_name, month, slugs)
    failed = [slug for slug, result in results if not result.success]
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: {len(results) - len(failed)} succeeded"
        + (f", failed: {', '.join(failed)}" if failed else "")
    )
    if failed:
        sys.exit(1)
