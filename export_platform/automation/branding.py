"""How the platform's e-mails present a tenant: its name, as the source's ``tenants`` table spells it,
in their subjects, and its own sender name and reply-to address (notification settings) on the
messages the tenant's people receive."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import UnknownTenant
from export_platform.plain_text import control_character_problem, escaped
from export_platform.tracking.notifications import NotificationSettings

log = logging.getLogger(__name__)


def tenant_name(source: SourceDatabase, tenant: str) -> str:
    """The tenant's name for a subject, on one line; its slug when the source has no such tenant or
    cannot be read now: a notice of a failure (perhaps the source's own) must still go out."""
    try:
        return escaped(source.tenant(tenant).name)
    except UnknownTenant:
        return tenant
    except Exception as exc:  # the source is down or refuses: the message goes out under the slug
        log.warning(
            "tenant name of %s unavailable, the subject shows its slug: %s", tenant, type(exc).__name__
        )
        return tenant


def sender_name(settings: NotificationSettings) -> str | None:
    """The tenant's sender name, when it can be a header value (settings saved before the rule may
    hold a line break; the platform's own name is shown then)."""
    name = settings.sender_name
    return name if name and not control_character_problem(name) else None


def add_reply_to(message: EmailMessage, settings: NotificationSettings) -> None:
    """Set the tenant's reply-to address on ``message`` when it lies in the tenant's allowed domains."""
    if settings.reply_to and not settings.refused([settings.reply_to]):
        message["Reply-To"] = settings.reply_to
