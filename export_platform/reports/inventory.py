"""The inventory report: stock value at cost and retail, stock status counts, the storefront breakdown,
and, when the request asked for the movement history (its frames hold ``stock_movements``), the
Stock Movements table: the period's movements of the items listed."""

from __future__ import annotations

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.inventory import STOCK_MOVEMENTS, STOCK_STATUSES
from export_platform.render.report import Table
from export_platform.reports.tables import (
    DEFAULT_OPTIONS,
    Frames,
    ReportOptions,
    Sections,
    count,
    dataset_table,
    money,
    one_row,
)


def stock_status_counts() -> list[pl.Expr]:
    return [(pl.col("stock_status") == status).sum().alias(status) for status in STOCK_STATUSES]


def storefront_breakdown(inventory: pl.LazyFrame) -> pl.LazyFrame:
    return (
        inventory.group_by("storefront_id", "storefront")
        .agg(
            pl.len().alias("items"),
            pl.col("quantity_on_hand").sum().alias("units"),
            pl.col("stock_value").sum(),
            pl.col("retail_value").sum(),
            *stock_status_counts(),
        )
        .sort("storefront_id")
    )


def inventory_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    inventory = frames["inventory"]
    totals = one_row(
        inventory,
        pl.len().alias("items"),
        pl.col("product_id").n_unique().alias("products"),
        pl.col("storefront_id").n_unique().alias("storefronts"),
        pl.col("quantity_on_hand").sum(),
        pl.col("stock_value").sum(),
        pl.col("retail_value").sum(),
        *stock_status_counts(),
    )
    summary = (
        count("Stock items (product x storefront)", totals["items"]),
        count("Products", totals["products"]),
        count("Storefronts", totals["storefronts"]),
        count("Units on hand", totals["quantity_on_hand"]),
        money("Value at cost", totals["stock_value"]),
        money("Value at retail", totals["retail_value"]),
        count("In stock", totals["in_stock"]),
        count("Low stock", totals["low_stock"]),
        count("Out of stock", totals["out_of_stock"]),
    )
    labels = dict(DATASETS_BY_NAME["inventory"].labels) | {
        "items": "Items",
        "units": "Units",
        "in_stock": "In Stock",
        "low_stock": "Low Stock",
        "out_of_stock": "Out of Stock",
    }
    breakdown = storefront_breakdown(inventory)
    tables: tuple[Table, ...] = (
        dataset_table("inventory", inventory, "Stock Items", options),
        Table.of("Storefronts", breakdown, labels, breakdown.collect_schema().names()),
    )
    if "stock_movements" in frames:
        tables = (*tables, movement_table(frames["stock_movements"], inventory))
    return summary, tables


MOVEMENT_COLUMNS = [
    "movement_id",
    "occurred_at",
    "sku",
    "product",
    "storefront",
    "reason",
    "quantity_delta",
    "unit_cost",
]
SHEET_STOCK_MOVEMENTS = "Stock Movements"


def movement_table(movements: pl.LazyFrame, inventory: pl.LazyFrame) -> Table:
    """The movements of the product and storefront pairs the Stock Items table lists (so a filter on
    the items filters their history too), in time order."""
    listed = movements.join(
        inventory.select("product_id", "storefront_id"), on=["product_id", "storefront_id"], how="semi"
    ).sort("occurred_at", "movement_id")
    return Table.of(SHEET_STOCK_MOVEMENTS, listed, dict(STOCK_MOVEMENTS.labels), MOVEMENT_COLUMNS)
