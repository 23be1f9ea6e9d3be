"""Every figure of one month of two tenants, recomputed from the source rows by the oracle with plain
``Decimal`` and compared with the exported CSV and workbook cell by cell, on SQLite and PostgreSQL.

Sales, line items, customers (with their credit aging and transactions), inventory, audit log, bills,
accounts and invoices: the flat table of each CSV, and every sheet and Summary figure of each workbook.

The source is the demo seed made awkward on purpose: a zero-revenue day (every sale of it cancelled),
sales whose margins sit exactly on or just below a half hundredth (half away from zero, rounded once),
a sale discount that does not split evenly over its lines, an inactive account that carries a
balance, and invoices at the edges of their rules: due the month's last day or the day before, in the
tenant's calendar but not in UTC's; two charged at one instant with a payment that covers one and part
of the other; and a customer who paid more than was charged. Returns, cancellations and credit sales
come with the seed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from export_platform.source import schema as s
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl, create_engine
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.oracle.audit_log import expected_audit_log
from export_platform_tests.oracle.customers import RECENT_TRANSACTIONS, expected_customers
from export_platform_tests.oracle.inventory import expected_inventory
from export_platform_tests.oracle.invoices import expected_invoices
from export_platform_tests.oracle.ledger import expected_accounts, expected_bills
from export_platform_tests.oracle.report import ExpectedReport, compare_csv, compare_workbook
from export_platform_tests.oracle.sales import expected_sale_items, expected_sales
from export_platform_tests.support.materialize import materialize_exports
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.seed_plan import MONTH, OTHER_TENANT, TENANT, TEST_PLAN

TENANTS = (TENANT, OTHER_TENANT)
ZERO_REVENUE_DAY = dt.date(2026, 10, 3)
# (unit price, unit cost): margins of 33.59499...% (33.59, not 33.60 by way of 33.5950),
# 0.025% (0.03) and -0.025% (-0.03).
EDGE_MARGINS = (
    (Decimal("1108.29"), Decimal("735.96")),
    (Decimal("40.00"), Decimal("39.99")),
    (Decimal("40.00"), Decimal("40.01")),
)
ODD_DISCOUNT = Decimal("0.07")
INACTIVE_ACCOUNT = "Expenses:Office:Legacy"
DUE_DAY_BEFORE, DUE_LAST_DAY = "EDGE-DUE-OCT-30", "EDGE-DUE-OCT-31"
SAME_INSTANT = ("EDGE-SAME-INSTANT-1", "EDGE-SAME-INSTANT-2")
PAID_AHEAD = "EDGE-PAID-AHEAD"


def add_invoice_edges(conn: sa.Connection, tenant: str, zone: ZoneInfo, amount: Callable) -> None:
    """Three customers whose invoices sit on the edges the module docstring lists. Due times are late
    on October 30th and early on the 31st in the tenant's zone, so that in New York the first falls on
    the 31st in UTC and in Tokyo the second on the 30th."""

    def local(day: int, hour: int, minute: int = 0, month: int = 10) -> dt.datetime:
        return dt.datetime(2026, month, day, hour, minute, tzinfo=zone).astimezone(dt.UTC)

    customer = conn.execute(sa.select(sa.func.max(s.customers.c.id))).scalar() + 1
    txn = conn.execute(sa.select(sa.func.max(s.credit_transactions.c.id))).scalar() + 1
    for offset, name in enumerate(("Due Days Ltd", "Same Instant Ltd", "Paid Ahead Ltd")):
        conn.execute(
            s.customers.insert().values(
                id=customer + offset,
                tenant_id=tenant,
                name=name,
                email=None,
                phone=None,
                address=None,
                customer_type="wholesale",
                credit_limit=amount(Decimal("1000.00")),
                is_active=True,
                is_blocked=False,
                created_at=local(1, 9, month=1),
            )
        )
    charged = local(2, 10)
    rows = [  # (customer offset, kind, amount, occurred_at, due_at, reference)
        (0, "charge", "100.00", local(1, 10, month=9), local(30, 23, 30), DUE_DAY_BEFORE),
        (0, "payment", "30.00", local(5, 12), None, "EDGE-PAY-1"),
        (0, "charge", "50.00", local(1, 10), local(31, 0, 30), DUE_LAST_DAY),
        (1, "charge", "40.00", charged, local(1, 10, month=11), SAME_INSTANT[0]),
        (1, "charge", "60.00", charged, local(1, 10, month=11), SAME_INSTANT[1]),
        (1, "payment", "50.00", local(3, 12), None, "EDGE-PAY-2"),
        (2, "charge", "20.00", local(2, 10), local(1, 10, month=11), PAID_AHEAD),
        (2, "payment", "25.00", local(3, 12), None, "EDGE-PAY-3"),
    ]
    for number, (offset, kind, value, occurred_at, due_at, reference) in enumerate(rows):
        conn.execute(
            s.credit_transactions.insert().values(
                id=txn + number,
                tenant_id=tenant,
                customer_id=customer + offset,
                kind=kind,
                amount=amount(Decimal(value)),
                occurred_at=occurred_at,
                due_at=due_at,
                reference=reference,
            )
        )


def make_awkward(url: str, tenant: str) -> None:
    """Edit ``tenant``'s seeded October into the cases the module docstring lists."""
    engine = create_engine(SourceUrl(url))
    sqlite = engine.dialect.name == "sqlite"

    def amount(value: Decimal) -> Decimal | str:
        return str(value) if sqlite else value

    oracle = SourceOracle(url, tenant)
    october = sorted(oracle.sales_in(MONTH), key=lambda sale: sale["id"])
    items_of: dict[int, list[dict]] = {}
    for item in oracle.rows(s.sale_items):
        items_of.setdefault(item["sale_id"], []).append(item)
    with engine.begin() as conn:
        for sale in october:
            if sale["sold_at"].astimezone(oracle.timezone).date() == ZERO_REVENUE_DAY:
                conn.execute(
                    s.sales.update()
                    .where(s.sales.c.id == sale["id"])
                    .values(status="cancelled", amount_paid=amount(Decimal("0.00")))
                )
        others = [
            sale for sale in october if sale["sold_at"].astimezone(oracle.timezone).date() != ZERO_REVENUE_DAY
        ]
        single = [sale for sale in others if len(items_of.get(sale["id"], [])) == 1]
        for sale, (price, cost) in zip(single, EDGE_MARGINS, strict=False):
            tax = Decimal("0.00")
            conn.execute(
                s.sale_items.update()
                .where(s.sale_items.c.sale_id == sale["id"])
                .values(
                    quantity=1,
                    unit_price=amount(price),
                    unit_cost=amount(cost),
                    discount=amount(Decimal("0.00")),
                    line_total=amount(price),
                )
            )
            conn.execute(
                s.sales.update()
                .where(s.sales.c.id == sale["id"])
                .values(
                    status="completed",
                    payment_method="card",
                    subtotal=amount(price),
                    discount=amount(Decimal("0.00")),
                    tax=amount(tax),
                    total=amount(price),
                    amount_paid=amount(price),
                )
            )
        three_lines = next(
            sale for sale in others if len(items_of.get(sale["id"], [])) >= 3 and sale not in single[:3]
        )
        subtotal = sum(item["line_total"] for item in items_of[three_lines["id"]])
        conn.execute(
            s.sales.update()
            .where(s.sales.c.id == three_lines["id"])
            .values(
                status="completed",
                subtotal=amount(subtotal),
                discount=amount(ODD_DISCOUNT),
                total=amount(subtotal - ODD_DISCOUNT + three_lines["tax"]),
            )
        )
        accounts = {a["name"]: a["id"] for a in oracle.rows(s.accounts)}
        entry_id = conn.execute(sa.select(sa.func.max(s.journal_entries.c.id))).scalar() + 1
        line_id = conn.execute(sa.select(sa.func.max(s.journal_lines.c.id))).scalar() + 1
        conn.execute(
            s.journal_entries.insert().values(
                id=entry_id,
                tenant_id=tenant,
                date=dt.date(2026, 10, 7),
                description="Old supplier",
                reference_id=None,
            )
        )
        for offset, (name, value) in enumerate(
            ((INACTIVE_ACCOUNT, Decimal("12.34")), ("Assets:Bank:Operating", Decimal("-12.34")))
        ):
            conn.execute(
                s.journal_lines.insert().values(
                    id=line_id + offset,
                    tenant_id=tenant,
                    entry_id=entry_id,
                    account_id=accounts[name],
                    amount=amount(value),
                    currency="USD",
                )
            )
        add_invoice_edges(conn, tenant, oracle.timezone, amount)
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def awkward_source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url, name = f"sqlite:///{tmp_path_factory.mktemp('awkward') / 'source.db'}", None
    else:
        name = create_database()
        url = database_url(name)
    seed(SourceUrl(url), TEST_PLAN)
    for tenant in TENANTS:
        make_awkward(url, tenant)
    yield url
    if name:
        drop_database(name)


