"""The business rules as pure functions over small, explicit frames."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from export_platform.datasets.accounts import accounting_equation, exported_accounts, rolled_up_balances
from export_platform.datasets.audit_log import INVALID_JSON_MARK, readable_json
from export_platform.datasets.bills import pair_journal_lines, unbalanced_entries
from export_platform.datasets.checks import (
    belongs_to_tenant,
    duplicated_rows,
    sales_match_line_items,
    unique_key,
)
from export_platform.datasets.customers import credit_aging
from export_platform.datasets.exact import average_of, percent, percent_of
from export_platform.datasets.inventory import stock_status
from export_platform.datasets.sale_items import line_profit, whole_sales, with_product_and_storefront
from export_platform.datasets.window import ReportWindow, Tenant
from export_platform.source.column_types import MONEY

UTC = dt.UTC


def money_frame(data: dict, money_columns: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(data)
    return frame.with_columns(pl.col(c).cast(pl.String).cast(MONEY) for c in money_columns)


def test_aging_bucket_edges_and_fifo() -> None:
    as_of = dt.date(2026, 10, 31)

    def at(days_before: int) -> dt.datetime:
        return dt.datetime.combine(as_of - dt.timedelta(days=days_before), dt.time(12), UTC)

    txns = money_frame(
        {
            "id": list(range(1, 10)),
            "customer_id": [1] * 7 + [2, 2],
            "kind": ["charge"] * 6 + ["payment", "charge", "payment"],
            "amount": ["100.00", "10.00", "20.00", "30.00", "40.00", "50.00", "105.00", "5.00", "9.00"],
            "occurred_at": [at(120), at(91), at(90), at(61), at(31), at(30), at(1), at(10), at(5)],
        },
        ("amount",),
    )
    aged = credit_aging(txns, as_of, "UTC").sort("customer_id")
    first = aged.row(0, named=True)
    # The 105.00 payment settles the 100.00 charge and 5.00 of the 10.00 one (oldest first).
    assert first["aging_over_90"] == D("5.00")  # day 91 remainder; day 120 fully paid
    assert first["aging_61_90"] == D("50.00")  # day 90 and day 61
    assert first["aging_31_60"] == D("40.00")  # day 31
    assert first["aging_0_30"] == D("50.00")  # day 30
    assert first["outstanding_balance"] == D("145.00")
    overpaid = aged.row(1, named=True)
    assert overpaid["outstanding_balance"] == D("-4.00")
    assert all(overpaid[b] == 0 for b in ("aging_0_30", "aging_31_60", "aging_61_90", "aging_over_90"))


def test_aging_uses_the_tenants_calendar() -> None:
    # 23:30 UTC on Oct 1 is already Oct 2 in Tokyo: 29 days before Oct 31, not 30.
    txns = money_frame(
        {
            "id": [1],
            "customer_id": [1],
            "kind": ["charge"],
            "amount": ["1.00"],
            "occurred_at": [dt.datetime(2026, 9, 30, 23, 30, tzinfo=UTC)],
        },
        ("amount",),
    )
    assert credit_aging(txns, dt.date(2026, 10, 31), "UTC")["aging_31_60"].item() == D("1.00")
    assert credit_aging(txns, dt.date(2026, 10, 31), "Asia/Tokyo")["aging_0_30"].item() == D("1.00")


def journal(lines: list[tuple[int, int, str, str]]) -> pl.DataFrame:
    return money_frame(
        {
            "entry_id": [e for e, *_ in lines],
            "line_id": [i for _, i, *_ in lines],
            "account": [a for *_, a, _ in lines],
            "amount": [m for *_, m in lines],
            "date": [dt.date(2026, 10, 1)] * len(lines),
            "description": ["x"] * len(lines),
            "reference_id": [None] * len(lines),
            "currency": ["USD"] * len(lines),
            "tenant_id": ["t"] * len(lines),
        },
        ("amount",),
    )


def test_bill_pairing() -> None:
    lines = journal(
        [
            (1, 1, "Cash", "110.00"),
            (1, 2, "Sales", "-100.00"),
            (1, 3, "Tax", "-10.00"),  # one debit
            (2, 4, "Rent", "50.00"),
            (2, 5, "Fees", "5.00"),
            (2, 6, "Bank", "-55.00"),  # one credit
            (3, 7, "A", "10.00"),
            (3, 8, "B", "10.00"),
            (3, 9, "C", "-15.00"),
            (3, 10, "D", "-5.00"),  # many-many
        ]
    )
    bills = pair_journal_lines(lines)
    rows = {
        r["line_id"]: (r["debit_account"], r["credit_account"], r["amount"])
        for r in bills.iter_rows(named=True)
    }
    assert rows == {
        2: ("Cash", "Sales", D("100.00")),
        3: ("Cash", "Tax", D("10.00")),
        4: ("Rent", "Bank", D("50.00")),
        5: ("Fees", "Bank", D("5.00")),
        7: ("A", None, D("10.00")),
        8: ("B", None, D("10.00")),
        9: (None, "C", D("15.00")),
        10: (None, "D", D("5.00")),
    }
    assert unbalanced_entries(bills).is_empty()


def test_unbalanced_entry_is_reported() -> None:
    bills = pair_journal_lines(
        journal([(1, 1, "A", "10.00"), (1, 2, "B", "-9.99"), (1, 3, "C", "5.00"), (1, 4, "D", "-4.00")])
    )
    bad = unbalanced_entries(bills)
    assert bad["entry_id"].to_list() == [1]
    assert (bad["debits"].item(), bad["credits"].item()) == (D("15.00"), D("13.99"))


def test_roll_up_and_accounting_equation() -> None:
    accounts = pl.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5, 6],
            "account_type": ["assets", "assets", "assets", "income", "income", "expenses"],
            "path": ["1", "1/2", "1/3", "4", "4/5", "6"],
            "depth": [0, 1, 1, 0, 1, 0],
        }
    )
    lines = money_frame(
        {"account_id": [2, 3, 5, 6], "amount": ["70.00", "30.00", "-120.00", "20.00"]}, ("amount",)
    )
    balances = dict(rolled_up_balances(accounts, lines).select("account_id", "balance").iter_rows())
    assert balances == {
        1: D("100.00"),
        2: D("70.00"),
        3: D("30.00"),
        4: D("120.00"),
        5: D("120.00"),
        6: D("20.00"),
    }
    rolled = rolled_up_balances(accounts, lines)
    assert accounting_equation(rolled)["balanced"] is True
    broken = rolled.with_columns(
        pl.when(pl.col("account_id") == 1)
        .then(pl.col("balance") + 1)
        .otherwise(pl.col("balance"))
        .alias("balance")
    )
    assert accounting_equation(broken)["balanced"] is False


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(-2, "out_of_stock"), (0, "out_of_stock"), (1, "low_stock"), (5, "low_stock"), (6, "in_stock")],
)
def test_stock_status_edges(quantity: int, expected: str) -> None:
    frame = pl.DataFrame({"q": [quantity], "r": [5]})
    assert frame.select(stock_status(pl.col("q"), pl.col("r"))).item() == expected


def test_readable_json() -> None:
    assert readable_json('{"b":1,"a":"北京"}') == '{"a": "北京", "b": 1}'
    assert readable_json("{not json") == INVALID_JSON_MARK + "{not json"
    assert readable_json(None) is None


def test_month_window_across_dst_and_current_month() -> None:
    lisbon = Tenant("t", "T", "Europe/Lisbon", "EUR", True)
    window = ReportWindow.for_month(lisbon, "2026-10", now=dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert window.start_utc == dt.datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # WEST, UTC+1
    assert window.end_utc == dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # WET, UTC+0 after Oct 25
    assert window.as_of_utc == window.end_utc and window.as_of_date == dt.date(2026, 10, 31)
    running = ReportWindow.for_month(lisbon, "2026-11", now=dt.datetime(2026, 11, 21, 10, tzinfo=UTC))
    assert running.as_of_utc == dt.datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert running.as_of_date == dt.date(2026, 11, 21)


def test_checks_fail_on_foreign_rows_and_duplicates() -> None:
    frame = pl.DataFrame({"id": [1, 2, 2], "tenant_id": ["a", "a", "b"]})
    assert belongs_to_tenant(frame, "a").passed is False
    assert belongs_to_tenant(frame.head(2), "a").passed is True
    assert unique_key(frame, ("id",)).passed is False
    assert unique_key(frame, ("id", "tenant_id")).passed is True


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], 0),
        ([7], 0),
        ([3, 1, 2], 0),
        ([1, 2, 2], 2),
        ([5, 5, 5, 1, 9, 9], 5),
        ([2, None, None, 1], 2),  # nulls share a key too (the group_by path)
        ([-4, 2**62, -4, 2**62], 4),
    ],
)
def test_duplicated_rows_counts_every_row_that_shares_its_key(ids: list, expected: int) -> None:
    frame = pl.DataFrame(
        {"id": ids, "tenant_id": ["a"] * len(ids)}, schema={"id": pl.Int64, "tenant_id": pl.String}
    )
    assert duplicated_rows(frame.lazy(), ("id",)) == expected
    by_hash = frame.group_by("id").len().filter(pl.col("len") > 1)["len"].sum()
    assert duplicated_rows(frame.lazy(), ("id", "tenant_id")) == by_hash == expected


def test_lines_get_their_own_product_and_storefront_in_order_and_unknown_ones_are_left_out() -> None:
    lines = pl.DataFrame(
        {
            "item_id": [5, 3, 9, 1, 7, 2],
            "product_id": [11, 10, 99, 11, None, 10],
            "storefront_id": [2, 1, 1, 8, 1, 2],
        }
    )
    products = pl.DataFrame(
        {
            "product_id": [10, 11],
            "sku": ["A-1", "B-2"],
            "product": ["Apple", "Bread"],
            "category": ["fruit", "bakery"],
        }
    )
    storefronts = pl.DataFrame({"storefront_id": [1, 2], "storefront": ["Main St", "Harbour"]})
    joined = with_product_and_storefront(lines, products, storefronts)
    assert joined.select("item_id", "sku", "product", "category", "storefront").rows() == [
        (5, "B-2", "Bread", "bakery", "Harbour"),
        (3, "A-1", "Apple", "fruit", "Main St"),
        (2, "A-1", "Apple", "fruit", "Harbour"),
    ]
    for no_products in (products.clear(), products.filter(pl.col("product_id") == 12)):
        empty = with_product_and_storefront(lines, no_products, storefronts)
        assert empty.is_empty() and empty.schema["sku"] == pl.String


def test_ratios_are_rounded_once_half_away_from_zero() -> None:
    """372.33 / 1108.29 = 33.594999...%: 33.59, where cutting to four decimals first gave 33.60."""
    frame = money_frame(
        {"part": ["372.33", "0.01", "-0.01", "5", "1"], "whole": ["1108.29", "40", "40", "0", "3"]},
        ("part", "whole"),
    )
    got = frame.select(percent_of(pl.col("part"), pl.col("whole")).alias("pct"))["pct"].to_list()
    assert got == [D("33.59"), D("0.03"), D("-0.03"), None, D("33.33")]
    assert percent(D("372.33"), D("1108.29")) == D("33.59") and percent(D("-0.01"), D("40")) == D("-0.03")
    averages = money_frame({"total": ["10.01", "0.05", "-0.05"], "count": [2, 10, 10]}, ("total",))
    assert averages.select(average_of(pl.col("total"), pl.col("count")).alias("avg"))["avg"].to_list() == [
        D("5.01"),
        D("0.01"),
        D("-0.01"),
    ]


def test_a_sale_discount_is_shared_over_its_lines_to_the_cent() -> None:
    items = money_frame(
        {
            "sale_id": [1, 1, 1, 2, 3, 3],
            "status": ["completed"] * 3 + ["cancelled", "completed", "completed"],
            "sale_discount": ["1.00"] * 3 + ["0.50", "0.05", "0.05"],
            "line_total": ["3.33", "3.33", "3.34", "5.00", "0", "0"],
            "quantity": [1, 2, 1, 1, 1, 1],
            "unit_cost": ["1.00"] * 6,
        },
        ("sale_discount", "line_total", "unit_cost"),
    )
    lines = line_profit(items)
    # Running shares: 1.00 x 3.33/10 = 0.333 -> 0.33; x 6.66/10 = 0.666 -> 0.67; x 10/10 = 1.00.
    assert lines["sale_discount_share"].to_list() == [
        D("0.33"),
        D("0.34"),
        D("0.33"),
        D("0.50"),
        D("0"),
        D("0.05"),
    ]
    assert lines["revenue"].to_list() == [D("3.00"), D("2.99"), D("3.01"), D("0"), D("0"), D("-0.05")]
    assert lines["cogs"].to_list() == [D("1.00"), D("2.00"), D("1.00"), D("0"), D("1.00"), D("1.00")]
    assert lines["profit"].to_list() == [D("2.00"), D("0.99"), D("2.01"), D("0"), D("-1.00"), D("-1.05")]


def test_batches_of_line_items_are_regrouped_into_whole_sales() -> None:
    lines = pl.DataFrame({"sale_id": [1, 1, 1, 2, 3, 3]})
    cuts = [lines.slice(0, 2), lines.slice(2, 3), lines.slice(5, 1), lines.slice(6, 0)]
    assert [b["sale_id"].to_list() for b in whole_sales(iter(cuts))] == [[1, 1, 1, 2], [3, 3]]
    assert [b.height for b in whole_sales(iter([lines.slice(0, 0)]))] == [0]


def test_sales_against_their_line_items() -> None:
    sales = money_frame(
        {"sale_id": [1, 2], "revenue": ["9.00", "0"], "cogs": ["4.00", "0"], "profit": ["5.00", "0"]},
        ("revenue", "cogs", "profit"),
    )
    items = money_frame(
        {
            "sale_id": [1, 1, 2],
            "revenue": ["4.00", "5.00", "0"],
            "cogs": ["2.00", "2.00", "0"],
            "profit": ["2.00", "3.00", "0"],
        },
        ("revenue", "cogs", "profit"),
    )
    assert sales_match_line_items(sales.lazy(), items.lazy()).passed
    # A line that still carries profit on a sale that shows none, and a line of no sale of the month.
    bad = items.with_columns(
        pl.when(pl.col("sale_id") == 2).then(D("1.00")).otherwise(pl.col("profit")).alias("profit")
    )
    orphan = pl.concat([items, items.head(1).with_columns(sale_id=pl.lit(9, pl.Int64))])
    for wrong in (bad, orphan):
        result = sales_match_line_items(sales.lazy(), wrong.lazy())
        assert not result.passed and result.metadata["sales_not_matching"].value == 1


def test_accounts_exports_leave_out_inactive_accounts_but_keep_their_balances() -> None:
    accounts = pl.DataFrame(
        {
            "account_id": [1, 2, 3],
            "account_name": ["Expenses", "Expenses:Office", "Expenses:Legacy"],
            "account_type": ["expenses"] * 3,
            "parent_account": [None, "Expenses", "Expenses"],
            "is_active": [True, True, False],
            "depth": [0, 1, 1],
            "path": ["1", "1/2", "1/3"],
        }
    )
    lines = money_frame({"account_id": [2, 3], "amount": ["10.00", "2.50"]}, ("amount",))
    balances = rolled_up_balances(accounts, lines)
    listed = exported_accounts(balances.lazy()).collect()
    assert listed["account_name"].to_list() == ["Expenses", "Expenses:Office"]
    assert listed.filter(pl.col("depth") == 0)["balance"].item() == D("12.50")


def test_discount_shares_match_a_plain_computation_on_random_sales() -> None:
    """Random sales (negative and zero line totals, sales whose lines sum to 0, negative discounts)
    against the rule worked out line by line with ``Fraction``: running share rounded half away from
    zero, less the lines before; the whole discount on the last line when the lines sum to 0."""
    import random
    from fractions import Fraction

    rng = random.Random(7)
    rows = []
    for sale_id in range(400):
        discount = D(rng.randint(-300, 900)) / 100
        for _ in range(rng.randint(1, 5)):
            rows.append((sale_id, discount, D(rng.choice([0, rng.randint(-2000, 10000)])) / 100))
    items = money_frame(
        {
            "sale_id": [r[0] for r in rows],
            "status": ["completed"] * len(rows),
            "sale_discount": [str(r[1]) for r in rows],
            "line_total": [str(r[2]) for r in rows],
            "quantity": [1] * len(rows),
            "unit_cost": ["1.00"] * len(rows),
        },
        ("sale_discount", "line_total", "unit_cost"),
    )
    expected = []
    for sale_id in range(400):
        lines = [r for r in rows if r[0] == sale_id]
        base, running, before = sum(r[2] for r in lines), D(0), D(0)
        for position, (_, discount, total) in enumerate(lines):
            running += total
            if base:
                exact = Fraction(discount) * Fraction(running) / Fraction(base)
                whole = int(abs(exact) * 100 + Fraction(1, 2))
                shared = D(-whole if exact < 0 else whole) / 100
            else:
                shared = discount if position == len(lines) - 1 else D(0)
            expected.append(shared - before)
            before = shared
    assert line_profit(items)["sale_discount_share"].to_list() == expected
