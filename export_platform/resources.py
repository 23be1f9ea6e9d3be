"""The one place that picks the resources for the environment.

Locally everything falls back to the embedded default (a SQLite source and a folder of artifacts);
production sets ``EXPORT_SOURCE_URL`` and ``EXPORT_ARTIFACT_ROOT``. Secrets stay in the environment:
when a variable is set the resource holds an ``EnvVar`` reference, so the URL never appears in run
config or the UI.
"""

from __future__ import annotations

import os

import dagster as dg

from export_platform import settings
from export_platform.automation.mailer import Mailer
from export_platform.datasets.source_database import SourceDatabase
from export_platform.tracking.history import ExportHistory


def _source_url() -> str | dg.EnvVar:
    """The configured source URL as an EnvVar (so it never shows in run config), else the embedded default."""
    if os.environ.get(settings.SOURCE_URL_VAR):
        return dg.EnvVar(settings.SOURCE_URL_VAR)
    return settings.default_source_url()


def source_database() -> SourceDatabase:
    return SourceDatabase(url=_source_url())


def export_history() -> ExportHistory:
    """The platform tables live in the configured database, in their own schema."""
    return ExportHistory(url=_source_url())


def mailer() -> Mailer:
    """SMTP from EXPORT_SMTP_URL (unset: messages are logged, not sent), the sender from
    EXPORT_MAIL_FROM (checked here, at start-up); operators from EXPORT_OPERATOR_EMAILS, comma-separated."""
    operators = [a.strip() for a in os.environ.get(settings.OPERATOR_EMAILS_VAR, "").split(",") if a.strip()]
    sender = settings.mail_from()
    if os.environ.get(settings.SMTP_URL_VAR):
        return Mailer(smtp_url=dg.EnvVar(settings.SMTP_URL_VAR), sender=sender, operators=operators)
    return Mailer(sender=sender, operators=operators)
