"""``export-platform tenants sync``: the instance's tenant partitions made equal to the source's tenants."""

from __future__ import annotations

import click

from export_platform.cli.group import Commands
from export_platform.cli.refusals import checked_source_url, require_dagster_home


@click.group(cls=Commands, short_help="Sync tenant partitions into the Dagster instance.")
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
    `dg dev` does the same by itself within a minute (tenant_sensor).

    A sync that would remove more than 10% of the tenant partitions at once (and more than one
    tenant) removes none and exits with an error, since a source that suddenly lists few tenants is
    more likely misread (reader role, row-level security, restore in progress) than emptied. New
    tenants are still added. Pass --confirm-removals when the removals are intended.
    """
    import dagster as dg

    from export_platform.automation.tenants import sync_tenants
    from export_platform.datasets.source_database import SourceDatabase

    require_dagster_home()
    url = checked_source_url()
    with dg.DagsterInstance.get() as instance:
        plan = sync_tenants(instance, SourceDatabase(url=url.raw), confirm_removals=confirm_removals)
    for slug in plan.rejected:
        click.echo(f"skipped tenant with an unsafe slug: {slug!r}", err=True)
    click.echo(f"tenants added: {', '.join(plan.add) or 'none'}; removed: {', '.join(plan.remove) or 'none'}")
    if plan.refusal:
        raise click.ClickException(plan.refusal)
