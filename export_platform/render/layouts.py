"""What each dataset's report contains: its summary figures, its tables (the workbook's sheets, in the
order users had them), and the columns a landscape PDF page shows.

Everything here is a pure function of the dataset frames; the renderers only lay it out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.accounts import exported_accounts
from export_platform.datasets.customers import AGING_BUCKETS
from export_platform.datasets.exact import percent
from export_platform.datasets.inventory import STOCK_STATUSES
from export_platform.render.report import Kind, Report, SummaryItem, Table
from export_platform.source.schema import ACCOUNT_TYPES

Frames = dict[str, pl.LazyFrame]


@dataclass(frozen=True)
class TenantInfo:
    slug: str
    name: str
    timezone: str
    currency: str


def export_columns(dataset: str) -> list[str]:
    """The flat columns a CSV of ``dataset`` carries: everything but the tenant and nested lists.
    Bills and accounts keep exactly the seven columns of the ledger CSV schema."""
    spec = DATASETS_BY_NAME[dataset]
    if dataset in ("bills", "accounts"):
        return [c.name for c in spec.columns[:7]]
    return [c.name for c in spec.columns if c.name != "tenant_id" and not isinstance(c.dtype, pl.List)]


@dataclass(frozen=True)
class ReportOptions:
    """What a request may change in what a report lists: ``include_inactive`` is the seed's accounts
    option (off by default, as in the monthly exports; the ad-hoc job takes it from its request)."""

    include_inactive: bool = False


DEFAULT_OPTIONS = ReportOptions()
# The rows of a dataset that its exports list unless ``include_inactive`` is set.
EXPORTED_ROWS: dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]] = {"accounts": exported_accounts}


def dataset_table(
    dataset: str, frame: pl.LazyFrame, name: str | None = None, options: ReportOptions = DEFAULT_OPTIONS
) -> Table:
    spec = DATASETS_BY_NAME[dataset]
    rows = frame if options.include_inactive else EXPORTED_ROWS.get(dataset, lambda every: every)(frame)
    return Table.of(name or spec.title, rows, dict(spec.labels), export_columns(dataset))


def _one_row(frame: pl.LazyFrame, *exprs: pl.Expr) -> dict:
    return frame.select(*exprs).collect().row(0, named=True)


def _money(label: str, value) -> SummaryItem:
    return SummaryItem(label, value, Kind.MONEY)


def _count(label: str, value) -> SummaryItem:
    return SummaryItem(label, value, Kind.INTEGER)


# -- sales ----------------------------------------------------------------------------------------


def sales_summary(sales: pl.LazyFrame) -> tuple[SummaryItem, ...]:
    """Every money figure is a sum over completed sales (the only ones that earned anything), so tax,
    discounts and payments share revenue's basis; cancelled and refunded sales have lines of their own.
    Revenue, COGS and profit equal the sums of those columns over all rows, which are 0 on the others."""
    completed = pl.col("status") == "completed"
    cancelled = pl.col("status") == "cancelled"
    refunded = pl.col("status") == "refunded"
    totals = _one_row(
        sales,
        pl.len().alias("sales"),
        completed.sum().alias("completed"),
        cancelled.sum().alias("cancelled"),
        refunded.sum().alias("refunded"),
        *(
            pl.col(c).filter(completed).sum()
            for c in ("revenue", "tax", "discount", "total", "amount_paid", "balance_due", "cogs", "profit")
        ),
        pl.col("total").filter(cancelled).sum().alias("cancelled_total"),
        pl.col("total").filter(refunded).sum().alias("refunded_total"),
        pl.col("refund_amount").filter(refunded).sum(),
    )
    return (
        _count("Sales", totals["sales"]),
        _count("Completed sales", totals["completed"]),
        _money("Revenue (completed sales, net of discounts, excl. tax)", totals["revenue"]),
        _money("Discounts (completed sales)", totals["discount"]),
        _money("Tax (completed sales)", totals["tax"]),
        _money("Sales total incl. tax (completed sales)", totals["total"]),
        _money("Payments received (completed sales)", totals["amount_paid"]),
        _money("Balance due (completed sales)", totals["balance_due"]),
        _money("Cost of goods sold (completed sales)", totals["cogs"]),
        _money("Profit (completed sales)", totals["profit"]),
        SummaryItem("Margin % (completed sales)", percent(totals["profit"], totals["revenue"]), Kind.PERCENT),
        _count("Cancelled sales", totals["cancelled"]),
        _money("Cancelled sales: receipt totals (not revenue)", totals["cancelled_total"]),
        _count("Refunded sales", totals["refunded"]),
        _money("Refunded sales: receipt totals (not revenue)", totals["refunded_total"]),
        _money("Refunded sales: amount paid back", totals["refund_amount"]),
    )


def sales_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    return sales_summary(frames["sales"]), (
        dataset_table("sales", frames["sales"], "Sales", options),
        dataset_table("sale_items", frames["sale_items"], "Line Items", options),
    )


def sale_items_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    """Line totals are as rung up, on every line; revenue, COGS and profit are those of completed
    sales (0 on the other lines), so they equal the sales report's figures."""
    items = frames["sale_items"]
    totals = _one_row(
        items,
        pl.len().alias("lines"),
        pl.col("quantity").sum(),
        pl.col("line_total").sum(),
        pl.col("sale_discount_share").sum(),
        pl.col("revenue").sum(),
        pl.col("cogs").sum(),
        pl.col("profit").sum(),
    )
    summary = (
        _count("Lines", totals["lines"]),
        _count("Units", totals["quantity"]),
        _money("Line totals (all lines, as rung up)", totals["line_total"]),
        _money("Sale discounts shared over lines (all lines)", totals["sale_discount_share"]),
        _money("Revenue (completed sales)", totals["revenue"]),
        _money("Cost of goods sold (completed sales)", totals["cogs"]),
        _money("Profit (completed sales)", totals["profit"]),
    )
    return summary, (dataset_table("sale_items", items, "Line Items", options),)


