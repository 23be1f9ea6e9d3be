"""Inventory: stock on hand and its valuation per product and storefront, as of the month's end.

One row per product and storefront that has had a stock movement up to the as-of instant (a pair never
stocked has no row). Quantities are the sum of every stock movement (receipts, sales, adjustments) up
to then. Stock is valued at the product's current unit cost and unit price: the source keeps no price
history, so an old month re-exported after a price change shows the new prices, and receipts' own unit
costs are not used (no FIFO or average costing). Values are exact products, never rounded; the margin %
is rounded once, half away from zero. Each column's own rule is in its description.

``STOCK_MOVEMENTS`` is the movement history behind those figures: every movement inside the window,
listed when a request asks for it (``include_movement_history``); it is not a dataset of its own.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.exact import percent_of
from export_platform.datasets.spec import (
    LOCAL_TIME,
    PERCENT,
    Column,
    DatasetSpec,
    TenantReader,
    money,
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
        Column(
            "quantity_on_hand",
            pl.Int64,
            "On Hand",
            "Sum of the product's stock movements at the storefront (receipts, sales, adjustments) up to "
            "the month's end",
        ),
        Column("reorder_level", pl.Int64, "Reorder Level"),
        Column(
            "stock_status",
            pl.String,
            "Stock Status",
            "out_of_stock when On Hand is 0 or less, else low_stock at or below the reorder level, else "
            "in_stock",
        ),
        money("unit_cost", "Unit Cost", "The product's current unit cost"),
        money("unit_price", "Unit Price", "The product's current unit price"),
        money(
            "stock_value",
            "Value at Cost",
            "On Hand x the product's current unit cost (not the cost each unit was received at), exact; "
            "negative when more was sold than received",
        ),
        money("retail_value", "Value at Retail", "On Hand x the product's current unit price, exact"),
        money("margin_amount", "Unit Margin", "Unit price less unit cost"),
        Column(
            "margin_pct",
            PERCENT,
            "Margin %",
            "Unit margin as a percentage of the unit price, rounded once to two decimals, half away from "
            "zero; empty when the price is 0",
        ),
        Column(
            "last_movement_at",
            LOCAL_TIME,
            "Last Movement",
            "Time of the latest of those movements, in the tenant's timezone",
        ),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("product_id", "storefront_id"),
    build=build_inventory,
    kind="snapshot",
)


def movements_in_window() -> sa.Select:
    m, p, f = s.stock_movements, s.products, s.storefronts
    return (
        sa.select(
            m.c.id.label("movement_id"),
            m.c.occurred_at,
            m.c.product_id,
            m.c.storefront_id,
            p.c.sku,
            p.c.name.label("product"),
            f.c.name.label("storefront"),
            m.c.reason,
            m.c.quantity_delta,
            m.c.unit_cost,
            m.c.tenant_id,
        )
        .join(p, sa.and_(p.c.id == m.c.product_id, tenant_of(p)))
        .join(f, sa.and_(f.c.id == m.c.storefront_id, tenant_of(f)))
        .where(
            tenant_of(m),
            m.c.occurred_at >= sa.bindparam("start", type_=s.Timestamp),
            m.c.occurred_at < sa.bindparam("end", type_=s.Timestamp),
        )
        .order_by(m.c.occurred_at, m.c.id)
    )


def build_stock_movements(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return read(movements_in_window(), start=window.start_utc, end=window.end_utc)


STOCK_MOVEMENTS = DatasetSpec(
    name="stock_movements",
    title="Stock Movements",
    description="Every stock movement in the period (receipts, sales, adjustments), in time order.",
    columns=(
        Column("movement_id", pl.Int64, "Movement ID"),
        Column("occurred_at", LOCAL_TIME, "Time", "In the tenant's timezone"),
        Column("product_id", pl.Int64, "Product ID"),
        Column("storefront_id", pl.Int64, "Storefront ID"),
        Column("sku", pl.String, "SKU"),
        Column("product", pl.String, "Product"),
        Column("storefront", pl.String, "Storefront"),
        Column("reason", pl.String, "Reason", "receipt, sale or adjustment, as the till recorded it"),
        Column("quantity_delta", pl.Int64, "Change", "Units in (positive) or out (negative)"),
        money("unit_cost", "Unit Cost", "The cost recorded with the movement (receipts); empty otherwise"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("movement_id",),
    build=build_stock_movements,
    kind="period",
)
