"""An ad-hoc request's CSV as the tables it is written from, one after another, for a caller that sends
the file while it is made (the Export API's synchronous CSV endpoint).

The tables are the CSV export's own (``report_for(CSV, ...)``, the request's filters applied as the
ad-hoc job applies them), so ``render.csv.csv_pieces`` over them makes the bytes the CSV export of the
same rows and options would. A dataset computed row by row (``DatasetSpec.stream``: sales, line items,
audit log) comes as one table per batch read, so memory stays flat however many rows there are; any
other is computed whole first, as its export computes it, and comes as one table. A column selection
applies as in the export. Compression does not: the file is sent as it is made, and a compressed one
could not be (``stream_refusal``).
"""

from __future__ import annotations

from collections.abc import Generator

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.source_database import TenantReads
from export_platform.datasets.window import ReportWindow
from export_platform.exports.adhoc import AdhocExportConfig, apply_filters
from export_platform.exports.assets import report_for
from export_platform.exports.formats import CSV
from export_platform.render.report import Table
from export_platform.reports.tables import ReportOptions, TenantInfo, choose_columns

STREAM_COMPRESSION_REFUSED = (
    "this endpoint sends the CSV while it is made, uncompressed; for a zip or gzip file, start an "
    "ad-hoc export (POST /v1/tenants/{tenant}/exports) with compression"
)


def stream_refusal(request: AdhocExportConfig) -> tuple[str, str] | None:
    """The field and message with which the streamed CSV refuses ``request``, if it does."""
    if request.compression != "none":
        return "compression", STREAM_COMPRESSION_REFUSED
    return None


def _account_types(reads: TenantReads, window: ReportWindow) -> dict[str, str]:
    """Each account's type by name: the bills' ``account_types`` filter matches either side's account."""
    accounts = DATASETS_BY_NAME["accounts"].compute(reads.read, window)
    return dict(accounts.select("account_name", "account_type").iter_rows())


def csv_tables(
    reads: TenantReads, request: AdhocExportConfig, window: ReportWindow
) -> Generator[Table, None, None]:
    """The tables whose CSV, one after another, is the request's file; all read through ``reads``
    (one snapshot, when it has one) for ``window``."""
    dataset, spec = request.dataset, DATASETS_BY_NAME[request.dataset]
    tenant = window.tenant
    info = TenantInfo(tenant.slug, tenant.name, tenant.timezone, tenant.currency)
    options = ReportOptions(
        include_inactive=request.include_inactive, columns=choose_columns(dataset, request.columns)
    )
    account_types = (
        _account_types(reads, window)
        if dataset == "bills" and "account_types" in request.filters_set()
        else None
    )

    def table(frame: pl.DataFrame) -> Table:
        rows = apply_filters(dataset, frame, request, account_types).lazy()
        return report_for(CSV, dataset, {dataset: rows}, info, window.month, options).main_table

    if spec.stream is None:
        yield table(spec.compute(reads.read, window))
        return
    for batch in spec.compute_batches(reads.read_batches, window):
        yield table(batch)
