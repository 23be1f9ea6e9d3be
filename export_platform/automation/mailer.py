"""Sending e-mail over SMTP, as a Dagster resource.

``EXPORT_SMTP_URL`` is ``smtp://user:password@host:port`` (plain, upgraded with STARTTLS when the
server offers it) or ``smtps://...`` (TLS from the start). Unset, messages are logged, not sent.
Temporary failures (4xx replies, to the message or to every recipient, and dropped connections) raise
``TransientDeliveryError`` so the caller tries again later; once the server has accepted the message
(250 after DATA), a failure while saying goodbye is only logged, so the caller never sends an accepted
message twice. The password never appears in a message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import dagster as dg
from pydantic import Field

from export_platform.errors import ExportPlatformError

log = logging.getLogger(__name__)


class TransientDeliveryError(ExportPlatformError):
    """The SMTP server could not take the message now; try again later."""


class DeliveryRefused(ExportPlatformError):
    """The SMTP server refused the message for good (for example, an unknown recipient)."""


class Mailer(dg.ConfigurableResource):
    smtp_url: str | None = Field(default=None, description="smtp://user:password@host:port or smtps://...")
    sender: str = Field(default="exports@export-platform.invalid", description="Envelope and From address.")
    operators: list[str] = Field(
        default_factory=list, description="Platform operators copied on failure notices."
    )
    timeout_seconds: float = Field(default=30.0, gt=0)
    attachment_limit_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        description="Attach files while their total stays under this; link the rest.",
    )

    def send(self, message: EmailMessage) -> bool:
        """Send ``message``; True once the server accepted it, False when no SMTP server is configured."""
        if "From" not in message:
            message["From"] = self.sender
        if not self.smtp_url:
            log.info("no EXPORT_SMTP_URL: not sending %r to %s", message["Subject"], message["To"])
            return False
        url = urlsplit(self.smtp_url)
        where = f"{url.hostname}:{url.port}"
        try:
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
                    client.login(unquote(url.username), unquote(url.password or ""))
                client.send_message(message, from_addr=self.sender)
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