# -- customers ------------------------------------------------------------------------------------

AGING_COLUMNS = [
    "customer_id",
    "name",
    "customer_type",
    "credit_status",
    "credit_limit",
    "outstanding_balance",
    *(name for name, *_ in AGING_BUCKETS),
    "available_credit",
]


def credit_transactions(customers: pl.LazyFrame) -> pl.LazyFrame:
    return (
        customers.select("customer_id", pl.col("name").alias("customer"), "recent_transactions")
        .explode("recent_transactions")
        .filter(pl.col("recent_transactions").is_not_null())
        .unnest("recent_transactions")
    )


def customers_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    customers = frames["customers"]
    totals = _one_row(
        customers,
        pl.len().alias("customers"),
        pl.col("is_active").sum().alias("active"),
        pl.col("is_blocked").sum().alias("blocked"),
        (pl.col("outstanding_balance") > pl.col("credit_limit")).sum().alias("over_limit"),
        (pl.col("customer_type") == "wholesale").sum().alias("wholesale"),
        (pl.col("customer_type") == "retail").sum().alias("retail"),
        (pl.col("outstanding_balance") > 0).sum().alias("with_balance"),
        pl.col("outstanding_balance").sum(),
        *(pl.col(name).sum() for name, *_ in AGING_BUCKETS),
    )
    spec = DATASETS_BY_NAME["customers"]
    summary = (
        _count("Customers", totals["customers"]),
        _count("Active", totals["active"]),
        _count("Blocked", totals["blocked"]),
        _count("Over credit limit", totals["over_limit"]),
        _count("Wholesale", totals["wholesale"]),
        _count("Retail", totals["retail"]),
        _count("With a balance", totals["with_balance"]),
        _money("Total outstanding", totals["outstanding_balance"]),
        *(_money(f"Aged {spec.labels[name]}", totals[name]) for name, *_ in AGING_BUCKETS),
    )
    labels = dict(spec.labels) | {
        "customer": "Customer",
        "occurred_at": "Date",
        "kind": "Kind",
        "amount": "Amount",
        "due_at": "Due",
        "reference": "Reference",
    }
    tables = (
        dataset_table("customers", customers, "Customer Details", options),
        Table.of("Credit Aging", customers, labels, AGING_COLUMNS),
        Table.of(
            "Credit Transactions",
            credit_transactions(customers),
            labels,
            ["customer_id", "customer", "occurred_at", "kind", "amount", "due_at", "reference"],
        ),
    )
    return summary, tables


# -- inventory ------------------------------------------------------------------------------------


def stock_status_counts() -> list[pl.Expr]:
    return [(pl.col("stock_status") == status).sum().alias(status) for status in STOCK_STATUSES]


def storefront_breakdown(inventory: pl.LazyFrame) -> pl.LazyFrame:
    return (
        inventory.group_by("storefront_id", "storefront")
        .agg(
            pl.len().alias("items"),
            pl.col("quantity_on_hand").sum().alias("units"),
            pl.col("stock_value").sum(),
            pl.col("retail_value").sum(),
            *stock_status_counts(),
        )
        .sort("storefront_id")
    )


