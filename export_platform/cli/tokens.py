"""``export-platform tokens``: the Export API's bearer tokens, issued, listed and revoked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from export_platform.cli.group import Commands
from export_platform.cli.refusals import Refused, checked_source_url
from export_platform.cli.text import shown
from export_platform.tracking.api_tokens import MAX_EXPIRY_DAYS
from export_platform.tracking.schema import ROLES

if TYPE_CHECKING:
    from export_platform.tracking.api_tokens import ApiTokenStore


def _token_store() -> ApiTokenStore:
    from export_platform.tracking.api_tokens import ApiTokenStore
    from export_platform.tracking.history import ExportHistory

    return ApiTokenStore(ExportHistory(url=checked_source_url().raw).engine)


@click.group(cls=Commands, short_help="Issue, list or revoke tokens for the Export API.")
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
    source = SourceDatabase(url=checked_source_url().raw)
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
        raise Refused(shown(exc)) from None
    token = issued.token
    click.echo(
        f"issued token {token.id} for {tenant} user {user_id} ({role}), "
        f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC; it is shown only now:",
        err=True,
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
            f"{token.id}  {shown(token.tenant):<10} user {token.user_id:<6} {token.role:<8} "
            f"{token.status(now):<8} expires {token.expires_at:%Y-%m-%d %H:%M} UTC  {shown(token.label)}"
        )


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token for good: the API refuses it from the next request on."""
    if not _token_store().revoke(token_id):
        raise click.UsageError(f"no token {shown(token_id)}")
    click.echo(f"token {token_id} revoked")
