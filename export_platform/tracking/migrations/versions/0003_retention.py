"""Retention per kind of file: notification_settings.monthly_retention_days (NULL keeps the monthly
exports), and export_history's status ``expired`` for a row whose file retention deleted."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema = "export_platform" if op.get_context().dialect.name == "postgresql" else None
    op.add_column("notification_settings", sa.Column("monthly_retention_days", sa.Integer), schema=schema)
    # SQLite cannot alter a constraint: batch mode copies the table into a new one that has it.
    with op.batch_alter_table("export_history", schema=schema) as table:
        table.drop_constraint("export_history_status", type_="check")
        table.create_check_constraint(
            "export_history_status",
            "status IN ('pending', 'processing', 'success', 'failed', 'emailed', 'expired')",
        )
