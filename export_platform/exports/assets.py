"""One factory makes every export asset: ``<dataset>_csv``, ``<dataset>_xlsx``, ``<dataset>_pdf``.

Each export renders its partition's report into the artifact store's temporary file, publishes it
atomically under ``{tenant}/exports/{dataset}/{month}/``, records it in the partition's manifest, then
reads the published file back to check its row count and checksum against what it records. With a
column selection the dataset's table lists those columns; with compression the published file is the
compressed one (``.zip``, ``.gz`` after the name): its size and sha256 are recorded, with the rows of
the file it holds. A PDF stops at its page budget and records how many of the dataset's rows it
draws (``rows_in_pdf``) beside ``record_count``; its read-back also reads the note that says so.
A workbook's and a PDF's overview compares the month's headline figures with the dataset's stored
partitions of the previous month and of the same month a year earlier, "no data" where there is none.
"""

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import dagster as dg
import polars as pl

from export_platform import settings
from export_platform.asset_metadata import OWNER, PREVIEW_ROWS, code_references
from export_platform.catalog import EXPORT_FORMATS
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.checks import SALES_MATCH_LINE_ITEMS, sales_match_line_items
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.formats import (
    CSV,
    EXPORTS,
    PDF,
    XLSX,
    ExportConfig,
    ExportFormat,
    FileOptionsConfig,
    PdfReadBack,
    read_pdf_back,
)
from export_platform.exports.progress import progress_logged
from export_platform.partitions import TenantMonth, parse_partition_key, tenant_month_partitions
from export_platform.render.compression import (
    CONTENT_TYPES,
    compress,
    compressed_name,
    decompress,
    uncompressed_name,
)
from export_platform.render.csv import csv_frame, write_csv
from export_platform.render.pdf import write_pdf
from export_platform.render.report import (
    CompleteFiles,
    Report,
    Table,
    TableColumn,
    small_streaming_chunks,
)
from export_platform.render.xlsx import write_workbook
from export_platform.reports.layouts import LAYOUTS, SHEET_NAMES, build_report, flat_report
from export_platform.reports.overview import (
    NOT_COMPARED,
    Earlier,
    compares_months,
    has_overview,
    months_compared,
)
from export_platform.reports.tables import DEFAULT_OPTIONS, ReportOptions, TenantInfo, choose_columns
from export_platform.retries import TRANSIENT_RETRY_POLICY, retry_only_transient_errors
from export_platform.storage.artifacts import ArtifactStore, PublishedFile, sha256_of
from export_platform.storage.earlier_partitions import stored_partition
from export_platform.storage.io_manager import DatasetNotMaterialized
from export_platform.storage.layout import export_file_name, export_key
from export_platform.tracking.history import ExportHistory, requested_by, requesting_user, run_attempt

EXPORT_GROUP = "exports"
ARTIFACT_CHECK = "artifact_matches_metadata"

# The code a reader of the UI's code references wants to see: how each format is written.
WRITERS: dict[str, Callable[..., object]] = {
    CSV.name: write_csv,
    XLSX.name: write_workbook,
    PDF.name: write_pdf,
}

# Which datasets each report reads: the sales workbook and report carry the line items too.
SALES_WITH_LINES = ("sales", "sale_items")
# The bills' charts take each account's type from the month's accounts.
REPORT_INPUTS = {"sales": SALES_WITH_LINES, "bills": ("bills", "accounts")}


def inputs_for(dataset: str, fmt: ExportFormat) -> tuple[str, ...]:
    return REPORT_INPUTS.get(dataset, (dataset,)) if fmt is not CSV else (dataset,)