@pytest.fixture(scope="module")
def exported(
    awkward_source: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, dg.ExecuteInProcessResult]]:
    runs = {}
    for tenant in TENANTS:
        root = tmp_path_factory.mktemp(f"artifacts-{tenant}")
        result = materialize_exports(awkward_source, str(root), f"{MONTH}|{tenant}")
        assert result.success, [
            e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure
        ]
        runs[tenant] = (root, result)
    return runs


EXPECTED: dict[str, Callable[[SourceOracle, str], ExpectedReport]] = {
    "sales": expected_sales,
    "customers": expected_customers,
    "inventory": expected_inventory,
    "audit_log": expected_audit_log,
    "bills": expected_bills,
    "accounts": expected_accounts,
    "invoices": expected_invoices,
}
CSV_ONLY = {"sale_items": expected_sale_items}  # the line items' workbook is the sales workbook


def export_file(root: Path, tenant: str, dataset: str, fmt: str) -> Path:
    return root / tenant / "exports" / dataset / MONTH / f"{dataset}_{tenant}_{MONTH}.{fmt}"


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_cell_matches_the_oracle(
    awkward_source: str, exported: dict, tenant: str, record_property: pytest.RecordProperty
) -> None:
    root, _ = exported[tenant]
    oracle = SourceOracle(awkward_source, tenant)
    counts = {}
    for dataset, expected_of in {**EXPECTED, **CSV_ONLY}.items():
        expected = expected_of(oracle, MONTH)
        main = expected.main_rows
        csv_cells = compare_csv(export_file(root, tenant, dataset, "csv"), main)
        assert len(main) >= 20 and csv_cells == (len(main) + 1) * len(main[0]), dataset
        counts[f"{dataset}.csv"] = csv_cells
        if dataset in EXPECTED:
            xlsx_cells = compare_workbook(export_file(root, tenant, dataset, "xlsx"), expected)
            every_sheet = sum((len(rows) + 1) * len(rows[0]) for rows in expected.tables.values() if rows)
            assert xlsx_cells == every_sheet + 2 * len(expected.summary), dataset
            counts[f"{dataset}.xlsx"] = xlsx_cells
    record_property("cells_compared", sum(counts.values()))
    print(f"{tenant}: {sum(counts.values())} cells compared: {counts}")


