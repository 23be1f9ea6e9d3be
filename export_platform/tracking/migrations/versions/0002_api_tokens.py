"""The Export API: hashed bearer tokens (api_tokens), and who asked for an export through it
(export_history.user_id)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = "export_platform" if op.get_context().dialect.name == "postgresql" else None
    timestamp = sa.DateTime(timezone=True)
    op.add_column("export_history", sa.Column("user_id", sa.BigInteger), schema=schema)
    op.create_index("ix_export_history_user", "export_history", ["user_id"], schema=schema)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("expires_at", timestamp, nullable=False),
        sa.Column("revoked_at", timestamp),
        sa.CheckConstraint("role IN ('viewer', 'exporter', 'admin')", name="api_tokens_role"),
        schema=schema,
    )
    op.create_index("ix_api_tokens_tenant", "api_tokens", ["tenant_id"], schema=schema)
