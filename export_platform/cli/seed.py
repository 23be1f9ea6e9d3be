"""``export-platform seed``: deterministic demo data in the source database, which refuses to drop a
source that holds data unless ``--replace`` says so."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from export_platform.cli.refusals import Refused, checked_source_url

if TYPE_CHECKING:
    from export_platform.source.demo_data import SeedPlan
    from export_platform.source.url import SourceUrl


def seed_plan(tenants: int, months: int, sales_per_day: int, end_month: str | None) -> SeedPlan:
    """The plan the options describe, or a refusal naming the option that is out of range."""
    from export_platform.partitions import InvalidPartitionKey, validate_month
    from export_platform.source.demo_data import SeedPlan

    try:
        if end_month is None:
            return SeedPlan(tenants, months, sales_per_day)
        validate_month(end_month)
        return SeedPlan(tenants, months, sales_per_day, end_month)
    except InvalidPartitionKey as exc:
        raise Refused(f"--end-month: {exc}, e.g. 2026-10") from None
    except ValueError as exc:  # SeedPlan names its field: tenants, months or sales_per_day
        raise Refused(f"--{str(exc).replace('_', '-')}") from None


@dataclass(frozen=True)
class SourceContents:
    """What seeding would drop: the source tables holding rows, with their counts, and the tenants."""

    rows: dict[str, int]
    tenants: list[str]

    def __str__(self) -> str:
        names = ", ".join(self.tenants[:10]) + (
            f" and {len(self.tenants) - 10} more" if len(self.tenants) > 10 else ""
        )
        tables = ", ".join(f"{name} {count:,}" for name, count in sorted(self.rows.items()))
        return (
            f"{_count(len(self.tenants), 'tenant')} ({names or 'none'}) and "
            f"{_count(sum(self.rows.values()), 'row')} in {_count(len(self.rows), 'table')} ({tables})"
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def source_contents(url: SourceUrl) -> SourceContents:
    """The source tables of ``url`` that hold rows, and its tenants. A SQLite file that does not exist
    yet holds nothing and is not created."""
    import sqlalchemy as sa

    from export_platform.source import schema
    from export_platform.source.ddl import ddl_connection

    if url.dialect == "sqlite" and not url.sqlite_path.is_file():
        return SourceContents({}, [])
    rows: dict[str, int] = {}
    tenants: list[str] = []
    with ddl_connection(url) as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for table in schema.TABLES:
            if table.name in existing:
                count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                if count:
                    rows[table.name] = count
        if rows.get(schema.tenants.name):
            tenants = list(
                conn.execute(sa.select(schema.tenants.c.id).order_by(schema.tenants.c.id)).scalars()
            )
    return SourceContents(rows, tenants)


def replace_or_refuse(url: SourceUrl, replace: bool, command: str) -> SourceContents | None:
    """What seeding ``url`` will drop when ``replace`` says to drop it; None when it holds nothing.
    Without ``replace``, a source that holds data is refused, naming what would be dropped and how to
    drop it."""
    contents = source_contents(url)
    if not contents.rows:
        return None
    if not replace:
        raise Refused(
            f"{url.redacted} holds {contents}, which {command} would drop.\n"
            f"Run `export-platform {command} --replace` to drop them and seed anew."
        )
    return contents


@click.command(short_help="Fill the source database with deterministic demo data.")
@click.option("--tenants", default=3, show_default=True, help="How many tenants to create.")
@click.option("--months", default=3, show_default=True, help="How many calendar months of history.")
@click.option("--sales-per-day", default=20, show_default=True, help="Average sales per tenant per day.")
@click.option("--end-month", default=None, help="Last month to generate, YYYY-MM [default: last month].")
@click.option(
    "--source-url", default=None, help="Database to fill [default: EXPORT_SOURCE_URL or the SQLite file]."
)
@click.option("--replace", is_flag=True, help="Drop the source tables even when they hold data.")
def seed(
    tenants: int,
    months: int,
    sales_per_day: int,
    end_month: str | None,
    source_url: str | None,
    replace: bool,
) -> None:
    """Create the source schema and fill it with deterministic demo data, printing each tenant as it
    is loaded.

    \b
    Example:
        export-platform seed --tenants 3 --months 3 --sales-per-day 20 --end-month 2026-10

    The same options always produce the same rows. A source whose tables hold data is refused, naming
    its tenants and tables, unless --replace is given: then those tables are dropped and recreated.
    """
    from export_platform.source.seeding import seed as run_seed

    url = checked_source_url(source_url)
    plan = seed_plan(tenants, months, sales_per_day, end_month)
    replaced = replace_or_refuse(url, replace, "seed")
    click.echo(f"Seeding {url.redacted}: {tenants} tenants, {plan.first_day:%Y-%m} to {plan.end_month}")
    if replaced:
        click.echo(f"dropping {replaced}")
    started = time.perf_counter()
    counts = run_seed(url, plan, progress=click.echo)
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    )
