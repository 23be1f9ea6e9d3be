"""The customers export recomputed from the source rows, as of the month's end.

Rules: every customer created before the month's end, by customer ID; balance is every charge less
every payment up to then, aged by the framework's FIFO rule (``SourceOracle.aging``); credit status
is blocked, else over_limit when the balance exceeds the limit, else good; sales history counts the
customer's completed sales up to the month's end, the average rounded once, half away from zero.
Credit transactions: each customer's latest 50, newest first, a charge before a payment at the same
instant, then the later-recorded (higher ID) first. The summary counts and sums the rows; "Over credit
limit" counts every customer whose balance exceeds the limit, blocked ones too.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.exact import money, rounded
from export_platform_tests.oracle.report import ExpectedReport, Row

ZERO = Decimal("0.00")
RECENT_TRANSACTIONS = 50
BUCKETS = {
    "aging_0_30": "0-30 Days",
    "aging_31_60": "31-60 Days",
    "aging_61_90": "61-90 Days",
    "aging_over_90": "90+ Days",
}
AGING_LABELS = ["Customer ID", "Name", "Type", "Credit Status", "Credit Limit", "Outstanding"]


def customer_rows(source: SourceOracle, month: str) -> list[Row]:
    _, end, _ = source.month_bounds(month)
    sales: dict[int, list[dict]] = defaultdict(list)
    for sale in source.rows(schema.sales):
        if sale["customer_id"] is not None and sale["status"] == "completed" and sale["sold_at"] < end:
            sales[sale["customer_id"]].append(sale)
    rows = []
    for customer in sorted(source.rows(schema.customers), key=lambda c: c["id"]):
        if customer["created_at"] >= end:
            continue
        aging = source.aging(customer["id"], month)
        balance = aging["outstanding_balance"]
        own = sales[customer["id"]]
        total = sum((s["total"] for s in own), ZERO)
        status = (
            "blocked"
            if customer["is_blocked"]
            else "over_limit"
            if balance > customer["credit_limit"]
            else "good"
        )
        last_sale = max((s["sold_at"] for s in own), default=None)
        rows.append(
            {
                "Customer ID": customer["id"],
                "Name": customer["name"],
                "Email": customer["email"],
                "Phone": customer["phone"],
                "Address": customer["address"],
                "Type": customer["customer_type"],
                "Active": customer["is_active"],
                "Blocked": customer["is_blocked"],
                "Credit Status": status,
                "Credit Limit": money(customer["credit_limit"]),
                "Outstanding": money(balance),
                "Available Credit": money(customer["credit_limit"] - balance),  # negative when over
                **{label: money(aging[name]) for name, label in BUCKETS.items()},
                "Sales": len(own),
                "Sales Total": money(total),
                "Average Sale": rounded(Fraction(total) / len(own)) if own else None,
                "Last Sale": last_sale.astimezone(source.timezone) if last_sale else None,
                "Customer Since": customer["created_at"].astimezone(source.timezone),
            }
        )
    return rows


def transaction_rows(source: SourceOracle, month: str, customers: list[Row]) -> list[Row]:
    _, end, _ = source.month_bounds(month)
    by_customer: dict[int, list[dict]] = defaultdict(list)
    for txn in source.rows(schema.credit_transactions):
        if txn["occurred_at"] < end:
            by_customer[txn["customer_id"]].append(txn)
    rows = []
    for customer in customers:
        own = by_customer[customer["Customer ID"]]
        # Stable sorts, last key first: newest first, a charge before a payment, higher ID first.
        own.sort(key=lambda t: t["id"], reverse=True)
        own.sort(key=lambda t: t["kind"])
        own.sort(key=lambda t: t["occurred_at"], reverse=True)
        for txn in own[:RECENT_TRANSACTIONS]:
            rows.append(
                {
                    "Customer ID": customer["Customer ID"],
                    "Customer": customer["Name"],
                    "Date": txn["occurred_at"].astimezone(source.timezone),
                    "Kind": txn["kind"],
                    "Amount": money(txn["amount"]),
                    "Due": txn["due_at"].astimezone(source.timezone) if txn["due_at"] else None,
                    "Reference": txn["reference"],
                }
            )
    return rows


def expected_customers(source: SourceOracle, month: str) -> ExpectedReport:
    rows = customer_rows(source, month)
    aging_sheet = [
        {label: row[label] for label in [*AGING_LABELS, *BUCKETS.values(), "Available Credit"]}
        for row in rows
    ]
    summary = [
        ("Customers", len(rows)),
        ("Active", sum(r["Active"] for r in rows)),
        ("Blocked", sum(r["Blocked"] for r in rows)),
        ("Over credit limit", sum(r["Outstanding"] > r["Credit Limit"] for r in rows)),  # blocked too
        ("Wholesale", sum(r["Type"] == "wholesale" for r in rows)),
        ("Retail", sum(r["Type"] == "retail" for r in rows)),
        ("With a balance", sum(r["Outstanding"] > 0 for r in rows)),
        ("Total outstanding", sum((r["Outstanding"] for r in rows), ZERO)),
        *((f"Aged {label}", sum((r[label] for r in rows), ZERO)) for label in BUCKETS.values()),
    ]
    tables = {
        "Customer Details": rows,
        "Credit Aging": aging_sheet,
        "Credit Transactions": transaction_rows(source, month, rows),
    }
    return ExpectedReport(tables, summary)
