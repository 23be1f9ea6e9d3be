"""Sales: one row per receipt in the month, with its line-item totals, cost of goods and profit.

Revenue is net of discounts and excludes tax. Only completed sales earn revenue: a cancelled sale never
happened financially, and a refunded sale returned its money (shown as ``refund_amount``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.spec import (
    LOCAL_TIME,
    PERCENT,
    Column,
    DatasetSpec,
    TenantBatchReader,
    TenantReader,
    money,
    percent_of,
    tenant_of,
)
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s
from export_platform.source.database import MONEY

SALE_COLUMNS = (
    Column("sale_id", pl.Int64, "Sale ID"),
    Column("receipt_number", pl.String, "Receipt"),
    Column("sold_at", LOCAL_TIME, "Sold At", "Time of sale in the tenant's timezone"),
    Column("storefront", pl.String, "Storefront"),
    Column("cashier", pl.String, "Cashier"),
    Column("customer", pl.String, "Customer"),
    Column("sale_type", pl.String, "Sale Type"),
    Column("status", pl.String, "Status"),
    Column("payment_method", pl.String, "Payment Method"),
    Column("item_count", pl.Int64, "Lines"),
    Column("quantity", pl.Int64, "Units"),
    money("subtotal", "Subtotal"),
    money("discount", "Discount"),
    money("tax", "Tax"),
    money("total", "Total"),
    money("amount_paid", "Paid"),
    money("balance_due", "Balance Due"),
    money("refund_amount", "Refunded"),
    money("revenue", "Revenue", "Subtotal less discount, excluding tax; completed sales only"),
    money("cogs", "COGS", "Cost of goods sold: units times unit cost; completed sales only"),
    money("profit", "Profit", "Revenue less COGS"),
    Column("margin_pct", PERCENT, "Margin %", "Profit as a percentage of revenue"),
    Column("tenant_id", pl.String, "Tenant"),
)


def sold_in_window() -> sa.ColumnElement[bool]:
    """The sale was rung up inside the window: ``start`` inclusive, ``end`` exclusive, both UTC."""
    return sa.and_(
        s.sales.c.sold_at >= sa.bindparam("start", type_=s.Timestamp),
        s.sales.c.sold_at < sa.bindparam("end", type_=s.Timestamp),
    )


def sales_in_window() -> sa.Select:
    customer = s.customers
    return (
        sa.select(
            s.sales.c.id.label("sale_id"),
            s.sales.c.receipt_number,
            s.sales.c.sold_at,
            s.storefronts.c.name.label("storefront"),
            s.users.c.name.label("cashier"),
            customer.c.name.label("customer"),
            s.sales.c.sale_type,
            s.sales.c.status,
            s.sales.c.payment_method,
            s.sales.c.subtotal,
            s.sales.c.discount,
            s.sales.c.tax,
            s.sales.c.total,
            s.sales.c.amount_paid,
            s.sales.c.tenant_id,
        )
        .join(s.storefronts, sa.and_(s.storefronts.c.id == s.sales.c.storefront_id, tenant_of(s.storefronts)))
        .join(s.users, sa.and_(s.users.c.id == s.sales.c.user_id, tenant_of(s.users)))
        .outerjoin(customer, sa.and_(customer.c.id == s.sales.c.customer_id, tenant_of(customer)))
        .where(
            tenant_of(s.sales),
            sold_in_window(),
        )
        .order_by(s.sales.c.sold_at, s.sales.c.id)
    )


def item_totals_in_window() -> sa.Subquery:
    """Per sale of the window: how many lines, units, and the units' cost in cents.

    Summed by the database, so the client never holds the line items; in whole cents, so the sum is
    exact on SQLite too, where money is text and arithmetic on it is floating point."""
    items = s.sale_items
    unit_cost_cents = sa.cast(sa.func.round(items.c.unit_cost * 100), sa.BigInteger)
    return (
        sa.select(
            items.c.sale_id,
            sa.func.count().label("item_count"),
            sa.func.sum(items.c.quantity).label("quantity"),
            sa.func.sum(items.c.quantity * unit_cost_cents).label("item_cost_cents"),
        )
        .join(s.sales, sa.and_(s.sales.c.id == items.c.sale_id, tenant_of(s.sales)))
        .where(
            tenant_of(items),
            sold_in_window(),
        )
        .group_by(items.c.sale_id)
        .subquery("item_totals")
    )


def sales_with_item_totals() -> sa.Select:
    """The window's sales in time order, each with its items' totals (null when it has no items)."""
    totals = item_totals_in_window()
    return (
        sales_in_window()
        .add_columns(
            totals.c.item_count.label("item_count"),
            totals.c.quantity.label("quantity"),
            totals.c.item_cost_cents.label("item_cost_cents"),
        )
        .outerjoin(totals, totals.c.sale_id == s.sales.c.id)
    )


def summarise_sales(sales: pl.DataFrame) -> pl.DataFrame:
    """Derive each sale's balance, refund, revenue, COGS, profit and margin from its own row and its
    items' totals; row by row, so it applies to any batch of sales."""
    completed = pl.col("status") == "completed"
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    item_cost = (pl.col("item_cost_cents").cast(pl.Decimal(18, 2)) * pl.lit(Decimal("0.01"))).cast(MONEY)
    return (
        sales.with_columns(
            pl.col("item_count", "quantity").fill_null(0),
            item_cost.fill_null(zero).alias("item_cost"),
            (pl.col("total") - pl.col("amount_paid")).alias("balance_due"),
            pl.when(pl.col("status") == "refunded")
            .then(pl.col("total"))
            .otherwise(zero)
            .alias("refund_amount"),
            pl.when(completed).then(pl.col("subtotal") - pl.col("discount")).otherwise(zero).alias("revenue"),
        )
        .with_columns(pl.when(completed).then(pl.col("item_cost")).otherwise(zero).alias("cogs"))
        .with_columns((pl.col("revenue") - pl.col("cogs")).alias("profit"))
        .with_columns(percent_of(pl.col("profit"), pl.col("revenue")).alias("margin_pct"))
    )


def build_sales(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return summarise_sales(read(sales_with_item_totals(), start=window.start_utc, end=window.end_utc))


def stream_sales(read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
    """``build_sales`` a batch at a time: the items are summed per sale by the database, and the rest
    is row by row."""
    for batch in read(sales_with_item_totals(), start=window.start_utc, end=window.end_utc):
        yield summarise_sales(batch)


SALES = DatasetSpec(
    name="sales",
    title="Sales",
    description=(
        "Every receipt rung up in the tenant's calendar month, one row per sale: where and by whom it was "
        "sold, payment, totals, and profit analysis (revenue net of discounts and tax, cost of goods sold, "
        "profit and margin). Cancelled and refunded sales are listed but earn no revenue."
    ),
    columns=SALE_COLUMNS,
    key=("sale_id",),
    build=build_sales,
    kind="period",
    stream=stream_sales,
)
