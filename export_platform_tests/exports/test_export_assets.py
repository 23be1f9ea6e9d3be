"""Every export of a partition lands in S3 under the fixed layout, reads back correctly with readers
independent of the writers, is recorded in the manifest and metadata, and is byte-identical when
materialized again."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import urllib.request
from pathlib import Path

import boto3
import dagster as dg
import polars as pl
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from export_platform.definitions import defs
from export_platform.exports.assets import render_into
from export_platform.exports.formats import CSV, EXPORTS, CsvExportConfig, Written
from export_platform.render.report import STREAMING_CHUNK_ROWS
from export_platform.render.xlsx_charts import CHART_DATA_SHEET
from export_platform.reports.layouts import SHEET_NAMES
from export_platform.reports.overview import has_overview
from export_platform.reports.overview_charts import CHARTS
from export_platform.storage.artifacts import ArtifactStore
from export_platform_tests.support.materialize import Exported, Materialized, materialize_exports
from export_platform_tests.support.pdf_reading import drawn_texts, page_footer
from export_platform_tests.support.seed_plan import MONTH, TENANT

EXPORT_NAMES = sorted(f"{dataset}_{fmt.name}" for dataset, fmt in EXPORTS)


def test_twenty_two_exports_in_their_group() -> None:
    graph = defs.resolve_asset_graph()
    exports = sorted(
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).group_name == "exports"
    )
    assert exports == EXPORT_NAMES and len(exports) == 22
    for key in exports:
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def == graph.get(dg.AssetKey("sales")).partitions_def
        assert "for one tenant's month as" in node.description


def test_layout_and_manifest(exported: Exported) -> None:
    s3 = boto3.client("s3")
    keys = sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=exported.bucket, Prefix="platform/acme/exports/")["Contents"]
    )
    expected = sorted(
        {exported.key(d, f.name) for d, f in EXPORTS}
        | {f"platform/acme/exports/{d}/{MONTH}/manifest.json" for d, _ in EXPORTS}
    )
    assert keys == expected
    manifest = json.loads(
        s3.get_object(Bucket=exported.bucket, Key=f"platform/acme/exports/sales/{MONTH}/manifest.json")[
            "Body"
        ].read()
    )
    assert manifest["schema_version"] == 1 and manifest["tenant"] == TENANT and manifest["month"] == MONTH
    assert sorted(manifest["files"]) == ["csv", "pdf", "xlsx"]
    for fmt, entry in manifest["files"].items():
        body = s3.get_object(
            Bucket=exported.bucket,
            Key=entry["key"] if entry["key"].startswith("platform/") else f"platform/{entry['key']}",
        )["Body"].read()
        assert entry["size"] == len(body)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["record_count"] == exported.metadata(f"sales_{fmt}")["record_count"]


def exported_rows(materialized: Materialized, dataset: str) -> int:
    """The dataset's rows an export shows: accounts exports leave inactive accounts out."""
    frame = materialized.frame(dataset)
    return frame.filter(pl.col("is_active")).height if dataset == "accounts" else frame.height


def test_metadata_matches_what_was_written(exported: Exported, materialized_sqlite: Materialized) -> None:
    for name in EXPORT_NAMES:
        meta = exported.metadata(name)
        dataset, fmt = name.rsplit("_", 1)
        assert meta["uri"] == f"s3://{exported.bucket}/{exported.key(dataset, fmt)}"
        assert meta["record_count"] == exported_rows(materialized_sqlite, dataset), name
        assert meta["file_size_bytes"] > 0 and len(meta["sha256"]) == 64
        assert 0 < meta["render_s"] <= meta["duration_s"]
        assert "X-Amz-Signature" in meta["download"] and "X-Amz-Expires=604800" in meta["download"]
        assert len(meta["preview"].records) == min(meta["record_count"], 10)
        columns = [c.name for c in meta["preview"].schema.columns]
        assert all(list(r.data) == columns for r in meta["preview"].records)
        if fmt != "pdf":
            assert [c.name for c in meta["dagster/column_schema"].columns] == columns
    checks = [
        c for c in exported.first.get_asset_check_evaluations() if c.check_name == "artifact_matches_metadata"
    ]
    assert len(checks) == 22 and all(c.passed for c in checks)


