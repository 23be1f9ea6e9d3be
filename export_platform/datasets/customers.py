"""Customers: contact details, credit position and aging as of the month's end, and sales history.

Everything is as of the month's end (or now, while the month runs): customers created before it, and
their charges, payments and completed sales up to it. The balance is every charge less every payment.
Aging follows the usual accounts-receivable rule: payments settle the oldest charges first (FIFO), and
each charge's unpaid remainder is aged by the days from its charge date (not its due date) to the
as-of date, both in the tenant's local calendar. Available credit is the limit less the balance, as
it stands: negative over the limit, and not zeroed for a blocked customer. Sales history is lifetime,
not the month's: completed sales only, at their receipt totals including tax, the average rounded
once to the cent, half away from zero. Each column's own rule is in its description.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.exact import average_of
from export_platform.datasets.spec import LOCAL_TIME, Column, DatasetSpec, TenantReader, money, tenant_of
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s
from export_platform.source.column_types import MONEY

GOOD, OVER_LIMIT, BLOCKED = "good", "over_limit", "blocked"
CREDIT_STATUSES = (GOOD, OVER_LIMIT, BLOCKED)

# (column, first day, last day or None for open-ended): the one place the bucket edges are defined.
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("aging_0_30", 0, 30),
    ("aging_31_60", 31, 60),
    ("aging_61_90", 61, 90),
    ("aging_over_90", 91, None),
)
RECENT_TRANSACTIONS = 50
TRANSACTION_FIELDS = ("occurred_at", "kind", "amount", "due_at", "reference")


def aging_column(name: str, label: str) -> Column:
    """An aging bucket's column, its description stating the bucket's edges."""
    low, high = next((first, last) for bucket, first, last in AGING_BUCKETS if bucket == name)
    days = f"{low} to {high} days" if high is not None else f"more than {low - 1} days"
    return money(
        name,
        label,
        f"The unpaid part of the charges {days} old on the month's last day (days from the charge date, "
        "in the tenant's calendar), payments settling the oldest charges first; 0 when Outstanding is not "
        "positive",
    )


def customers_as_of() -> sa.Select:
    c = s.customers
    return (
        sa.select(
            c.c.id.label("customer_id"),
            c.c.name,
            c.c.email,
            c.c.phone,
            c.c.address,
            c.c.customer_type,
            c.c.credit_limit,
            c.c.is_active,
            c.c.is_blocked,
            c.c.created_at,
            c.c.tenant_id,
        )
        .where(tenant_of(c), c.c.created_at < sa.bindparam("as_of", type_=s.Timestamp))
        .order_by(c.c.id)
    )


def credit_transactions_as_of() -> sa.Select:
    t = s.credit_transactions
    return sa.select(
        t.c.id, t.c.customer_id, t.c.kind, t.c.amount, t.c.occurred_at, t.c.due_at, t.c.reference
    ).where(tenant_of(t), t.c.occurred_at < sa.bindparam("as_of", type_=s.Timestamp))


def completed_sales_as_of() -> sa.Select:
    t = s.sales
    return sa.select(t.c.customer_id, t.c.total, t.c.sold_at).where(
        tenant_of(t),
        t.c.customer_id.is_not(None),
        t.c.status == "completed",
        t.c.sold_at < sa.bindparam("as_of", type_=s.Timestamp),
    )


def payments_by_customer(transactions: pl.DataFrame) -> pl.DataFrame:
    """Each customer's payments up to the as-of instant, summed (``paid``)."""
    return (
        transactions.filter(pl.col("kind") == "payment")
        .group_by("customer_id")
        .agg(pl.col("amount").sum().alias("paid"))
    )


