"""Inventory: stock on hand and its valuation per product and storefront, as of the month's end.

Quantities are the sum of every stock movement (receipts, sales, adjustments) up to the as-of instant;
value uses the product's unit cost and retail value its unit price.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.spec import (
    LOCAL_TIME,
    PERCENT,
    Column,
    DatasetSpec,
    TenantReader,
    money,
    percent_of,
    tenant_of,
)
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s

STOCK_STATUSES = ("in_stock", "low_stock", "out_of_stock")


def stock_on_hand() -> sa.Select:
    m, p, f = s.stock_movements, s.products, s.storefronts
    on_hand = (
        sa.select(
            m.c.product_id,
            m.c.storefront_id,
            sa.func.sum(m.c.quantity_delta).label("quantity_on_hand"),
            sa.func.max(m.c.occurred_at).label("last_movement_at"),
        )
        .where(tenant_of(m), m.c.occurred_at < sa.bindparam("as_of", type_=s.Timestamp))
        .group_by(m.c.product_id, m.c.storefront_id)
        .subquery()
    )
    return (
        sa.select(
            on_hand.c.product_id,
            on_hand.c.storefront_id,
            p.c.sku,
            p.c.barcode,
            p.c.name.label("product"),
            p.c.category,
            f.c.name.label("storefront"),
            on_hand.c.quantity_on_hand,
            p.c.reorder_level,
            p.c.unit_cost,
            p.c.unit_price,
            on_hand.c.last_movement_at,
            p.c.tenant_id,
        )
        .join(p, sa.and_(p.c.id == on_hand.c.product_id, tenant_of(p)))
        .join(f, sa.and_(f.c.id == on_hand.c.storefront_id, tenant_of(f)))
        .order_by(p.c.sku, f.c.id)
    )


def stock_status(quantity: pl.Expr, reorder_level: pl.Expr) -> pl.Expr:
    return (
        pl.when(quantity <= 0)
        .then(pl.lit("out_of_stock"))
        .when(quantity <= reorder_level)
        .then(pl.lit("low_stock"))
        .otherwise(pl.lit("in_stock"))
    )


def value_stock(stock: pl.DataFrame) -> pl.DataFrame:
    qty = pl.col("quantity_on_hand")
    margin = pl.col("unit_price") - pl.col("unit_cost")
    return stock.with_columns(
        stock_status(qty, pl.col("reorder_level")).alias("stock_status"),
        (qty * pl.col("unit_cost")).alias("stock_value"),
        (qty * pl.col("unit_price")).alias("retail_value"),
        margin.alias("margin_amount"),
        percent_of(margin, pl.col("unit_price")).alias("margin_pct"),
    )


def build_inventory(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return value_stock(read(stock_on_hand(), as_of=window.as_of_utc))


INVENTORY = DatasetSpec(
    name="inventory",
    title="Inventory",
    description=(
        "Stock on hand per product and storefront at the end of the month, computed from every stock "
        "movement: quantity, reorder level and stock status (in_stock, low_stock at or below the reorder "
        "level, out_of_stock), valuation at cost and at retail, and the unit margin."
    ),
    columns=(
        Column("product_id", pl.Int64, "Product ID"),
        Column("storefront_id", pl.Int64, "Storefront ID"),
        Column("sku", pl.String, "SKU"),
        Column("barcode", pl.String, "Barcode"),
        Column("product", pl.String, "Product"),
        Column("category", pl.String, "Category"),
        Column("storefront", pl.String, "Storefront"),
        Column("quantity_on_hand", pl.Int64, "On Hand"),
        Column("reorder_level", pl.Int64, "Reorder Level"),
        Column("stock_status", pl.String, "Stock Status"),
        money("unit_cost", "Unit Cost"),
        money("unit_price", "Unit Price"),
        money("stock_value", "Value at Cost"),
        money("retail_value", "Value at Retail"),
        money("margin_amount", "Unit Margin"),
        Column("margin_pct", PERCENT, "Margin %", "Unit margin as a percentage of the unit price"),
        Column("last_movement_at", LOCAL_TIME, "Last Movement"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("product_id", "storefront_id"),
    build=build_inventory,
    kind="snapshot",
)