def test_a_pdf_schema_lists_the_columns_its_pages_draw(exported: Exported, tmp_path: Path) -> None:
    """The UI's column schema of a PDF export is the PDF's header row, not the dataset's columns."""
    for dataset, fmt in EXPORTS:
        if fmt.name != "pdf":
            continue
        schema = [c.name for c in exported.metadata(f"{dataset}_pdf")["dagster/column_schema"].columns]
        # The table's first page: after the overview page, for a dataset that has one.
        page = PdfReader(exported.download(dataset, "pdf", tmp_path)).pages[1 if has_overview(dataset) else 0]
        drawn = [text.text for text in drawn_texts(page)]
        position = drawn.index(schema[0])
        assert drawn[position : position + len(schema)] == schema, dataset
    sales = [c.name for c in exported.metadata("sales_pdf")["dagster/column_schema"].columns]
    assert len(sales) == 11 < len(exported.metadata("sales_xlsx")["dagster/column_schema"].columns)


def test_kind_badges_follow_the_configured_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from export_platform.exports.assets import build_export_asset
    from export_platform.exports.formats import PDF

    monkeypatch.setenv("EXPORT_ARTIFACT_ROOT", str(tmp_path))
    assert build_export_asset("sales", PDF).specs_by_key[dg.AssetKey("sales_pdf")].kinds == {"pdf", "file"}
    monkeypatch.setenv("EXPORT_ARTIFACT_ROOT", "s3://bucket/prefix")
    assert build_export_asset("sales", PDF).specs_by_key[dg.AssetKey("sales_pdf")].kinds == {"pdf", "s3"}


def test_download_link_fetches_exactly_that_file(exported: Exported, tmp_path: Path) -> None:
    link = exported.metadata("bills_csv")["download"]
    assert link.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(link, timeout=30) as response:
        body = response.read()
    assert body == exported.download("bills", "csv", tmp_path).read_bytes()


def test_rematerializing_gives_byte_identical_files(exported: Exported) -> None:
    for name in EXPORT_NAMES:
        assert exported.metadata(name, "first")["sha256"] == exported.metadata(name, "second")["sha256"], name


