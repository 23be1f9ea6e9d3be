"""The sales and line-item exports recomputed from the source rows.

Rules, as the sales module states them: receipt figures as rung up; for a completed sale revenue is
subtotal - discount, COGS the lines' units x unit cost, balance due total - paid; a cancelled or
refunded sale earns, costs and owes nothing, and a refunded one shows its amount paid as refunded.
A line's share of its sale's discount is the running share of the line totals, rounded half away from
zero, less the running share before it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.exact import money, percent, rounded
from export_platform_tests.oracle.report import ExpectedReport, Row

ZERO = Decimal("0.00")


def _sales_and_lines(source: SourceOracle, month: str) -> tuple[list[dict], dict[int, list[dict]]]:
    sales = sorted(source.sales_in(month), key=lambda s: (s["sold_at"], s["id"]))
    ids = {s["id"] for s in sales}
    lines: dict[int, list[dict]] = defaultdict(list)
    for item in sorted(source.rows(schema.sale_items), key=lambda i: i["id"]):
        if item["sale_id"] in ids:
            lines[item["sale_id"]].append(item)
    return sales, lines


def sale_rows(source: SourceOracle, month: str) -> list[Row]:
    sales, lines = _sales_and_lines(source, month)
    storefronts = {f["id"]: f["name"] for f in source.rows(schema.storefronts)}
    users = {u["id"]: u["name"] for u in source.rows(schema.users)}
    customers = {c["id"]: c["name"] for c in source.rows(schema.customers)}
    rows = []
    for sale in sales:
        items = lines[sale["id"]]
        completed = sale["status"] == "completed"
        revenue = sale["subtotal"] - sale["discount"] if completed else ZERO
        cogs = sum((i["quantity"] * i["unit_cost"] for i in items), ZERO) if completed else ZERO
        rows.append(
            {
                "Sale ID": sale["id"],
                "Receipt": sale["receipt_number"],
                "Sold At": sale["sold_at"].astimezone(source.timezone),
                "Storefront": storefronts[sale["storefront_id"]],
                "Cashier": users[sale["user_id"]],
                "Customer": customers.get(sale["customer_id"]),
                "Sale Type": sale["sale_type"],
                "Status": sale["status"],
                "Payment Method": sale["payment_method"],
                "Lines": len(items),
                "Units": sum(i["quantity"] for i in items),
                "Subtotal": money(sale["subtotal"]),
                "Discount": money(sale["discount"]),
                "Tax": money(sale["tax"]),
                "Total": money(sale["total"]),
                "Paid": money(sale["amount_paid"]),
                "Balance Due": money(sale["total"] - sale["amount_paid"]) if completed else ZERO,
                "Refunded": money(sale["amount_paid"]) if sale["status"] == "refunded" else ZERO,
                "Revenue": money(revenue),
                "COGS": money(cogs),
                "Profit": money(revenue - cogs),
                "Margin %": percent(revenue - cogs, revenue),
            }
        )
    return rows


def line_rows(source: SourceOracle, month: str) -> list[Row]:
    sales, lines = _sales_and_lines(source, month)
    storefronts = {f["id"]: f["name"] for f in source.rows(schema.storefronts)}
    products = {p["id"]: p for p in source.rows(schema.products)}
    rows = []
    for sale in sales:
        items = lines[sale["id"]]
        base = sum((i["line_total"] for i in items), ZERO)
        completed = sale["status"] == "completed"
        running, shared_before = ZERO, ZERO
        for position, item in enumerate(items):
            running += item["line_total"]
            if base:
                shared = rounded(Fraction(sale["discount"]) * Fraction(running) / Fraction(base))
            else:
                shared = sale["discount"] if position == len(items) - 1 else ZERO
            share, shared_before = shared - shared_before, shared
            revenue = item["line_total"] - share if completed else ZERO
            cogs = item["quantity"] * item["unit_cost"] if completed else ZERO
            product = products[item["product_id"]]
            rows.append(
                {
                    "Line ID": item["id"],
                    "Sale ID": sale["id"],
                    "Receipt": sale["receipt_number"],
                    "Sold At": sale["sold_at"].astimezone(source.timezone),
                    "Sale Status": sale["status"],
                    "Storefront": storefronts[sale["storefront_id"]],
                    "SKU": product["sku"],
                    "Product": product["name"],
                    "Category": product["category"],
                    "Quantity": item["quantity"],
                    "Unit Price": money(item["unit_price"]),
                    "Unit Cost": money(item["unit_cost"]),
                    "Discount": money(item["discount"]),
                    "Line Total": money(item["line_total"]),
                    "Sale Discount Share": money(share),
                    "Revenue": money(revenue),
                    "COGS": money(cogs),
                    "Profit": money(revenue - cogs),
                }
            )
    return rows


def _total(rows: list[Row], label: str, status: str | None = None) -> Decimal:
    return sum((r[label] for r in rows if status is None or r["Status"] == status), ZERO)


def expected_sales(source: SourceOracle, month: str) -> ExpectedReport:
    sales, lines = sale_rows(source, month), line_rows(source, month)
    done = [r for r in sales if r["Status"] == "completed"]
    revenue, profit = _total(done, "Revenue"), _total(done, "Profit")
    summary = [
        ("Sales", len(sales)),
        ("Completed sales", len(done)),
        ("Revenue (completed sales, net of discounts, excl. tax)", revenue),
        ("Discounts (completed sales)", _total(done, "Discount")),
        ("Tax (completed sales)", _total(done, "Tax")),
        ("Sales total incl. tax (completed sales)", _total(done, "Total")),
        ("Payments received (completed sales)", _total(done, "Paid")),
        ("Balance due (completed sales)", _total(done, "Balance Due")),
        ("Cost of goods sold (completed sales)", _total(done, "COGS")),
        ("Profit (completed sales)", profit),
        ("Margin % (completed sales)", percent(profit, revenue)),
        ("Cancelled sales", sum(r["Status"] == "cancelled" for r in sales)),
        ("Cancelled sales: receipt totals (not revenue)", _total(sales, "Total", "cancelled")),
        ("Refunded sales", sum(r["Status"] == "refunded" for r in sales)),
        ("Refunded sales: receipt totals (not revenue)", _total(sales, "Total", "refunded")),
        ("Refunded sales: amount paid back", _total(sales, "Refunded", "refunded")),
    ]
    return ExpectedReport({"Sales": sales, "Line Items": lines}, summary)


def expected_sale_items(source: SourceOracle, month: str) -> ExpectedReport:
    lines = line_rows(source, month)
    summary = [
        ("Lines", len(lines)),
        ("Units", sum(r["Quantity"] for r in lines)),
        ("Line totals (all lines, as rung up)", _total(lines, "Line Total")),
        ("Sale discounts shared over lines (all lines)", _total(lines, "Sale Discount Share")),
        ("Revenue (completed sales)", _total(lines, "Revenue")),
        ("Cost of goods sold (completed sales)", _total(lines, "COGS")),
        ("Profit (completed sales)", _total(lines, "Profit")),
    ]
    return ExpectedReport({"Line Items": lines}, summary)
