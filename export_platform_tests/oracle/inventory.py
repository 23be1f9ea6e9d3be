"""The inventory export recomputed from the stock movements, as of the month's end.

Rules: one row per product and storefront that has a movement before the month's end, by SKU then
storefront ID; on hand is the sum of those movements; out_of_stock at or below 0, low_stock at or
below the reorder level, else in_stock; values are on hand times the product's current unit cost and
unit price; the margin % is the unit margin over the unit price, rounded once, half away from zero.
A request's filters keep some of the stock rows (``keep``); the movement history, when asked for,
lists every movement of the month of a kept product and storefront, by time then movement ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.exact import money, percent
from export_platform_tests.oracle.report import ExpectedReport, Row

ZERO = Decimal("0.00")
STATUSES = {"in_stock": "In Stock", "low_stock": "Low Stock", "out_of_stock": "Out of Stock"}


def stock_rows(source: SourceOracle, month: str) -> list[Row]:
    _, end, _ = source.month_bounds(month)
    products = {p["id"]: p for p in source.rows(schema.products)}
    storefronts = {f["id"]: f["name"] for f in source.rows(schema.storefronts)}
    movements: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for movement in source.rows(schema.stock_movements):
        if movement["occurred_at"] < end:
            movements[movement["product_id"], movement["storefront_id"]].append(movement)
    rows = []
    for product_id, storefront_id in sorted(movements, key=lambda k: (products[k[0]]["sku"], k[1])):
        product = products[product_id]
        own = movements[product_id, storefront_id]
        on_hand = sum(m["quantity_delta"] for m in own)
        status = (
            "out_of_stock"
            if on_hand <= 0
            else "low_stock"
            if on_hand <= product["reorder_level"]
            else "in_stock"
        )
        margin = product["unit_price"] - product["unit_cost"]
        rows.append(
            {
                "Product ID": product_id,
                "Storefront ID": storefront_id,
                "SKU": product["sku"],
                "Barcode": product["barcode"],
                "Product": product["name"],
                "Category": product["category"],
                "Storefront": storefronts[storefront_id],
                "On Hand": on_hand,
                "Reorder Level": product["reorder_level"],
                "Stock Status": status,
                "Unit Cost": money(product["unit_cost"]),
                "Unit Price": money(product["unit_price"]),
                "Value at Cost": money(on_hand * product["unit_cost"]),  # at today's cost, not each receipt's
                "Value at Retail": money(on_hand * product["unit_price"]),
                "Unit Margin": money(margin),
                "Margin %": percent(margin, product["unit_price"]),
                "Last Movement": max(m["occurred_at"] for m in own).astimezone(source.timezone),
            }
        )
    return rows


def storefront_rows(rows: list[Row]) -> list[Row]:
    result = []
    for storefront_id in sorted({r["Storefront ID"] for r in rows}):
        own = [r for r in rows if r["Storefront ID"] == storefront_id]
        result.append(
            {
                "Storefront ID": storefront_id,
                "Storefront": own[0]["Storefront"],
                "Items": len(own),
                "Units": sum(r["On Hand"] for r in own),
                "Value at Cost": sum((r["Value at Cost"] for r in own), ZERO),
                "Value at Retail": sum((r["Value at Retail"] for r in own), ZERO),
                **{label: sum(r["Stock Status"] == s for r in own) for s, label in STATUSES.items()},
            }
        )
    return result


def every_row(row: Row) -> bool:
    return True


def movement_rows(source: SourceOracle, month: str, items: list[Row]) -> list[Row]:
    start, end, _ = source.month_bounds(month)
    products = {p["id"]: p for p in source.rows(schema.products)}
    storefronts = {f["id"]: f["name"] for f in source.rows(schema.storefronts)}
    listed = {(r["Product ID"], r["Storefront ID"]) for r in items}
    movements = sorted(
        (
            m
            for m in source.rows(schema.stock_movements)
            if start <= m["occurred_at"] < end and (m["product_id"], m["storefront_id"]) in listed
        ),
        key=lambda m: (m["occurred_at"], m["id"]),
    )
    return [
        {
            "Movement ID": m["id"],
            "Time": m["occurred_at"].astimezone(source.timezone),
            "SKU": products[m["product_id"]]["sku"],
            "Product": products[m["product_id"]]["name"],
            "Storefront": storefronts[m["storefront_id"]],
            "Reason": m["reason"],
            "Change": m["quantity_delta"],
            "Unit Cost": None if m["unit_cost"] is None else money(m["unit_cost"]),
        }
        for m in movements
    ]


def expected_inventory(
    source: SourceOracle, month: str, keep: Callable[[Row], bool] = every_row, movements: bool = False
) -> ExpectedReport:
    rows = [row for row in stock_rows(source, month) if keep(row)]
    summary = [
        ("Stock items (product x storefront)", len(rows)),
        ("Products", len({r["Product ID"] for r in rows})),
        ("Storefronts", len({r["Storefront ID"] for r in rows})),
        ("Units on hand", sum(r["On Hand"] for r in rows)),
        ("Value at cost", sum((r["Value at Cost"] for r in rows), ZERO)),
        ("Value at retail", sum((r["Value at Retail"] for r in rows), ZERO)),
        ("In stock", sum(r["Stock Status"] == "in_stock" for r in rows)),
        ("Low stock", sum(r["Stock Status"] == "low_stock" for r in rows)),
        ("Out of stock", sum(r["Stock Status"] == "out_of_stock" for r in rows)),
    ]
    tables = {"Stock Items": rows, "Storefronts": storefront_rows(rows)}
    if movements:
        tables["Stock Movements"] = movement_rows(source, month, rows)
    return ExpectedReport(tables, summary)