def test_csv_reads_back_with_csv_and_polars(
    exported: Exported, materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    path = exported.download("sale_items", "csv", tmp_path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    source_frame = materialized_sqlite.frame("sale_items")
    assert rows[0][:4] == ["Line ID", "Sale ID", "Receipt", "Sold At"]
    assert len(rows) - 1 == source_frame.height
    products = {r[7] for r in rows[1:]}
    assert "Multi-line\nlabel" in products and 'Gadget "Pro" 12"' in products and "北京烤鸭礼盒" in products
    assert "'=SUM(A1:A9)" in products and "'+44 hotline" in products and "'-50% clearance" in products
    assert not any(p.startswith(("=", "+", "-", "@")) for p in products)
    frame = pl.read_csv(path, infer_schema=False)
    assert frame["Line Total"].str.to_decimal(scale=2).sum() == source_frame["line_total"].sum()
    assert frame["Sold At"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$").all()


def test_bills_and_accounts_csv_have_the_seed_columns(exported: Exported, tmp_path: Path) -> None:
    for dataset, header in (
        (
            "bills",
            ["Date", "Description", "Debit Account", "Credit Account", "Amount", "Currency", "Reference ID"],
        ),
        (
            "accounts",
            ["Account Name", "Account Type", "Parent Account", "Currency", "Balance", "Is Active", "Depth"],
        ),
    ):
        with exported.download(dataset, "csv", tmp_path).open(encoding="utf-8-sig", newline="") as source:
            rows = list(csv.reader(source))
        assert rows[0] == header
        assert all(len(r) == 7 for r in rows)


def test_workbooks_have_typed_cells_and_the_seed_sheets(exported: Exported, tmp_path: Path) -> None:
    for dataset in ("sales", "customers", "inventory", "audit_log", "bills", "accounts", "invoices"):
        workbook = load_workbook(exported.download(dataset, "xlsx", tmp_path), read_only=True)
        charts = [CHART_DATA_SHEET] if dataset in CHARTS else []
        assert workbook.sheetnames == ["Summary", *SHEET_NAMES[dataset], *charts], dataset
        workbook.close()
    workbook = load_workbook(exported.download("sales", "xlsx", tmp_path), read_only=True)
    header, first = list(workbook["Line Items"].iter_rows(min_row=1, max_row=2))
    cells = {h.value: c for h, c in zip(header, first, strict=True)}
    assert cells["Unit Price"].data_type == "n" and cells["Unit Price"].number_format == "#,##0.00"
    assert cells["Sold At"].is_date and cells["Sold At"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert cells["Quantity"].data_type == "n"
    formulas = [
        r[7]
        for r in workbook["Line Items"].iter_rows(min_row=2, values_only=True)
        if isinstance(r[7], str) and r[7].startswith("=")
    ]
    assert "=SUM(A1:A9)" in formulas  # stored as text, not a formula
    workbook.close()
    full = load_workbook(exported.download("sales", "xlsx", tmp_path))  # not read-only: panes and filters
    sheet = full["Sales"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:V{sheet.max_row}"
    assert sheet["A1"].font.bold and sheet.column_dimensions["B"].width > 10


def test_pdfs_are_paginated_reports(exported: Exported, tmp_path: Path) -> None:
    reader = PdfReader(exported.download("sales", "pdf", tmp_path))
    pages = [page.extract_text() for page in reader.pages]
    total = len(pages)
    assert total > 2
    assert "Overview: Sales" in pages[0] and "Top 10 products by revenue" in pages[0]
    assert "Sales: Acme Café & Co." in pages[1] and "2026-10" in pages[1] and "Revenue" in pages[1]
    for number, (page, text) in enumerate(zip(reader.pages, pages, strict=True), start=1):
        assert page_footer(page) == (number, total)
        assert number == 1 or "Receipt" in text  # the header row repeats on every table page
    everything = "\n".join(pages)
    for script in ("北京烤鸭礼盒", "Ελληνικό", "Русский", "Crème"):
        assert script in everything, script
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts


def test_bad_config_is_refused_before_anything_is_written(sqlite_source: str, tmp_path: Path) -> None:
    # A value of the wrong shape is refused at launch: no step runs.
    with pytest.raises(dg.DagsterInvalidConfigError, match="delimiter"):
        materialize_exports(
            sqlite_source,
            str(tmp_path),
            f"{MONTH}|{TENANT}",
            run_config={"ops": {"sales_csv": {"config": {"delimiter": ";;"}}}},
        )
    assert not list(tmp_path.rglob("*"))
    # A value out of range is refused by the export's own step before it writes anything.
    result = materialize_exports(
        sqlite_source,
        str(tmp_path),
        f"{MONTH}|{TENANT}",
        run_config={"ops": {"sales_pdf": {"config": {"row_cap": 0}}}},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "sales_pdf" and "row_cap" in failure.event_specific_data.error.to_string()
    assert not list((tmp_path / TENANT / "exports" / "sales").rglob("*.pdf"))


def test_empty_month_renders_valid_files(sqlite_source: str, tmp_path: Path) -> None:
    """January 2024 predates every row but the chart of accounts."""
    result = materialize_exports(sqlite_source, str(tmp_path), f"2024-01|{TENANT}")
    assert result.success
    counts = {
        e.asset_key.to_user_string(): e.materialization.metadata["record_count"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() in EXPORT_NAMES
    }
    assert sorted(counts) == EXPORT_NAMES
    assert {k: v for k, v in counts.items() if not k.startswith("accounts")} == dict.fromkeys(
        [k for k in EXPORT_NAMES if not k.startswith("accounts")], 0
    )
    folder = tmp_path / TENANT / "exports" / "sales" / "2024-01"
    assert (folder / "sales_acme_2024-01.csv").read_bytes().count(b"\r\n") == 1  # the header alone
    sheet = load_workbook(folder / "sales_acme_2024-01.xlsx")["Sales"]
    assert sheet["A2"].value == "No rows for this period."
    reader = PdfReader(folder / "sales_acme_2024-01.pdf")
    assert "No rows for this period." in "\n".join(p.extract_text() for p in reader.pages)
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_every_export_attempt_is_in_the_history(exported: Exported, sqlite_source: str) -> None:
    from export_platform.tracking.history import ExportHistory

    run_ids = {exported.first.run_id, exported.second.run_id}
    rows = [
        r
        for r in ExportHistory(url=sqlite_source).entries(tenant=TENANT, limit=10_000)
        if r["run_id"] in run_ids
    ]
    assert len(rows) == 44 and {r["status"] for r in rows} == {"success"}  # 22 exports, twice
    for row in rows:
        meta = exported.metadata(
            f"{row['dataset']}_{row['format']}",
            "first" if row["run_id"] == exported.first.run_id else "second",
        )
        assert (row["sha256"], row["uri"], row["record_count"], row["file_size_bytes"]) == (
            meta["sha256"],
            meta["uri"],
            meta["record_count"],
            meta["file_size_bytes"],
        )
        assert row["partition_key"] == f"{MONTH}|{TENANT}" and row["requested_by"] == "manual"


def test_a_failed_export_is_recorded_with_its_cause(
    sqlite_source: str, s3_server: str, tmp_path: Path
) -> None:
    from export_platform.tracking.history import ExportHistory

    result = materialize_exports(
        sqlite_source, str(tmp_path), f"{MONTH}|{TENANT}", artifact_root="s3://no-such-bucket/platform"
    )
    assert not result.success
    rows = [
        r
        for r in ExportHistory(url=sqlite_source).entries(tenant=TENANT, status="failed", limit=10_000)
        if r["run_id"] == result.run_id
    ]
    assert rows and all("NoSuchBucket" in r["error_message"] for r in rows)
    assert all(r["finished_at"] is not None and r["sha256"] is None for r in rows)


def _largest_streaming_chunk(rows: int) -> int:
    """The most rows Polars' streaming engine hands an elementwise step at once, over ``rows`` rows."""
    seen: list[int] = []

    def record(values: pl.Series) -> pl.Series:
        seen.append(len(values))
        return values

    step = pl.col("n").map_batches(record, is_elementwise=True, return_dtype=pl.Int64)
    pl.LazyFrame({"n": range(rows)}).select(step).collect(engine="streaming")
    return max(seen)


def test_reports_render_in_small_streaming_chunks_and_leave_polars_as_it_was(tmp_path: Path) -> None:
    """How much of a dataset a renderer holds at once is set by the streaming engine's chunk size, so
    the writers run with a small one; what the process does afterwards gets Polars' own again."""
    chunks: list[int] = []

    def render(report, path: Path, config, progress) -> Written:
        chunks.append(_largest_streaming_chunk(200_000))
        path.write_text("id\r\n")
        return Written(0)

    default_chunk = _largest_streaming_chunk(200_000)
    assert default_chunk > STREAMING_CHUNK_ROWS  # else this test would show nothing
    store = ArtifactStore(root=str(tmp_path))
    fmt = dataclasses.replace(CSV, render=render)
    render_into(store, "acme/exports/t/2026-10/t.csv", fmt, None, CsvExportConfig(), logging.getLogger("t"))
    assert chunks == [STREAMING_CHUNK_ROWS]
    assert _largest_streaming_chunk(200_000) == default_chunk