def test_the_awkward_cases_are_in_the_files(awkward_source: str) -> None:
    """The cases the oracle is there for are present, so that a change to the seed cannot quietly
    leave them out."""
    oracle = SourceOracle(awkward_source, TENANT)
    sales = expected_sales(oracle, MONTH)
    margins = {row["Margin %"] for row in sales.tables["Sales"]}
    assert {Decimal("33.59"), Decimal("0.03"), Decimal("-0.03")} <= margins
    day_rows = [r for r in sales.tables["Sales"] if r["Sold At"].date() == ZERO_REVENUE_DAY]
    assert day_rows and all(r["Revenue"] == 0 and r["Balance Due"] == 0 for r in day_rows)
    statuses = {r["Status"] for r in sales.tables["Sales"]}
    assert statuses == {"completed", "cancelled", "refunded"}
    assert any(r["Payment Method"] == "credit" and r["Balance Due"] > 0 for r in sales.tables["Sales"])
    odd_sale = next(r["Sale ID"] for r in sales.tables["Sales"] if r["Discount"] == ODD_DISCOUNT)
    shares = [r["Sale Discount Share"] for r in sales.tables["Line Items"] if r["Sale ID"] == odd_sale]
    assert len(shares) >= 3 and sum(shares) == ODD_DISCOUNT and len(set(shares)) > 1  # split unevenly
    accounts = expected_accounts(oracle, MONTH)
    assert INACTIVE_ACCOUNT not in {r["Account Name"] for r in accounts.tables["Accounts"]}
    assert any(r["Account Name"] == INACTIVE_ACCOUNT and r["Debit"] for r in accounts.tables["Trial Balance"])
    customers = expected_customers(oracle, MONTH)
    details = customers.tables["Customer Details"]
    assert {r["Credit Status"] for r in details} == {"good", "over_limit", "blocked"}
    assert any(r["Blocked"] and r["Outstanding"] > r["Credit Limit"] for r in details)
    assert all(value > 0 for label, value in customers.summary if label.startswith("Aged "))
    shown = Counter((r["Customer ID"], r["Date"], r["Kind"]) for r in customers.tables["Credit Transactions"])
    assert max(shown.values()) > 1, "no customer has two transactions of one kind at one instant"
    recorded = Counter(t["customer_id"] for t in oracle.rows(s.credit_transactions))
    assert max(recorded.values()) > RECENT_TRANSACTIONS, "no customer has more transactions than shown"
    inventory = expected_inventory(oracle, MONTH).main_rows
    assert {r["Stock Status"] for r in inventory} == {"in_stock", "low_stock", "out_of_stock"}
    events = expected_audit_log(oracle, MONTH).main_rows
    assert any(r["User"] is None for r in events) and any(r["User"] for r in events)
    assert any(r["Entity Type"] and r["Entity ID"] is None for r in events)
    invoices = expected_invoices(oracle, MONTH).main_rows
    assert {r["Status"] for r in invoices} == {"open", "partly_paid", "paid", "overdue"}
    edges = {r["Reference"]: r for r in invoices if r["Reference"].startswith("EDGE-")}
    shown = {ref: (r["Status"], r["Paid"], r["Balance"], r["Days Overdue"]) for ref, r in edges.items()}
    assert shown == {
        DUE_DAY_BEFORE: ("overdue", Decimal("30.00"), Decimal("70.00"), 1),
        DUE_LAST_DAY: ("open", Decimal("0.00"), Decimal("50.00"), 0),  # due on the as-of day
        SAME_INSTANT[0]: ("paid", Decimal("40.00"), Decimal("0.00"), 0),  # the lower ID first
        SAME_INSTANT[1]: ("partly_paid", Decimal("10.00"), Decimal("50.00"), 0),
        PAID_AHEAD: ("paid", Decimal("20.00"), Decimal("0.00"), 0),
    }
    paid_ahead = next(r for r in details if r["Customer ID"] == edges[PAID_AHEAD]["Customer ID"])
    assert paid_ahead["Outstanding"] == Decimal("-5.00")  # a credit, which no invoice carries


@pytest.mark.parametrize("tenant", TENANTS)
def test_sales_exports_check_their_line_items(exported: dict, tenant: str) -> None:
    _, result = exported[tenant]
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name == "sales_match_line_items"
    }
    assert evaluations == {
        ("sales_xlsx", "sales_match_line_items"): True,
        ("sales_pdf", "sales_match_line_items"): True,
    }


@pytest.mark.parametrize("tenant", TENANTS)
def test_invoices_match_the_customers_balances(exported: dict, tenant: str) -> None:
    """Checked on the invoices dataset, against customers read in the same snapshot; the credit of the
    customer who paid ahead is the one difference between the two totals."""
    _, result = exported[tenant]
    evaluations = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "invoices_match_customer_balances"
    ]
    assert [(e.asset_key.to_user_string(), e.passed) for e in evaluations] == [("invoices", True)]
    metadata = evaluations[0].metadata
    credit, outstanding, balance = (
        Decimal(metadata[name].value)
        for name in ("customers_credit", "customers_outstanding", "invoices_balance")
    )
    assert credit == Decimal("-5.00") and balance == outstanding - credit > 0
