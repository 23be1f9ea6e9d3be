"""The report of each dataset: which layout builds it, its workbook sheets and its PDF columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.render.report import Report
from export_platform.reports.audit_log import audit_log_report
from export_platform.reports.customers import customers_report
from export_platform.reports.inventory import inventory_report
from export_platform.reports.invoices import invoices_report
from export_platform.reports.ledger import accounts_report, bills_report
from export_platform.reports.overview import NOT_COMPARED, Earlier, has_overview, report_overview
from export_platform.reports.sales import sale_items_report, sales_report
from export_platform.reports.tables import (
    DEFAULT_OPTIONS,
    Frames,
    ReportOptions,
    Sections,
    TenantInfo,
    dataset_table,
)

LAYOUTS: dict[str, Callable[[Frames, ReportOptions], Sections]] = {
    "sales": sales_report,
    "sale_items": sale_items_report,
    "customers": customers_report,
    "inventory": inventory_report,
    "audit_log": audit_log_report,
    "bills": bills_report,
    "accounts": accounts_report,
    "invoices": invoices_report,
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
    "invoices": ("Invoices", "By Customer"),
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
    "Invoices": (
        "invoice_id",
        "reference",
        "customer",
        "issue_date",
        "due_date",
        "amount",
        "paid",
        "balance",
        "status",
        "days_overdue",
    ),
}

# Tables a PDF leaves out because another table of the same report already shows their rows.
PDF_SKIPPED_TABLES = ("Credit Aging",)


def build_report(
    dataset: str,
    frames: Frames,
    tenant: TenantInfo,
    month: str,
    options: ReportOptions = DEFAULT_OPTIONS,
    earlier: Earlier = NOT_COMPARED,
) -> Report:
    """The dataset's report: summary figures, tables and, where the dataset has an overview, its tiles
    (headline figures compared with the ``earlier`` partitions) and charts over the same frames."""
    summary, tables = LAYOUTS[dataset](frames, options)
    report = _report(dataset, tenant, month, tuple(summary), tuple(tables), options)
    if not has_overview(dataset):
        return report
    tiles, charts = report_overview(dataset, frames, month, earlier)
    return replace(report, tiles=tiles, charts=charts)


def flat_report(
    dataset: str, frames: Frames, tenant: TenantInfo, month: str, options: ReportOptions = DEFAULT_OPTIONS
) -> Report:
    """A report of just the dataset's flat table, without summary figures: what a CSV holds."""
    table = dataset_table(dataset, frames[dataset], options=options)
    return _report(dataset, tenant, month, (), (table,), options)


def _report(
    dataset: str, tenant: TenantInfo, month: str, summary: tuple, tables: tuple, options: ReportOptions
) -> Report:
    """The report; with a column selection, its first table (the dataset's own) holds those columns
    alone, and a PDF draws exactly them."""
    pdf_columns = PDF_COLUMNS
    if options.columns:
        tables = (tables[0].select(options.columns), *tables[1:])
        pdf_columns = {**PDF_COLUMNS, tables[0].name: options.columns}
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
        pdf_columns=pdf_columns,
    )
