"""Sales: one row per receipt in the month, with its line-item totals, cost of goods and profit.

The receipt's own figures (subtotal, discount, tax, total, amount paid) are shown as rung up, whatever
became of the sale. The derived columns follow its status:

=================  ==========================  ==========================  ======================
column             completed                   cancelled                   refunded
=================  ==========================  ==========================  ======================
``balance_due``    total - amount paid         0 (nothing is owed)         0 (nothing is owed)
``refund_amount``  0                           0                           amount paid (returned)
``revenue``        subtotal - discount         0                           0
``cogs``           sum of units x unit cost    0                           0
``profit``         revenue - COGS              0                           0
``margin_pct``     profit / revenue x 100      null                        null
=================  ==========================  ==========================  ======================

Revenue is net of the sale's discount and excludes tax. A cancelled sale never happened financially; a
refunded one returned its money and its goods. ``margin_pct`` is worked out from the exact cents and
rounded once, half away from zero, to two decimals; it is null where revenue is 0. Every summary
figure of the sales report is a sum over completed sales, with cancelled and refunded sales on lines
of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.exact import percent_of
from export_platform.datasets.spec import (
    LOCAL_TIME,
    PERCENT,
    Column,
    DatasetSpec,
    TenantBatchReader,
    TenantReader,
    money,
    tenant_of,
)
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s
from export_platform.source.cents import Cents
from export_platform.source.column_types import MONEY

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
    money(
        "balance_due", "Balance Due", "Completed sales: total less amount paid; 0 when cancelled or refunded"
    ),
    money("refund_amount", "Refunded", "Refunded sales: the amount paid, returned to the customer; else 0"),
    money("revenue", "Revenue", "Subtotal less discount, excluding tax; completed sales only, else 0"),
    money("cogs", "COGS", "Units times unit cost over the sale's lines; completed sales only, else 0"),
    money("profit", "Profit", "Revenue less COGS; 0 for cancelled and refunded sales"),
    Column(
        "margin_pct",
        PERCENT,
        "Margin %",
        "Profit as a percentage of revenue, from exact cents, rounded once half away from zero; "
        "null when revenue is 0",
    ),
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

    Summed by the database, so the client never holds the line items; in whole cents read exactly
    (``Cents``), so the sum is the one the line items add up to on SQLite too, where money is text and
    arithmetic on it goes through a double."""
    items = s.sale_items
    unit_cost_cents = Cents(items.c.unit_cost)
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
    items' totals, by the rules of the module docstring; row by row, so it applies to any batch."""
    completed = pl.col("status") == "completed"
    zero = pl.lit(0).cast(MONEY)
    item_cost = (pl.col("item_cost_cents").cast(pl.Decimal(18, 2)) * pl.lit(Decimal("0.01"))).cast(MONEY)
    return (
        sales.with_columns(
            pl.col("item_count", "quantity").fill_null(0),
            pl.when(completed)
            .then(pl.col("total") - pl.col("amount_paid"))
            .otherwise(zero)
            .alias("balance_due"),
            pl.when(pl.col("status") == "refunded")
            .then(pl.col("amount_paid"))
            .otherwise(zero)
            .alias("refund_amount"),
            pl.when(completed).then(pl.col("subtotal") - pl.col("discount")).otherwise(zero).alias("revenue"),
            pl.when(completed).then(item_cost.fill_null(zero)).otherwise(zero).alias("cogs"),
        )
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
        "profit and margin). Cancelled and refunded sales are listed with their receipt figures but earn no "
        "revenue, cost or profit and owe nothing; a refunded sale shows the amount paid back."
    ),
    columns=SALE_COLUMNS,
    key=("sale_id",),
    build=build_sales,
    kind="period",
    stream=stream_sales,
)