def describe(dataset: str, fmt: ExportFormat) -> str:
    title = DATASETS_BY_NAME[dataset].title
    where = (
        f"Files land in `{{tenant}}/exports/{dataset}/{{month}}/`, listed in the folder's manifest.json. "
        "The run config may choose the table's columns and compress the file (zip; gzip for a CSV)."
    )
    if fmt is CSV:
        body = (
            "a CSV file: one flat table, UTF-8 (with a BOM for Excel by default), quoted per RFC 4180, "
            "ISO 8601 dates, exact decimals, and text that a spreadsheet would run as a formula prefixed "
            "with an apostrophe. Delimiter, BOM and header come from the run config."
        )
    elif fmt is XLSX:
        sheets = ", ".join(["Summary", *SHEET_NAMES[dataset]])
        body = (
            f"an Excel workbook with the sheets {sheets}: real number and date cells, a frozen, "
            "filterable header, and continuation sheets past Excel's row limit."
        )
        if has_overview(dataset):
            body += f" The Summary sheet also holds the overview: {overview_holds(dataset)}."
    else:
        overview_page = (
            f"a first page with the overview ({overview_holds(dataset)}), then "
            if has_overview(dataset)
            else ""
        )
        body = (
            f"a printable landscape PDF: {overview_page}title, summary figures, then the rows with the "
            "header on each page and 'Page X of Y', up to the page budget (2,000 pages unless the run "
            "config says otherwise, 0 for none); then its last page says how many rows were left out and "
            "names the CSV and Excel files that hold them all. A row cap, if set, is stated in the report."
        )
    return f"{title} for one tenant's month as {body} {where}"


def overview_holds(dataset: str) -> str:
    if not compares_months(dataset):
        return "charts"
    return "headline figures with their change against the previous month and a year earlier, and charts"


def check_specs(dataset: str, fmt: ExportFormat) -> list[dg.AssetCheckSpec]:
    """The read-back check on every export; the sales-against-line-items check on the exports that
    show both (the sales workbook and report)."""
    asset = f"{dataset}_{fmt.name}"
    specs = [
        dg.AssetCheckSpec(
            ARTIFACT_CHECK,
            asset=asset,
            description="The published file, read back, has the recorded row count and sha256.",
        )
    ]
    if set(inputs_for(dataset, fmt)) == set(SALES_WITH_LINES):
        specs.append(
            dg.AssetCheckSpec(
                SALES_MATCH_LINE_ITEMS,
                asset=asset,
                description=(
                    "Every sale's revenue, COGS and profit equal the sums over its line items, and every "
                    "line item belongs to a sale of the month, so the two sheets' totals agree."
                ),
            )
        )
    return specs


def build_export_asset(dataset: str, fmt: ExportFormat) -> dg.AssetsDefinition:
    config_type = fmt.config_type
    inputs = inputs_for(dataset, fmt)

    @dg.asset(
        name=f"{dataset}_{fmt.name}",
        description=describe(dataset, fmt),
        group_name=EXPORT_GROUP,
        partitions_def=tenant_month_partitions,
        ins={name: dg.AssetIn(name) for name in inputs},
        check_specs=check_specs(dataset, fmt),
        kinds={fmt.kind, settings.artifact_store_kind()},
        owners=[OWNER],
        tags={"format": fmt.name},
        metadata=code_references(
            (f"{fmt.label} writer", WRITERS[fmt.name]),
            ("report layout", flat_report if fmt is CSV else LAYOUTS[dataset]),
        ),
        retry_policy=TRANSIENT_RETRY_POLICY,
        hooks={recording_refusal(dataset, fmt)},
    )
    def export_asset(
        context: dg.AssetExecutionContext,
        config: config_type,  # type: ignore[valid-type]  # Dagster reads each format's config class here
        source: SourceDatabase,
        artifacts: ArtifactStore,
        history: ExportHistory,
        **frames: pl.LazyFrame,
    ):
        started = time.perf_counter()
        partition = parse_partition_key(context.partition_key)
        with history.attempt(
            tenant=partition.tenant,
            requested_by=requested_by(context.run.tags),
            user_id=requesting_user(context.run.tags),
            scheduled_attempt=run_attempt(context.run.tags, context.run_id),
            dataset=dataset,
            fmt=fmt.name,
            partition_key=partition.key,
            run_id=context.run_id,
            filters=recorded_filters(config),
        ) as attempt:
            with retry_only_transient_errors():
                published, report, render_s = publish_export(
                    dataset, fmt, config, partition, frames, source, artifacts, context.log
                )
            attempt.published(
                record_count=published.record_count,
                file_size_bytes=published.size,
                sha256=published.sha256,
                uri=published.uri,
            )
        checks = [verify_artifact(artifacts, published, fmt, config, report)]
        if set(inputs) == set(SALES_WITH_LINES):
            checks.append(sales_match_line_items(frames["sales"], frames["sale_items"]))
        context.log.info(f"{published.key}: {published.record_count} rows, {published.size} bytes")
        in_pdf = {} if published.rows_in_pdf is None else {"rows_in_pdf": published.rows_in_pdf}
        return dg.MaterializeResult(
            metadata={
                "record_count": published.record_count,
                **in_pdf,
                "dagster/row_count": published.record_count,
                "file_size_bytes": published.size,
                "sha256": published.sha256,
                "uri": published.uri,
                "download": dg.MetadataValue.url(artifacts.download_url(published.key)),
                "duration_s": round(time.perf_counter() - started, 3),
                "render_s": render_s,
                "history_id": attempt.id,
                "preview": preview_table(report.main_table, dataset),
                **overview_metadata(fmt, dataset, partition, report),
                "dagster/column_schema": table_schema(written_columns(fmt, report), dataset),
            },
            check_results=checks,
        )

    return export_asset


