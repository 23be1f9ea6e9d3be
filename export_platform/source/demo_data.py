"""Deterministic, realistic demo data for the source database.

The same ``SeedPlan`` always produces the same rows: every tenant draws from its own NumPy generator
seeded with ``(plan.seed, tenant number)``. Money is generated in integer cents and converted to exact
decimals at the end, so no value ever carries float noise.

The data is built to exercise every report: customers with balances in each aging bucket, some over
their credit limit and some blocked; stock that ends each month in, low or out of stock across several
storefronts; audit events of many types; a balanced double-entry ledger on a three-level chart of
accounts; and text in many scripts with commas, quotes, newlines and leading ``= + - @``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from export_platform.source.column_types import MONEY

TENANT_PROFILES = (
    ("acme", "Acme Café & Co.", "America/New_York", "USD"),
    ("globex", "グローベックス株式会社", "Asia/Tokyo", "JPY"),
    ("initech", "شركة إنيتك للتجارة", "Asia/Riyadh", "SAR"),
    ("umbrella", 'Umbrella, "Ltd"', "Europe/Lisbon", "EUR"),
    ("hooli", "Hooli Société Générale", "Europe/Paris", "EUR"),
    ("soylent", "Soylent Ωmega", "Australia/Sydney", "AUD"),
    ("stark", "Stark Industries", "America/Los_Angeles", "USD"),
    ("wayne", "Wayne Enterprises", "America/Chicago", "USD"),
)

# Text that breaks naive exporters: separators, quotes, newlines, formula prefixes, many scripts.
AWKWARD_TEXT = (
    "Widget, large",
    'Gadget "Pro" 12"',
    "Multi-line\nlabel",
    "=SUM(A1:A9)",
    "+44 hotline",
    "-50% clearance",
    "@mention tag",
    "Café crème brûlée",
    "Crème fraîche 500g",
    "北京烤鸭礼盒",
    "抹茶ラテ",
    "한국 김치",
    "قهوة عربية",
    "חלב טרי",
    "Ελληνικό μέλι",
    "Русский чай",
    "Tab\tseparated",
    "Plain tea",
    "Oat milk",
    "Sourdough loaf",
)
PERSON_NAMES = (
    "Ana María Núñez",
    "José O'Brien",
    "山田 太郎",
    "李小龙",
    "محمد عبد الله",
    "דוד לוי",
    "Zoë Ørsted",
    "Björn Ægirsson",
    "Ngozi Okonkwo",
    "Priya Raghunathan",
    '=HYPERLINK("x")',
    "Smith, John",
    "Dmitri Ivanov",
    "Ελένη Παπαδοπούλου",
    "Nguyễn Văn An",
)
CATEGORIES = ("Beverages", "Bakery", "Dairy", "Household", "Electronics", "Snacks, Sweets", "Produce")
STOREFRONT_NAMES = ("Main Street", "Harbour, North", 'Airport "Terminal 2"', "Centro Histórico", "駅前店")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "POS-Terminal/4.2 (Linux; Android 14)",
    "python-requests/2.32",
)
ACCOUNT_TREE = (
    # (name, type, is_active); depth and parent follow from the colon-separated name.
    ("Assets", "assets", True),
    ("Assets:Cash", "assets", True),
    ("Assets:Cash:Till", "assets", True),
    ("Assets:Bank", "assets", True),
    ("Assets:Bank:Operating", "assets", True),
    ("Assets:Inventory", "assets", True),
    ("Assets:Inventory:Goods", "assets", True),
    ("Liabilities", "liabilities", True),
    ("Liabilities:Payables", "liabilities", True),
    ("Liabilities:Payables:Suppliers", "liabilities", True),
    ("Liabilities:Tax", "liabilities", True),
    ("Liabilities:Tax:Sales Tax", "liabilities", True),
    ("Equity", "equity", True),
    ("Equity:Capital", "equity", True),
    ("Equity:Capital:Owner", "equity", True),
    ("Income", "income", True),
    ("Income:Sales", "income", True),
    ("Income:Sales:Retail", "income", True),
    ("Income:Services", "income", True),
    ("Income:Services:コンサルティング", "income", True),
    ("Expenses", "expenses", True),
    ("Expenses:Cost of Sales", "expenses", True),
    ("Expenses:Cost of Sales:Goods", "expenses", True),
    ("Expenses:Premises", "expenses", True),
    ("Expenses:Premises:Rent", "expenses", True),
    ("Expenses:Payroll", "expenses", True),
    ("Expenses:Payroll:Wages", "expenses", True),
    ("Expenses:Office", "expenses", True),
    ("Expenses:Office:Supplies", "expenses", True),
    ("Expenses:Office:Café & Meals", "expenses", True),
    ("Expenses:Office:Legacy", "expenses", False),
)
CREDIT_HISTORY_DAYS = 180
EVENT_TYPES = (
    "sale.created",
    "sale.completed",
    "sale.cancelled",
    "sale.refunded",
    "payment.received",
    "stock.received",
    "stock.adjusted",
    "customer.created",
    "credit.charged",
    "credit.paid",
    "user.login",
    "user.login_failed",
    "user.logout",
    "price.changed",
    "settings.updated",
)


@dataclass(frozen=True)
class SeedPlan:
    """What to generate. The months run up to and including ``end_month``."""

    tenants: int = 3
    months: int = 3
    sales_per_day: int = 20
    end_month: str = field(default_factory=lambda: previous_month(dt.date.today()))
    seed: int = 20261001

    def __post_init__(self) -> None:
        if not 1 <= self.tenants <= 10_000:
            raise ValueError("tenants must be between 1 and 10000")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if not 0 <= self.sales_per_day <= 1_000_000:
            raise ValueError("sales_per_day must be between 0 and 1000000")
        dt.datetime.strptime(self.end_month, "%Y-%m")

    @property
    def first_day(self) -> dt.date:
        year, month = map(int, self.end_month.split("-"))
        index = year * 12 + month - 1 - (self.months - 1)
        return dt.date(index // 12, index % 12 + 1, 1)

    @property
    def end_day(self) -> dt.date:
        """The day after the last generated day."""
        year, month = map(int, self.end_month.split("-"))
        return dt.date(year + month // 12, month % 12 + 1, 1)


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.strftime("%Y-%m")


def tenant_profile(number: int) -> tuple[str, str, str, str]:
    if number < len(TENANT_PROFILES):
        return TENANT_PROFILES[number]
    _slug, name, timezone, currency = TENANT_PROFILES[number % len(TENANT_PROFILES)]
    return f"tenant-{number:04d}", f"{name} #{number}", timezone, currency


class _Ids:
    """Hands out globally unique ids per table, so tenants never share a primary key."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, table: str, count: int) -> np.ndarray:
        start = self._next.get(table, 1)
        self._next[table] = start + count
        return np.arange(start, start + count, dtype=np.int64)