def inventory_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    inventory = frames["inventory"]
    totals = _one_row(
        inventory,
        pl.len().alias("items"),
        pl.col("product_id").n_unique().alias("products"),
        pl.col("storefront_id").n_unique().alias("storefronts"),
        pl.col("quantity_on_hand").sum(),
        pl.col("stock_value").sum(),
        pl.col("retail_value").sum(),
        *stock_status_counts(),
    )
    summary = (
        _count("Stock items (product x storefront)", totals["items"]),
        _count("Products", totals["products"]),
        _count("Storefronts", totals["storefronts"]),
        _count("Units on hand", totals["quantity_on_hand"]),
        _money("Value at cost", totals["stock_value"]),
        _money("Value at retail", totals["retail_value"]),
        _count("In stock", totals["in_stock"]),
        _count("Low stock", totals["low_stock"]),
        _count("Out of stock", totals["out_of_stock"]),
    )
    labels = dict(DATASETS_BY_NAME["inventory"].labels) | {
        "items": "Items",
        "units": "Units",
        "in_stock": "In Stock",
        "low_stock": "Low Stock",
        "out_of_stock": "Out of Stock",
    }
    breakdown = storefront_breakdown(inventory)
    tables = (
        dataset_table("inventory", inventory, "Stock Items", options),
        Table.of("Storefronts", breakdown, labels, breakdown.collect_schema().names()),
    )
    return summary, tables


# -- audit log ------------------------------------------------------------------------------------


def audit_log_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    audit = frames["audit_log"]
    totals = _one_row(
        audit,
        pl.len().alias("events"),
        pl.col("event_type").n_unique().alias("types"),
        pl.col("user_email").drop_nulls().n_unique().alias("users"),
        pl.col("occurred_at").min().alias("first"),
        pl.col("occurred_at").max().alias("last"),
    )
    top_types = (
        audit.group_by("event_type").len().sort(["len", "event_type"], descending=[True, False]).head(5)
    )
    top_users = (
        audit.drop_nulls("user_email")
        .group_by("user_email")
        .len()
        .sort(["len", "user_email"], descending=[True, False])
        .head(5)
    )
    summary = (
        _count("Events", totals["events"]),
        _count("Event types", totals["types"]),
        _count("Users", totals["users"]),
        SummaryItem("First event", totals["first"], Kind.DATETIME),
        SummaryItem("Last event", totals["last"], Kind.DATETIME),
        *(_count(f"Events: {t}", n) for t, n in top_types.collect().iter_rows()),
        *(_count(f"By user: {u}", n) for u, n in top_users.collect().iter_rows()),
    )
    return summary, (dataset_table("audit_log", audit, "Audit Logs", options),)


# -- ledger ---------------------------------------------------------------------------------------


def bills_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    bills = frames["bills"]
    totals = _one_row(
        bills,
        pl.col("entry_id").n_unique().alias("entries"),
        pl.len().alias("rows"),
        pl.col("amount").filter(pl.col("debit_account").is_not_null()).sum().alias("debits"),
    )
    summary = (
        _count("Journal entries", totals["entries"]),
        _count("Rows", totals["rows"]),
        _money("Total debits (= total credits)", totals["debits"]),
    )
    return summary, (dataset_table("bills", bills, "Bills", options),)


def trial_balance(accounts: pl.LazyFrame) -> pl.LazyFrame:
    """The chart's leaf accounts that are active or carry a balance, with the balance on its debit or
    credit side; the two columns' totals agree."""
    parents = accounts.select(pl.col("parent_account").alias("account_name")).drop_nulls().unique()
    accounts = accounts.filter(pl.col("is_active") | (pl.col("balance") != 0))
    debit_normal = pl.col("account_type").is_in(["assets", "expenses"])
    debit_balance = pl.when(debit_normal).then(pl.col("balance")).otherwise(-pl.col("balance"))
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    return (
        accounts.join(parents, on="account_name", how="anti")
        .with_columns(
            pl.when(debit_balance > 0).then(debit_balance).otherwise(zero).alias("debit"),
            pl.when(debit_balance < 0).then(-debit_balance).otherwise(zero).alias("credit"),
        )
        .select("account_name", "account_type", "debit", "credit")
        .sort("account_name")
    )


