"""The source schema, defined once and created on SQLite and PostgreSQL.

Money is NUMERIC(18,2) on PostgreSQL. SQLite has no exact decimal type (its NUMERIC affinity stores
floats), so money is kept there as canonical decimal text such as ``"1234.50"`` and converted to an
exact Polars ``Decimal`` on read. Timestamps are UTC everywhere; on SQLite they are ISO text, which
sorts and compares correctly. Every integer is BIGINT so Arrow ``int64`` maps one-to-one in bulk loads.
"""

from __future__ import annotations

import sqlalchemy as sa

Money = sa.Numeric(18, 2).with_variant(sa.String(24), "sqlite")
Id = sa.BigInteger
Timestamp = sa.DateTime(timezone=True)

metadata = sa.MetaData()


def _tenant_id() -> sa.Column:
    return sa.Column("tenant_id", sa.String(63), sa.ForeignKey("tenants.id"), nullable=False, index=True)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
)

storefronts = sa.Table(
    "storefronts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("name", sa.Text, nullable=False),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("sku", sa.String(32), nullable=False),
    sa.Column("barcode", sa.String(32)),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("unit_cost", Money, nullable=False),
    sa.Column("unit_price", Money, nullable=False),
    sa.Column("reorder_level", Id, nullable=False),
)

stock_movements = sa.Table(
    "stock_movements",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("storefront_id", Id, sa.ForeignKey("storefronts.id"), nullable=False),
    sa.Column("product_id", Id, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("quantity_delta", Id, nullable=False),
    sa.Column("unit_cost", Money),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Index("ix_stock_movements_tenant_time", "tenant_id", "occurred_at"),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("customer_type", sa.String(16), nullable=False),
    sa.Column("credit_limit", Money, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("is_blocked", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

credit_transactions = sa.Table(
    "credit_transactions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Column("due_at", Timestamp),
    sa.Column("reference", sa.Text),
    sa.Index("ix_credit_transactions_tenant_time", "tenant_id", "occurred_at"),
)

sales = sa.Table(
    "sales",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("storefront_id", Id, sa.ForeignKey("storefronts.id"), nullable=False),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id")),
    sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("receipt_number", sa.String(40), nullable=False),
    sa.Column("sale_type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("subtotal", Money, nullable=False),
    sa.Column("discount", Money, nullable=False),
    sa.Column("tax", Money, nullable=False),
    sa.Column("total", Money, nullable=False),
    sa.Column("amount_paid", Money, nullable=False),
    sa.Column("payment_method", sa.String(16), nullable=False),
    sa.Column("sold_at", Timestamp, nullable=False),
    sa.Index("ix_sales_tenant_time", "tenant_id", "sold_at"),
)

sale_items = sa.Table(
    "sale_items",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("sale_id", Id, sa.ForeignKey("sales.id"), nullable=False, index=True),
    sa.Column("product_id", Id, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("quantity", Id, nullable=False),
    sa.Column("unit_price", Money, nullable=False),
    sa.Column("unit_cost", Money, nullable=False),
    sa.Column("discount", Money, nullable=False),
    sa.Column("line_total", Money, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("user_id", Id, sa.ForeignKey("users.id")),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(64)),
    sa.Column("entity_id", sa.String(64)),
    sa.Column("ip_address", sa.String(45)),
    sa.Column("user_agent", sa.Text),
    sa.Column("event_data", sa.Text),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Index("ix_audit_events_tenant_time", "tenant_id", "occurred_at"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("parent_id", Id, sa.ForeignKey("accounts.id")),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("depth", Id, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("reference_id", sa.Text),
    sa.Index("ix_journal_entries_tenant_date", "tenant_id", "date"),
)

journal_lines = sa.Table(
    "journal_lines",
    metadata,
    sa.Column("id", Id, primary_key=True),
    _tenant_id(),
    sa.Column("entry_id", Id, sa.ForeignKey("journal_entries.id"), nullable=False, index=True),
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)

# Parents before children: the order to create tables and bulk-load them.
TABLES: tuple[sa.Table, ...] = tuple(metadata.sorted_tables)

ACCOUNT_TYPES = ("assets", "liabilities", "equity", "income", "expenses")
CUSTOMER_TYPES = ("retail", "wholesale")