def settled_charges(transactions: pl.DataFrame) -> pl.DataFrame:
    """Every charge with ``open``, the part of it still unpaid once the customer's payments settle the
    oldest charges first (FIFO; at one instant, the lower transaction ID first), sorted in that order.

    A charge's open remainder is ``min(amount, max(0, charges up to and including it - all payments))``
    with charges in that order: exactly what applying payments to the oldest charges first leaves.
    Payments beyond every charge (a credit) settle nothing further: every charge is then 0 open.
    """
    zero = pl.lit(0).cast(MONEY)
    return (
        transactions.filter(pl.col("kind") == "charge")
        .join(payments_by_customer(transactions), on="customer_id", how="left")
        .sort("customer_id", "occurred_at", "id")
        .with_columns(pl.col("paid").fill_null(zero))
        .with_columns(pl.col("amount").cum_sum().over("customer_id").alias("charged_so_far"))
        .with_columns(
            pl.min_horizontal(
                pl.col("amount"), pl.max_horizontal(zero, pl.col("charged_so_far") - pl.col("paid"))
            ).alias("open")
        )
        .drop("paid", "charged_so_far")
    )


def credit_aging(transactions: pl.DataFrame, as_of_date: dt.date, timezone: str) -> pl.DataFrame:
    """Per customer: outstanding balance and its split into the aging buckets.

    Each charge's open remainder (``settled_charges``: payments settle the oldest charges first) is
    aged by the days from its charge date to ``as_of_date``. A customer who paid more than was charged
    has a negative balance (a credit) and nothing aged.
    """
    zero = pl.lit(0).cast(MONEY)
    payments = payments_by_customer(transactions)
    charges = settled_charges(transactions).with_columns(
        (pl.lit(as_of_date) - pl.col("occurred_at").dt.convert_time_zone(timezone).dt.date())
        .dt.total_days()
        .alias("age_days")
    )
    buckets = [
        pl.col("open")
        .filter(pl.col("age_days").is_between(low, high if high is not None else 10**9))
        .sum()
        .alias(name)
        for name, low, high in AGING_BUCKETS
    ]
    aged = charges.group_by("customer_id").agg(pl.col("amount").sum().alias("charged"), *buckets)
    all_customers = transactions.select("customer_id").unique()
    return (
        all_customers.join(aged, on="customer_id", how="left")
        .join(payments, on="customer_id", how="left")
        .with_columns(pl.col("charged", "paid", *(b[0] for b in AGING_BUCKETS)).fill_null(zero))
        .with_columns((pl.col("charged") - pl.col("paid")).alias("outstanding_balance"))
        .drop("charged", "paid")
    )


def recent_transactions(
    transactions: pl.DataFrame, timezone: str, limit: int = RECENT_TRANSACTIONS
) -> pl.DataFrame:
    """Each customer's latest ``limit`` credit transactions, newest first, times in the tenant's zone.
    At one instant a charge comes before a payment, then the later-recorded (higher ID) first, so the
    order, and which transactions make the cut, never depend on the order the rows were read in."""
    local = [pl.col(c).dt.convert_time_zone(timezone) for c in ("occurred_at", "due_at")]
    return (
        transactions.with_columns(local)
        .sort(["customer_id", "occurred_at", "kind", "id"], descending=[False, True, False, True])
        .group_by("customer_id", maintain_order=True)
        .agg(pl.struct(TRANSACTION_FIELDS).head(limit).alias("recent_transactions"))
    )


def sales_history(sales: pl.DataFrame) -> pl.DataFrame:
    return sales.group_by("customer_id").agg(
        pl.len().cast(pl.Int64).alias("sales_count"),
        pl.col("total").sum().alias("sales_total"),
        pl.col("sold_at").max().alias("last_sale_at"),
    )


