"""Webhooks: a scheduled run's files announced to a URL the tenant chose, as a signed JSON document
(``webhook_document``) or a Slack message (``automation.slack_messages``).

A webhook's body is signed so its receiver can tell it came from the platform and was not replayed:
``X-Export-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, with the secret the
schedule showed when the webhook was saved. A receiver recomputes the HMAC over the raw body it got,
compares in constant time, and refuses a ``t`` too far from its own clock (``verify_signature`` does
both, five minutes either way by default). ``X-Export-Delivery`` names the run, the same on every try,
so a receiver can drop a repeat. Slack's incoming webhooks are not signed: their URL is the secret.

A request is tried ``settings.webhook_tries()`` times: again after a 5xx answer, a lost connection or
a timeout, waiting ``settings.webhook_backoff_seconds()`` and then twice as long each time; any other
answer is final (2xx delivered, 3xx and 4xx refused: a redirect is not followed, as it could lead off
the tenant's allowed hosts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from export_platform import settings

SIGNATURE_HEADER = "X-Export-Signature"
DELIVERY_HEADER = "X-Export-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "export-platform-webhooks/1"


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Export-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def verify_signature(
    secret: str, body: bytes, header: str, now: float, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: ``header`` signs ``body`` with ``secret``, at most ``tolerance``
    seconds from ``now``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = signature_header(secret, body, int(timestamp)).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class LinkedFile:
    """One file of a delivered run, as a webhook names it: a link to it, valid until ``expires_at``."""

    dataset: str
    format: str
    name: str
    size: int
    sha256: str
    record_count: int
    url: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class DeliveredRun:
    """What a webhook says of one run: whose, which schedule, the period its files cover."""

    tenant: str
    tenant_name: str
    schedule_id: str
    schedule_name: str
    run_id: str
    period_label: str
    date_from: str
    date_to: str
    files: tuple[LinkedFile, ...]


def webhook_document(run: DeliveredRun) -> dict[str, Any]:
    """The JSON a webhook receives for ``run``."""
    return {
        "event": "export.delivered",
        "tenant": run.tenant,
        "schedule": {"id": run.schedule_id, "name": run.schedule_name},
        "run_id": run.run_id,
        "datasets": sorted({f.dataset for f in run.files}),
        "period": {"from": run.date_from, "to": run.date_to},
        "files": [
            {
                "name": f.name,
                "dataset": f.dataset,
                "format": f.format,
                "size": f.size,
                "sha256": f.sha256,
                "record_count": f.record_count,
                "url": f.url,
                "expires_at": f.expires_at.isoformat(),
            }
            for f in run.files
        ],
    }


@dataclass(frozen=True)
class WebhookOutcome:
    """How a webhook's delivery ended: ``delivered`` or not, after ``tries`` requests, with the last
    answer's status (None when none came) and, when not delivered, why."""

    delivered: bool
    tries: int
    http_status: int | None
    error: str | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer is then the final one


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post_once(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """The status of one POST; raises ``OSError`` (``TimeoutError`` included) when none came."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as answer:
        answer.close()
        return int(answer.code)


def post_webhook(
    url: str,
    document: Mapping[str, Any],
    *,
    delivery_id: str,
    secret: str | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> WebhookOutcome:
    """POST ``document`` as JSON to ``url``, signed with ``secret`` when one is given (afresh on each
    try, so its timestamp is the try's), retrying what is transient (see the module's docstring)."""
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    tries, backoff, timeout = (
        settings.webhook_tries(),
        settings.webhook_backoff_seconds(),
        settings.webhook_timeout_seconds(),
    )
    status: int | None = None
    error = ""
    for attempt in range(1, tries + 1):
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, DELIVERY_HEADER: delivery_id}
        if secret is not None:
            headers[SIGNATURE_HEADER] = signature_header(secret, body, int(clock()))
        try:
            status = _post_once(url, body, headers, timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # refused, reset, timed out, garbled
            status, error = None, f"no answer ({type(exc).__name__})"
        else:
            if 200 <= status < 300:
                return WebhookOutcome(True, attempt, status)
            error = f"answered HTTP {status}"
            if status < 500:
                return WebhookOutcome(False, attempt, status, error)
        if attempt < tries:
            sleep(backoff * 2 ** (attempt - 1))
    return WebhookOutcome(False, tries, status, f"{error} after {tries} tries")
