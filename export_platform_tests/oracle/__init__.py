"""Expected figures computed the plain way: rows fetched one by one through SQLAlchemy, arithmetic in
Python ``Decimal``. It shares nothing with the Arrow/Polars path the datasets take."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from export_platform.source import schema
from export_platform.source.url import SourceUrl, create_engine


class SourceOracle:
    def __init__(self, url: str, tenant: str) -> None:
        self.tenant = tenant
        self.engine = create_engine(SourceUrl(url))
        self.timezone = ZoneInfo(self.rows(schema.tenants, id_column="id")[0]["timezone"])

    def rows(self, table: sa.Table, id_column: str = "tenant_id") -> list[dict]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).where(table.c[id_column] == self.tenant))
            return [{k: _normalise(table.c[k], v) for k, v in row._mapping.items()} for row in result]

    def month_bounds(self, month: str) -> tuple[dt.datetime, dt.datetime, dt.date]:
        first = dt.datetime.strptime(month, "%Y-%m").date()
        following = (first + dt.timedelta(days=32)).replace(day=1)
        start = dt.datetime.combine(first, dt.time(), self.timezone).astimezone(dt.UTC)
        end = dt.datetime.combine(following, dt.time(), self.timezone).astimezone(dt.UTC)
        return start, end, following - dt.timedelta(days=1)

    def sales_in(self, month: str) -> list[dict]:
        start, end, _ = self.month_bounds(month)
        return [s for s in self.rows(schema.sales) if start <= s["sold_at"] < end]

    def revenue_and_profit(self, month: str) -> tuple[Decimal, Decimal]:
        completed = {s["id"]: s for s in self.sales_in(month) if s["status"] == "completed"}
        revenue = sum((s["subtotal"] - s["discount"] for s in completed.values()), Decimal("0"))
        cogs = sum(
            (
                i["quantity"] * i["unit_cost"]
                for i in self.rows(schema.sale_items)
                if i["sale_id"] in completed
            ),
            Decimal("0"),
        )
        return revenue, revenue - cogs

    def aging(self, customer_id: int, month: str) -> dict[str, Decimal]:
        """FIFO: payments settle the oldest charges; remainders aged from charge date to month end."""
        _, end, last_day = self.month_bounds(month)
        txns = [
            t
            for t in self.rows(schema.credit_transactions)
            if t["customer_id"] == customer_id and t["occurred_at"] < end
        ]
        paid = sum((t["amount"] for t in txns if t["kind"] == "payment"), Decimal("0"))
        buckets = dict.fromkeys(("aging_0_30", "aging_31_60", "aging_61_90", "aging_over_90"), Decimal("0"))
        charged = Decimal("0")
        for charge in sorted((t for t in txns if t["kind"] == "charge"), key=lambda t: t["occurred_at"]):
            charged += charge["amount"]
            remaining = min(charge["amount"], max(Decimal("0"), charged - paid))
            age = (last_day - charge["occurred_at"].astimezone(self.timezone).date()).days
            name = (
                "aging_0_30"
                if age <= 30
                else "aging_31_60"
                if age <= 60
                else "aging_61_90"
                if age <= 90
                else "aging_over_90"
            )
            buckets[name] += remaining
        buckets["outstanding_balance"] = charged - paid
        return buckets

    def account_balance(self, account_name: str, month: str) -> Decimal:
        """Debits less credits over the account and its sub-accounts, flipped for credit-normal types."""
        _, _, last_day = self.month_bounds(month)
        accounts = self.rows(schema.accounts)
        target = next(a for a in accounts if a["name"] == account_name)
        family = {
            a["id"] for a in accounts if a["name"] == account_name or a["name"].startswith(account_name + ":")
        }
        entries = {e["id"] for e in self.rows(schema.journal_entries) if e["date"] <= last_day}
        total = sum(
            (
                line["amount"]
                for line in self.rows(schema.journal_lines)
                if line["account_id"] in family and line["entry_id"] in entries
            ),
            Decimal("0"),
        )
        return total if target["type"] in ("assets", "expenses") else -total

    def stock_on_hand(self, product_id: int, storefront_id: int, month: str) -> int:
        _, end, _ = self.month_bounds(month)
        return sum(
            m["quantity_delta"]
            for m in self.rows(schema.stock_movements)
            if m["product_id"] == product_id
            and m["storefront_id"] == storefront_id
            and m["occurred_at"] < end
        )

    def ids(self, table: sa.Table) -> set[int]:
        return {row["id"] for row in self.rows(table)}


def _normalise(column: sa.Column, value):
    """SQLite hands back money as text and timestamps as naive UTC; make both sources look alike."""
    if value is not None and isinstance(column.type, sa.Numeric):
        return Decimal(str(value))
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if isinstance(value, float):
        raise AssertionError(f"float in source data: {value!r}")
    return value