def _money(column: str) -> pl.Expr:
    """Integer cents to an exact ``Decimal(18, 2)``."""
    return (pl.col(column).cast(MONEY) / 100).cast(MONEY).alias(column)


def _round_half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    return (numerator * 2 + denominator) // (2 * denominator)


def _local_to_utc(frame: pl.DataFrame, column: str, timezone: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(column)
        .dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
    )


def generate(plan: SeedPlan) -> Iterator[dict[str, pl.DataFrame]]:
    """Yield every table's rows, one tenant at a time, so memory holds one tenant at most."""
    ids = _Ids()
    for number in range(plan.tenants):
        yield _TenantGenerator(plan, number, ids).tables()


class _TenantGenerator:
    def __init__(self, plan: SeedPlan, number: int, ids: _Ids) -> None:
        self.plan = plan
        self.ids = ids
        self.rng = np.random.default_rng([plan.seed, number])
        self.slug, self.name, self.timezone, self.currency = tenant_profile(number)
        self.days = pl.date_range(plan.first_day, plan.end_day - dt.timedelta(days=1), eager=True)
        self.start = dt.datetime.combine(plan.first_day, dt.time())

    def tables(self) -> dict[str, pl.DataFrame]:
        out: dict[str, pl.DataFrame] = {}
        out["tenants"] = pl.DataFrame(
            {
                "id": [self.slug],
                "name": [self.name],
                "timezone": [self.timezone],
                "currency": [self.currency],
                "is_active": [True],
                "created_at": [dt.datetime(2023, 1, 1, tzinfo=dt.UTC)],
            }
        ).with_columns(pl.col("created_at").dt.cast_time_unit("us"))
        out["users"] = self._users()
        out["storefronts"] = self._storefronts()
        out["products"] = self._products()
        out["customers"] = self._customers()
        out["sales"], out["sale_items"] = self._sales(out)
        out["stock_movements"] = self._stock_movements(out)
        out["credit_transactions"] = self._credit_transactions(out["customers"])
        out["accounts"] = self._accounts()
        out["journal_entries"], out["journal_lines"] = self._ledger(out)
        out["audit_events"] = self._audit_events(out)
        return {
            name: frame.with_columns(pl.lit(self.slug).alias("tenant_id"))
            for name, frame in out.items()
            if name != "tenants"
        } | {"tenants": out["tenants"]}

    # -- reference data ---------------------------------------------------------------------------

    def _pick(self, pool: tuple[str, ...], count: int) -> list[str]:
        return [pool[i] for i in self.rng.integers(0, len(pool), count)]

    def _users(self) -> pl.DataFrame:
        count = 5
        names = [PERSON_NAMES[(i * 3) % len(PERSON_NAMES)] for i in range(count)]
        return pl.DataFrame(
            {
                "id": self.ids.take("users", count),
                "email": [f"user{i + 1}@{self.slug}.example" for i in range(count)],
                "name": names,
            }
        )

    def _storefronts(self) -> pl.DataFrame:
        count = 3
        return pl.DataFrame(
            {"id": self.ids.take("storefronts", count), "name": list(STOREFRONT_NAMES[:count])}
        )

    def _products(self) -> pl.DataFrame:
        count = max(40, min(2000, self.plan.sales_per_day * 2))
        base = [AWKWARD_TEXT[i % len(AWKWARD_TEXT)] for i in range(count)]
        names = [
            name if i < len(AWKWARD_TEXT) else f"{name} #{i // len(AWKWARD_TEXT)}"
            for i, name in enumerate(base)
        ]
        cost = self.rng.integers(100, 20_000, count)
        price = _round_half_up(cost * self.rng.integers(115, 161, count), 100)
        return pl.DataFrame(
            {
                "id": self.ids.take("products", count),
                "sku": [f"SKU-{i + 1:05d}" for i in range(count)],
                "barcode": [f"{v:013d}" for v in self.rng.integers(10**12, 10**13 - 1, count)],
                "name": names,
                "category": self._pick(CATEGORIES, count),
                "unit_cost": cost,
                "unit_price": price,
                "reorder_level": self.rng.integers(5, 21, count),
            }
        ).with_columns(_money("unit_cost"), _money("unit_price"))

    def _customers(self) -> pl.DataFrame:
        count = 30
        wholesale = self.rng.random(count) < 0.2
        limit = np.where(
            wholesale, self.rng.integers(50, 500, count) * 10_000, self.rng.integers(5, 50, count) * 10_000
        )
        tight = self.rng.random(count) < 0.2  # small limits that their charges will exceed
        limit = np.where(tight, 20_000, limit)
        names = [
            f"{PERSON_NAMES[i % len(PERSON_NAMES)]}" + (f" ({i})" if i >= len(PERSON_NAMES) else "")
            for i in range(count)
        ]
        return pl.DataFrame(
            {
                "id": self.ids.take("customers", count),
                "name": names,
                "email": [f"customer{i + 1}@mail.example" for i in range(count)],
                "phone": [f"+1 (555) 01{i % 10}-{1000 + i:04d}" for i in range(count)],
                "address": [
                    f"{10 + i} Rue de l'Église,\nApt {i}, Paris"
                    if i % 3 == 0
                    else f"{i} Main St, Springfield"
                    for i in range(count)
                ],
                "customer_type": np.where(wholesale, "wholesale", "retail"),
                "credit_limit": limit,
                "is_active": np.arange(count) % 10 != 9,
                "is_blocked": np.arange(count) % 10 == 7,
                "created_at": [
                    self.start - dt.timedelta(days=int(d)) for d in self.rng.integers(200, 600, count)
                ],
            }
        ).with_columns(
            _money("credit_limit"), pl.col("created_at").dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        )

    # -- sales ------------------------------------------------------------------------------------

    def _sales(self, tables: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
        products, customers = tables["products"], tables["customers"]
        per_day = self.rng.poisson(self.plan.sales_per_day, len(self.days))
        count = int(per_day.sum())
        day_index = np.repeat(np.arange(len(self.days)), per_day)
        seconds = self.rng.integers(8 * 3600, 21 * 3600, count)
        has_customer = self.rng.random(count) < 0.4
        customer_row = self.rng.integers(0, len(customers), count)
        customer_type = customers["customer_type"].to_numpy()[customer_row]
        sale_type = np.where(
            has_customer & (customer_type == "wholesale"),
            "wholesale",
            np.where(self.rng.random(count) < 0.15, "online", "retail"),
        )
        status = self.rng.choice(["completed", "cancelled", "refunded"], count, p=[0.92, 0.04, 0.04])
        method = np.where(
            has_customer & (self.rng.random(count) < 0.3),
            "credit",
            self.rng.choice(["cash", "card", "mobile"], count, p=[0.3, 0.55, 0.15]),
        )
        sale_ids = self.ids.take("sales", count)

        items_per_sale = np.minimum(1 + self.rng.poisson(2, count), 8)
        item_count = int(items_per_sale.sum())
        item_sale_row = np.repeat(np.arange(count), items_per_sale)
        weights = 1.0 / np.arange(1, len(products) + 1)
        product_row = self.rng.choice(len(products), item_count, p=weights / weights.sum())
        quantity = self.rng.integers(1, 5, item_count) * np.where(
            sale_type[item_sale_row] == "wholesale", 5, 1
        )
        price_cents = (
            (products["unit_price"].cast(pl.Float64) * 100).round().cast(pl.Int64).to_numpy()[product_row]
        )
        cost_cents = (
            (products["unit_cost"].cast(pl.Float64) * 100).round().cast(pl.Int64).to_numpy()[product_row]
        )
        gross = quantity * price_cents
        item_discount = np.where(self.rng.random(item_count) < 0.1, _round_half_up(gross, 10), 0)
        line_total = gross - item_discount

        subtotal = np.bincount(item_sale_row, weights=line_total, minlength=count).astype(np.int64)
        discount = np.where(self.rng.random(count) < 0.05, _round_half_up(subtotal, 20), 0)
        tax_basis_points = 825
        tax = _round_half_up((subtotal - discount) * tax_basis_points, 10_000)
        total = subtotal - discount + tax
        paid = np.where(method == "credit", np.where(self.rng.random(count) < 0.5, 0, total // 2), total)
        paid = np.where(status == "cancelled", 0, paid)

        sales = pl.DataFrame(
            {
                "id": sale_ids,
                "storefront_id": tables["storefronts"]["id"].to_numpy()[self.rng.integers(0, 3, count)],
                "customer_id": pl.Series(customers["id"].to_numpy()[customer_row]).set(
                    pl.Series(~has_customer), None
                ),
                "user_id": tables["users"]["id"].to_numpy()[
                    self.rng.integers(0, len(tables["users"]), count)
                ],
                "day": self.days.gather(day_index),
                "seconds": seconds,
                "sale_type": sale_type,
                "status": status,
                "subtotal": subtotal,
                "discount": discount,
                "tax": tax,
                "total": total,
                "amount_paid": paid,
                "payment_method": method,
            }
        )
        sales = sales.with_columns(
            (pl.col("day").cast(pl.Datetime("us")) + pl.duration(seconds=pl.col("seconds"))).alias("sold_at"),
            pl.format(
                "{}-{}-{}",
                pl.lit(self.slug[:3].upper()),
                pl.col("day").dt.strftime("%Y%m%d"),
                (pl.int_range(pl.len()).over("day") + 1).cast(pl.String).str.zfill(5),
            ).alias("receipt_number"),
        )
        sales = _local_to_utc(sales, "sold_at", self.timezone).drop("day", "seconds")
        sales = sales.with_columns(
            *(_money(c) for c in ("subtotal", "discount", "tax", "total", "amount_paid"))
        )

        items = pl.DataFrame(
            {
                "id": self.ids.take("sale_items", item_count),
                "sale_id": sale_ids[item_sale_row],
                "product_id": products["id"].to_numpy()[product_row],
                "quantity": quantity.astype(np.int64),
                "unit_price": price_cents,
                "unit_cost": cost_cents,
                "discount": item_discount,
                "line_total": line_total,
            }
        ).with_columns(*(_money(c) for c in ("unit_price", "unit_cost", "discount", "line_total")))
        return sales, items

    # -- stock ------------------------------------------------------------------------------------

    def _stock_movements(self, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """Sales draw stock down daily; a receipt at each month's start tops it up to a target that
        leaves each product and storefront in, low or (in the last month) out of stock."""
        sold = (
            tables["sale_items"]
            .join(
                tables["sales"].select("id", "storefront_id", "status", "sold_at"),
                left_on="sale_id",
                right_on="id",
            )
            .filter(pl.col("status") == "completed")
            .with_columns(pl.col("sold_at").dt.convert_time_zone(self.timezone).dt.date().alias("day"))
            .group_by("product_id", "storefront_id", "day")
            .agg(pl.col("quantity").sum().alias("sold"))
        )
        pairs = (
            tables["products"]
            .select(pl.col("id").alias("product_id"), "reorder_level", "unit_cost")
            .join(tables["storefronts"].select(pl.col("id").alias("storefront_id")), how="cross")
        )
        pairs = pairs.with_columns(
            profile=pl.Series(self.rng.choice(["in", "low", "out"], len(pairs), p=[0.8, 0.12, 0.08])),
            headroom=pl.Series(self.rng.integers(10, 60, len(pairs))),
            low_level=pl.Series(self.rng.integers(0, 1_000_000, len(pairs))),
        ).with_columns(low_level=pl.col("low_level") % pl.col("reorder_level") + 1)

        months = pl.date_range(
            self.plan.first_day, self.plan.end_day - dt.timedelta(days=1), "1mo", eager=True
        )
        movements = []
        stock = pairs.select("product_id", "storefront_id").with_columns(on_hand=pl.lit(0, pl.Int64))
        for position, month_start in enumerate(months):
            month_end = (month_start + dt.timedelta(days=32)).replace(day=1)
            consumed = (
                sold.filter(pl.col("day").is_between(month_start, month_end, closed="left"))
                .group_by("product_id", "storefront_id")
                .agg(pl.col("sold").sum())
            )
            last = position == len(months) - 1
            plan = (
                pairs.join(stock, on=["product_id", "storefront_id"])
                .join(consumed, on=["product_id", "storefront_id"], how="left")
                .with_columns(pl.col("sold").fill_null(0))
                .with_columns(
                    target=pl.when(pl.lit(last) & (pl.col("profile") == "out"))
                    .then(0)
                    .when(pl.lit(last) & (pl.col("profile") == "low"))
                    .then(pl.col("low_level"))
                    .otherwise(pl.col("reorder_level") + pl.col("headroom"))
                )
                .with_columns(change=pl.col("target") + pl.col("sold") - pl.col("on_hand"))
            )
            # A top-up at 07:00 on the 1st, or a write-off at 22:00 on the last day when stock is too high.
            movements.append(
                plan.filter(pl.col("change") != 0).select(
                    "product_id",
                    "storefront_id",
                    pl.col("change").alias("quantity_delta"),
                    pl.when(pl.col("change") > 0).then(pl.col("unit_cost")).alias("unit_cost"),
                    pl.when(pl.col("change") > 0)
                    .then(pl.lit("receipt"))
                    .otherwise(pl.lit("adjustment"))
                    .alias("reason"),
                    pl.when(pl.col("change") > 0)
                    .then(pl.lit(dt.datetime.combine(month_start, dt.time(7))))
                    .otherwise(pl.lit(dt.datetime.combine(month_end - dt.timedelta(days=1), dt.time(22))))
                    .alias("occurred_at"),
                )
            )
            stock = plan.select("product_id", "storefront_id", pl.col("target").alias("on_hand"))
        movements.append(
            sold.select(
                "product_id",
                "storefront_id",
                (-pl.col("sold")).alias("quantity_delta"),
                pl.lit(None, MONEY).alias("unit_cost"),
                pl.lit("sale").alias("reason"),
                (pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=21, minutes=30)).alias(
                    "occurred_at"
                ),
            )
        )
        frame = pl.concat(movements).sort("occurred_at", "product_id", "storefront_id")
        frame = _local_to_utc(
            frame.with_columns(pl.col("occurred_at").cast(pl.Datetime("us"))), "occurred_at", self.timezone
        )
        return frame.with_columns(id=pl.Series(self.ids.take("stock_movements", len(frame))))

    # -- credit -----------------------------------------------------------------------------------

    def _credit_transactions(self, customers: pl.DataFrame) -> pl.DataFrame:
        """Monthly charges; each customer pays after a habitual delay (or never), so open balances
        land in every aging bucket at every month end."""
        # Credit history starts half a year before the sales so balances can age past 90 days.
        start = self.start - dt.timedelta(days=CREDIT_HISTORY_DAYS)
        horizon_days = (self.plan.end_day - self.plan.first_day).days + CREDIT_HISTORY_DAYS
        lag_choices = np.array([0, 15, 45, 75, 110, 10_000])
        rows: list[tuple[int, str, int, dt.datetime, dt.datetime | None, str]] = []
        limit_cents = (customers["credit_limit"].cast(pl.Float64) * 100).round().cast(pl.Int64).to_numpy()
        for row, customer_id in enumerate(customers["id"].to_list()):
            if self.rng.random() < 0.2:
                continue
            lag = int(self.rng.choice(lag_choices))
            count = int(self.rng.poisson(3 * self.plan.months + 18)) + 1
            day = np.sort(self.rng.integers(0, horizon_days, count))
            amount = self.rng.integers(2_000, max(limit_cents[row] // 3, 2_001) + 2_000, count)
            for d, a in zip(day, amount, strict=True):
                at = start + dt.timedelta(days=int(d), hours=int(self.rng.integers(9, 18)))
                rows.append(
                    (customer_id, "charge", int(a), at, at + dt.timedelta(days=30), f"INV-{customer_id}-{d}")
                )
                paid_day = int(d) + lag
                if paid_day < horizon_days:
                    part = int(a) if self.rng.random() < 0.8 else int(a) // 2
                    paid_at = start + dt.timedelta(days=paid_day, hours=12)
                    rows.append(
                        (customer_id, "payment", part, paid_at, None, f'PAY, ref "{customer_id}-{d}"')
                    )
        frame = pl.DataFrame(
            rows,
            schema={
                "customer_id": pl.Int64,
                "kind": pl.String,
                "amount": pl.Int64,
                "occurred_at": pl.Datetime("us"),
                "due_at": pl.Datetime("us"),
                "reference": pl.String,
            },
            orient="row",
        ).sort("occurred_at", "customer_id", "kind")
        frame = _local_to_utc(_local_to_utc(frame, "occurred_at", self.timezone), "due_at", self.timezone)
        return frame.with_columns(
            _money("amount"), id=pl.Series(self.ids.take("credit_transactions", len(frame)))
        )

    # -- ledger -----------------------------------------------------------------------------------

    def _accounts(self) -> pl.DataFrame:
        ids = self.ids.take("accounts", len(ACCOUNT_TREE))
        by_name = {name: int(i) for (name, _, _), i in zip(ACCOUNT_TREE, ids, strict=True)}
        rows = []
        for (name, kind, active), account_id in zip(ACCOUNT_TREE, ids, strict=True):
            parts = name.split(":")
            ancestors = [by_name[":".join(parts[: i + 1])] for i in range(len(parts))]
            parent = by_name[":".join(parts[:-1])] if len(parts) > 1 else None
            rows.append(
                (
                    int(account_id),
                    name,
                    kind,
                    self.currency,
                    parent,
                    "/".join(map(str, ancestors)),
                    len(parts) - 1,
                    active,
                )
            )
        return pl.DataFrame(
            rows,
            schema={
                "id": pl.Int64,
                "name": pl.String,
                "type": pl.String,
                "currency": pl.String,
                "parent_id": pl.Int64,
                "path": pl.String,
                "depth": pl.Int64,
                "is_active": pl.Boolean,
            },
            orient="row",
        )

    def _ledger(self, tables: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Daily takings and cost of sales, plus monthly rent, payroll, purchases and office costs."""
        account = dict(zip(tables["accounts"]["name"], tables["accounts"]["id"], strict=True))
        cents = lambda c: (pl.col(c).cast(pl.Float64) * 100).round().cast(pl.Int64)  # noqa: E731
        completed = (
            tables["sales"]
            .filter(pl.col("status") == "completed")
            .with_columns(pl.col("sold_at").dt.convert_time_zone(self.timezone).dt.date().alias("day"))
        )
        daily = completed.group_by("day").agg(
            cents("total").sum().alias("total"),
            (cents("subtotal") - cents("discount")).sum().alias("net"),
            cents("tax").sum().alias("tax"),
        )
        cogs = (
            tables["sale_items"]
            .join(completed.select("id", "day"), left_on="sale_id", right_on="id")
            .group_by("day")
            .agg((pl.col("quantity") * cents("unit_cost")).sum().alias("cogs"))
        )
        entries: list[tuple[dt.date, str, str | None, list[tuple[str, int]]]] = [
            (
                self.plan.first_day,
                "Opening balance: owner's capital",
                "OPEN-1",
                [("Assets:Bank:Operating", 5_000_000), ("Equity:Capital:Owner", -5_000_000)],
            ),
        ]
        for day, total, net, tax in daily.sort("day").iter_rows():
            entries.append(
                (
                    day,
                    f"Daily takings, {day:%d %b %Y}",
                    f"Z-{day:%Y%m%d}",
                    [
                        ("Assets:Cash:Till", total),
                        ("Income:Sales:Retail", -net),
                        ("Liabilities:Tax:Sales Tax", -tax),
                    ],
                )
            )
        for day, amount in cogs.sort("day").iter_rows():
            entries.append(
                (
                    day,
                    "=Cost of goods sold",
                    None,
                    [("Expenses:Cost of Sales:Goods", amount), ("Assets:Inventory:Goods", -amount)],
                )
            )
        months = pl.date_range(
            self.plan.first_day, self.plan.end_day - dt.timedelta(days=1), "1mo", eager=True
        )
        for month_start in months:
            last = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            month_cogs = int(cogs.filter(pl.col("day").is_between(month_start, last))["cogs"].sum() or 0)
            takings = int(daily.filter(pl.col("day").is_between(month_start, last))["total"].sum() or 0)
            rent, wages = int(self.rng.integers(150_000, 300_000)), int(self.rng.integers(400_000, 900_000))
            supplies, meals = int(self.rng.integers(2_000, 40_000)), int(self.rng.integers(1_000, 20_000))
            consulting = int(self.rng.integers(10_000, 90_000))
            entries += [
                (
                    month_start,
                    'Rent, "Main Street" premises',
                    f"RENT-{month_start:%Y%m}",
                    [("Expenses:Premises:Rent", rent), ("Assets:Bank:Operating", -rent)],
                ),
                (
                    month_start,
                    "Stock purchase from suppliers",
                    f"PO-{month_start:%Y%m}",
                    [("Assets:Inventory:Goods", month_cogs), ("Liabilities:Payables:Suppliers", -month_cogs)],
                ),
                (
                    last,
                    "Payroll\nmonthly run",
                    f"PAY-{month_start:%Y%m}",
                    [("Expenses:Payroll:Wages", wages), ("Assets:Bank:Operating", -wages)],
                ),
                (
                    last,
                    "Supplier payment",
                    None,
                    [
                        ("Liabilities:Payables:Suppliers", month_cogs * 9 // 10),
                        ("Assets:Bank:Operating", -(month_cogs * 9 // 10)),
                    ],
                ),
                (
                    last,
                    "Till deposit to bank",
                    f"DEP-{month_start:%Y%m}",
                    [
                        ("Assets:Bank:Operating", takings * 95 // 100),
                        ("Assets:Cash:Till", -(takings * 95 // 100)),
                    ],
                ),
                (
                    last,
                    "+Office supplies & café, split",
                    None,
                    [
                        ("Expenses:Office:Supplies", supplies),
                        ("Expenses:Office:Café & Meals", meals),
                        ("Assets:Cash:Till", -((supplies + meals) // 2)),
                        ("Assets:Bank:Operating", -(supplies + meals - (supplies + meals) // 2)),
                    ],
                ),
                (
                    last,
                    "コンサルティング収入 (consulting)",
                    f"SRV-{month_start:%Y%m}",
                    [
                        ("Assets:Bank:Operating", consulting),
                        ("Income:Services:コンサルティング", -consulting),
                    ],
                ),
            ]
        entry_ids = self.ids.take("journal_entries", len(entries))
        line_count = sum(len(lines) for *_, lines in entries)
        line_ids = iter(self.ids.take("journal_lines", line_count).tolist())
        journal_entries = pl.DataFrame(
            {
                "id": entry_ids,
                "date": [e[0] for e in entries],
                "description": [e[1] for e in entries],
                "reference_id": [e[2] for e in entries],
            },
            schema={"id": pl.Int64, "date": pl.Date, "description": pl.String, "reference_id": pl.String},
        )
        lines = pl.DataFrame(
            [
                (next(line_ids), int(entry_id), account[name], amount, self.currency)
                for entry_id, (*_, entry_lines) in zip(entry_ids, entries, strict=True)
                for name, amount in entry_lines
            ],
            schema={
                "id": pl.Int64,
                "entry_id": pl.Int64,
                "account_id": pl.Int64,
                "amount": pl.Int64,
                "currency": pl.String,
            },
            orient="row",
        ).with_columns(_money("amount"))
        return journal_entries, lines

    # -- audit ------------------------------------------------------------------------------------

    def _audit_events(self, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
        users = tables["users"]["id"].to_numpy()
        sales = tables["sales"]
        final_type = pl.concat_str(pl.lit("sale."), pl.col("status"))
        sale_events = pl.concat(
            [
                sales.select(
                    pl.lit("sale.created").alias("event_type"),
                    "user_id",
                    pl.col("id").cast(pl.String).alias("entity_id"),
                    (pl.col("sold_at") - pl.duration(minutes=3)).alias("occurred_at"),
                    pl.struct(receipt="receipt_number", items=pl.lit("pending"))
                    .struct.json_encode()
                    .alias("event_data"),
                ),
                sales.select(
                    final_type.alias("event_type"),
                    "user_id",
                    pl.col("id").cast(pl.String).alias("entity_id"),
                    "sold_at",
                    pl.struct(
                        receipt="receipt_number",
                        total=pl.col("total").cast(pl.String),
                        method="payment_method",
                    )
                    .struct.json_encode()
                    .alias("event_data"),
                ).rename({"sold_at": "occurred_at"}),
                sales.filter((pl.col("payment_method") == "credit") & (pl.col("amount_paid") > 0)).select(
                    pl.lit("payment.received").alias("event_type"),
                    "user_id",
                    pl.col("id").cast(pl.String).alias("entity_id"),
                    (pl.col("sold_at") + pl.duration(seconds=30)).alias("occurred_at"),
                    pl.struct(receipt="receipt_number", paid=pl.col("amount_paid").cast(pl.String))
                    .struct.json_encode()
                    .alias("event_data"),
                ),
            ]
        ).with_columns(pl.lit("sale").alias("entity_type"))
        movements = (
            tables["stock_movements"]
            .filter(pl.col("reason") != "sale")
            .select(
                pl.when(pl.col("reason") == "receipt")
                .then(pl.lit("stock.received"))
                .otherwise(pl.lit("stock.adjusted"))
                .alias("event_type"),
                pl.lit(None, pl.Int64).alias("user_id"),
                pl.col("product_id").cast(pl.String).alias("entity_id"),
                "occurred_at",
                pl.struct("storefront_id", "quantity_delta").struct.json_encode().alias("event_data"),
                pl.lit("product").alias("entity_type"),
            )
        )
        credit = tables["credit_transactions"].select(
            pl.concat_str(
                pl.lit("credit."),
                pl.when(pl.col("kind") == "charge").then(pl.lit("charged")).otherwise(pl.lit("paid")),
            ).alias("event_type"),
            pl.lit(None, pl.Int64).alias("user_id"),
            pl.col("customer_id").cast(pl.String).alias("entity_id"),
            "occurred_at",
            pl.struct(amount=pl.col("amount").cast(pl.String), reference="reference")
            .struct.json_encode()
            .alias("event_data"),
            pl.lit("customer").alias("entity_type"),
        )
        session_days = np.repeat(np.arange(len(self.days)), 2)
        count = len(session_days)
        login_type = np.where(self.rng.random(count) < 0.05, "user.login_failed", "user.login")
        misc_types = self.rng.choice(
            ["user.logout", "price.changed", "settings.updated", "customer.created"], count
        )
        notes = self._pick(AWKWARD_TEXT + PERSON_NAMES, count)
        sessions = pl.DataFrame(
            {
                "event_type": np.concatenate([login_type, misc_types]),
                "user_id": np.concatenate([users[self.rng.integers(0, len(users), count)]] * 2),
                "entity_id": [None] * (2 * count),
                "day": self.days.gather(np.concatenate([session_days, session_days])),
                "seconds": np.concatenate(
                    [
                        self.rng.integers(7 * 3600, 9 * 3600, count),
                        self.rng.integers(12 * 3600, 22 * 3600, count),
                    ]
                ),
                "event_data": [json.dumps({"note": n, "ok": True}, ensure_ascii=False) for n in notes * 2],
                "entity_type": ["user"] * (2 * count),
            },
            schema_overrides={"entity_id": pl.String},
        ).with_columns(
            (pl.col("day").cast(pl.Datetime("us")) + pl.duration(seconds=pl.col("seconds"))).alias(
                "occurred_at"
            )
        )
        sessions = _local_to_utc(sessions.drop("day", "seconds"), "occurred_at", self.timezone)
        events = pl.concat([sale_events, movements, credit, sessions], how="diagonal_relaxed").sort(
            "occurred_at", "event_type", "entity_id"
        )
        count = len(events)
        ipv4 = [f"203.0.113.{v}" for v in self.rng.integers(1, 255, count)]
        ipv6 = [f"2001:db8::{v:x}" for v in self.rng.integers(1, 65535, count)]
        return events.with_columns(
            id=pl.Series(self.ids.take("audit_events", count)),
            ip_address=pl.Series(np.where(self.rng.random(count) < 0.8, ipv4, ipv6)),
            user_agent=pl.Series(self._pick(USER_AGENTS, count)),
        )
