"""Sending e-mail over SMTP, as a Dagster resource.

``EXPORT_SMTP_URL`` is ``smtp://user:password@host:port`` (plain, upgraded with STARTTLS when the
server offers it) or ``smtps://...`` (TLS from the start). Unset, messages are logged, not sent.
Temporary failures (4xx replies, to the message or to every recipient, and dropped connections) raise
``TransientDeliveryError`` so the caller tries again later; once the server has accepted the message
(250 after DATA), a failure while saying goodbye is only logged, so the caller never sends an accepted
message twice. The password never appears in a message.

Every message is from ``sender`` (``EXPORT_MAIL_FROM``, checked at start-up by
``settings.mail_from``), under a tenant's own sender name when the caller gives one; its address is
also the envelope sender.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

import dagster as dg
from pydantic import Field

from export_platform.credentials import split_credentials
from export_platform.errors import DeliveryRefused, MalformedUrl, TransientDeliveryError

log = logging.getLogger(__name__)


_HOST_AND_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/?#]+)(?::([0-9]{1,5}))?/?")


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    hostname: str
    port: int
    username: str | None
    password: str | None = field(repr=False)


def smtp_server(url: str) -> SmtpServer:
    """The server, port and login of an SMTP URL, read by ``credentials.split_credentials``'s rule, so
    a password may hold a raw ``@``, ``/`` or ``#`` as well as percent-encoded characters. A URL that is
    not ``smtp[s]://[user[:password]@]host[:port]`` raises ``MalformedUrl``, never quoting it."""
    parts = split_credentials(url)
    where = _HOST_AND_PORT.fullmatch(parts.rest) if parts else None
    if parts is None or parts.scheme.lower() not in ("smtp", "smtps") or where is None:
        raise MalformedUrl(
            "EXPORT_SMTP_URL must read smtp://user:password@host:port or smtps://user:password@host:port "
            "(it is not shown here, as it may hold a password)"
        )
    scheme, port = parts.scheme.lower(), where.group(2)
    if port is not None and not 0 < int(port) < 65536:
        raise MalformedUrl(f"EXPORT_SMTP_URL names port {int(port)}: use a port from 1 to 65535")
    default = 465 if scheme == "smtps" else 25
    host = where.group(1).strip("[]")
    return SmtpServer(scheme, host, int(port) if port else default, parts.username, parts.password)


class Mailer(dg.ConfigurableResource):
    smtp_url: str | None = Field(default=None, description="smtp://user:password@host:port or smtps://...")
    sender: str | None = Field(
        default=None,
        description="Who every message is from, 'Display Name <address>' (EXPORT_MAIL_FROM); needed to send.",
    )
    operators: list[str] = Field(
        default_factory=list, description="Platform operators copied on failure notices."
    )
    timeout_seconds: float = Field(default=30.0, gt=0)
    attachment_limit_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        description="Attach files while their total stays under this; link the rest.",
    )

    def from_header(self, sender_name: str | None = None) -> Address:
        """The From header: the configured sender, under ``sender_name`` (a tenant's) when given."""
        name, address = parseaddr(self.sender or "")
        username, _, domain = address.rpartition("@")
        return Address(display_name=sender_name or name, username=username, domain=domain)

    def send(self, message: EmailMessage, *, sender_name: str | None = None) -> bool:
        """Send ``message`` from the configured sender, shown as ``sender_name`` when given; True once
        the server accepted it, False when no SMTP server is configured. With a server but no sender
        it raises ``DeliveryRefused``: start-up refuses that configuration, so only a resource built
        by hand gets here."""
        if not self.smtp_url:
            log.info("no EXPORT_SMTP_URL: not sending %r to %s", message["Subject"], message["To"])
            return False
        if not self.sender:
            raise DeliveryRefused("no sender to send mail from: set EXPORT_MAIL_FROM")
        sender = self.from_header(sender_name)
        del message["From"]
        message["From"] = sender
        url = smtp_server(self.smtp_url)
        where = f"{url.hostname}:{url.port}"
        try:
            client: smtplib.SMTP
            if url.scheme == "smtps":
                client = smtplib.SMTP_SSL(
                    url.hostname,
                    url.port or 465,
                    timeout=self.timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(url.hostname, url.port or 25, timeout=self.timeout_seconds)
            try:
                if url.scheme == "smtp" and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                if url.username:
                    client.login(url.username, url.password or "")
                client.send_message(message, from_addr=sender.addr_spec)
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientDeliveryError(
                    f"SMTP server {where} deferred the message: {exc.smtp_code}"
                ) from None
            raise DeliveryRefused(f"SMTP server {where} refused the message: {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            if all(400 <= code < 500 for code in codes):  # every recipient deferred: try again later
                raise TransientDeliveryError(
                    f"SMTP server {where} deferred recipients {sorted(exc.recipients)}: {codes}"
                ) from None
            raise DeliveryRefused(
                f"SMTP server {where} refused recipients {sorted(exc.recipients)}: {codes}"
            ) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise TransientDeliveryError(f"SMTP server {where} unreachable: {type(exc).__name__}") from None
        # The server has accepted the message: whatever it answers to QUIT, sending again would duplicate it.
        try:
            client.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("SMTP server %s accepted the message but failed at QUIT: %s", where, exc)
            client.close()
        return True
