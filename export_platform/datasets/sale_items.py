"""Sale line items: one row per product line of the month's sales, with its cost and profit."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from export_platform.datasets.sales import items_in_window
from export_platform.datasets.spec import (
    LOCAL_TIME,
    Column,
    DatasetSpec,
    TenantBatchReader,
    TenantReader,
    money,
)
from export_platform.datasets.window import ReportWindow


def line_profit(items: pl.DataFrame) -> pl.DataFrame:
    cogs = pl.col("quantity") * pl.col("unit_cost")
    return items.with_columns(cogs.alias("cogs"), (pl.col("line_total") - cogs).alias("profit"))


def build_sale_items(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return line_profit(read(items_in_window(), start=window.start_utc, end=window.end_utc))


def stream_sale_items(read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
    for batch in read(items_in_window(), start=window.start_utc, end=window.end_utc):
        yield line_profit(batch)


SALE_ITEMS = DatasetSpec(
    name="sale_items",
    title="Sale Line Items",
    description=(
        "Every product line of the month's sales: product, quantity, unit price and cost, line discount, "
        "line total, and the line's cost of goods and profit. Join to `sales` on `sale_id`."
    ),
    columns=(
        Column("item_id", pl.Int64, "Line ID"),
        Column("sale_id", pl.Int64, "Sale ID"),
        Column("receipt_number", pl.String, "Receipt"),
        Column("sold_at", LOCAL_TIME, "Sold At"),
        Column("status", pl.String, "Sale Status"),
        Column("storefront", pl.String, "Storefront"),
        Column("sku", pl.String, "SKU"),
        Column("product", pl.String, "Product"),
        Column("category", pl.String, "Category"),
        Column("quantity", pl.Int64, "Quantity"),
        money("unit_price", "Unit Price"),
        money("unit_cost", "Unit Cost"),
        money("discount", "Discount"),
        money("line_total", "Line Total"),
        money("cogs", "COGS"),
        money("profit", "Profit"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("item_id",),
    build=build_sale_items,
    kind="period",
    stream=stream_sale_items,
)
