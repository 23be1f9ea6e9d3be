"""Per-schedule content: export_schedules.period and export_schedules.options (the ad-hoc request's
filters, CSV and file options, as JSON). A schedule saved before this exported the month of the day
before it was due, so existing rows become ``month_to_date`` with no options: they run as they did."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    schema = "export_platform" if op.get_context().dialect.name == "postgresql" else None
    # The server defaults fill the existing rows; new rows always name both (TenantScheduleStore).
    with op.batch_alter_table("export_schedules", schema=schema) as table:
        table.add_column(sa.Column("period", sa.String(16), nullable=False, server_default="month_to_date"))
        table.add_column(sa.Column("options", sa.Text, nullable=False, server_default="{}"))
