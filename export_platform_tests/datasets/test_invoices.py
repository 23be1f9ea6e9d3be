"""Invoices: payments allocated to charges first-in first-out, and each invoice's status and days
overdue on the as-of day, on small explicit frames; and the check against the customers' balances."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from export_platform.datasets.checks import invoices_match_customer_balances
from export_platform.datasets.customers import credit_aging, settled_charges
from export_platform.datasets.invoices import invoices_as_of
from export_platform.source.column_types import MONEY

AS_OF = dt.date(2026, 10, 31)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def days_before(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def transactions(*rows: tuple[int, int, str, str, dt.datetime, dt.datetime | None]) -> pl.DataFrame:
    """Rows of (id, customer, kind, amount, occurred_at, due_at), as the source query reads them."""
    frame = pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64,
            "customer_id": pl.Int64,
            "kind": pl.String,
            "amount": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
            "due_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    return frame.with_columns(pl.col("amount").cast(MONEY))


def invoices(txns: pl.DataFrame, timezone: str = "UTC") -> dict[int, dict]:
    frame = invoices_as_of(settled_charges(txns), AS_OF, timezone)
    return {row["invoice_id"]: row for row in frame.iter_rows(named=True)}


def figures(invoice: dict) -> tuple:
    return invoice["paid"], invoice["balance"], invoice["status"], invoice["days_overdue"]


def charge(txn_id: int, amount: str, issued: int, due: int | None, customer: int = 1) -> tuple:
    """A charge ``issued`` days before the as-of day, due ``due`` days after it (negative: before)."""
    due_at = None if due is None else at(AS_OF + dt.timedelta(days=due))
    return (txn_id, customer, "charge", amount, at(days_before(issued)), due_at)


def payment(txn_id: int, amount: str, paid: int, customer: int = 1) -> tuple:
    return (txn_id, customer, "payment", amount, at(days_before(paid)), None)


def test_a_payment_exactly_covering_a_charge_pays_it() -> None:
    got = invoices(transactions(charge(1, "100.00", 40, -10), payment(2, "100.00", 5)))
    assert figures(got[1]) == (D("100.00"), D("0.00"), "paid", 0)


def test_a_partial_payment_leaves_a_balance_partly_paid_or_overdue() -> None:
    got = invoices(
        transactions(
            charge(1, "100.00", 10, 20),
            payment(2, "30.00", 5),
            charge(3, "80.00", 50, -20, customer=2),
            payment(4, "50.00", 5, customer=2),
        )
    )
    assert figures(got[1]) == (D("30.00"), D("70.00"), "partly_paid", 0)
    assert figures(got[3]) == (D("50.00"), D("30.00"), "overdue", 20)  # overdue wins over partly paid


def test_payments_settle_the_oldest_charges_first_whatever_the_order_read() -> None:
    rows = [
        charge(7, "30.00", 20, 10),
        charge(3, "50.00", 60, -30),
        payment(9, "65.00", 1),
        charge(5, "40.00", 40, -10),
    ]
    got = invoices(transactions(*rows))
    assert figures(got[3]) == (D("50.00"), D("0.00"), "paid", 0)  # the oldest, paid whole
    assert figures(got[5]) == (D("15.00"), D("25.00"), "overdue", 10)
    assert figures(got[7]) == (D("0.00"), D("30.00"), "open", 0)
    assert invoices(transactions(*reversed(rows))) == got


def test_charges_at_one_instant_are_settled_lower_id_first() -> None:
    same = at(days_before(10))
    rows = [
        (8, 1, "charge", "60.00", same, at(AS_OF + dt.timedelta(days=20))),
        (4, 1, "charge", "40.00", same, at(AS_OF + dt.timedelta(days=20))),
        payment(9, "50.00", 5),
    ]
    for order in (rows, rows[::-1]):
        got = invoices(transactions(*order))
        assert figures(got[4]) == (D("40.00"), D("0.00"), "paid", 0)
        assert figures(got[8]) == (D("10.00"), D("50.00"), "partly_paid", 0)


def test_an_overpayment_pays_every_charge_and_leaves_a_credit_on_no_invoice() -> None:
    txns = transactions(charge(1, "20.00", 30, 0), charge(2, "5.00", 20, 10), payment(3, "40.00", 10))
    got = invoices(txns)
    assert figures(got[1]) == (D("20.00"), D("0.00"), "paid", 0)
    assert figures(got[2]) == (D("5.00"), D("0.00"), "paid", 0)
    assert credit_aging(txns, AS_OF, "UTC")["outstanding_balance"].item() == D("-15.00")


def test_without_payments_a_charge_is_open_until_its_due_day_has_passed() -> None:
    got = invoices(
        transactions(
            charge(1, "50.00", 5, 25),
            charge(2, "50.00", 30, 0),  # due on the as-of day: not yet overdue
            charge(3, "50.00", 31, -1),  # due the day before: one day overdue
            charge(4, "50.00", 400, None),  # no due day: never overdue
        )
    )
    assert [figures(got[i]) for i in (1, 2, 3, 4)] == [
        (D("0.00"), D("50.00"), "open", 0),
        (D("0.00"), D("50.00"), "open", 0),
        (D("0.00"), D("50.00"), "overdue", 1),
        (D("0.00"), D("50.00"), "open", 0),
    ]


@pytest.mark.parametrize(
    ("due_at", "timezone", "expected"),
    [
        # 00:30 on Oct 31 in Tokyo is still Oct 30 in UTC: due on the as-of day, not overdue.
        (dt.datetime(2026, 10, 30, 15, 30, tzinfo=dt.UTC), "Asia/Tokyo", ("open", 0)),
        (dt.datetime(2026, 10, 30, 15, 30, tzinfo=dt.UTC), "UTC", ("overdue", 1)),
        # 23:30 on Oct 30 in New York is already Oct 31 in UTC: one day overdue there.
        (dt.datetime(2026, 10, 31, 3, 30, tzinfo=dt.UTC), "America/New_York", ("overdue", 1)),
        (dt.datetime(2026, 10, 31, 3, 30, tzinfo=dt.UTC), "UTC", ("open", 0)),
    ],
)
def test_due_days_are_in_the_tenants_calendar(due_at: dt.datetime, timezone: str, expected: tuple) -> None:
    txns = transactions((1, 1, "charge", "10.00", at(days_before(40)), due_at))
    invoice = invoices(txns, timezone)[1]
    assert (invoice["status"], invoice["days_overdue"]) == expected
    assert invoice["due_date"] == due_at.astimezone(ZoneInfo(timezone)).date()


def customer_balances(*balances: tuple[int, str]) -> pl.LazyFrame:
    frame = pl.DataFrame(
        balances, schema={"customer_id": pl.Int64, "outstanding_balance": pl.String}, orient="row"
    )
    return frame.with_columns(pl.col("outstanding_balance").cast(MONEY)).lazy()


def test_invoice_balances_are_checked_against_the_customers_balances() -> None:
    txns = transactions(
        charge(1, "100.00", 40, -10),
        payment(2, "30.00", 5),
        charge(3, "20.00", 30, 0, customer=2),
        payment(4, "25.00", 10, customer=2),  # a credit of 5.00
    )
    frame = invoices_as_of(settled_charges(txns), AS_OF, "UTC").lazy()
    customers = customer_balances((1, "70.00"), (2, "-5.00"), (3, "0.00"))
    result = invoices_match_customer_balances(frame, customers)
    assert result.passed
    assert {
        k: result.metadata[k].value for k in ("customers_outstanding", "customers_credit", "invoices_balance")
    } == {
        "customers_outstanding": "65.00",
        "customers_credit": "-5.00",
        "invoices_balance": "70.00",
    }
    wrong = invoices_match_customer_balances(frame, customer_balances((1, "70.01"), (2, "-5.00")))
    assert not wrong.passed and wrong.metadata["customers_not_matching"].value == 1
    orphan = invoices_match_customer_balances(frame, customer_balances((1, "70.00")))
    assert not orphan.passed  # customer 2's invoice belongs to no customer of the partition
