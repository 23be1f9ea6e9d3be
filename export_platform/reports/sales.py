"""The sales and line-item reports: figures over completed sales, as the sales docstring rules."""

from __future__ import annotations

import polars as pl

from export_platform.datasets.exact import percent
from export_platform.render.report import Kind, SummaryItem
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


def sales_summary(sales: pl.LazyFrame) -> tuple[SummaryItem, ...]:
    """Every money figure is a sum over completed sales (the only ones that earned anything), so tax,
    discounts and payments share revenue's basis; cancelled and refunded sales have lines of their own.
    Revenue, COGS and profit equal the sums of those columns over all rows, which are 0 on the others."""
    completed = pl.col("status") == "completed"
    cancelled = pl.col("status") == "cancelled"
    refunded = pl.col("status") == "refunded"
    totals = one_row(
        sales,
        pl.len().alias("sales"),
        completed.sum().alias("completed"),
        cancelled.sum().alias("cancelled"),
        refunded.sum().alias("refunded"),
        *(
            pl.col(c).filter(completed).sum()
            for c in ("revenue", "tax", "discount", "total", "amount_paid", "balance_due", "cogs", "profit")
        ),
        pl.col("total").filter(cancelled).sum().alias("cancelled_total"),
        pl.col("total").filter(refunded).sum().alias("refunded_total"),
        pl.col("refund_amount").filter(refunded).sum(),
    )
    return (
        count("Sales", totals["sales"]),
        count("Completed sales", totals["completed"]),
        money("Revenue (completed sales, net of discounts, excl. tax)", totals["revenue"]),
        money("Discounts (completed sales)", totals["discount"]),
        money("Tax (completed sales)", totals["tax"]),
        money("Sales total incl. tax (completed sales)", totals["total"]),
        money("Payments received (completed sales)", totals["amount_paid"]),
        money("Balance due (completed sales)", totals["balance_due"]),
        money("Cost of goods sold (completed sales)", totals["cogs"]),
        money("Profit (completed sales)", totals["profit"]),
        SummaryItem("Margin % (completed sales)", percent(totals["profit"], totals["revenue"]), Kind.PERCENT),
        count("Cancelled sales", totals["cancelled"]),
        money("Cancelled sales: receipt totals (not revenue)", totals["cancelled_total"]),
        count("Refunded sales", totals["refunded"]),
        money("Refunded sales: receipt totals (not revenue)", totals["refunded_total"]),
        money("Refunded sales: amount paid back", totals["refund_amount"]),
    )


def sales_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    return sales_summary(frames["sales"]), (
        dataset_table("sales", frames["sales"], "Sales", options),
        dataset_table("sale_items", frames["sale_items"], "Line Items", options),
    )


def sale_items_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    """Line totals are as rung up, on every line; revenue, COGS and profit are those of completed
    sales (0 on the other lines), so they equal the sales report's figures."""
    items = frames["sale_items"]
    totals = one_row(
        items,
        pl.len().alias("lines"),
        pl.col("quantity").sum(),
        pl.col("line_total").sum(),
        pl.col("sale_discount_share").sum(),
        pl.col("revenue").sum(),
        pl.col("cogs").sum(),
        pl.col("profit").sum(),
    )
    summary = (
        count("Lines", totals["lines"]),
        count("Units", totals["quantity"]),
        money("Line totals (all lines, as rung up)", totals["line_total"]),
        money("Sale discounts shared over lines (all lines)", totals["sale_discount_share"]),
        money("Revenue (completed sales)", totals["revenue"]),
        money("Cost of goods sold (completed sales)", totals["cogs"]),
        money("Profit (completed sales)", totals["profit"]),
    )
    return summary, (dataset_table("sale_items", items, "Line Items", options),)
