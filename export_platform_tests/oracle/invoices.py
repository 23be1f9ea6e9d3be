"""The invoices export recomputed from the source rows, as of the month's end.

Rules: one invoice per credit charge, up to the month's end, of a customer created before it; by
customer ID, then charge time, then transaction ID. A customer's payments up to then are one pot,
spent on the charges in that order until it runs out, so each charge is paid ``min(amount, what is
left of the pot)``. Dates are days in the tenant's zone; an invoice with a balance is overdue when
its due day is before the month's last day, by the days between them. Status: paid with no balance,
else overdue, else partly_paid when something is paid, else open. By Customer sums each customer's
invoices; the summary counts and sums the invoices.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.exact import money
from export_platform_tests.oracle.report import ExpectedReport, Row

ZERO = Decimal("0.00")
STATUS_COUNTS = {
    "open": "Open invoices",
    "partly_paid": "Partly paid invoices",
    "paid": "Paid invoices",
    "overdue": "Overdue invoices",
}


def invoice_rows(source: SourceOracle, month: str) -> list[Row]:
    _, end, last_day = source.month_bounds(month)
    names = {c["id"]: c["name"] for c in source.rows(schema.customers) if c["created_at"] < end}
    charges: dict[int, list[dict]] = defaultdict(list)
    payments: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for txn in source.rows(schema.credit_transactions):
        if txn["occurred_at"] >= end or txn["customer_id"] not in names:
            continue
        if txn["kind"] == "charge":
            charges[txn["customer_id"]].append(txn)
        else:
            payments[txn["customer_id"]] += txn["amount"]
    rows = []
    for customer_id in sorted(charges):
        pot = payments[customer_id]
        for charge in sorted(charges[customer_id], key=lambda t: (t["occurred_at"], t["id"])):
            paid = min(charge["amount"], pot)
            pot -= paid
            balance = charge["amount"] - paid
            due = charge["due_at"].astimezone(source.timezone).date() if charge["due_at"] else None
            overdue = balance > 0 and due is not None and due < last_day
            status = "paid" if balance == 0 else "overdue" if overdue else "partly_paid" if paid else "open"
            rows.append(
                {
                    "Invoice ID": charge["id"],
                    "Reference": charge["reference"],
                    "Customer ID": customer_id,
                    "Customer": names[customer_id],
                    "Issued": charge["occurred_at"].astimezone(source.timezone).date(),
                    "Due": due,
                    "Amount": money(charge["amount"]),
                    "Paid": money(paid),
                    "Balance": money(balance),
                    "Status": status,
                    "Days Overdue": (last_day - due).days if overdue else 0,
                }
            )
    return rows


def customer_rows(invoices: list[Row]) -> list[Row]:
    by_customer: dict[int, list[Row]] = defaultdict(list)
    for invoice in invoices:
        by_customer[invoice["Customer ID"]].append(invoice)
    return [
        {
            "Customer ID": customer_id,
            "Customer": own[0]["Customer"],
            "Invoices": len(own),
            "Invoiced": sum((r["Amount"] for r in own), ZERO),
            "Paid": sum((r["Paid"] for r in own), ZERO),
            "Balance": sum((r["Balance"] for r in own), ZERO),
            "Overdue Balance": sum((r["Balance"] for r in own if r["Status"] == "overdue"), ZERO),
            "Most Days Overdue": max(r["Days Overdue"] for r in own),
        }
        for customer_id, own in sorted(by_customer.items())
    ]


def expected_invoices(source: SourceOracle, month: str) -> ExpectedReport:
    rows = invoice_rows(source, month)
    summary = [
        ("Invoices", len(rows)),
        *((label, sum(r["Status"] == status for r in rows)) for status, label in STATUS_COUNTS.items()),
        ("Total invoiced", sum((r["Amount"] for r in rows), ZERO)),
        ("Total paid", sum((r["Paid"] for r in rows), ZERO)),
        ("Total balance", sum((r["Balance"] for r in rows), ZERO)),
        ("Overdue balance", sum((r["Balance"] for r in rows if r["Status"] == "overdue"), ZERO)),
    ]
    return ExpectedReport({"Invoices": rows, "By Customer": customer_rows(rows)}, summary)
