"""The platform tables: export_history, export_schedules, notification_settings."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema = "export_platform" if op.get_context().dialect.name == "postgresql" else None
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "export_history",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filters", sa.Text),
        sa.Column("partition_key", sa.String(80)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("record_count", sa.BigInteger),
        sa.Column("file_size_bytes", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("uri", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("started_at", timestamp),
        sa.Column("finished_at", timestamp),
        sa.Column("emailed_at", timestamp),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'success', 'failed', 'emailed')",
            name="export_history_status",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_export_history_tenant_created", "export_history", ["tenant_id", "created_at"], schema=schema
    )
    op.create_index("ix_export_history_status", "export_history", ["status"], schema=schema)
    op.create_table(
        "export_schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("datasets", sa.Text, nullable=False),
        sa.Column("formats", sa.Text, nullable=False),
        sa.Column("cadence", sa.String(8), nullable=False),
        sa.Column("time_of_day", sa.String(5), nullable=False),
        sa.Column("day_of_week", sa.Integer),
        sa.Column("day_of_month", sa.String(4)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.CheckConstraint("cadence IN ('daily', 'weekly', 'monthly')", name="export_schedules_cadence"),
        sa.UniqueConstraint("tenant_id", "name", name="export_schedules_tenant_name"),
        schema=schema,
    )
    op.create_index("ix_export_schedules_tenant", "export_schedules", ["tenant_id"], schema=schema)
    op.create_table(
        "notification_settings",
        sa.Column("tenant_id", sa.String(63), primary_key=True),
        sa.Column("notify_on_success", sa.Boolean, nullable=False),
        sa.Column("notify_on_failure", sa.Boolean, nullable=False),
        sa.Column("default_recipients", sa.Text, nullable=False),
        sa.Column("failure_recipients", sa.Text, nullable=False),
        sa.Column("sender_name", sa.Text),
        sa.Column("reply_to", sa.Text),
        sa.Column("allowed_domains", sa.Text, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        schema=schema,
    )