def accounts_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS):
    """Root totals and counts are those of the listed rows (``exported_accounts`` unless the request
    includes inactive accounts); the trial balance is over the whole chart."""
    accounts = frames["accounts"]
    exported = accounts if options.include_inactive else exported_accounts(accounts)
    roots = dict(
        exported.filter(pl.col("depth") == 0)
        .group_by("account_type")
        .agg(pl.col("balance").sum())
        .collect()
        .iter_rows()
    )
    totals = _one_row(accounts, pl.len().alias("chart"))
    exported_count = _one_row(exported, pl.len().alias("accounts"))["accounts"]
    tb = _one_row(trial_balance(accounts), pl.col("debit").sum(), pl.col("credit").sum())
    summary = (
        _count("Accounts listed", exported_count),
        _count("Inactive accounts left out", totals["chart"] - exported_count),
        *(_money(t.title(), roots.get(t)) for t in ACCOUNT_TYPES),
        _money("Trial balance debits", tb["debit"]),
        _money("Trial balance credits", tb["credit"]),
    )
    labels = dict(DATASETS_BY_NAME["accounts"].labels) | {"debit": "Debit", "credit": "Credit"}
    tables = (
        dataset_table("accounts", accounts, "Accounts", options),
        Table.of(
            "Trial Balance",
            trial_balance(accounts),
            labels,
            ["account_name", "account_type", "debit", "credit"],
        ),
    )
    return summary, tables


LAYOUTS: dict[str, Callable[[Frames, ReportOptions], tuple]] = {
    "sales": sales_report,
    "sale_items": sale_items_report,
    "customers": customers_report,
    "inventory": inventory_report,
    "audit_log": audit_log_report,
    "bills": bills_report,
    "accounts": accounts_report,
}

# The workbook sheets of each report after its Summary, as the seed's workbooks had them.
SHEET_NAMES: dict[str, tuple[str, ...]] = {
    "sales": ("Sales", "Line Items"),
    "sale_items": ("Line Items",),
    "customers": ("Customer Details", "Credit Aging", "Credit Transactions"),
    "inventory": ("Stock Items", "Storefronts"),
    "audit_log": ("Audit Logs",),
    "bills": ("Bills",),
    "accounts": ("Accounts", "Trial Balance"),
}

# The columns a landscape page shows for each table; tables not listed show all their columns.
PDF_COLUMNS: dict[str, tuple[str, ...]] = {
    "Sales": (
        "receipt_number",
        "sold_at",
        "storefront",
        "customer",
        "status",
        "payment_method",
        "total",
        "revenue",
        "cogs",
        "profit",
        "margin_pct",
    ),
    "Line Items": (
        "receipt_number",
        "sku",
        "product",
        "quantity",
        "unit_price",
        "unit_cost",
        "discount",
        "line_total",
        "revenue",
        "profit",
    ),
    "Customer Details": (
        "name",
        "email",
        "phone",
        "customer_type",
        "credit_status",
        "credit_limit",
        "outstanding_balance",
        "aging_0_30",
        "aging_31_60",
        "aging_61_90",
        "aging_over_90",
        "sales_count",
        "sales_total",
    ),
    "Stock Items": (
        "sku",
        "product",
        "category",
        "storefront",
        "quantity_on_hand",
        "reorder_level",
        "stock_status",
        "unit_cost",
        "unit_price",
        "stock_value",
        "retail_value",
        "margin_pct",
    ),
    "Audit Logs": ("occurred_at", "event_type", "user_name", "ip_address", "description", "event_data"),
}

# Tables a PDF leaves out because another table of the same report already shows their rows.
PDF_SKIPPED_TABLES = ("Credit Aging",)


def build_report(
    dataset: str, frames: Frames, tenant: TenantInfo, month: str, options: ReportOptions = DEFAULT_OPTIONS
) -> Report:
    summary, tables = LAYOUTS[dataset](frames, options)
    return _report(dataset, tenant, month, tuple(summary), tuple(tables))


def flat_report(
    dataset: str, frames: Frames, tenant: TenantInfo, month: str, options: ReportOptions = DEFAULT_OPTIONS
) -> Report:
    """A report of just the dataset's flat table, without summary figures: what a CSV holds."""
    table = dataset_table(dataset, frames[dataset], options=options)
    return _report(dataset, tenant, month, (), (table,))


def _report(dataset: str, tenant: TenantInfo, month: str, summary: tuple, tables: tuple) -> Report:
    return Report(
        dataset=dataset,
        title=DATASETS_BY_NAME[dataset].title,
        tenant=tenant.slug,
        tenant_name=tenant.name,
        period=month,
        timezone=tenant.timezone,
        currency=tenant.currency,
        summary=summary,
        tables=tables,
        pdf_columns=PDF_COLUMNS,
    )
