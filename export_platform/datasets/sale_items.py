"""Sale line items: one row per product line of the month's sales, with its share of the sale's
revenue, its cost and its profit, so that a sale's lines add up to its row of ``sales``.

- ``line_total`` is the line as rung up: quantity x unit price less the line's own discount.
- ``sale_discount_share`` is the line's part of the sale's own discount (the one on the receipt, not on
  a line), split over the sale's lines in proportion to their line totals. It is worked out on whole
  cents from the running total of the lines, so the shares add up exactly to the sale's discount:
  the share of lines 1..k together is the sale's discount x (line totals 1..k) / (all line totals),
  rounded half away from zero, and each line takes the difference to the lines before it. A sale
  whose line totals sum to 0 puts its whole discount on its last line.
- ``revenue`` is ``line_total - sale_discount_share`` on a completed sale, 0 otherwise.
- ``cogs`` is quantity x unit cost on a completed sale, 0 otherwise; ``profit`` is revenue - COGS.

On a completed sale whose subtotal is the sum of its line totals (as the till writes it), the lines'
revenue, COGS and profit add up to the sale's; the sales exports check this.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.exact import cents, from_cents, rounded_quotient
from export_platform.datasets.sales import sold_in_window
from export_platform.datasets.spec import (
    LOCAL_TIME,
    Column,
    DatasetSpec,
    TenantBatchReader,
    TenantReader,
    money,
    tenant_of,
)
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s
from export_platform.source.column_types import MONEY


def items_in_window() -> sa.Select:
    """Line items of the window's sales in time order, with their sale's receipt, time and status.

    Products and storefronts are not joined here but by ``with_product_and_storefront``, after the
    read: on a month of a million line items, the database spent 4.0 s of CPU producing the rows with
    the four text columns repeated on every line, against 2.5 s for these columns, and at that size
    the database's CPU time is what bounds the read. Their ids stay, for the join."""
    return (
        sa.select(
            s.sale_items.c.id.label("item_id"),
            s.sale_items.c.sale_id,
            s.sales.c.receipt_number,
            s.sales.c.sold_at,
            s.sales.c.status,
            s.sales.c.discount.label("sale_discount"),
            s.sales.c.storefront_id,
            s.sale_items.c.product_id,
            s.sale_items.c.quantity,
            s.sale_items.c.unit_price,
            s.sale_items.c.unit_cost,
            s.sale_items.c.discount,
            s.sale_items.c.line_total,
            s.sale_items.c.tenant_id,
        )
        .join(s.sales, sa.and_(s.sales.c.id == s.sale_items.c.sale_id, tenant_of(s.sales)))
        .where(
            tenant_of(s.sale_items),
            sold_in_window(),
        )
        .order_by(s.sales.c.sold_at, s.sale_items.c.sale_id, s.sale_items.c.id)
    )


def products_of_tenant() -> sa.Select:
    p = s.products
    return sa.select(p.c.id.label("product_id"), p.c.sku, p.c.name.label("product"), p.c.category).where(
        tenant_of(p)
    )


def storefronts_of_tenant() -> sa.Select:
    f = s.storefronts
    return sa.select(f.c.id.label("storefront_id"), f.c.name.label("storefront")).where(tenant_of(f))


def with_product_and_storefront(
    items: pl.DataFrame, products: pl.DataFrame, storefronts: pl.DataFrame
) -> pl.DataFrame:
    """Each line with its product's SKU, name and category and its storefront's name, in the lines'
    order. A line whose product or storefront is not the tenant's is left out, as an inner join in
    the database would.

    The details are looked up by id (``replace_strict``) rather than joined: the lines keep their
    order without the join having to restore it, and on 1M line items the two order-keeping inner
    joins took 0.28-0.48 s of CPU against 0.06 s for these lookups, in a read that is bound by
    the CPU of its two cores (the database's and ours)."""
    known = pl.col("product_id").is_in(products["product_id"].implode()) & pl.col("storefront_id").is_in(
        storefronts["storefront_id"].implode()
    )
    return items.filter(known).with_columns(
        *(_looked_up("product_id", products, name) for name in ("sku", "product", "category")),
        _looked_up("storefront_id", storefronts, "storefront"),
    )


def _looked_up(key: str, table: pl.DataFrame, name: str) -> pl.Expr:
    """``table[name]`` of the row whose ``key`` matches each line's ``key``. From an empty ``table``
    no line is kept, and Polars would give the column the key's type rather than ``return_dtype``."""
    dtype = table.schema[name]
    if table.is_empty():
        return pl.lit(None, dtype=dtype).alias(name)
    return pl.col(key).replace_strict(table[key], table[name], return_dtype=dtype).alias(name)


