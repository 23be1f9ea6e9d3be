"""Per-tenant notification settings: who gets deliveries and failure notices, from which domains."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from export_platform.tracking.schema import notification_settings

DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class NotificationSettings:
    tenant: str
    notify_on_success: bool = True
    notify_on_failure: bool = True
    default_recipients: tuple[str, ...] = ()
    failure_recipients: tuple[str, ...] = ()
    sender_name: str | None = None
    reply_to: str | None = None
    allowed_domains: tuple[str, ...] = field(default=())
    retention_days: int = DEFAULT_RETENTION_DAYS

    def refused(self, recipients: tuple[str, ...] | list[str]) -> list[str]:
        """Recipients outside the tenant's allowed domains. With no allowed domains, everyone is refused:
        a tenant's data only goes where the tenant said it may."""
        allowed = {d.lower() for d in self.allowed_domains}
        return [r for r in recipients if r.rsplit("@", 1)[-1].lower() not in allowed]


class NotificationSettingsStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, tenant: str) -> NotificationSettings:
        t = notification_settings
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return NotificationSettings(tenant)
        row = row._mapping
        return NotificationSettings(
            tenant,
            row["notify_on_success"],
            row["notify_on_failure"],
            tuple(json.loads(row["default_recipients"])),
            tuple(json.loads(row["failure_recipients"])),
            row["sender_name"],
            row["reply_to"],
            tuple(json.loads(row["allowed_domains"])),
            row["retention_days"],
        )

    def put(self, settings: NotificationSettings) -> None:
        t = notification_settings
        values = {
            "notify_on_success": settings.notify_on_success,
            "notify_on_failure": settings.notify_on_failure,
            "default_recipients": json.dumps(settings.default_recipients),
            "failure_recipients": json.dumps(settings.failure_recipients),
            "sender_name": settings.sender_name,
            "reply_to": settings.reply_to,
            "allowed_domains": json.dumps(settings.allowed_domains),
            "retention_days": settings.retention_days,
        }
        with self.engine.begin() as conn:
            if (
                conn.execute(sa.update(t).where(t.c.tenant_id == settings.tenant).values(**values)).rowcount
                == 0
            ):
                conn.execute(sa.insert(t).values(tenant_id=settings.tenant, **values))