OVERVIEW_METADATA = "overview"


def overview_metadata(
    fmt: ExportFormat, dataset: str, partition: TenantMonth, report: Report
) -> dict[str, str]:
    """Where a reader finds the export's overview (headline figures, their changes, charts): the
    workbook's Summary sheet, the PDF's first page; a CSV, which has none, names the month's workbook
    and PDF that do. Nothing for a dataset without an overview."""
    if not has_overview(dataset):
        return {}
    if fmt is CSV:
        formats = EXPORT_FORMATS[dataset]
        places = [
            f"{where} of {export_file_name(partition.tenant, dataset, partition.month, other.extension)}"
            for other, where in ((XLSX, "Summary sheet"), (PDF, "page 1"))
            if other.name in formats
        ]
        return {OVERVIEW_METADATA: "; ".join(places)}
    where = "Summary sheet" if fmt is XLSX else "Page 1"
    parts = [f"{len(report.charts)} charts"]
    if report.tiles:
        compared = " and ".join(months_compared(partition.month))
        parts.insert(0, f"{len(report.tiles)} headline figures with their change against {compared}")
    return {OVERVIEW_METADATA: f"{where}: {'; '.join(parts)}"}


def recording_refusal(dataset: str, fmt: ExportFormat) -> dg.HookDefinition:
    """The export's step refused before its body ran (a dataset partition it reads was never
    materialized), recorded as a ``failed`` history row with the refusal's message, so the history
    holds that attempt as it holds every one the body runs."""

    @dg.failure_hook(name=f"record_refused_{dataset}_{fmt.name}", required_resource_keys={"history"})
    def record_refusal(context: dg.HookContext) -> None:
        refused = context.op_exception
        if not isinstance(refused, DatasetNotMaterialized):
            return  # the body ran, and its history attempt recorded the failure
        run = context.instance.get_run_by_id(context.run_id)
        history: ExportHistory = context.resources.history
        entry = history.start(
            tenant=refused.partition.tenant,
            requested_by=requested_by(run.tags if run else {}),
            scheduled_attempt=run_attempt(run.tags if run else {}, context.run_id),
            dataset=dataset,
            fmt=fmt.name,
            partition_key=refused.partition.key,
            run_id=context.run_id,
            filters=recorded_filters(fmt.config_type(**(context.op_config or {}))),
        )
        history.move(entry, "failed", error_message=refused.description)

    return record_refusal


def recorded_filters(config: ExportConfig) -> dict[str, Any]:
    """What was exported, as the history records it: the run config without how progress was logged,
    and with the file options only where they are set."""
    return {
        **config.model_dump(exclude={"progress_every_s", *FileOptionsConfig.model_fields}),
        **config.file_options_asked(),
    }


def written_columns(fmt: ExportFormat, report: Report) -> list[TableColumn]:
    """The main table's columns as the file holds them: a PDF page draws a chosen few."""
    columns = report.main_table.columns
    if fmt is PDF:
        return [columns[p] for p in report.pdf_column_positions(report.main_table)]
    return list(columns)