def line_profit(items: pl.DataFrame) -> pl.DataFrame:
    """Each line's discount share, revenue, COGS and profit by the rules of the module docstring.
    ``items`` must hold every line of each of its sales, a sale's lines consecutive and in the order
    of their ids, as the read and ``whole_sales`` give them.

    Running totals restart at each sale's first line instead of being taken per group
    (``cum_sum().over("sale_id")``): on a million lines the windows took 1.8 s against 0.3 s for
    this, in a read that streams about 550k lines a second."""
    completed = pl.col("status") == "completed"
    zero = pl.lit(0).cast(MONEY)
    first, last, line, running = pl.col("_first"), pl.col("_last"), pl.col("_line"), pl.col("_running")
    so_far, sale_lines, discount, shared = (pl.col(f"_{n}") for n in ("so_far", "sale", "discount", "shared"))
    cogs = pl.col("quantity") * pl.col("unit_cost")
    return (
        items.with_columns(
            (pl.col("sale_id") != pl.col("sale_id").shift(1)).fill_null(True).alias("_first"),
            (pl.col("sale_id") != pl.col("sale_id").shift(-1)).fill_null(True).alias("_last"),
            cents(pl.col("line_total")).alias("_line"),
            cents(pl.col("sale_discount")).alias("_discount"),
        )
        .with_columns(line.cum_sum().alias("_running"))
        .with_columns((running - pl.when(first).then(running - line).forward_fill()).alias("_so_far"))
        .with_columns(pl.when(last).then(so_far).backward_fill().alias("_sale"))
        .with_columns(
            pl.when(sale_lines != 0)
            .then(rounded_quotient(discount * so_far, sale_lines))
            .when(last)
            .then(discount)
            .otherwise(0)
            .alias("_shared")
        )
        .with_columns(
            from_cents(shared - pl.when(first).then(0).otherwise(shared.shift(1))).alias(
                "sale_discount_share"
            )
        )
        .drop("_first", "_last", "_line", "_discount", "_running", "_so_far", "_sale", "_shared")
        .with_columns(
            pl.when(completed)
            .then(pl.col("line_total") - pl.col("sale_discount_share"))
            .otherwise(zero)
            .alias("revenue"),
            pl.when(completed).then(cogs).otherwise(zero).alias("cogs"),
        )
        .with_columns((pl.col("revenue") - pl.col("cogs")).alias("profit"))
    )


def whole_sales(batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The same lines, regrouped so that no sale is split between two batches: the lines of each
    batch's last sale wait for the next batch, since a line's discount share needs its sale's other
    lines. The lines arrive ordered by sale, so a sale's lines are consecutive."""
    waiting: pl.DataFrame | None = None
    for batch in batches:
        if waiting is not None:
            batch = pl.concat([waiting, batch])
        if batch.is_empty():
            waiting = batch  # kept, so a month without lines still yields its empty, typed batch
            continue
        other_sales = (batch["sale_id"] != batch["sale_id"][-1]).arg_true()
        last_sale_starts = other_sales[-1] + 1 if len(other_sales) else 0
        if last_sale_starts:
            yield batch.head(last_sale_starts)
        waiting = batch.slice(last_sale_starts)
    if waiting is not None:
        yield waiting


def build_sale_items(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    items = read(items_in_window(), start=window.start_utc, end=window.end_utc)
    return line_profit(
        with_product_and_storefront(items, read(products_of_tenant()), read(storefronts_of_tenant()))
    )


def stream_sale_items(read: TenantBatchReader, window: ReportWindow) -> Iterator[pl.DataFrame]:
    """The lines a batch at a time, each batch holding whole sales. Products and storefronts are read
    on a thread while the database sorts the month's lines before it sends the first batch (0.9 s for
    a million): their two reads, each on a connection of its own, then take no time of the read's own."""

    def lookups() -> tuple[pl.DataFrame, pl.DataFrame]:
        return pl.concat(read(products_of_tenant())), pl.concat(read(storefronts_of_tenant()))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sale-items-lookups") as pool:
        products_and_storefronts = pool.submit(lookups)
        for batch in whole_sales(read(items_in_window(), start=window.start_utc, end=window.end_utc)):
            products, storefronts = products_and_storefronts.result()
            yield line_profit(with_product_and_storefront(batch, products, storefronts))


SALE_ITEMS = DatasetSpec(
    name="sale_items",
    title="Sale Line Items",
    description=(
        "Every product line of the month's sales: product, quantity, unit price and cost, line discount, "
        "line total, its share of the sale's discount, and its revenue, cost of goods and profit (0 on "
        "cancelled and refunded sales), which add up to the sale's figures. Join to `sales` on `sale_id`."
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
        money("line_total", "Line Total", "Quantity times unit price, less the line's own discount"),
        money(
            "sale_discount_share",
            "Sale Discount Share",
            "The line's part of the sale's own discount, in proportion to line totals, in whole cents",
        ),
        money("revenue", "Revenue", "Line total less its sale discount share; completed sales only, else 0"),
        money("cogs", "COGS", "Quantity times unit cost; completed sales only, else 0"),
        money("profit", "Profit", "Revenue less COGS; 0 for cancelled and refunded sales"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("item_id",),
    build=build_sale_items,
    kind="period",
    stream=stream_sale_items,
)
