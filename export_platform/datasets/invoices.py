"""Invoices: every credit charge to a customer as an invoice, settled first-in first-out, as of the
month's end.

Everything is as of the month's end (or now, while the month runs), exactly as the customers dataset
sees it: the customers on the books then, and their charges and payments up to then. Each charge is one
invoice. Payments are not tied to invoices in the source, so they are allocated the way the customers'
aging allocates them (``customers.settled_charges``): all of a customer's payments settle the oldest
charges first, at one instant the lower transaction ID first. A customer's open invoices therefore add
up to the customer's outstanding balance when it is positive; a credit (payments beyond every charge)
sits on no invoice. Dates are calendar days in the tenant's timezone, and an invoice is overdue from
the day after its due date. Each column's own rule is in its description.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from export_platform.datasets.customers import credit_transactions_as_of, customers_as_of, settled_charges
from export_platform.datasets.spec import Column, DatasetSpec, TenantReader, money
from export_platform.datasets.window import ReportWindow
from export_platform.source.column_types import MONEY

OPEN, PARTLY_PAID, PAID, OVERDUE = "open", "partly_paid", "paid", "overdue"
INVOICE_STATUSES = (OPEN, PARTLY_PAID, PAID, OVERDUE)


def invoices_as_of(charges: pl.DataFrame, as_of_date: dt.date, timezone: str) -> pl.DataFrame:
    """Each settled charge (``settled_charges``) as an invoice on ``as_of_date``: what is paid, what is
    left, its status and how many days it is overdue, by the rules in the column descriptions."""
    zero = pl.lit(0).cast(MONEY)
    overdue = (pl.col("balance") > 0) & (pl.col("due_date") < as_of_date).fill_null(False)
    return (
        charges.with_columns(
            pl.col("occurred_at").dt.convert_time_zone(timezone).dt.date().alias("issue_date"),
            pl.col("due_at").dt.convert_time_zone(timezone).dt.date().alias("due_date"),
            (pl.col("amount") - pl.col("open")).alias("paid"),
            pl.col("open").alias("balance"),
        )
        .with_columns(
            pl.when(pl.col("balance") == zero)
            .then(pl.lit(PAID))
            .when(overdue)
            .then(pl.lit(OVERDUE))
            .when(pl.col("paid") > zero)
            .then(pl.lit(PARTLY_PAID))
            .otherwise(pl.lit(OPEN))
            .alias("status"),
            pl.when(overdue)
            .then((pl.lit(as_of_date) - pl.col("due_date")).dt.total_days())
            .otherwise(0)
            .alias("days_overdue"),
        )
        .rename({"id": "invoice_id"})
    )


def build_invoices(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    customers = read(customers_as_of(), as_of=window.as_of_utc).select(
        "customer_id", pl.col("name").alias("customer"), "tenant_id"
    )
    charges = settled_charges(read(credit_transactions_as_of(), as_of=window.as_of_utc))
    return (
        invoices_as_of(charges, window.as_of_date, window.tenant.timezone)
        .join(customers, on="customer_id", how="inner")
        .sort("customer_id", "occurred_at", "invoice_id")
    )


INVOICES = DatasetSpec(
    name="invoices",
    title="Invoices",
    description=(
        "Every credit charge to a customer on the books at the end of the month, as an invoice: reference, "
        "customer, issue and due dates, amount, what the customer's payments have paid of it (payments "
        "settle the oldest invoices first), the balance left, its status "
        f"({', '.join(INVOICE_STATUSES)}) and days overdue, all as of the month's last day. The balances "
        "of a customer's invoices add up to the customer's outstanding balance in Customers."
    ),
    columns=(
        Column("invoice_id", pl.Int64, "Invoice ID", "The charge's credit transaction ID"),
        Column("reference", pl.String, "Reference", "The charge's reference, as recorded"),
        Column("customer_id", pl.Int64, "Customer ID"),
        Column("customer", pl.String, "Customer", "The customer's name"),
        Column("issue_date", pl.Date, "Issued", "The day of the charge, in the tenant's calendar"),
        Column(
            "due_date",
            pl.Date,
            "Due",
            "The charge's due day, in the tenant's calendar; empty when the charge has no due date",
        ),
        money("amount", "Amount", "The amount charged"),
        money(
            "paid",
            "Paid",
            "The part of Amount the customer's payments up to the month's end have settled, all of a "
            "customer's payments settling the oldest charges first (at one instant, the lower Invoice ID "
            "first); payments beyond every charge settle nothing further",
        ),
        money("balance", "Balance", "Amount less Paid; never negative"),
        Column(
            "status",
            pl.String,
            "Status",
            "paid when Balance is 0; else overdue when the due day is before the month's last day (or "
            "before today, while the month runs), so an invoice due on that day is not yet overdue; else "
            "partly_paid when Paid is above 0; else open. An invoice without a due day is never overdue",
        ),
        Column(
            "days_overdue",
            pl.Int64,
            "Days Overdue",
            "For an overdue invoice, the whole days from its due day to the month's last day (or today, "
            "while the month runs); 0 otherwise",
        ),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("invoice_id",),
    build=build_invoices,
    kind="snapshot",
)