def build_customers(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    zero = pl.lit(0).cast(MONEY)
    customers = read(customers_as_of(), as_of=window.as_of_utc)
    transactions = read(credit_transactions_as_of(), as_of=window.as_of_utc)
    aging = credit_aging(transactions, window.as_of_date, window.tenant.timezone)
    history = sales_history(read(completed_sales_as_of(), as_of=window.as_of_utc))
    return (
        customers.join(aging, on="customer_id", how="left")
        .join(history, on="customer_id", how="left")
        .join(recent_transactions(transactions, window.tenant.timezone), on="customer_id", how="left")
        .with_columns(
            pl.col("outstanding_balance", *(b[0] for b in AGING_BUCKETS), "sales_total").fill_null(zero),
            pl.col("sales_count").fill_null(0),
        )
        .with_columns(
            (pl.col("credit_limit") - pl.col("outstanding_balance")).alias("available_credit"),
            pl.when(pl.col("is_blocked"))
            .then(pl.lit(BLOCKED))
            .when(pl.col("outstanding_balance") > pl.col("credit_limit"))
            .then(pl.lit(OVER_LIMIT))
            .otherwise(pl.lit(GOOD))
            .alias("credit_status"),
            average_of(pl.col("sales_total"), pl.col("sales_count")).alias("sales_average"),
        )
    )


CUSTOMERS = DatasetSpec(
    name="customers",
    title="Customers",
    description=(
        "Every customer on the books at the end of the month: contact details, credit limit, outstanding "
        f"balance and available credit, credit status ({', '.join(CREDIT_STATUSES)}), the balance aged into "
        "0-30, 31-60, 61-90 and 90+ day buckets (payments settle the oldest charges first), and lifetime "
        "completed-sales count, total and average up to the month's end."
    ),
    columns=(
        Column("customer_id", pl.Int64, "Customer ID"),
        Column("name", pl.String, "Name"),
        Column("email", pl.String, "Email"),
        Column("phone", pl.String, "Phone"),
        Column("address", pl.String, "Address"),
        Column("customer_type", pl.String, "Type"),
        Column("is_active", pl.Boolean, "Active"),
        Column("is_blocked", pl.Boolean, "Blocked"),
        Column(
            "credit_status",
            pl.String,
            "Credit Status",
            "blocked for a blocked customer, else over_limit when Outstanding exceeds the credit limit, "
            "else good",
        ),
        money("credit_limit", "Credit Limit"),
        money(
            "outstanding_balance",
            "Outstanding",
            "Every credit charge less every payment up to the month's end; negative when the customer "
            "has paid more than was charged",
        ),
        money(
            "available_credit",
            "Available Credit",
            "Credit limit less Outstanding; negative over the limit, and not zeroed for a blocked customer",
        ),
        aging_column("aging_0_30", "0-30 Days"),
        aging_column("aging_31_60", "31-60 Days"),
        aging_column("aging_61_90", "61-90 Days"),
        aging_column("aging_over_90", "90+ Days"),
        Column(
            "sales_count",
            pl.Int64,
            "Sales",
            "The customer's completed sales up to the month's end (all time, not only the month's)",
        ),
        money("sales_total", "Sales Total", "Receipt totals, including tax, of those completed sales"),
        money(
            "sales_average",
            "Average Sale",
            "Sales Total / Sales, rounded once to the cent, half away from zero; empty without sales",
        ),
        Column(
            "last_sale_at",
            LOCAL_TIME,
            "Last Sale",
            "Time of the latest of those completed sales, in the tenant's timezone",
        ),
        Column("created_at", LOCAL_TIME, "Customer Since", "In the tenant's timezone"),
        Column(
            "recent_transactions",
            pl.List(
                pl.Struct(
                    {
                        "occurred_at": LOCAL_TIME,
                        "kind": pl.String,
                        "amount": MONEY,
                        "due_at": LOCAL_TIME,
                        "reference": pl.String,
                    }
                )
            ),
            "Recent Credit Transactions",
            f"The customer's last {RECENT_TRANSACTIONS} charges and payments up to the month's end, newest "
            "first (at one instant a charge before a payment, then the higher transaction ID first)",
        ),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    key=("customer_id",),
    build=build_customers,
    kind="snapshot",
)
