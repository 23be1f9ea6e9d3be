"""The headline figures of a dataset's partition: the few numbers an owner reads first (revenue,
profit, margin, outstanding, overdue, stock value, events, account balances). One place for them, so
the dataset's materialization records them for the UI's plots and the report's overview compares
them month over month with the same definitions.

Money figures are exact two-decimal ``Decimal`` sums; the sales margin goes through ``percent``
(rounded once, half away from zero; None without revenue). Counts are ``int``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import polars as pl

from export_platform.datasets.accounts import exported_accounts
from export_platform.datasets.customers import AGING_BUCKETS
from export_platform.datasets.exact import HUNDREDTH, percent
from export_platform.datasets.invoices import OVERDUE, PAID
from export_platform.source.schema import ACCOUNT_TYPES

Figure = int | Decimal | None
Headlines = dict[str, Figure]

# Customers' overdue balance: everything aged past the first bucket (over 30 days).
OVERDUE_BUCKETS = tuple(name for name, *_ in AGING_BUCKETS[1:])


def _row(frame: pl.LazyFrame, *exprs: pl.Expr) -> dict[str, Figure]:
    values = frame.select(*exprs).collect().row(0, named=True)
    return {name: exact_figure(value) for name, value in values.items()}


def exact_figure(value: object) -> Figure:
    """A value Polars returned as a figure: an amount at two decimals, or a count."""
    if isinstance(value, Decimal):
        return value.quantize(HUNDREDTH)
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    raise TypeError(f"a headline figure is a count or an amount, not {value!r}")


def sales_headlines(sales: pl.LazyFrame) -> Headlines:
    """Over completed sales, as the sales report's summary: they alone earn revenue and profit."""
    completed = pl.col("status") == "completed"
    figures = _row(
        sales,
        completed.sum().cast(pl.Int64).alias("completed_sales"),
        pl.col("revenue").sum(),
        pl.col("profit").sum(),
    )
    margin = percent(Decimal(figures["profit"] or 0), Decimal(figures["revenue"] or 0))
    return {**figures, "margin_pct": margin}


def customers_headlines(customers: pl.LazyFrame) -> Headlines:
    """Outstanding is every customer's balance summed; overdue is the part aged more than 30 days."""
    figures = _row(
        customers,
        pl.col("outstanding_balance").sum().alias("outstanding"),
        *(pl.col(name).sum() for name in OVERDUE_BUCKETS),
        (pl.col("outstanding_balance") > 0).sum().cast(pl.Int64).alias("customers_with_balance"),
        (pl.col("credit_status") == "over_limit").sum().cast(pl.Int64).alias("over_limit"),
    )
    overdue = sum((Decimal(figures.pop(name) or 0) for name in OVERDUE_BUCKETS), Decimal("0.00"))
    return {"outstanding": figures["outstanding"], "overdue": overdue, **figures}


def inventory_headlines(inventory: pl.LazyFrame) -> Headlines:
    return _row(
        inventory,
        pl.col("stock_value").sum(),
        pl.col("retail_value").sum(),
        (pl.col("stock_status") != "in_stock").sum().cast(pl.Int64).alias("items_to_reorder"),
    )


def audit_log_headlines(audit_log: pl.LazyFrame) -> Headlines:
    return _row(
        audit_log,
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("user_id").drop_nulls().n_unique().cast(pl.Int64).alias("active_users"),
    )


def invoices_headlines(invoices: pl.LazyFrame) -> Headlines:
    return _row(
        invoices,
        pl.col("balance").sum().alias("open_balance"),
        pl.col("balance").filter(pl.col("status") == OVERDUE).sum().alias("overdue_balance"),
        (pl.col("status") == PAID).sum().cast(pl.Int64).alias("paid_invoices"),
    )


def accounts_headlines(accounts: pl.LazyFrame) -> Headlines:
    """Each account type's total over the root accounts an export lists, in the types' normal sign."""
    roots = exported_accounts(accounts).filter(pl.col("depth") == 0)
    return _row(
        roots,
        *(
            pl.col("balance").filter(pl.col("account_type") == kind).sum().alias(kind)
            for kind in ACCOUNT_TYPES
        ),
    )


HEADLINES: dict[str, Callable[[pl.LazyFrame], Headlines]] = {
    "sales": sales_headlines,
    "customers": customers_headlines,
    "inventory": inventory_headlines,
    "audit_log": audit_log_headlines,
    "invoices": invoices_headlines,
    "accounts": accounts_headlines,
}
"""The datasets that have headline figures; line items share the sales' figures, and the journal rows
of bills have none of their own."""


def headlines(dataset: str, frame: pl.LazyFrame) -> Headlines:
    """The dataset's headline figures, empty for a dataset without any."""
    compute = HEADLINES.get(dataset)
    return {} if compute is None else compute(frame)
