"""Export API tokens: bearer tokens bound to one tenant, one user of that tenant and one role, stored
hashed in the platform schema.

A token reads ``ept_<id>_<secret>``. The id is not secret: ``tokens list`` and ``tokens revoke`` name
tokens by it, and a presented token is looked up by it. The secret is 32 random bytes, shown once when
the token is issued and stored only as its sha256: for a secret that nobody can guess, one fast hash
is as good as a slow password hash, and a copy of the table lets nobody call the API. A presented
secret's hash is compared with ``hmac.compare_digest``, so the time a comparison takes tells nothing
about how much of it matched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from export_platform.errors import ExportPlatformError
from export_platform.partitions import validate_tenant_slug
from export_platform.plain_text import refuse_control_characters
from export_platform.tracking.schema import ROLES, api_tokens, as_utc

MAX_EXPIRY_DAYS = 3650
_TOKEN = re.compile(r"ept_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class TokenRefused(ExportPlatformError):
    """A presented token that grants nothing. ``reason`` is what the API tells the caller: ``invalid``
    (malformed, unknown, or a wrong secret: one answer, so a guess learns nothing), or, for a token
    whose secret matched, ``expired`` or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token refused: {reason}")
        self.reason = reason


def role_allows(held: str, needed: str) -> bool:
    """Whether a token of role ``held`` may do what needs ``needed`` (viewer < exporter < admin)."""
    return ROLES.index(held) >= ROLES.index(needed)


@dataclass(frozen=True)
class ApiToken:
    """A stored token, without its secret."""

    id: str
    tenant: str
    user_id: int
    role: str
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        """``revoked``, ``expired`` or ``active``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued, with the only copy of its secret (``bearer``) there will ever be."""

    token: ApiToken
    bearer: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _token(row: sa.RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        tenant=row["tenant_id"],
        user_id=row["user_id"],
        role=row["role"],
        label=row["label"],
        created_at=as_utc(row["created_at"]),
        expires_at=as_utc(row["expires_at"]),
        revoked_at=as_utc(row["revoked_at"]),
    )


class ApiTokenStore:
    """Issues, lists, revokes and verifies tokens in the ``api_tokens`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def issue(
        self, *, tenant: str, user_id: int, role: str, expires_in_days: int, label: str | None = None
    ) -> IssuedToken:
        """A new token for ``user_id`` of ``tenant`` (the caller checks the user belongs to the tenant).
        Refuses (``ValueError``) a bad slug, an unknown role, an expiry outside 1-3650 days and a label
        with control characters or over 200 characters."""
        validate_tenant_slug(tenant)
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}")
        if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise ValueError(f"expires_in_days: must be 1-{MAX_EXPIRY_DAYS}")
        refuse_control_characters("label", label)
        if label is not None and len(label) > 200:
            raise ValueError("label: at most 200 characters")
        token_id, secret, now = secrets.token_hex(8), secrets.token_urlsafe(32), _now()
        token = ApiToken(
            id=token_id,
            tenant=tenant,
            user_id=user_id,
            role=role,
            label=label,
            created_at=now,
            expires_at=now + dt.timedelta(days=expires_in_days),
            revoked_at=None,
        )
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(api_tokens).values(
                    id=token.id,
                    tenant_id=tenant,
                    user_id=user_id,
                    role=role,
                    label=label,
                    secret_sha256=_hash(secret),
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                )
            )
        return IssuedToken(token, f"ept_{token_id}_{secret}")

    def list(self, tenant: str | None = None) -> list[ApiToken]:
        """Every token (or ``tenant``'s), oldest first."""
        stmt = sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
        if tenant is not None:
            stmt = stmt.where(api_tokens.c.tenant_id == tenant)
        with self.engine.connect() as conn:
            return [_token(row._mapping) for row in conn.execute(stmt)]

    def revoke(self, token_id: str) -> bool:
        """Revoke a token for good; False if there is no such token. Revoking twice keeps the first time."""
        t = api_tokens
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=_now())
            )
            return conn.execute(sa.select(t.c.id).where(t.c.id == token_id)).first() is not None

    def verify(self, presented: str) -> ApiToken:
        """The token ``presented`` names, if its secret matches and it is active; else ``TokenRefused``."""
        match = _TOKEN.fullmatch(presented)
        if match is None:
            raise TokenRefused("invalid")
        token_id, secret = match.groups()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
        stored = row._mapping["secret_sha256"] if row is not None else "0" * 64
        if not hmac.compare_digest(stored, _hash(secret)) or row is None:
            raise TokenRefused("invalid")
        token = _token(row._mapping)
        status = token.status(_now())
        if status != "active":
            raise TokenRefused(status)
        return token
