"""The overview's figures recomputed from the oracle's own rows (plain Python over the source rows):
headline figures, month-over-month changes and every chart's series, by the rules the overview
module states, written out again here."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.audit_log import event_rows
from export_platform_tests.oracle.customers import BUCKETS, customer_rows
from export_platform_tests.oracle.exact import money, percent, rounded
from export_platform_tests.oracle.inventory import stock_rows
from export_platform_tests.oracle.invoices import invoice_rows
from export_platform_tests.oracle.ledger import chart_with_balances
from export_platform_tests.oracle.report import Row
from export_platform_tests.oracle.sales import line_rows, sale_rows

ZERO = Decimal("0.00")
ACCOUNT_TYPES = ("assets", "liabilities", "equity", "income", "expenses")
# title -> (categories, {series: values})
Charts = dict[str, tuple[list[str], dict[str, list]]]


def days_of(month: str) -> list[str]:
    year, number = map(int, month.split("-"))
    day, days = dt.date(year, number, 1), []
    while day.month == number:
        days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def change(current, earlier, points: bool = False) -> Decimal | None:
    if current is None or earlier is None:
        return None
    if points:
        return current - earlier
    return (
        rounded((Fraction(current) - Fraction(earlier)) * 100 / abs(Fraction(earlier))) if earlier else None
    )


def _sums(rows: Iterable[Row], key: str, value: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        sums[row[key]] += row[value]
    return sums


def _top(totals: dict[str, Decimal | int]) -> tuple[list[str], list]:
    best = sorted(
        ((v, k) for k, v in totals.items() if k is not None and v > 0), key=lambda p: (-p[0], p[1])
    )[:10]
    return [k for _, k in best], [v for v, _ in best]


def sales(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    done = [r for r in sale_rows(source, month) if r["Status"] == "completed"]
    revenue = sum((r["Revenue"] for r in done), ZERO)
    profit = sum((r["Profit"] for r in done), ZERO)
    headlines = {
        "completed_sales": len(done),
        "revenue": revenue,
        "profit": profit,
        "margin_pct": percent(profit, revenue),
    }
    days = days_of(month)
    for r in done:
        r["day"] = r["Sold At"].date().isoformat()
    per_day = {label: _sums(done, "day", label) for label in ("Revenue", "Profit")}
    lines = [r for r in line_rows(source, month) if r["Sale Status"] == "completed"]
    products, product_revenue = _top(_sums(lines, "Product", "Revenue"))
    methods = _sums(done, "Payment Method", "Revenue")
    stores = {label: _sums(done, "Storefront", label) for label in ("Revenue", "Profit")}
    charts: Charts = {
        "Revenue and profit per day": (days, {k: [v.get(d, ZERO) for d in days] for k, v in per_day.items()}),
        "Top 10 products by revenue": (products, {"Revenue": product_revenue}),
        "Revenue by payment method": (sorted(methods), {"Revenue": [methods[m] for m in sorted(methods)]}),
        "Revenue and profit by storefront": (
            sorted(stores["Revenue"]),
            {k: [v[s] for s in sorted(stores["Revenue"])] for k, v in stores.items()},
        ),
    }
    return headlines, charts


def customers(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    rows = customer_rows(source, month)
    headlines = {
        "outstanding": sum((r["Outstanding"] for r in rows), ZERO),
        "overdue": sum((r[label] for r in rows for label in ("31-60 Days", "61-90 Days", "90+ Days")), ZERO),
        "customers_with_balance": sum(r["Outstanding"] > 0 for r in rows),
        "over_limit": sum(r["Credit Status"] == "over_limit" for r in rows),
    }
    owing = sorted(
        (r for r in rows if r["Outstanding"] > 0),
        key=lambda r: (-r["Outstanding"], r["Name"], r["Customer ID"]),
    )[:10]
    statuses = Counter(r["Credit Status"] for r in rows)
    charts: Charts = {
        "Outstanding by age": (
            list(BUCKETS.values()),
            {"Outstanding": [sum((r[label] for r in rows), ZERO) for label in BUCKETS.values()]},
        ),
        "Top 10 outstanding balances": (
            [r["Name"] for r in owing],
            {"Outstanding": [r["Outstanding"] for r in owing]},
        ),
        "Customers by credit status": (
            ["good", "over_limit", "blocked"],
            {"Customers": [statuses[s] for s in ("good", "over_limit", "blocked")]},
        ),
    }
    return headlines, charts


def inventory(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    rows = stock_rows(source, month)
    headlines = {
        "stock_value": sum((r["Value at Cost"] for r in rows), ZERO),
        "retail_value": sum((r["Value at Retail"] for r in rows), ZERO),
        "items_to_reorder": sum(r["Stock Status"] != "in_stock" for r in rows),
    }
    statuses = Counter(r["Stock Status"] for r in rows)
    by_category = _sums(rows, "Category", "Value at Cost")
    short = sorted(
        (
            (r["Reorder Level"] - r["On Hand"], f"{r['Product']} ({r['Storefront']})")
            for r in rows
            if r["Stock Status"] != "in_stock"
        ),
        key=lambda p: (-p[0], p[1]),
    )[:10]
    charts: Charts = {
        "Items by stock status": (
            ["in_stock", "low_stock", "out_of_stock"],
            {"Items": [statuses[s] for s in ("in_stock", "low_stock", "out_of_stock")]},
        ),
        "Stock value by category": (
            sorted(by_category),
            {"Stock value": [by_category[c] for c in sorted(by_category)]},
        ),
        "Items to reorder: units below the reorder level": (
            [i for _, i in short],
            {"Units short": [s for s, _ in short]},
        ),
    }
    return headlines, charts


def audit_log(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    rows = event_rows(source, month)
    headlines = {"events": len(rows), "active_users": len({r["User Email"] for r in rows if r["User Email"]})}
    days = days_of(month)
    per_day = Counter((r["Category"], r["Time"].date().isoformat()) for r in rows)
    users, counts = _top(Counter(r["User"] for r in rows if r["User"] is not None))
    charts: Charts = {
        "Events per day by category": (
            days,
            {c: [per_day[(c, d)] for d in days] for c in sorted({r["Category"] for r in rows})},
        ),
        "Most active users": (users, {"Events": counts}),
    }
    return headlines, charts


def invoices(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    rows = invoice_rows(source, month)
    statuses = ["open", "partly_paid", "paid", "overdue"]
    headlines = {
        "open_balance": sum((r["Balance"] for r in rows), ZERO),
        "overdue_balance": sum((r["Balance"] for r in rows if r["Status"] == "overdue"), ZERO),
        "paid_invoices": sum(r["Status"] == "paid" for r in rows),
    }
    charts: Charts = {
        "Invoice amounts and balances by status": (
            statuses,
            {
                label: [sum((r[label] for r in rows if r["Status"] == s), ZERO) for s in statuses]
                for label in ("Balance", "Amount")
            },
        ),
        "Invoices by status": (
            statuses,
            {"Invoices": [sum(r["Status"] == s for r in rows) for s in statuses]},
        ),
    }
    return headlines, charts


def accounts(source: SourceOracle, month: str) -> tuple[dict, Charts]:
    """Root totals over the rows an export lists (active, or a root with a balance), by type."""
    roots = [
        a
        for a in chart_with_balances(source, month)
        if a["depth"] == 0 and (a["is_active"] or a["balance"] != 0)
    ]
    totals = {t: sum((a["balance"] for a in roots if a["type"] == t), ZERO) for t in ACCOUNT_TYPES}
    right = totals["liabilities"] + totals["equity"] + totals["income"] - totals["expenses"]
    charts: Charts = {
        "Balances by account type": (
            [t.title() for t in ACCOUNT_TYPES],
            {"Balance": [totals[t] for t in ACCOUNT_TYPES]},
        ),
        "Accounting identity": (
            ["Assets", "Liabilities + equity + income - expenses"],
            {"Balance": [totals["assets"], right]},
        ),
    }
    return totals, charts


def bills(source: SourceOracle, month: str) -> Charts:
    """Straight from the journal lines, not the bills' debit/credit pairing: each debit line's amount
    and each credit line's (unsigned) on its account's type, by week of the month (days 1-7, 8-14,
    ...). Equal to the rows' sums per side because the seed's entries balance."""
    first, last = dt.date.fromisoformat(f"{month}-01"), source.month_bounds(month)[2]
    types = {a["id"]: a["type"] for a in source.rows(schema.accounts)}
    dates = {e["id"]: e["date"] for e in source.rows(schema.journal_entries) if first <= e["date"] <= last}
    weeks = days_of(month)[::7]
    sums: dict[str, dict[tuple[str, int], Decimal]] = {
        "Debits": defaultdict(lambda: ZERO),
        "Credits": defaultdict(lambda: ZERO),
    }
    for line in source.rows(schema.journal_lines):
        if line["entry_id"] in dates:
            side = "Debits" if line["amount"] > 0 else "Credits"
            week = (dates[line["entry_id"]] - first).days // 7
            sums[side][(types[line["account_id"]], week)] += money(abs(line["amount"]))
    return {
        f"{side} per week by account type": (
            [f"Week of {w}" for w in weeks],
            {kind.title(): [totals[(kind, n)] for n in range(len(weeks))] for kind in ACCOUNT_TYPES},
        )
        for side, totals in sums.items()
    }


OVERVIEWS = {
    "sales": sales,
    "customers": customers,
    "inventory": inventory,
    "audit_log": audit_log,
    "invoices": invoices,
    "accounts": accounts,
}
