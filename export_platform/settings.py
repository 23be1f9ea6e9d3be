"""Where the platform reads from and writes to, from the environment variables ARCHITECTURE fixes.

Unset variables fall back to the embedded default: a SQLite source file and a local artifact folder
under ``.export_platform/`` in the working directory, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from email.utils import getaddresses
from pathlib import Path

from export_platform.errors import InvalidSetting

SOURCE_URL_VAR = "EXPORT_SOURCE_URL"
ARTIFACT_ROOT_VAR = "EXPORT_ARTIFACT_ROOT"
SMTP_URL_VAR = "EXPORT_SMTP_URL"
OPERATOR_EMAILS_VAR = "EXPORT_OPERATOR_EMAILS"
MAIL_FROM_VAR = "EXPORT_MAIL_FROM"
API_URL_VAR = "EXPORT_API_URL"
DAGSTER_URL_VAR = "EXPORT_DAGSTER_URL"
LINK_SECRET_VAR = "EXPORT_LINK_SECRET"
SCHEDULE_CHECK_VAR = "EXPORT_SCHEDULE_CHECK_SECONDS"
RETRY_DELAY_VAR = "EXPORT_SCHEDULE_RETRY_DELAY_SECONDS"
RETRIES_VAR = "EXPORT_SCHEDULE_RETRIES"


def local_state_dir() -> Path:
    return Path.cwd() / ".export_platform"


def default_source_url() -> str:
    return f"sqlite:///{local_state_dir() / 'source.db'}"


def source_url() -> str:
    return os.environ.get(SOURCE_URL_VAR) or default_source_url()


def artifact_root() -> str:
    """The artifact root as a ``s3://bucket/prefix`` URL or an absolute folder path."""
    root = os.environ.get(ARTIFACT_ROOT_VAR) or str(local_state_dir() / "artifacts")
    if root.startswith("file://"):
        root = root.removeprefix("file://")
    if root.startswith("s3://"):
        return root.rstrip("/")
    return str(Path(root).resolve())


def artifact_store_kind() -> str:
    """The kind badge of the configured artifact store, as the UI shows it: ``s3`` or ``file``."""
    return "s3" if artifact_root().startswith("s3://") else "file"


def source_kind() -> str:
    """The kind badge of the configured source database: ``postgres`` or ``sqlite``."""
    return "sqlite" if source_url().startswith("sqlite") else "postgres"


def api_url() -> str:
    """The Export API's public base URL, which download links start with (no trailing slash)."""
    return (os.environ.get(API_URL_VAR) or "http://127.0.0.1:8080").rstrip("/")


def dagster_url() -> str:
    """Where the Export API reaches Dagster's webserver (its GraphQL API) to launch and follow runs."""
    return (os.environ.get(DAGSTER_URL_VAR) or "http://127.0.0.1:3000").rstrip("/")


def schedule_check_seconds() -> int:
    """How often the daemon looks for tenants' schedules that fell due (``export_schedule_sensor``):
    every minute unless ``EXPORT_SCHEDULE_CHECK_SECONDS`` asks otherwise (at least 5 s, the sensor
    daemon's own loop)."""
    raw = os.environ.get(SCHEDULE_CHECK_VAR) or "60"
    try:
        return max(5, int(raw))
    except ValueError:
        raise InvalidSetting(
            f"{SCHEDULE_CHECK_VAR}={raw!r} is not a whole number of seconds: unset it or give one, e.g. 60"
        ) from None


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise InvalidSetting(f"{name}={raw!r} is not a whole number (0 or more): unset it or give one")
    return value


def retry_delay() -> dt.timedelta:
    """How long after a failed scheduled run its retry starts (``EXPORT_SCHEDULE_RETRY_DELAY_SECONDS``,
    6 h, as the seed retried)."""
    return dt.timedelta(seconds=_whole_number(RETRY_DELAY_VAR, 6 * 3600))


def max_retries() -> int:
    """How many times a failed scheduled run is retried (``EXPORT_SCHEDULE_RETRIES``, 3; 0 turns it
    off)."""
    return _whole_number(RETRIES_VAR, 3)


_SENDER_ADDRESS = re.compile(
    r"[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)


def mail_from() -> str | None:
    """Who the platform's e-mails are from (``EXPORT_MAIL_FROM``): one address with an optional display
    name, ``Acme Reports <reports@example.com>``, returned as set. Required once ``EXPORT_SMTP_URL``
    is set, so no mail leaves under a made-up sender; None when neither is (mail is then only logged).
    Anything else raises ``InvalidSetting`` naming the variable."""
    raw = os.environ.get(MAIL_FROM_VAR, "").strip()
    example = f"e.g. {MAIL_FROM_VAR}='Acme Reports <reports@example.com>'"
    if not raw:
        if os.environ.get(SMTP_URL_VAR):
            raise InvalidSetting(
                f"{MAIL_FROM_VAR} is not set: {SMTP_URL_VAR} sends mail, so name its sender, {example}"
            )
        return None
    parsed = getaddresses([raw])
    if (
        len(parsed) != 1
        or not _SENDER_ADDRESS.fullmatch(parsed[0][1])
        or any(ord(c) < 32 or ord(c) == 127 for c in raw)
    ):
        raise InvalidSetting(f"{MAIL_FROM_VAR}={raw!r} is not one sender address: {example}")
    return raw


WEBHOOK_TRIES_VAR = "EXPORT_WEBHOOK_TRIES"
WEBHOOK_BACKOFF_VAR = "EXPORT_WEBHOOK_BACKOFF_SECONDS"
WEBHOOK_TIMEOUT_VAR = "EXPORT_WEBHOOK_TIMEOUT_SECONDS"


def _positive_number(name: str, default: str, example: str) -> float:
    raw = os.environ.get(name) or default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InvalidSetting(f"{name}={raw!r} is not a number above 0: unset it or give one, e.g. {example}")
    return value


def webhook_tries() -> int:
    """How many times a webhook is sent before its delivery fails (``EXPORT_WEBHOOK_TRIES``, 3): the
    first request and its retries after a 5xx answer, a lost connection or a timeout. Kept small, as
    the delivery sensor waits for them within its tick."""
    tries = _positive_number(WEBHOOK_TRIES_VAR, "3", "3")
    if tries != int(tries):
        raise InvalidSetting(
            f"{WEBHOOK_TRIES_VAR}={tries!r} is not a whole number: unset it or give one, e.g. 3"
        )
    return int(tries)


def webhook_backoff_seconds() -> float:
    """The wait before a webhook's first retry, doubled before each next one
    (``EXPORT_WEBHOOK_BACKOFF_SECONDS``, 1)."""
    return _positive_number(WEBHOOK_BACKOFF_VAR, "1", "1")


def webhook_timeout_seconds() -> float:
    """How long one webhook request may take, connecting and answering
    (``EXPORT_WEBHOOK_TIMEOUT_SECONDS``, 5)."""
    return _positive_number(WEBHOOK_TIMEOUT_VAR, "5", "5")
