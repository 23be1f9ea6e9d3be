"""Ad-hoc exports: one tenant's dataset over any date range (up to a year) or preset, filtered as the
old export API allowed, in any formats, written to ``{tenant}/adhoc/{run_id}/``.

The request is the run config of the ``adhoc_export`` job. Values of the wrong kind (an unknown
dataset, format, account type, preset, delimiter) are refused at launch by Dagster's config schema,
before a run exists. Everything else (a date that is not one or out of range, date_from after
date_to, a range over a year, a filter that does not apply to the dataset, a tenant the source does
not have) is checked first thing in the run, before any file is written; the refusal names the field
and is recorded in the export history (see ``run_adhoc_export``).

Besides the CSV exports' options, a request takes the file options every export takes (a column
selection, compression) and the CSV bundle as a format. The seed's filters each apply to the datasets
``FILTERS_BY_DATASET`` lists: the audit log by the sale or customer an event is about (its entity) or
the user who acted; inventory by a minimum quantity on hand, without items valued at zero, and with the
period's stock movements of the items listed as a sheet of the workbook and a table of the PDF.
"""

import datetime as dt
import re
import time
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
from pydantic import Field, ValidationError, field_validator, model_validator

from export_platform.catalog import REQUEST_FORMAT_NAMES, REQUEST_FORMATS
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.customers import CREDIT_STATUSES
from export_platform.datasets.inventory import STOCK_MOVEMENTS, STOCK_STATUSES
from export_platform.datasets.source_database import SourceDatabase
from export_platform.datasets.window import ReportWindow
from export_platform.errors import ExportPlatformError, UnknownTenant, validation_message
from export_platform.exports.assets import inputs_for, render_into, report_for
from export_platform.exports.formats import (
    CSV,
    CSV_BUNDLE,
    FORMATS_BY_NAME,
    GZIP_ONLY_CSV,
    PDF,
    XLSX,
    CsvOptionsConfig,
    FileOptionsConfig,
    PdfOptionsConfig,
)
from export_platform.partitions import validate_tenant_slug
from export_platform.plain_text import refuse_control_characters
from export_platform.render.compression import compressed_name
from export_platform.render.report import CompleteFiles
from export_platform.reports.tables import ReportOptions, TenantInfo, choose_columns
from export_platform.retries import retry_only_transient_errors
from export_platform.source.schema import ACCOUNT_TYPES, CUSTOMER_TYPES
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import adhoc_key
from export_platform.tracking.history import ExportHistory, requested_by, requesting_user, run_attempt

# Every date a request names lies in these bounds; all_time starts at the first.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
# Which filters each dataset understands; any other filter set for it is refused.
FILTERS_BY_DATASET = {
    "sales": {"storefront", "customer_type"},
    "sale_items": {"storefront", "category"},
    "customers": {"customer_type", "credit_status", "min_balance", "include_inactive"},
    "inventory": {
        "storefront",
        "category",
        "stock_status",
        "min_quantity",
        "exclude_zero_value",
        "include_movement_history",
    },
    "audit_log": {"event_type", "user", "sale_id", "customer_id", "user_id"},
    "bills": {"account_types"},
    "accounts": {"account_types", "include_inactive"},
    "invoices": set(),
}
ALL_FILTERS = set().union(*FILTERS_BY_DATASET.values())
FILTER_DEFAULTS = {
    "account_types": [],
    "include_inactive": False,
    "exclude_zero_value": False,
    "include_movement_history": False,
}
CSV_OPTIONS = set(CsvOptionsConfig.model_fields)
FILE_OPTIONS = set(FileOptionsConfig.model_fields)
FILE_OPTION_DEFAULTS = {
    name: field.default
    for name, field in (FileOptionsConfig.model_fields | PdfOptionsConfig.model_fields).items()
}
PDF_OPTIONS = set(PdfOptionsConfig.model_fields)
# The formats that show more than the dataset's flat table, hence the movement history.
REPORT_FORMATS = (XLSX.name, PDF.name, CSV_BUNDLE.name)
RESERVED_REQUESTERS = ("schedule:", "sensor:")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # not \d: it also matches "２" and "٢"


