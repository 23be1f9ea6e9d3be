"""Per-tenant notification settings: who gets deliveries and failure notices, from which domains,
under which sender name and reply-to address, which hosts the tenant's webhooks may point at, and how
long the tenant's files are kept.

A webhook URL (``webhook_url_problem``) is ``https``, or plain ``http`` only to the loopback
interface (a receiver on the same machine, as in tests); it has a host, and no user name, password or
fragment. Its host must be one of the tenant's ``webhook_hosts``, compared exactly (no subdomains), as
a recipient's domain must be one of ``allowed_domains``: with none, every webhook is refused.

Every field that ends up in an e-mail header (sender name, reply-to, addresses) is checked when the
settings are saved (``NotificationSettings.check``), and again when a message is built, for settings
saved before a rule existed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa

from export_platform.errors import ExportPlatformError
from export_platform.plain_text import CONTROL_CHARACTERS, control_character_problem
from export_platform.tracking.schema import notification_settings

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
DOMAIN = re.compile(_DOMAIN)
EMAIL_ADDRESS = re.compile(rf"[^@\s,;<>\"{CONTROL_CHARACTERS}]+@{_DOMAIN}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""The hosts a webhook may reach over plain http: this machine, for receivers in tests."""


def webhook_host(url: str) -> str:
    """The host a webhook URL names, lower-case ('' when it names none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook's, or None when it can (see the module's docstring)."""
    if re.search(rf"[\s{CONTROL_CHARACTERS}]", url):
        return "holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # reading it checks the port is a number
    except ValueError:
        return "is not a URL"
    host = webhook_host(url)
    if not host:
        return "names no host"
    if parts.username is not None or parts.password is not None or parts.fragment:
        return "must not hold a user name, password or #fragment"
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return None
    return "must be https (plain http only to 127.0.0.1, localhost or ::1)"


class InvalidSettings(ExportPlatformError):
    """A notification setting that cannot be used as given; the message names the field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field_name, self.problem = field_name, problem


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
    """How long ad-hoc and scheduled files are kept."""
    monthly_retention_days: int | None = None
    """How long monthly exports (the monthly close's, a backfill's) are kept; None keeps them."""
    webhook_hosts: tuple[str, ...] = ()
    """The hosts the tenant's schedules may send webhooks to (Slack's included)."""

    def refused(self, recipients: tuple[str, ...] | list[str]) -> list[str]:
        """Recipients that are not plain e-mail addresses or lie outside the tenant's allowed domains.
        With no allowed domains, everyone is refused: a tenant's data only goes where the tenant said
        it may."""
        allowed = {d.lower() for d in self.allowed_domains}
        return [
            r
            for r in recipients
            if not EMAIL_ADDRESS.fullmatch(r) or r.rsplit("@", 1)[-1].lower() not in allowed
        ]

    def refused_webhooks(self, urls: tuple[str, ...] | list[str]) -> list[str]:
        """Webhook URLs that are not ones a webhook may have, or whose host is not one of the
        tenant's ``webhook_hosts``. With no hosts, every one is refused, as addresses are."""
        allowed = {h.lower() for h in self.webhook_hosts}
        return [u for u in urls if webhook_url_problem(u) or webhook_host(u) not in allowed]

    def check(self) -> NotificationSettings:
        """Return the settings if every field can go into a message header, else raise
        ``InvalidSettings`` naming the first field that cannot. Whether addresses lie in the allowed
        domains is checked where they are used: the failure notice drops those that do not, a
        delivery is refused."""
        if self.sender_name is not None and (problem := control_character_problem(self.sender_name)):
            raise InvalidSettings("sender_name", problem)
        for name in ("default_recipients", "failure_recipients"):
            malformed = [a for a in getattr(self, name) if not EMAIL_ADDRESS.fullmatch(a)]
            if malformed:
                raise InvalidSettings(name, f"not e-mail addresses: {malformed}")
        if self.reply_to is not None and not EMAIL_ADDRESS.fullmatch(self.reply_to):
            raise InvalidSettings("reply_to", f"not an e-mail address: {self.reply_to!r}")
        malformed = [d for d in self.allowed_domains if not DOMAIN.fullmatch(d)]
        if malformed:
            raise InvalidSettings("allowed_domains", f"not domain names: {malformed}")
        malformed = [h for h in self.webhook_hosts if not DOMAIN.fullmatch(h) and h not in LOOPBACK_HOSTS]
        if malformed:
            raise InvalidSettings("webhook_hosts", f"not host names: {malformed}")
        for name in ("retention_days", "monthly_retention_days"):
            days = getattr(self, name)
            if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
                raise InvalidSettings(name, f"{days} is not a number of days from 1 to {MAX_RETENTION_DAYS}")
        return self


class NotificationSettingsStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, tenant: str) -> NotificationSettings:
        """The stored settings as they are (defaults when none), without ``check``: a row saved before
        a rule existed must not stop this tenant's failure notices, nor anyone else's."""
        t = notification_settings
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return NotificationSettings(tenant)
        stored = row._mapping
        return NotificationSettings(
            tenant,
            stored["notify_on_success"],
            stored["notify_on_failure"],
            tuple(json.loads(stored["default_recipients"])),
            tuple(json.loads(stored["failure_recipients"])),
            stored["sender_name"],
            stored["reply_to"],
            tuple(json.loads(stored["allowed_domains"])),
            stored["retention_days"],
            stored["monthly_retention_days"],
            tuple(json.loads(stored["webhook_hosts"])),
        )

    def put(self, settings: NotificationSettings) -> None:
        """Save the settings once ``check`` accepts them (``InvalidSettings`` otherwise)."""
        settings.check()
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
            "monthly_retention_days": settings.monthly_retention_days,
            "webhook_hosts": json.dumps(settings.webhook_hosts),
        }
        with self.engine.begin() as conn:
            if (
                conn.execute(sa.update(t).where(t.c.tenant_id == settings.tenant).values(**values)).rowcount
                == 0
            ):
                conn.execute(sa.insert(t).values(tenant_id=settings.tenant, **values))
