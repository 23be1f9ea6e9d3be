"""The platform's own tables, kept in their own schema (``export_platform``) of the configured database.

On SQLite, which has no schemas, the tables sit beside the source tables in the same file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import overload

import sqlalchemy as sa

PLATFORM_SCHEMA = "export_platform"
EXPORT_STATUSES = ("pending", "processing", "success", "failed", "emailed", "expired")

metadata = sa.MetaData(schema=PLATFORM_SCHEMA)

export_history = sa.Table(
    "export_history",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(63), nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False, doc="a user, or schedule:<name> / sensor:<name>"),
    sa.Column("user_id", sa.BigInteger, doc="users.id of who asked through the API"),
    sa.Column("dataset", sa.String(32), nullable=False),
    sa.Column("format", sa.String(8), nullable=False),
    sa.Column("filters", sa.Text, doc="JSON: the options and filters the export ran with"),
    sa.Column("partition_key", sa.String(80)),
    sa.Column("run_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("record_count", sa.BigInteger),
    sa.Column("file_size_bytes", sa.BigInteger),
    sa.Column("sha256", sa.String(64)),
    sa.Column("uri", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("emailed_at", sa.DateTime(timezone=True)),
    sa.Column("attempt", sa.Integer, doc="a scheduled run's attempt: 1, then 2... for its retries"),
    sa.Column("first_run_id", sa.String(64), doc="a scheduled run's first attempt's run id"),
    sa.CheckConstraint(f"status IN {EXPORT_STATUSES!r}", name="export_history_status"),
    sa.Index("ix_export_history_tenant_created", "tenant_id", "created_at"),
    sa.Index("ix_export_history_status", "status"),
    sa.Index("ix_export_history_user", "user_id"),
)

CADENCES = ("daily", "weekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""``day_of_week`` is an index into this tuple, as Python's ``date.weekday()``."""

export_schedules = sa.Table(
    "export_schedules",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(63), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("datasets", sa.Text, nullable=False, doc="JSON list of dataset names"),
    sa.Column("formats", sa.Text, nullable=False, doc="JSON list of csv, xlsx, pdf"),
    sa.Column("cadence", sa.String(8), nullable=False),
    sa.Column("time_of_day", sa.String(5), nullable=False, doc="HH:MM in the schedule's timezone"),
    sa.Column("day_of_week", sa.Integer, doc="0 = Monday, for weekly schedules"),
    sa.Column("day_of_month", sa.String(4), doc="1-31 or 'last', for monthly schedules"),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False, doc="JSON list of e-mail addresses"),
    sa.Column("subject", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("period", sa.String(16), nullable=False, doc="previous (as the cadence says) or month_to_date"),
    sa.Column("options", sa.Text, nullable=False, doc="JSON: the ad-hoc request's filters and file options"),
    sa.Column("webhooks", sa.Text, nullable=False, doc="JSON list of {url, secret}: signed JSON webhooks"),
    sa.Column("slack_webhooks", sa.Text, nullable=False, doc="JSON list of Slack incoming-webhook URLs"),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"cadence IN {CADENCES!r}", name="export_schedules_cadence"),
    sa.UniqueConstraint("tenant_id", "name", name="export_schedules_tenant_name"),
    sa.Index("ix_export_schedules_tenant", "tenant_id"),
)

notification_settings = sa.Table(
    "notification_settings",
    metadata,
    sa.Column("tenant_id", sa.String(63), primary_key=True),
    sa.Column("notify_on_success", sa.Boolean, nullable=False),
    sa.Column("notify_on_failure", sa.Boolean, nullable=False),
    sa.Column("default_recipients", sa.Text, nullable=False, doc="JSON list of e-mail addresses"),
    sa.Column("failure_recipients", sa.Text, nullable=False, doc="JSON list of e-mail addresses"),
    sa.Column("sender_name", sa.Text),
    sa.Column("reply_to", sa.Text),
    sa.Column("allowed_domains", sa.Text, nullable=False, doc="JSON list of allowed recipient domains"),
    sa.Column(
        "retention_days", sa.Integer, nullable=False, doc="How long ad-hoc and scheduled files are kept"
    ),
    sa.Column("monthly_retention_days", sa.Integer, doc="How long monthly exports are kept; NULL: for good"),
    sa.Column("webhook_hosts", sa.Text, nullable=False, doc="JSON list of the hosts webhooks may point at"),
)

WEBHOOK_KINDS = ("webhook", "slack")
WEBHOOK_OUTCOMES = ("delivered", "failed")

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(63), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("schedule_id", sa.String(32)),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tries", sa.Integer, nullable=False, doc="how many requests were made"),
    sa.Column("http_status", sa.Integer, doc="the last answer's status; NULL when none came"),
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"kind IN {WEBHOOK_KINDS!r}", name="webhook_deliveries_kind"),
    sa.CheckConstraint(f"status IN {WEBHOOK_OUTCOMES!r}", name="webhook_deliveries_status"),
    sa.Index("ix_webhook_deliveries_run", "run_id"),
)

ROLES = ("viewer", "exporter", "admin")
"""API roles, each allowed what the one before it is, and more."""

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(63), nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False, doc="the source user (users.id) the token acts for"),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("secret_sha256", sa.String(64), nullable=False, doc="sha256 of the secret, in hex"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"role IN {ROLES!r}", name="api_tokens_role"),
    sa.Index("ix_api_tokens_tenant", "tenant_id"),
)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A timestamp read from these tables, with its zone: SQLite returns them without one, and they
    are written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def engine_for(url: sa.URL, dialect: str) -> sa.Engine:
    """An engine whose statements find the platform tables on either dialect."""
    engine = sa.create_engine(url)
    if dialect == "sqlite":
        return engine.execution_options(schema_translate_map={PLATFORM_SCHEMA: None})
    return engine


MIGRATIONS = Path(__file__).parent / "migrations"


def create_platform_tables(engine: sa.Engine) -> None:
    """Create or upgrade the platform schema to the newest migration (Alembic). Idempotent."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.schema.CreateSchema(PLATFORM_SCHEMA, if_not_exists=True))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
