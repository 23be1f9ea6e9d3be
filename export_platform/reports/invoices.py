"""The invoices report: counts by status, what was invoiced, paid and is left, the overdue part of it,
every invoice, and the same figures per customer."""

from __future__ import annotations

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.invoices import INVOICE_STATUSES, OPEN, OVERDUE, PAID, PARTLY_PAID
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

STATUS_COUNTS = {
    OPEN: "Open invoices",
    PARTLY_PAID: "Partly paid invoices",
    PAID: "Paid invoices",
    OVERDUE: "Overdue invoices",
}
BY_CUSTOMER_COLUMNS = [
    "customer_id",
    "customer",
    "invoices",
    "amount",
    "paid",
    "balance",
    "overdue_balance",
    "days_overdue",
]


def overdue_balance() -> pl.Expr:
    return pl.col("balance").filter(pl.col("status") == OVERDUE).sum().alias("overdue_balance")


def by_customer(invoices: pl.LazyFrame) -> pl.LazyFrame:
    """Per customer with invoices: how many, what they add up to, and the most days one is overdue."""
    return (
        invoices.group_by("customer_id", "customer")
        .agg(
            pl.len().alias("invoices"),
            pl.col("amount").sum(),
            pl.col("paid").sum(),
            pl.col("balance").sum(),
            overdue_balance(),
            pl.col("days_overdue").max(),
        )
        .sort("customer_id")
    )


def invoices_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    invoices = frames["invoices"]
    totals = one_row(
        invoices,
        pl.len().alias("invoices"),
        *((pl.col("status") == status).sum().alias(f"{status}_count") for status in INVOICE_STATUSES),
        pl.col("amount").sum(),
        pl.col("paid").sum(),
        pl.col("balance").sum(),
        overdue_balance(),
    )
    summary = (
        count("Invoices", totals["invoices"]),
        *(count(STATUS_COUNTS[status], totals[f"{status}_count"]) for status in INVOICE_STATUSES),
        money("Total invoiced", totals["amount"]),
        money("Total paid", totals["paid"]),
        money("Total balance", totals["balance"]),
        money("Overdue balance", totals["overdue_balance"]),
    )
    labels = dict(DATASETS_BY_NAME["invoices"].labels) | {
        "invoices": "Invoices",
        "amount": "Invoiced",
        "overdue_balance": "Overdue Balance",
        "days_overdue": "Most Days Overdue",
    }
    tables = (
        dataset_table("invoices", invoices, "Invoices", options),
        Table.of("By Customer", by_customer(invoices), labels, BY_CUSTOMER_COLUMNS),
    )
    return summary, tables
