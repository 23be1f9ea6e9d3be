"""The users of a tenant, as the Export API's tokens name them (``users.id``)."""

from __future__ import annotations

import sqlalchemy as sa

from export_platform.source import schema
from export_platform.source.reads import read_frame
from export_platform.source.url import SourceUrl


def tenant_has_user(url: SourceUrl, tenant: str, user_id: int) -> bool:
    """Whether ``user_id`` is a user of ``tenant``. Read as the tenant (row-level security on
    PostgreSQL), so another tenant's user is exactly as absent as one that does not exist."""
    u = schema.users
    stmt = sa.select(u.c.id).where(u.c.tenant_id == sa.bindparam("tenant"), u.c.id == sa.bindparam("user_id"))
    return not read_frame(url, stmt, {"tenant": tenant, "user_id": user_id}, tenant=tenant).is_empty()


def user_email(url: SourceUrl, tenant: str, user_id: int) -> str | None:
    """The e-mail address of ``tenant``'s user ``user_id``; None when the source has no such tenant
    or user. Read as the tenant, like ``tenant_has_user``."""
    u = schema.users
    stmt = sa.select(u.c.email).where(
        u.c.tenant_id == sa.bindparam("tenant"), u.c.id == sa.bindparam("user_id")
    )
    found = read_frame(url, stmt, {"tenant": tenant, "user_id": user_id}, tenant=tenant)
    return None if found.is_empty() else found["email"][0]