def table_schema(columns: list[TableColumn], dataset: str) -> dg.TableSchema:
    """The exported table's columns as a reader of the file sees them: label, kind of value and what
    the column means."""
    meaning = {c.name: c.description for c in DATASETS_BY_NAME[dataset].columns}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.label, c.kind.value, description=meaning.get(c.name) or None) for c in columns
        ]
    )


def preview_table(table: Table, dataset: str) -> dg.TableMetadataValue:
    """The first rows exactly as the file shows them, as a table in the UI."""
    # As text, the way the CSV writer prints numbers too (decimals at their scale).
    rows = csv_frame(table).head(PREVIEW_ROWS).select(pl.all().cast(pl.String)).collect()
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in rows.iter_rows(named=True)],
        schema=table_schema(list(table.columns), dataset),
    )


def report_for(
    fmt: ExportFormat,
    dataset: str,
    frames: dict[str, pl.LazyFrame],
    tenant: TenantInfo,
    period: str,
    options: ReportOptions = DEFAULT_OPTIONS,
    earlier: Earlier = NOT_COMPARED,
) -> Report:
    """A CSV holds the dataset's flat table alone; workbooks, PDFs and CSV bundles (the workbook's
    sheets) the whole report, with its overview compared with the ``earlier`` partitions."""
    if fmt is CSV:
        return flat_report(dataset, frames, tenant, period, options)
    return build_report(dataset, frames, tenant, period, options, earlier)


def earlier_partitions(artifacts: ArtifactStore, dataset: str, partition: TenantMonth) -> Earlier:
    """The dataset's stored partitions of the previous month and of the same month a year earlier,
    for the overview to compare the month with; None for one never materialized (the overview then
    says "no data"). Read only for a report that shows an overview."""
    if not compares_months(dataset):
        return NOT_COMPARED
    previous, year_ago = months_compared(partition.month)
    store = artifacts.store
    return (
        stored_partition(store, partition.tenant, dataset, previous),
        stored_partition(store, partition.tenant, dataset, year_ago),
    )


class Rendered(NamedTuple):
    rows: int
    size: int
    sha256: str
    render_s: float  # the writer alone, without upload or checks: what the benchmarks compare
    rows_in_pdf: int | None = None  # a PDF's: the rows of ``rows`` it draws


def render_into(
    artifacts: ArtifactStore,
    key: str,
    fmt: ExportFormat,
    report: Report,
    config: ExportConfig,
    log: logging.Logger,
) -> Rendered:
    """Render ``report`` straight into the store's temporary file for ``key``, published whole on
    success, logging progress every ``config.progress_every_s`` seconds while it renders. With
    ``config.compression``, ``key`` names the compressed file: the report is rendered beside the
    temporary file under its own name (``key`` without the suffix), then compressed into it."""
    with artifacts.publishing_to(key) as path:
        started = time.perf_counter()
        rendered = path if config.compression == "none" else path.with_name(path.name + ".uncompressed")
        try:
            with (
                progress_logged(log, key, rendered, config.progress_every_s) as progress,
                small_streaming_chunks(),
            ):
                written = fmt.render(report, rendered, config, progress)
            if rendered != path:
                member = uncompressed_name(key.rsplit("/", 1)[1], config.compression)
                compress(rendered, path, member, config.compression)
        finally:
            if rendered != path:
                rendered.unlink(missing_ok=True)
        render_s = time.perf_counter() - started
        size, sha256 = path.stat().st_size, sha256_of(path)
    return Rendered(written.record_count, size, sha256, round(render_s, 3), written.rows_in_pdf)


def content_type(fmt: ExportFormat, config: ExportConfig) -> str:
    """The published file's media type: the format's own, or the compression's."""
    return CONTENT_TYPES.get(config.compression, fmt.content_type)


