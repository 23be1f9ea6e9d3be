"""``export-platform demo``: seed the source, sync the tenants and export last month for each, then
print what was made and where."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from export_platform import settings
from export_platform.cli.job_runs import existing_month, run_partitions
from export_platform.cli.refusals import checked_source_url
from export_platform.cli.run_logs import run_logs
from export_platform.cli.seed import replace_or_refuse, seed_plan

REPORT_JOB_URL = "http://127.0.0.1:3000/locations/export_platform/jobs"
"""Where `dg dev` shows the report jobs (exports/report_jobs.py); ``?partition=`` fills in their
launch dialog."""


@click.command(short_help="Seed demo data and export last month for every tenant.")
@click.option("--tenants", "tenant_count", default=3, show_default=True, help="How many demo tenants.")
@click.option("--month", default=None, help="The month to export, YYYY-MM [default: last month].")
@click.option("--sales-per-day", default=20, show_default=True, help="Average sales per tenant per day.")
@click.option("--replace", is_flag=True, help="Drop the source tables even when they hold data.")
def demo(tenant_count: int, month: str | None, sales_per_day: int, replace: bool) -> None:
    """Seed the embedded SQLite source, then materialize one month for each tenant: the eight datasets
    and their CSV, Excel and PDF exports.

    Uses the local defaults (SQLite source, local artifact folder) and the Dagster instance in
    DAGSTER_HOME, or .export_platform/dagster_home when it is unset. Like `seed`, it refuses a source
    that holds data unless --replace is given (scripts/demo.sh gives it). Prints progress and a table
    of what was made; Dagster's logs go to each run's page in the UI and to the log file whose path is
    printed (to the terminal too with --verbose).
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

    url = checked_source_url()
    plan = seed_plan(tenant_count, 3, sales_per_day, month)
    existing_month(plan.end_month)
    replaced = replace_or_refuse(url, replace, "demo")
    click.echo(
        f"1/3 Seeding {url.redacted} with {tenant_count} tenants ({plan.first_day:%Y-%m} to {plan.end_month})"
    )
    if replaced:
        click.echo(f"    dropping {replaced}")
    run_seed(url, plan, progress=lambda line: click.echo(f"    {line}"))

    with dg.DagsterInstance.get() as instance:
        # The demo has just replaced the source itself: tenants gone from it are meant to go.
        synced = sync_tenants(instance, SourceDatabase(url=url.raw), confirm_removals=True)
        slugs = sorted(set(instance.get_dynamic_partitions("tenant")))
        click.echo(f"2/3 Tenant partitions in {home}: {', '.join(slugs)} (added {len(synced.add)})")
        click.echo(f"3/3 Materializing {plan.end_month} for {len(slugs)} tenants")
        with run_logs("demo") as logs:
            results = run_partitions(instance, logs, "exports_job", plan.end_month, slugs)
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
    click.echo(f"    DAGSTER_HOME={home} .venv/bin/dg dev -w workspace.yaml")
    click.echo("then browse to http://127.0.0.1:3000 (Assets: groups 'datasets' and 'exports').")
    if slugs:  # the report jobs' launch dialog, filled in (see docs/guide.md)
        report = f"{plan.end_month}|{slugs[0]}"
        click.echo(f"A tenant's month again, in two clicks: {REPORT_JOB_URL}/sales_report?partition={report}")
