"""The charts each dataset's overview draws, as plain series computed by Polars from the partition.

A chart is its categories (days, products, buckets, statuses) and one or more series of exact values
over them: money as two-decimal ``Decimal`` sums, counts as ``int``. Renderers draw these and compute
nothing. The rules a reader can rely on:

- a per-day chart lists every day of the month (of the days asked, for an ad-hoc export), 0 on a day
  without rows, so the axis is the month's whatever the data; days are the tenant's local calendar
  days;
- a per-week chart (bills) lists the period's days in sevens from its first day, the last week
  possibly shorter;
- a "top 10" lists at most ten, largest first, ties by name; a category chart over a fixed set
  (aging buckets, credit and stock statuses, invoice statuses) lists every member, 0 included;
- money charts of sales count completed sales only, as the sales summary does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.customers import AGING_BUCKETS, CREDIT_STATUSES
from export_platform.datasets.headlines import Figure, accounts_headlines, exact_figure
from export_platform.datasets.inventory import STOCK_STATUSES
from export_platform.datasets.invoices import INVOICE_STATUSES
from export_platform.render.charts import Chart, Series
from export_platform.render.report import Kind
from export_platform.source.schema import ACCOUNT_TYPES

TOP = 10
NONE = "(none)"
"""The category of rows without one (a product without a category, a system event)."""
Frames = dict[str, pl.LazyFrame]


def period_days(period: str) -> list[dt.date]:
    """Every day of a report's period: a month (``2026-10``, a monthly export) or a run of days
    (``2026-10-01 to 2026-10-31``, an ad-hoc export), its last day included."""
    first_text, _, last_text = period.partition(" to ")
    if not last_text:
        first = dt.date.fromisoformat(f"{first_text}-01")
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        first, last = dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _by(frame: pl.LazyFrame, key: pl.Expr, values: dict[str, pl.Expr]) -> dict[str, dict[str, Figure]]:
    """``values`` summed per distinct ``key`` (as text, ``NONE`` for null): {series name: {key: value}}."""
    return _sums(_grouped(frame, key, values).collect(), values)


def _grouped(frame: pl.LazyFrame, key: pl.Expr, values: dict[str, pl.Expr]) -> pl.LazyFrame:
    return frame.group_by(key.cast(pl.String).fill_null(NONE).alias("key")).agg(**values)


def _sums(grouped: pl.DataFrame, values: dict[str, pl.Expr]) -> dict[str, dict[str, Figure]]:
    return {
        name: {k: exact_figure(v) for k, v in zip(grouped["key"], grouped[name], strict=True)}
        for name in values
    }


def _over(
    title: str,
    style: str,
    kind: Kind,
    categories: Sequence[str],
    sums: dict[str, dict[str, Figure]],
    zero: Figure,
) -> Chart:
    return Chart(
        title,
        style,
        tuple(categories),
        tuple(Series(name, tuple(values.get(c, zero) for c in categories)) for name, values in sums.items()),
        kind,
    )


def _top(frame: pl.LazyFrame, key: str, value: pl.Expr, where: pl.Expr | None = None) -> pl.DataFrame:
    """The ``TOP`` keys of the largest positive ``value`` sums, largest first, ties by key."""
    return _top_query(frame, key, value, where).collect()


def _top_query(frame: pl.LazyFrame, key: str, value: pl.Expr, where: pl.Expr | None = None) -> pl.LazyFrame:
    rows = frame if where is None else frame.filter(where)
    return (
        rows.filter(pl.col(key).is_not_null())
        .group_by(key)
        .agg(value.alias("value"))
        .filter(pl.col("value") > 0)
        .sort(["value", key], descending=[True, False])
        .head(TOP)
    )


def _top_chart(title: str, kind: Kind, series: str, top: pl.DataFrame, key: str) -> Chart:
    values = tuple(exact_figure(v) for v in top["value"])
    return Chart(title, "bar", tuple(top[key].cast(pl.String)), (Series(series, values),), kind)


ZERO = Decimal("0.00")
QUARTER_HOUR_S = 900


def _quarter_hour(column: str) -> pl.Expr:
    """The quarter hour (UTC) of each row's instant, as a number: a per-day chart first sums rows per
    quarter hour, then the quarter hours per local day (``_local_quarter_hours``). The time zone is
    applied to at most 96 quarter hours a day instead of every row, which was half the overview's
    time on a big month. Exact because every UTC offset in use is a whole number of quarter hours,
    so local midnight falls between quarter hours, never inside one."""
    return (pl.col(column).dt.epoch("s") // QUARTER_HOUR_S).alias("quarter_hour")


def _local_quarter_hours(quarters: pl.DataFrame, dtype: pl.DataType) -> pl.LazyFrame:
    """The summed quarter hours with the local day each falls on (``day``)."""
    start = pl.from_epoch(pl.col("quarter_hour") * QUARTER_HOUR_S, time_unit="s")
    zone = getattr(dtype, "time_zone", None)
    if zone is not None:  # a naive column holds local times already
        start = start.dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
    return quarters.lazy().with_columns(start.dt.date().alias("day"))


COMPLETED = pl.col("status") == "completed"


def sales_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    sales = frames["sales"]
    days = [d.isoformat() for d in period_days(month)]
    money = {"Revenue": pl.col("revenue").sum(), "Profit": pl.col("profit").sum()}
    revenue = {"Revenue": pl.col("revenue").sum()}
    completed = sales.filter(COMPLETED)
    # One collect for the four: Polars runs them side by side and reads the partition once, which
    # keeps the overview within a few percent of a big export's time (bench/renderers.py --overview).
    quarters, by_method, by_storefront, top = pl.collect_all(
        [
            completed.group_by(_quarter_hour("sold_at")).agg(**money),
            _grouped(completed, pl.col("payment_method"), revenue),
            _grouped(completed, pl.col("storefront"), money),
            _top_query(frames["sale_items"], "product", pl.col("revenue").sum(), COMPLETED),
        ]
    )
    again = {name: pl.col(name).sum() for name in money}
    daily = _grouped(_local_quarter_hours(quarters, sales.collect_schema()["sold_at"]), pl.col("day"), again)
    per_day, methods, storefronts = (
        _sums(daily.collect(), money),
        _sums(by_method, revenue),
        _sums(by_storefront, money),
    )
    return (
        _over("Revenue and profit per day", "line", Kind.MONEY, days, per_day, ZERO),
        _top_chart(
            "Top 10 products by revenue",
            Kind.MONEY,
            "Revenue",
            top,
            "product",
        ),
        _over("Revenue by payment method", "bar", Kind.MONEY, sorted(methods["Revenue"]), methods, ZERO),
        _over(
            "Revenue and profit by storefront",
            "bar",
            Kind.MONEY,
            sorted(storefronts["Revenue"]),
            storefronts,
            ZERO,
        ),
    )


def customers_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    customers = frames["customers"]
    labels = DATASETS_BY_NAME["customers"].labels
    buckets = customers.select(pl.col(name).sum() for name, *_ in AGING_BUCKETS).collect().row(0, named=True)
    statuses = _by(customers, pl.col("credit_status"), {"Customers": pl.len()})
    return (
        Chart(
            "Outstanding by age",
            "bar",
            tuple(labels[name] for name, *_ in AGING_BUCKETS),
            (Series("Outstanding", tuple(exact_figure(buckets[name]) for name, *_ in AGING_BUCKETS)),),
            Kind.MONEY,
        ),
        _top_chart(
            "Top 10 outstanding balances", Kind.MONEY, "Outstanding", _largest_balances(customers), "name"
        ),
        _over("Customers by credit status", "bar", Kind.INTEGER, CREDIT_STATUSES, statuses, 0),
    )


def _largest_balances(customers: pl.LazyFrame) -> pl.DataFrame:
    """Customer by customer (two customers may share a name): the ``TOP`` largest positive balances."""
    return (
        customers.filter(pl.col("outstanding_balance") > 0)
        .select("name", pl.col("outstanding_balance").alias("value"), "customer_id")
        .sort(["value", "name", "customer_id"], descending=[True, False, False])
        .head(TOP)
        .collect()
    )


def inventory_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    inventory = frames["inventory"]
    statuses = _by(inventory, pl.col("stock_status"), {"Items": pl.len()})
    categories = _by(inventory, pl.col("category"), {"Stock value": pl.col("stock_value").sum()})
    short = pl.col("reorder_level") - pl.col("quantity_on_hand")
    low = (
        inventory.filter(pl.col("stock_status") != "in_stock")
        .select(pl.format("{} ({})", "product", "storefront").alias("item"), short.alias("short"))
        .sort(["short", "item"], descending=[True, False])
        .head(TOP)
        .collect()
    )
    return (
        _over("Items by stock status", "bar", Kind.INTEGER, STOCK_STATUSES, statuses, 0),
        _over(
            "Stock value by category",
            "bar",
            Kind.MONEY,
            sorted(categories["Stock value"]),
            categories,
            ZERO,
        ),
        Chart(
            "Items to reorder: units below the reorder level",
            "bar",
            tuple(low["item"]),
            (Series("Units short", tuple(int(v) for v in low["short"])),),
            Kind.INTEGER,
        ),
    )


def audit_log_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    audit_log = frames["audit_log"]
    days = [d.isoformat() for d in period_days(month)]
    per_day = (
        audit_log.group_by(pl.col("occurred_at").dt.date().cast(pl.String).alias("day"), "category")
        .agg(pl.len().alias("events"))
        .collect()
    )
    counts = {(r["category"], r["day"]): r["events"] for r in per_day.iter_rows(named=True)}
    categories = sorted({c for c, _ in counts}, key=lambda c: (c is None, c or ""))
    return (
        Chart(
            "Events per day by category",
            "line",
            tuple(days),
            tuple(
                Series(category or NONE, tuple(int(counts.get((category, day), 0)) for day in days))
                for category in categories
            ),
            Kind.INTEGER,
        ),
        _top_chart(
            "Most active users", Kind.INTEGER, "Events", _top(audit_log, "user_name", pl.len()), "user_name"
        ),
    )


def invoices_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    invoices = frames["invoices"]
    sums = _by(
        invoices, pl.col("status"), {"Balance": pl.col("balance").sum(), "Amount": pl.col("amount").sum()}
    )
    counts = _by(invoices, pl.col("status"), {"Invoices": pl.len()})
    return (
        _over("Invoice amounts and balances by status", "bar", Kind.MONEY, INVOICE_STATUSES, sums, ZERO),
        _over("Invoices by status", "bar", Kind.INTEGER, INVOICE_STATUSES, counts, 0),
    )


IDENTITY = ("Assets", "Liabilities + equity + income - expenses")


def accounts_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    """The root totals an export lists, by type, and both sides of the accounting identity."""
    totals = accounts_headlines(frames["accounts"])
    balances = tuple(totals[kind] for kind in ACCOUNT_TYPES)
    other_side = sum((Decimal(totals[k] or 0) for k in ("liabilities", "equity", "income")), ZERO) - Decimal(
        totals["expenses"] or 0
    )
    return (
        Chart(
            "Balances by account type",
            "bar",
            tuple(kind.title() for kind in ACCOUNT_TYPES),
            (Series("Balance", balances),),
            Kind.MONEY,
        ),
        Chart(
            "Accounting identity",
            "bar",
            IDENTITY,
            (Series("Balance", (totals["assets"], other_side)),),
            Kind.MONEY,
        ),
    )


def bills_charts(frames: Frames, month: str) -> tuple[Chart, ...]:
    """Debits and credits per week (the period's days in sevens from its first) by the type of the
    account on that side, every type listed; a row's account type comes from the accounts dataset of
    the same report (``None`` shown as ``NONE`` for an account it does not list)."""
    days = period_days(month)
    weeks = [d.isoformat() for d in days[::7]]
    types = frames["accounts"].select("account_name", "account_type").unique("account_name")
    week = (pl.col("date") - pl.lit(days[0])).dt.total_days() // 7
    charts = []
    for side, column in (("Debits", "debit_account"), ("Credits", "credit_account")):
        sums = (
            frames["bills"]
            .filter(pl.col(column).is_not_null())
            .join(types, left_on=column, right_on="account_name", how="left")
            .group_by(week.alias("week"), pl.col("account_type").fill_null(NONE))
            .agg(pl.col("amount").sum())
            .collect()
        )
        amounts = {
            (r["account_type"], r["week"]): exact_figure(r["amount"]) for r in sums.iter_rows(named=True)
        }
        kinds = [*ACCOUNT_TYPES, *sorted({k for k, _ in amounts} - set(ACCOUNT_TYPES))]
        charts.append(
            Chart(
                f"{side} per week by account type",
                "bar",
                tuple(f"Week of {w}" for w in weeks),
                tuple(
                    Series(kind.title(), tuple(amounts.get((kind, n), ZERO) for n in range(len(weeks))))
                    for kind in kinds
                ),
                Kind.MONEY,
            )
        )
    return tuple(charts)


CHARTS: dict[str, Callable[[Frames, str], tuple[Chart, ...]]] = {
    "sales": sales_charts,
    "customers": customers_charts,
    "inventory": inventory_charts,
    "audit_log": audit_log_charts,
    "invoices": invoices_charts,
    "accounts": accounts_charts,
    "bills": bills_charts,
}