def publish_export(
    dataset: str,
    fmt: ExportFormat,
    config: ExportConfig,
    partition: TenantMonth,
    frames: dict[str, pl.LazyFrame],
    source: SourceDatabase,
    artifacts: ArtifactStore,
    log: logging.Logger,
) -> tuple[PublishedFile, Report, float]:
    """Render the partition's report straight into the store, publish it whole, record it in the manifest.
    Returns the published file, the report and the seconds the writer took. A column selection naming
    a column the dataset does not have fails here, before anything is written, listing the valid ones."""
    options = ReportOptions(columns=choose_columns(dataset, config.columns))
    tenant = source.tenant(partition.tenant)
    tenant_info = TenantInfo(tenant.slug, tenant.name, tenant.timezone, tenant.currency)
    earlier = earlier_partitions(artifacts, dataset, partition) if fmt in (XLSX, PDF) else NOT_COMPARED
    report = report_for(fmt, dataset, frames, tenant_info, partition.month, options, earlier)
    if fmt is PDF:
        report = replace(report, complete_files=month_files(partition, dataset))
    extension = compressed_name(fmt.extension, config.compression)
    key = export_key(partition.tenant, dataset, partition.month, extension)
    rendered = render_into(artifacts, key, fmt, report, config, log)
    published = PublishedFile(
        format=fmt.name,
        file_name=key.rsplit("/", 1)[1],
        key=key,
        uri=artifacts.store.uri(key),
        size=rendered.size,
        sha256=rendered.sha256,
        record_count=rendered.rows,
        content_type=content_type(fmt, config),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        rows_in_pdf=rendered.rows_in_pdf,
    )
    artifacts.record(partition.tenant, dataset, partition.month, published)
    return published, report, rendered.render_s


def month_files(partition: TenantMonth, dataset: str) -> CompleteFiles:
    """The CSV and workbook the same month's exports publish beside the PDF, by name, for its note on
    rows left out (each as its export asset names it; a run config may publish it compressed)."""
    formats = EXPORT_FORMATS[dataset]

    def name(fmt: ExportFormat) -> str | None:
        if fmt.name not in formats:
            return None
        return export_file_name(partition.tenant, dataset, partition.month, fmt.extension)

    return CompleteFiles(csv=name(CSV), workbook=name(XLSX))


def verify_artifact(
    artifacts: ArtifactStore,
    published: PublishedFile,
    fmt: ExportFormat,
    config: ExportConfig,
    report: Report,
) -> dg.AssetCheckResult:
    """Download what was published and compare it with what this materialization records."""
    with tempfile.TemporaryDirectory(prefix="export-check-") as folder:
        copy = Path(folder) / published.file_name
        artifacts.download(published.key, copy)
        sha256 = sha256_of(copy)
        unpacked = (
            copy if config.compression == "none" else decompress(copy, Path(folder), config.compression)
        )
        if fmt is PDF:  # one read of the PDF gives its row count and its rows-in-PDF figures
            back = read_pdf_back(unpacked, report.main_table.name)
            rows, in_pdf = back.record_count, pdf_figures_checked(back, published)
        else:
            rows, in_pdf = fmt.count_rows(unpacked, config, report), (True, {})
    return dg.AssetCheckResult(
        check_name=ARTIFACT_CHECK,
        passed=sha256 == published.sha256 and rows == published.record_count and in_pdf[0],
        metadata={
            "read_back_rows": rows,
            "read_back_sha256": sha256,
            "recorded_rows": published.record_count,
            **in_pdf[1],
        },
    )


def pdf_figures_checked(back: PdfReadBack, published: PublishedFile) -> tuple[bool, dict[str, Any]]:
    """Whether a PDF's rows-in-PDF figures hold: its metadata's equal what was recorded, and its last
    page's note states the same figures (or there is no note and no row was left out); with the
    figures read back, for the check's metadata."""
    read = {
        "read_back_rows_in_pdf": back.rows_in_pdf,
        "recorded_rows_in_pdf": published.rows_in_pdf,
        "read_back_rows_left_out": back.rows_left_out,
    }
    if back.stated is not None:
        read["stated_rows_in_pdf"], read["stated_rows_left_out"] = back.stated[1], back.stated[0]
    return back.consistent() and back.rows_in_pdf == published.rows_in_pdf, read


export_assets = [build_export_asset(dataset, fmt) for dataset, fmt in EXPORTS]

exports_job = dg.define_asset_job(
    "exports_job",
    selection=dg.AssetSelection.groups("datasets", EXPORT_GROUP),
    description="One tenant's month end to end: the eight datasets, then every CSV, Excel and PDF export.",
)