DatePreset = StrEnum("DatePreset", ["last_30_days", "last_90_days", "this_year", "all_time"])
if TYPE_CHECKING:
    # The choices below come from the catalog at run time, which a type checker does not follow: to it,
    # they are the strings that their enum members and literals are.
    Format: TypeAlias = str
    AccountType: TypeAlias = str
    CustomerType: TypeAlias = str
    CreditStatus: TypeAlias = str
    StockStatus: TypeAlias = str
    DatasetName: TypeAlias = str
else:
    Format = StrEnum("Format", REQUEST_FORMAT_NAMES)
    AccountType = StrEnum("AccountType", ACCOUNT_TYPES)
    CustomerType = StrEnum("CustomerType", CUSTOMER_TYPES)
    CreditStatus = StrEnum("CreditStatus", CREDIT_STATUSES)
    StockStatus = StrEnum("StockStatus", STOCK_STATUSES)
    DatasetName = Literal[tuple(DATASETS_BY_NAME)]


class RequestRefused(ExportPlatformError):
    """An ad-hoc request the job will not run; the message names the field and the fix."""


def one_year_after(day: dt.date) -> dt.date:
    """The same day next year, or 1 March when that day does not exist (``day`` is 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return dt.date(day.year + 1, 3, 1)


class AdhocExportConfig(PdfOptionsConfig, FileOptionsConfig, CsvOptionsConfig):
    """An ad-hoc request: whose data, what, when, which rows, the CSV options the CSV exports take,
    the PDF's page budget and the file options (columns, compression) every export takes."""

    tenant: str = Field(description="Whose data: the tenant's slug, e.g. acme (the tenant partition names).")
    dataset: DatasetName = Field(description=f"What to export: {', '.join(DATASETS_BY_NAME)}.")
    formats: list[Format] = Field(
        default=["csv"],
        description=f"File formats, one or more of {', '.join(REQUEST_FORMAT_NAMES)} "
        f"(sale_items: {', '.join(REQUEST_FORMATS['sale_items'])} only); csv_bundle is one zip with a "
        "CSV per sheet of the workbook.",
    )
    date_from: str | None = Field(
        default=None,
        description=f"First day, YYYY-MM-DD, in the tenant's calendar, {EARLIEST_DATE} to {LATEST_DATE}; "
        "set with date_to, or use date_preset.",
    )
    date_to: str | None = Field(
        default=None,
        description="Last day, YYYY-MM-DD, included; before the same day a year after date_from "
        "(1 March after 29 February).",
    )
    date_preset: DatePreset | None = Field(
        default=None,
        description="Instead of date_from/date_to: last_30_days, last_90_days, this_year or all_time. "
        "With neither, the last 30 days.",
    )
    account_types: list[AccountType] = Field(
        default=[],
        description=f"bills, accounts: only these account types ({', '.join(ACCOUNT_TYPES)}); "
        "empty means all.",
    )
    include_inactive: bool = Field(default=False, description="accounts, customers: also list inactive ones.")
    customer_type: CustomerType | None = Field(
        default=None, description="sales, customers: only retail or only wholesale customers."
    )
    credit_status: CreditStatus | None = Field(
        default=None, description="customers: only those in good standing, over their limit, or blocked."
    )
    min_balance: str | None = Field(
        default=None, description="customers: only those owing at least this much, e.g. 100.00."
    )
    storefront: str | None = Field(
        default=None, description="sales, sale_items, inventory: only this storefront, by name."
    )
    category: str | None = Field(
        default=None, description="sale_items, inventory: only this product category."
    )
    stock_status: StockStatus | None = Field(
        default=None, description="inventory: only items in stock, low on stock, or out of stock."
    )
    event_type: str | None = Field(
        default=None, description="audit_log: only this kind of event, e.g. sale.completed."
    )
    user: str | None = Field(
        default=None, description="audit_log: only this user's actions, by e-mail address."
    )
    user_id: int | None = Field(default=None, ge=1, description="audit_log: only this user's actions, by ID.")
    sale_id: int | None = Field(
        default=None, ge=1, description="audit_log: only the events about this sale (by its ID)."
    )
    customer_id: int | None = Field(
        default=None, ge=1, description="audit_log: only the events about this customer (by its ID)."
    )
    min_quantity: int | None = Field(
        default=None, description="inventory: only items with at least this many units on hand."
    )
    exclude_zero_value: bool = Field(
        default=False, description="inventory: leave out items whose value at cost is 0."
    )
    include_movement_history: bool = Field(
        default=False,
        description="inventory: add the period's stock movements of the items listed (a Stock Movements "
        "sheet in the workbook and CSV bundle, a table in the PDF).",
    )
    requested_by: str = Field(
        default="adhoc",
        description="Who asked, e.g. an e-mail address: recorded in the export history. Not schedule:... "
        "nor sensor:..., which only the platform's schedules and sensors write.",
    )

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return validate_tenant_slug(value)

    @field_validator("requested_by")
    @classmethod
    def _requested_by(cls, value: str) -> str:
        # A schedule's rows are e-mailed by the delivery sensor: an ad-hoc run must not pass for one.
        refuse_control_characters("requested_by", value)
        if value.strip().lower().startswith(RESERVED_REQUESTERS):
            raise ValueError(
                f"requested_by: {value!r} names a schedule or sensor, which only the platform itself "
                "may record; give the person who asked, e.g. ana@acme.example"
            )
        return value

    @field_validator("date_from", "date_to")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            day = dt.date.fromisoformat(value) if _ISO_DAY.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-10-01")
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValueError(
                f"{value} is out of range: dates must be between {EARLIEST_DATE} and {LATEST_DATE}"
            )
        return value

    @field_validator("min_balance")
    @classmethod
    def _min_balance(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                amount = Decimal(value)
            except InvalidOperation as exc:
                raise ValueError(f"not a decimal amount: {value!r}") from exc
            # Balances are NUMERIC(18,2): anything else (NaN, 1e400, 10.001) could never compare exactly.
            if not amount.is_finite() or abs(amount) >= 10**16 or amount != amount.quantize(Decimal("0.01")):
                raise ValueError(f"not an amount in cents below 10^16: {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "AdhocExportConfig":
        if not self.formats:
            raise ValueError("formats: choose at least one")
        if self.date_preset and (self.date_from or self.date_to):
            raise ValueError("date_preset: use either a preset or date_from/date_to, not both")
        if bool(self.date_from) != bool(self.date_to):
            raise ValueError("date_to: give both date_from and date_to, or a date_preset")
        if self.date_from and self.date_to:
            first, last = dt.date.fromisoformat(self.date_from), dt.date.fromisoformat(self.date_to)
            if first > last:
                raise ValueError("date_from: must not be after date_to")
            if last >= (limit := one_year_after(first)):
                raise ValueError(
                    f"date_to: a range covers at most a year, so date_to must be before {limit} "
                    "(date_from's day a year later; 1 March for 29 February)"
                )
        for name in self.filters_set():
            if name not in FILTERS_BY_DATASET[self.dataset]:
                takes = [d for d, names in FILTERS_BY_DATASET.items() if name in names]
                raise ValueError(f"{name}: does not apply to {self.dataset}; it filters {', '.join(takes)}")
        formats = [str(f) for f in self.formats]
        unavailable = [f for f in formats if f not in REQUEST_FORMATS[self.dataset]]
        if unavailable:
            raise ValueError(f"formats: {self.dataset} is not exported as {', '.join(unavailable)}")
        if self.include_movement_history and not set(formats) & set(REPORT_FORMATS):
            raise ValueError(
                "include_movement_history: a CSV holds the stock items alone; the movements are a sheet "
                f"of {', '.join(REPORT_FORMATS)}: add one of them to formats"
            )
        if self.compression == "gzip" and set(formats) != {CSV.name}:
            raise ValueError(GZIP_ONLY_CSV)
        if self.compression == "zip" and CSV_BUNDLE.name in formats:
            raise ValueError("compression: a csv_bundle is a zip already; use none")
        choose_columns(self.dataset, self.columns)
        return self

    def file_options(self) -> dict[str, Any]:
        """The CSV options, and the file options and page budget it sets, as the history records them."""
        budget = PdfOptionsConfig.model_fields["page_budget"].default
        asked_budget = {} if self.page_budget == budget else {"page_budget": self.page_budget}
        return {**self.model_dump(include=CSV_OPTIONS), **self.file_options_asked(), **asked_budget}

    def file_name(self, slug: str, first: dt.date, last: dt.date, fmt_name: str) -> str:
        """The name of the request's file of that format (compressed as it asks)."""
        extension = compressed_name(FORMATS_BY_NAME[fmt_name].extension, self.compression)
        return f"{self.dataset}_{slug}_{first}_{last}.{extension}"

    def complete_files(self, slug: str, first: dt.date, last: dt.date) -> CompleteFiles:
        """The request's CSV and workbook, which a PDF that leaves rows out names as holding them."""
        asked = set(map(str, self.formats))
        return CompleteFiles(
            csv=self.file_name(slug, first, last, CSV.name) if CSV.name in asked else None,
            workbook=self.file_name(slug, first, last, XLSX.name) if XLSX.name in asked else None,
        )

    def filters_set(self) -> dict:
        """The filters this request sets, that is every one not left at its default."""
        return {
            name: value
            for name in sorted(ALL_FILTERS)
            if (value := getattr(self, name)) != FILTER_DEFAULTS.get(name)
        }

    def days(self, today: dt.date) -> tuple[dt.date, dt.date]:
        if self.date_from and self.date_to:
            return dt.date.fromisoformat(self.date_from), dt.date.fromisoformat(self.date_to)
        preset = str(self.date_preset or "last_30_days")
        first = {
            "last_30_days": today - dt.timedelta(days=29),
            "last_90_days": today - dt.timedelta(days=89),
            "this_year": today.replace(month=1, day=1),
            "all_time": EARLIEST_DATE,
        }[preset]
        return first, today


def apply_filters(
    dataset: str, frame: pl.DataFrame, request: AdhocExportConfig, account_types: dict[str, str] | None = None
) -> pl.DataFrame:
    """Keep the rows the request's filters select (pure; each filter only where it applies)."""
    f = request.filters_set()
    conditions = []
    if "storefront" in f:
        conditions.append(pl.col("storefront") == f["storefront"])
    if "category" in f:
        conditions.append(pl.col("category") == f["category"])
    if "stock_status" in f:
        conditions.append(pl.col("stock_status") == f["stock_status"])
    if "customer_type" in f:
        column = "customer_type" if dataset == "customers" else "sale_type"
        conditions.append(pl.col(column) == f["customer_type"])
    if "credit_status" in f:
        conditions.append(pl.col("credit_status") == f["credit_status"])
    if "min_balance" in f:
        conditions.append(pl.col("outstanding_balance") >= pl.lit(Decimal(f["min_balance"])))
    if "event_type" in f:
        conditions.append(pl.col("event_type") == f["event_type"])
    if "user" in f:
        conditions.append(pl.col("user_email") == f["user"])
    if "user_id" in f:
        conditions.append(pl.col("user_id") == f["user_id"])
    if "sale_id" in f:
        conditions.append(about("sale", f["sale_id"]))
    if "customer_id" in f:
        conditions.append(about("customer", f["customer_id"]))
    if "min_quantity" in f:
        conditions.append(pl.col("quantity_on_hand") >= f["min_quantity"])
    if "exclude_zero_value" in f:
        conditions.append(pl.col("stock_value") != 0)
    # Accounts are left out by the report (``ReportOptions``), after the roll-up and the trial balance.
    if dataset == "customers" and not request.include_inactive:
        conditions.append(pl.col("is_active"))
    if "account_types" in f:
        wanted = [str(kind) for kind in f["account_types"]]
        if dataset == "accounts":
            conditions.append(pl.col("account_type").is_in(wanted))
        else:  # bills: a row qualifies when either side's account is of a wanted type
            names = [name for name, kind in (account_types or {}).items() if kind in wanted]
            conditions.append(pl.col("debit_account").is_in(names) | pl.col("credit_account").is_in(names))
    return frame.filter(*conditions) if conditions else frame


def about(entity_type: str, entity_id: int) -> pl.Expr:
    """An audit event about that entity: the event names it as its entity type and ID."""
    return (pl.col("entity_type") == entity_type) & (pl.col("entity_id") == str(entity_id))


def asked_options(request: dict[str, Any]) -> dict[str, Any]:
    """What a request asked for beyond tenant, dataset and formats, as given: its dates or preset,
    the filters it set and the CSV options (the shape of a successful export's ``filters``)."""
    return {
        name: value
        for name, value in request.items()
        if name not in ("tenant", "dataset", "formats", "requested_by")
        and value is not None
        and value != FILTER_DEFAULTS.get(name, FILE_OPTION_DEFAULTS.get(name))
    }


def _asked_by(context: dg.OpExecutionContext) -> str:
    """Who asked: the request's ``requested_by``; for a schedule's run, which leaves it unset, the
    run's tags, which name the schedule only when its sensor launched the run (``requested_by``)."""
    tags = context.run.tags
    if context.op_config["requested_by"] == "adhoc" and "export_platform/schedule_id" in tags:
        return requested_by(tags)
    return requested_by({**tags, "export_platform/requested_by": context.op_config["requested_by"]})


def record_refusal(history: ExportHistory, context: dg.OpExecutionContext, message: str) -> RequestRefused:
    """Record a refused request as a ``failed`` history row per requested format (one row with no
    format when it asked for none), with its options, who asked and the message; return the error
    for the caller to raise."""
    request = context.op_config
    for fmt_name in dict.fromkeys(map(str, request["formats"])) or [""]:
        entry = history.start(
            tenant=request["tenant"][:63],  # the column's width; a longer one is refused anyway
            requested_by=_asked_by(context),
            user_id=requesting_user(context.run.tags),
            scheduled_attempt=run_attempt(context.run.tags, context.run_id),
            dataset=request["dataset"],
            fmt=fmt_name,
            partition_key=None,
            run_id=context.run_id,
            filters=asked_options(request),
        )
        history.move(entry, "failed", error_message=message[:4000])
    return RequestRefused(message)


@dg.op(  # type: ignore[call-overload]  # dagster's signature leaves out the Config schema it accepts
    description="Export one tenant's dataset over a date range, filtered, in the chosen formats.",
    config_schema=AdhocExportConfig.to_config_schema(),
)
def run_adhoc_export(
    context: dg.OpExecutionContext,
    source: SourceDatabase,
    artifacts: ArtifactStore,
    history: ExportHistory,
) -> dg.Output:
    """Check the request, then export it, recording every file (or the refusal) in the history.

    The config is declared as ``AdhocExportConfig``'s schema and the request built from it here,
    rather than taken as a typed ``config`` argument: Dagster builds a typed argument before the body
    runs, so a request its validators refuse would fail the step with no history row. Built here, a
    refusal by the validators (dates, ranges, filters, tenant slug) and one the config schema cannot
    express at all (a tenant the source does not have) both become a ``failed`` row with the message,
    the options and who asked, then fail the step. Two refusals happen before a run exists, so no
    row can name it and the launcher sees the error at once: a value of the wrong kind, which
    Dagster's schema refuses at launch, and a request built in Python as an ``AdhocExportConfig``,
    whose validators run where it is built.
    """
    try:
        config = AdhocExportConfig(**context.op_config)
    except ValidationError as exc:
        raise record_refusal(history, context, validation_message(exc)) from None
    # One snapshot for every dataset the formats need: the workbook's sales and lines agree.
    with retry_only_transient_errors(), source.tenant_reads(config.tenant) as reads:
        try:
            tenant = reads.tenant_row()
        except UnknownTenant as exc:
            raise record_refusal(history, context, f"tenant: {exc}") from None
        today = dt.datetime.now(ZoneInfo(tenant.timezone)).date()
        first, last = config.days(today)
        window = ReportWindow.for_days(tenant, first, last)
        needed = {
            name for fmt in config.formats for name in inputs_for(config.dataset, FORMATS_BY_NAME[str(fmt)])
        }
        if config.dataset == "bills" and "account_types" in config.filters_set():
            needed.add("accounts")

        frames = {name: DATASETS_BY_NAME[name].compute(reads.read, window) for name in sorted(needed)}
        movements = STOCK_MOVEMENTS.compute(reads.read, window) if config.include_movement_history else None
    account_types = (
        dict(frames["accounts"].select("account_name", "account_type").iter_rows())
        if ("accounts" in frames)
        else None
    )
    frames = {name: apply_filters(name, frame, config, account_types) for name, frame in frames.items()}
    if movements is not None:  # the report keeps those of the items the filters leave
        frames[STOCK_MOVEMENTS.name] = movements
    info = TenantInfo(tenant.slug, tenant.name, tenant.timezone, tenant.currency)
    period = f"{first} to {last}"
    published = []
    for fmt_name in map(str, config.formats):
        fmt = FORMATS_BY_NAME[fmt_name]
        with history.attempt(
            tenant=tenant.slug,
            requested_by=_asked_by(context),
            user_id=requesting_user(context.run.tags),
            scheduled_attempt=run_attempt(context.run.tags, context.run_id),
            dataset=config.dataset,
            fmt=fmt_name,
            partition_key=None,
            run_id=context.run_id,
            filters={
                **config.filters_set(),
                "date_from": str(first),
                "date_to": str(last),
                **config.file_options(),
            },
        ) as attempt:
            started = time.perf_counter()
            lazy = {name: frame.lazy() for name, frame in frames.items()}
            options = ReportOptions(
                include_inactive=config.include_inactive,
                columns=choose_columns(config.dataset, config.columns),
            )
            report = report_for(fmt, config.dataset, lazy, info, period, options)
            if fmt is PDF:
                report = replace(report, complete_files=config.complete_files(tenant.slug, first, last))
            key = adhoc_key(tenant.slug, context.run_id, config.file_name(tenant.slug, first, last, fmt_name))
            # The format's run config with the request's CSV, PDF and file options, where it takes them.
            taken = set(fmt.config_type.model_fields) & (CSV_OPTIONS | FILE_OPTIONS | PDF_OPTIONS)
            render_config = fmt.config_type(**config.model_dump(include=taken))
            rendered = render_into(artifacts, key, fmt, report, render_config, context.log)
            rows, size, sha256 = rendered.rows, rendered.size, rendered.sha256
            uri = artifacts.store.uri(key)
            attempt.published(record_count=rows, file_size_bytes=size, sha256=sha256, uri=uri)
        in_pdf = {} if rendered.rows_in_pdf is None else {"rows_in_pdf": rendered.rows_in_pdf}
        published.append(
            {
                "format": fmt_name,
                "uri": uri,
                "rows": rows,
                **in_pdf,
                "bytes": size,
                "sha256": sha256,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        context.log.info(f"{key}: {rows} rows, {size} bytes")
    return dg.Output(
        published,
        metadata={
            "files": dg.MetadataValue.json(published),
            "period": period,
            "tenant": tenant.slug,
            "dataset": config.dataset,
        },
    )


@dg.job(
    name="adhoc_export",
    description=(
        "Export one tenant's dataset on demand: a date range (or preset), the old API's filters, any of "
        "CSV, Excel, PDF and a CSV bundle (the workbook's sheets as CSVs in a zip), chosen columns, "
        "compressed or not. Files land in {tenant}/adhoc/{run_id}/ and every file is in the export history."
    ),
    executor_def=dg.in_process_executor,
)
def adhoc_export() -> None:
    run_adhoc_export()
