"""Column selection and compression, for ad-hoc exports and export assets: columns chosen by label or
name in the order given (unknown ones refused, naming them and the valid ones); gzip for CSV only; the
published file is the compressed one, named .gz or .zip, the same bytes on every run, recorded in the
history and the manifest with its own size and sha256 and the rows of the file it holds."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from export_platform.consumer import latest_artifact
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.adhoc import AdhocExportConfig
from export_platform.exports.assets import export_assets
from export_platform.exports.formats import PdfExportConfig, XlsxExportConfig
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.adhoc_runs import adhoc_files, history_rows
from export_platform_tests.support.adhoc_runs import run_adhoc as run
from export_platform_tests.support.materialize import Materialized, ephemeral_instance
from export_platform_tests.support.seed_plan import PARTITION, TENANT

OCTOBER = {"dataset": "sales", "date_from": "2026-10-01", "date_to": "2026-10-31"}
CHOSEN = ["Total", "receipt_number", "STATUS"]  # a label, a name, a label in another case
CHOSEN_LABELS = ["Total", "Receipt", "Status"]


def test_unknown_columns_are_refused_naming_them_and_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as refused:
        AdhocExportConfig(tenant=TENANT, dataset="sales", columns=["Total", "Colour", "shoe_size"])
    message = str(refused.value)
    assert "columns: sales has no column 'Colour', 'shoe_size'" in message
    assert "Receipt (receipt_number)" in message and "Total (total)" in message
    with pytest.raises(ValidationError, match="columns: 'Total' chosen more than once"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", columns=["total", "Total"])


@pytest.mark.parametrize("formats", [["xlsx"], ["pdf"], ["csv", "xlsx"], ["csv_bundle"]])
def test_gzip_wraps_csv_only(formats: list[str]) -> None:
    with pytest.raises(ValidationError, match="compression: gzip wraps a CSV file only"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", formats=formats, compression="gzip")


def test_the_export_assets_configs_refuse_gzip_for_a_workbook_or_pdf() -> None:
    for config in (XlsxExportConfig, PdfExportConfig):
        with pytest.raises(ValidationError, match="compression: gzip wraps a CSV file only"):
            config(compression="gzip")
        assert config(compression="zip").compression == "zip"


def test_chosen_columns_compressed_files_and_what_is_recorded(sqlite_source: str, tmp_path: Path) -> None:
    request = {**OCTOBER, "columns": CHOSEN}
    gzipped = run(sqlite_source, tmp_path, formats=["csv"], compression="gzip", **request)
    zipped = run(sqlite_source, tmp_path, formats=["csv", "xlsx"], compression="zip", **request)
    again = run(sqlite_source, tmp_path, formats=["csv", "xlsx"], compression="zip", **request)
    plain = run(sqlite_source, tmp_path, formats=["csv"], **request)
    assert gzipped.success and zipped.success and again.success and plain.success

    stem = f"sales_{TENANT}_2026-10-01_2026-10-31"
    (gz,) = adhoc_files(tmp_path, gzipped).values()
    zips = adhoc_files(tmp_path, zipped)
    assert gz.name == f"{stem}.csv.gz" and set(zips) == {f"{stem}.csv.zip", f"{stem}.xlsx.zip"}
    (plain_csv,) = adhoc_files(tmp_path, plain).values()
    # Either archive holds the very file an uncompressed request makes, under its own name.
    assert gzip.decompress(gz.read_bytes()) == plain_csv.read_bytes()
    with zipfile.ZipFile(zips[f"{stem}.csv.zip"]) as archive:
        assert archive.namelist() == [f"{stem}.csv"]
        assert archive.read(f"{stem}.csv") == plain_csv.read_bytes()
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # gzip's header carries no time and no name: mtime (bytes 4-7) is 0, no FNAME flag.
    assert gz.read_bytes()[4:8] == b"\0\0\0\0" and not gz.read_bytes()[3] & 0x08

    header, *rows = csv.reader(io.StringIO(plain_csv.read_text(encoding="utf-8-sig"), newline=""))
    assert header == CHOSEN_LABELS and rows
    with zipfile.ZipFile(zips[f"{stem}.xlsx.zip"]) as archive:
        workbook = load_workbook(io.BytesIO(archive.read(f"{stem}.xlsx")), read_only=True)
    sales_sheet = [list(r) for r in workbook["Sales"].iter_rows(values_only=True)]
    assert sales_sheet[0] == CHOSEN_LABELS and len(sales_sheet) == len(rows) + 1
    line_items_header = next(workbook["Line Items"].iter_rows(values_only=True))
    assert "Line ID" in line_items_header and len(line_items_header) > len(CHOSEN)  # other sheets whole

    # The same request publishes the same bytes.
    for name, path in adhoc_files(tmp_path, again).items():
        assert path.read_bytes() == zips[name].read_bytes()

    # History: the compressed file's size and sha256, the rows it holds, the options asked.
    for result, files in ((gzipped, {"csv": gz}), (zipped, {"csv": zips[f"{stem}.csv.zip"]})):
        entry = next(e for e in history_rows(sqlite_source, result.run_id) if e["format"] == "csv")
        published = files["csv"].read_bytes()
        assert entry["file_size_bytes"] == len(published)
        assert entry["sha256"] == hashlib.sha256(published).hexdigest()
        assert entry["record_count"] == len(rows)
        assert json.loads(entry["filters"])["columns"] == CHOSEN


@pytest.mark.parametrize(("asset", "compression"), [("sales_csv", "gzip"), ("sales_xlsx", "zip")])
def test_an_export_asset_publishes_the_compressed_file_with_the_chosen_columns(
    materialized_sqlite: Materialized, tmp_path: Path, asset: str, compression: str
) -> None:
    exported = dg.materialize(
        [*dataset_assets, *export_assets],
        selection=asset,
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceDatabase(url=materialized_sqlite.source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(materialized_sqlite.root)),
            "artifacts": ArtifactStore(root=str(tmp_path)),
            "history": ExportHistory(url=materialized_sqlite.source_url),
        },
        run_config={"ops": {asset: {"config": {"columns": CHOSEN, "compression": compression}}}},
    )
    fmt = asset.removeprefix("sales_")
    suffix = {"gzip": ".gz", "zip": ".zip"}[compression]
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    entry = manifest["files"][fmt]
    published = tmp_path / entry["key"]
    assert entry["file_name"] == f"sales_{TENANT}_2026-10.{fmt}{suffix}" and published.exists()
    assert entry["size"] == published.stat().st_size
    assert entry["sha256"] == hashlib.sha256(published.read_bytes()).hexdigest()
    assert entry["content_type"] == {"gzip": "application/gzip", "zip": "application/zip"}[compression]

    inner = (
        gzip.decompress(published.read_bytes())
        if compression == "gzip"
        else zipfile.ZipFile(published).read(f"sales_{TENANT}_2026-10.{fmt}")
    )
    if fmt == "csv":
        header, *rows = csv.reader(io.StringIO(inner.decode("utf-8-sig"), newline=""))
        assert header == CHOSEN_LABELS
        assert entry["record_count"] == len(rows) > 0
    else:
        sheet = list(load_workbook(io.BytesIO(inner), read_only=True)["Sales"].iter_rows(values_only=True))
        assert list(sheet[0]) == CHOSEN_LABELS and entry["record_count"] == len(sheet) - 1 > 0
    (check,) = [
        c for c in exported.get_asset_check_evaluations() if c.check_name == "artifact_matches_metadata"
    ]
    assert check.passed and check.metadata["read_back_rows"].value == entry["record_count"]
    # A downstream reader finds it through the manifest as before, verified, under its compressed name.
    artifact = latest_artifact(TENANT, "sales", "2026-10", fmt, root=str(tmp_path))
    assert artifact.key == entry["key"] and artifact.read_bytes() == published.read_bytes()


def test_an_export_asset_refuses_an_unknown_column_before_writing(
    materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    exported = dg.materialize(
        [*dataset_assets, *export_assets],
        selection="sales_csv",
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceDatabase(url=materialized_sqlite.source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(materialized_sqlite.root)),
            "artifacts": ArtifactStore(root=str(tmp_path)),
            "history": ExportHistory(url=materialized_sqlite.source_url),
        },
        run_config={"ops": {"sales_csv": {"config": {"columns": ["Total", "Colour"]}}}},
        raise_on_error=False,
    )
    assert not exported.success
    failure = next(e for e in exported.all_events if e.is_step_failure)
    assert "columns: sales has no column 'Colour'" in failure.event_specific_data.error.to_string()
    assert not list(tmp_path.rglob("*.csv*"))


def test_a_compressed_file_published_to_s3(sqlite_source: str, s3_bucket: str) -> None:
    """The store's multipart or single upload carries the compressed file; the history describes it."""
    import boto3

    result = run(sqlite_source, f"s3://{s3_bucket}/root", formats=["csv"], compression="gzip", **OCTOBER)
    assert result.success
    (entry,) = history_rows(sqlite_source, result.run_id)
    key = f"root/{TENANT}/adhoc/{result.run_id}/sales_{TENANT}_2026-10-01_2026-10-31.csv.gz"
    body = boto3.client("s3").get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert entry["uri"] == f"s3://{s3_bucket}/{key}"
    assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["file_size_bytes"] == len(body)
    rows = list(csv.reader(io.StringIO(gzip.decompress(body).decode("utf-8-sig"), newline="")))
    assert len(rows) == entry["record_count"] + 1 > 1


def test_an_export_asset_refuses_gzip_for_a_workbook_naming_the_field(
    materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    exported = dg.materialize(
        [*dataset_assets, *export_assets],
        selection="sales_xlsx",
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceDatabase(url=materialized_sqlite.source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(materialized_sqlite.root)),
            "artifacts": ArtifactStore(root=str(tmp_path)),
            "history": ExportHistory(url=materialized_sqlite.source_url),
        },
        run_config={"ops": {"sales_xlsx": {"config": {"compression": "gzip"}}}},
        raise_on_error=False,
    )
    assert not exported.success
    failure = next(e for e in exported.all_events if e.is_step_failure)
    assert "compression: gzip wraps a CSV file only" in failure.event_specific_data.error.to_string()
    assert not list(tmp_path.rglob("*.xlsx*"))
