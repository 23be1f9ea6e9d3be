"""Sales: one row per receipt in the month, with its line-item totals, cost of goods and profit.

Revenue is net of discounts and excludes tax. Only completed sales earn revenue: a cancelled sale never
happened financially, and a refunded sale returned its money (shown as ``refund_amount``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

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
from export_platform.storage.spool import ParquetSpool

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

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
            s.sales.c.sold_at >= sa.bindparam("start", type_=s.Timestamp),
            s.sales.c.sold_at < sa.bindparam("end", type_=s.Timestamp),
        )
        .order_by(s.sales.c.sold_at, s.sales.c.id)
    )


def items_in_window() -> sa.Select:
    """Line items of the window's sales, with product details."""
    return (
        sa.select(
            s.sale_items.c.id.label("item_id"),
            s.sale_items.c.sale_id,
            s.sales.c.receipt_number,
            s.sales.c.sold_at,
            s.sales.c.status,
            s.storefronts.c.name.label("storefront"),
            s.products.c.sku,
            s.products.c.name.label("product"),
            s.products.c.category,
            s.sale_items.c.quantity,
            s.sale_items.c.unit_price,
            s.sale_items.c.unit_cost,
            s.sale_items.c.discount,
            s.sale_items.c.line_total,
            s.sale_items.c.tenant_id,
        )
        .join(s.sales, sa.and_(s.sales.c.id == s.sale_items.c.sale_id, tenant_of(s.sales)))
        .join(s.storefronts, sa.and_(s.storefronts.c.id == s.sales.c.storefront_id, tenant_of(s.storefronts)))
        .join(s.products, sa.and_(s.products.c.id == s.sale_items.c.product_id, tenant_of(s.products)))
        .where(
            tenant_of(s.sale_items),
            s.sales.c.sold_at >= sa.bindparam("start", type_=s.Timestamp),
            s.sales.c.sold_at < sa.bindparam("end", type_=s.Timestamp),
        )
        .order_by(s.sales.c.sold_at, s.sale_items.c.sale_id, s.sale_items.c.id)
    )


def item_costs_in_window() -> sa.Select:
    """What each sale's totals need of its line items: quantity and unit cost, in no particular order
    (they are summed per sale)."""
    return (
        sa.select(s.sale_items.c.sale_id, s.sale_items.c.quantity, s.sale_items.c.unit_cost)
        .join(s.sales, sa.and_(s.sales.c.id == s.sale_items.c.sale_id, tenant_of(s.sales)))
        .where(
            tenant_of(s.sale_items),
            s.sales.c.sold_at >= sa.bindparam("start", type_=s.Timestamp),
            s.sales.c.sold_at < sa.bindparam("end", type_=s.Timestamp),
        )
    )


def summarise_sales(sales: Frame, items: Frame) -> Frame:
    """Join each sale to its items' totals and derive revenue, COGS, profit and margin; the sales keep
    their order."""
    per_sale = items.group_by("sale_id").agg(
        pl.len().cast(pl.Int64).alias("item_count"),
        pl.col("quantity").sum().alias("quantity"),
        (pl.col("quantity") * pl.col("unit_cost")).sum().alias("item_cost"),
    )
    completed = pl.col("status") == "completed"
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    return (
        sales.join(per_sale, on="sale_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("item_count", "quantity").fill_null(0),
            pl.col("item_cost").fill_null(zero),
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
    bounds = {"start": window.start_utc, "end": window.end_utc}
    return summarise_sales(read(sales_in_window(), **bounds), read(item_costs_in_window(), **bounds))


def stream_sales(read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
    """``build_sales`` a batch at a time. The month's sales and their items' costs are each written to
    a local Parquet file as they arrive, then Polars' streaming engine sums the items per sale and
    joins the sums to the sales, so what memory holds is the per-sale sums (three numbers a sale), not
    the rows."""
    bounds = {"start": window.start_utc, "end": window.end_utc}
    sales = ParquetSpool.write(read(sales_in_window(), **bounds))
    try:
        items = ParquetSpool.write(read(item_costs_in_window(), **bounds))
        try:
            yield from summarise_sales(sales.scan(), items.scan()).collect_batches()
        finally:
            items.discard()
    finally:
        sales.discard()


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
