"""Destinations beyond e-mail, and attempts linked in the history.

export_schedules.webhooks (JSON: each signed webhook's URL and its signing secret) and
export_schedules.slack_webhooks (JSON list of Slack incoming-webhook URLs); notification_settings.
webhook_hosts (JSON list of the hosts the tenant's webhooks may point at; empty refuses every one, as
an empty allowed_domains refuses every address); webhook_deliveries, one row per run and webhook
with its outcome; export_history.attempt and export_history.first_run_id, which attempt of a
scheduled run a row is and the first attempt's run id. Existing rows get empty lists and no attempt."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    schema = "export_platform" if op.get_context().dialect.name == "postgresql" else None
    # The server defaults fill the existing rows; new rows always name these (the stores write them).
    with op.batch_alter_table("export_schedules", schema=schema) as table:
        table.add_column(sa.Column("webhooks", sa.Text, nullable=False, server_default="[]"))
        table.add_column(sa.Column("slack_webhooks", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("notification_settings", schema=schema) as table:
        table.add_column(sa.Column("webhook_hosts", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("export_history", schema=schema) as table:
        table.add_column(sa.Column("attempt", sa.Integer))
        table.add_column(sa.Column("first_run_id", sa.String(64)))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("schedule_id", sa.String(32)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('webhook', 'slack')", name="webhook_deliveries_kind"),
        sa.CheckConstraint("status IN ('delivered', 'failed')", name="webhook_deliveries_status"),
        sa.Index("ix_webhook_deliveries_run", "run_id"),
        schema=schema,
    )
