"""Dataset figures equal what a plain computation over the same source rows gives, on SQLite and
PostgreSQL; and nothing of the other tenant appears."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import polars as pl
import pytest

from export_platform.datasets import DATASETS
from export_platform.datasets.customers import AGING_BUCKETS
from export_platform.source import schema
from export_platform_tests.oracle import SourceOracle
from export_platform_tests.support.materialize import Materialized
from export_platform_tests.support.seed_plan import MONTH, OTHER_TENANT, TENANT


@pytest.fixture(scope="module")
def oracle(materialized: Materialized) -> SourceOracle:
    return SourceOracle(materialized.source_url, TENANT)


def test_sales_revenue_and_profit(materialized: Materialized, oracle: SourceOracle) -> None:
    sales = materialized.frame("sales")
    revenue, profit = oracle.revenue_and_profit(MONTH)
    assert revenue > 0 and profit != 0
    assert sales["revenue"].sum() == revenue
    assert sales["profit"].sum() == profit
    assert sales.height == len(oracle.sales_in(MONTH))
    assert sales.schema["revenue"] == pl.Decimal(18, 2)
    # Only completed sales earn revenue or owe anything; a refund pays back what was paid.
    not_completed = sales.filter(pl.col("status") != "completed")
    assert not_completed.height > 0
    assert (not_completed.select("revenue", "cogs", "profit", "balance_due") == 0).to_numpy().all()
    refunded = sales.filter(pl.col("status") == "refunded")
    assert (refunded["refund_amount"] == refunded["amount_paid"]).all()


def test_sold_at_is_in_the_tenants_timezone(materialized: Materialized) -> None:
    sales = materialized.frame("sales")
    assert sales.schema["sold_at"] == pl.Datetime("us", "America/New_York")
    local_months = sales["sold_at"].dt.strftime("%Y-%m").unique().to_list()
    assert local_months == [MONTH]


def test_sale_items_line_profit(materialized: Materialized, oracle: SourceOracle) -> None:
    items = materialized.frame("sale_items")
    sale_ids = {s["id"] for s in oracle.sales_in(MONTH)}
    expected = [i for i in oracle.rows(schema.sale_items) if i["sale_id"] in sale_ids]
    assert items.height == len(expected)
    assert items["line_total"].sum() == sum(i["line_total"] for i in expected)
    completed = items.filter(pl.col("status") == "completed")
    assert (completed["cogs"] == completed["quantity"] * completed["unit_cost"]).all()
    assert (completed["revenue"] == completed["line_total"] - completed["sale_discount_share"]).all()
    assert (items["profit"] == items["revenue"] - items["cogs"]).all()
    assert (
        (items.filter(pl.col("status") != "completed").select("revenue", "cogs", "profit") == 0)
        .to_numpy()
        .all()
    )


def test_sale_items_carry_their_own_sale_product_and_storefront_in_time_order(
    materialized: Materialized, oracle: SourceOracle
) -> None:
    """Products and storefronts are joined to the line items after the read, not by the database:
    each line must still show its own product's details and its sale's storefront and receipt."""
    items = materialized.frame("sale_items")
    sales = {s["id"]: s for s in oracle.sales_in(MONTH)}
    products = {p["id"]: p for p in oracle.rows(schema.products)}
    storefronts = {f["id"]: f["name"] for f in oracle.rows(schema.storefronts)}
    lines = {i["id"]: i for i in oracle.rows(schema.sale_items) if i["sale_id"] in sales}
    assert len(products) > 1 and len(storefronts) > 1  # a wrong pairing would show
    expected_order = sorted(
        lines, key=lambda i: (sales[lines[i]["sale_id"]]["sold_at"], lines[i]["sale_id"], i)
    )
    assert items["item_id"].to_list() == expected_order
    for row in items.iter_rows(named=True):
        line = lines[row["item_id"]]
        product, sale = products[line["product_id"]], sales[line["sale_id"]]
        assert (row["sku"], row["product"], row["category"]) == (
            product["sku"],
            product["name"],
            product["category"],
        )
        assert row["storefront"] == storefronts[sale["storefront_id"]]
        assert (row["receipt_number"], row["status"]) == (sale["receipt_number"], sale["status"])


def test_each_aging_bucket_of_a_customer(materialized: Materialized, oracle: SourceOracle) -> None:
    customers = materialized.frame("customers")
    # Every bucket holds money for some customer, so each one is really compared below.
    for name, *_ in AGING_BUCKETS:
        assert customers[name].sum() > 0, name
    for customer_id in customers["customer_id"].to_list():
        expected = oracle.aging(customer_id, MONTH)
        row = customers.filter(pl.col("customer_id") == customer_id).row(0, named=True)
        assert {k: row[k] for k in expected} == expected, customer_id


def test_credit_status(materialized: Materialized) -> None:
    customers = materialized.frame("customers")
    statuses = set(customers["credit_status"])
    assert statuses == {"good", "over_limit", "blocked"}
    over = customers.filter(pl.col("credit_status") == "over_limit")
    assert (over["outstanding_balance"] > over["credit_limit"]).all()
    assert (customers.filter(pl.col("is_blocked"))["credit_status"] == "blocked").all()


@pytest.mark.parametrize("account", ["Assets", "Assets:Cash:Till", "Liabilities:Tax:Sales Tax", "Income"])
def test_account_balance_rolled_up(materialized: Materialized, oracle: SourceOracle, account: str) -> None:
    accounts = materialized.frame("accounts")
    balance = accounts.filter(pl.col("account_name") == account)["balance"].item()
    assert balance == oracle.account_balance(account, MONTH)
    assert balance != 0


def test_item_stock_and_valuation(materialized: Materialized, oracle: SourceOracle) -> None:
    inventory = materialized.frame("inventory")
    assert set(inventory["stock_status"]) == {"in_stock", "low_stock", "out_of_stock"}
    for row in inventory.head(12).iter_rows(named=True):
        on_hand = oracle.stock_on_hand(row["product_id"], row["storefront_id"], MONTH)
        assert row["quantity_on_hand"] == on_hand
        assert row["stock_value"] == on_hand * row["unit_cost"]
    low = inventory.filter(pl.col("stock_status") == "low_stock")
    assert ((low["quantity_on_hand"] > 0) & (low["quantity_on_hand"] <= low["reorder_level"])).all()


def test_bills_follow_the_seed_schema_and_balance(materialized: Materialized, oracle: SourceOracle) -> None:
    bills = materialized.frame("bills")
    labels = [c.label for c in next(d for d in DATASETS if d.name == "bills").columns][:7]
    assert labels == [
        "Date",
        "Description",
        "Debit Account",
        "Credit Account",
        "Amount",
        "Currency",
        "Reference ID",
    ]
    assert (bills["amount"] > 0).all()
    # Both sides of the month's entries add up to the month's total debits.
    entries = {e["id"] for e in oracle.rows(schema.journal_entries) if e["date"].strftime("%Y-%m") == MONTH}
    debits = sum(
        line["amount"]
        for line in oracle.rows(schema.journal_lines)
        if line["entry_id"] in entries and line["amount"] > 0
    )
    assert bills.filter(pl.col("debit_account").is_not_null())["amount"].sum() == debits
    assert bills.filter(pl.col("credit_account").is_not_null())["amount"].sum() == debits


def test_audit_log_readable_payloads(materialized: Materialized) -> None:
    audit = materialized.frame("audit_log")
    assert audit["event_type"].n_unique() >= 10
    assert audit["ip_address"].null_count() == 0
    assert not audit["event_data"].str.starts_with("[invalid JSON]").any()
    assert audit["event_data"].str.contains("receipt").any()


def test_no_row_of_another_tenant(materialized: Materialized) -> None:
    """Both tenants have rows in every table for the month; any missing tenant filter would let the
    second tenant's ids in."""
    own, other = (
        SourceOracle(materialized.source_url, TENANT),
        SourceOracle(materialized.source_url, OTHER_TENANT),
    )
    id_columns = {
        "sales": ("sale_id", schema.sales),
        "sale_items": ("item_id", schema.sale_items),
        "customers": ("customer_id", schema.customers),
        "inventory": ("product_id", schema.products),
        "audit_log": ("event_id", schema.audit_events),
        "bills": ("line_id", schema.journal_lines),
        "accounts": ("account_id", schema.accounts),
        "invoices": ("invoice_id", schema.credit_transactions),
    }
    for dataset, (column, table) in id_columns.items():
        frame = materialized.frame(dataset)
        assert frame.height > 0, dataset
        assert set(frame["tenant_id"]) == {TENANT}, dataset
        ids = set(frame[column])
        assert ids <= own.ids(table), dataset
        assert other.ids(table) and not ids & other.ids(table), dataset


def test_metadata_and_checks(materialized: Materialized) -> None:
    result = materialized.result
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    assert {c.check_name for c in checks} >= {
        "belongs_to_tenant",
        "unique_key",
        "entries_balance",
        "accounting_equation",
        "invoices_match_customer_balances",
    }
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        dataset = event.asset_key.to_user_string()
        assert metadata["dagster/row_count"].value == materialized.frame(dataset).height
        schema_columns = [c.name for c in metadata["dagster/column_schema"].schema.columns]
        assert schema_columns == materialized.frame(dataset).columns
        assert isinstance(metadata["preview"], dg.MarkdownMetadataValue)
        assert metadata["streamed"].value == (dataset in {"sale_items", "sales", "audit_log"})
        assert 0 < metadata["read_s"].value < 60  # the source read alone, what the benchmarks report


def test_money_is_exact(materialized: Materialized) -> None:
    sales = materialized.frame("sales")
    assert all(isinstance(v, Decimal) for v in sales["total"].head(5))
    assert (sales["total"] == sales["subtotal"] - sales["discount"] + sales["tax"]).all()
