"""``export-platform history``: export attempts, newest first, as a table or as JSON lines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
import sqlalchemy as sa

from export_platform.cli.refusals import checked_source_url
from export_platform.cli.text import shown
from export_platform.tracking.schema import EXPORT_STATUSES, as_utc, export_history


def _matching(tenant: str | None, status: str | None, since: dt.date | None) -> list[sa.ColumnElement[bool]]:
    h = export_history
    conditions = []
    if tenant is not None:
        conditions.append(h.c.tenant_id == tenant)
    if status is not None:
        conditions.append(h.c.status == status)
    if since is not None:
        conditions.append(h.c.created_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    return conditions


def _as_json(row: dict[str, Any]) -> str:
    """One attempt as a JSON object: every column, timestamps in ISO 8601 with their UTC offset and
    ``filters`` as the object it holds."""
    values = {
        name: as_utc(value).isoformat() if isinstance(value, dt.datetime) else value
        for name, value in row.items()
    }
    if values.get("filters"):
        values["filters"] = json.loads(values["filters"])
    return json.dumps(values, ensure_ascii=True)


def _as_line(row: dict[str, Any]) -> str:
    created = row["created_at"].strftime("%Y-%m-%d %H:%M:%S")
    detail = row["uri"] if row["status"] in ("success", "emailed") else (row["error_message"] or "")
    export = shown(f"{row['dataset']}_{row['format']}")
    return (
        f"{created:<20} {shown(row['tenant_id']):<10} {export:<16} "
        f"{shown(row['partition_key']):<18} {shown(row['status']):<10} {row['record_count'] or 0:>8}  "
        f"{shown(row['requested_by'])}{_retry(row)}: {shown(detail.splitlines()[0] if detail else '')}"
    )


def _retry(row: dict[str, Any]) -> str:
    """`` (attempt 2 of <first run id>)`` for a retry of a scheduled run; nothing for a first attempt."""
    if (row.get("attempt") or 1) == 1:
        return ""
    return f" (attempt {row['attempt']} of {shown(row['first_run_id'])})"


@click.command(short_help="List export attempts, newest first.")
@click.option("--tenant", default=None, help="Only this tenant's exports.")
@click.option(
    "--status", type=click.Choice(EXPORT_STATUSES), default=None, help="Only exports in this status."
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only exports created on or after this day (UTC), YYYY-MM-DD.",
)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON Lines for scripts: one object per attempt and line, newest first, with every "
    "column of export_history (timestamps in ISO 8601, filters as an object).",
)
def history(
    tenant: str | None, status: str | None, since: dt.datetime | None, limit: int, as_json: bool
) -> None:
    """List export attempts, newest first: who asked, what, the outcome, and where the file is.

    \b
    Example:
        export-platform history --tenant acme --status failed --since 2026-10-01 --limit 20

    Reads the export_history table of the database in EXPORT_SOURCE_URL. When more attempts match
    than --limit shows, a last line on stderr says how many there are.
    """
    from export_platform.partitions import InvalidPartitionKey, validate_tenant_slug
    from export_platform.tracking.history import ExportHistory

    if tenant is not None:
        try:
            validate_tenant_slug(tenant)
        except InvalidPartitionKey as exc:
            raise click.BadParameter(str(exc), param_hint="--tenant") from exc
    where = _matching(tenant, status, since.date() if since else None)
    h = export_history
    with ExportHistory(url=checked_source_url().raw).engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(h).where(*where)).scalar_one()
        rows = [
            dict(row._mapping)
            for row in conn.execute(
                sa.select(h).where(*where).order_by(h.c.created_at.desc(), h.c.id.desc()).limit(limit)
            )
        ]
    if as_json:
        for row in rows:
            click.echo(_as_json(row))
    elif not rows:
        click.echo(
            "no exports recorded"
            + (f" for {tenant}" if tenant else "")
            + (f" with status {status}" if status else "")
            + (f" since {since:%Y-%m-%d}" if since else "")
        )
    else:
        click.echo(
            f"{'created (UTC)':<20} {'tenant':<10} {'export':<16} {'partition':<18} {'status':<10} "
            f"{'rows':>8}  requested by / file or error"
        )
        for row in rows:
            click.echo(_as_line(row))
    if total > len(rows):
        click.echo(f"showing {len(rows)} of {total} (use --limit)", err=True)
