"""The customers report: credit status counts, aging totals, the aging table and recent transactions."""

from __future__ import annotations

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.customers import AGING_BUCKETS
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

AGING_COLUMNS = [
    "customer_id",
    "name",
    "customer_type",
    "credit_status",
    "credit_limit",
    "outstanding_balance",
    *(name for name, *_ in AGING_BUCKETS),
    "available_credit",
]


def credit_transactions(customers: pl.LazyFrame) -> pl.LazyFrame:
    return (
        customers.select("customer_id", pl.col("name").alias("customer"), "recent_transactions")
        .explode("recent_transactions")
        .filter(pl.col("recent_transactions").is_not_null())
        .unnest("recent_transactions")
    )


def customers_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    customers = frames["customers"]
    totals = one_row(
        customers,
        pl.len().alias("customers"),
        pl.col("is_active").sum().alias("active"),
        pl.col("is_blocked").sum().alias("blocked"),
        (pl.col("outstanding_balance") > pl.col("credit_limit")).sum().alias("over_limit"),
        (pl.col("customer_type") == "wholesale").sum().alias("wholesale"),
        (pl.col("customer_type") == "retail").sum().alias("retail"),
        (pl.col("outstanding_balance") > 0).sum().alias("with_balance"),
        pl.col("outstanding_balance").sum(),
        *(pl.col(name).sum() for name, *_ in AGING_BUCKETS),
    )
    spec = DATASETS_BY_NAME["customers"]
    summary = (
        count("Customers", totals["customers"]),
        count("Active", totals["active"]),
        count("Blocked", totals["blocked"]),
        count("Over credit limit", totals["over_limit"]),
        count("Wholesale", totals["wholesale"]),
        count("Retail", totals["retail"]),
        count("With a balance", totals["with_balance"]),
        money("Total outstanding", totals["outstanding_balance"]),
        *(money(f"Aged {spec.labels[name]}", totals[name]) for name, *_ in AGING_BUCKETS),
    )
    labels = dict(spec.labels) | {
        "customer": "Customer",
        "occurred_at": "Date",
        "kind": "Kind",
        "amount": "Amount",
        "due_at": "Due",
        "reference": "Reference",
    }
    tables = (
        dataset_table("customers", customers, "Customer Details", options),
        Table.of("Credit Aging", customers, labels, AGING_COLUMNS),
        Table.of(
            "Credit Transactions",
            credit_transactions(customers),
            labels,
            ["customer_id", "customer", "occurred_at", "kind", "amount", "due_at", "reference"],
        ),
    )
    return summary, tables
