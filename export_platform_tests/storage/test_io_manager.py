"""Dataset Parquet lands at the fixed layout, locally and in S3, atomically, and only for its tenant."""

from __future__ import annotations

from pathlib import Path

import boto3
import dagster as dg
import polars as pl
import pytest

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import build_datasets_asset
from export_platform.errors import InvalidSourceData
from export_platform.partitions import InvalidPartitionKey, tenant_month_partitions
from export_platform.storage.io_manager import DatasetParquetIOManager, ParquetSpool
from export_platform.storage.layout import dataset_key
from export_platform.storage.local_store import LocalObjectStore
from export_platform_tests.support.materialize import ephemeral_instance, materialize_datasets
from export_platform_tests.support.seed_plan import PARTITION

SALES = build_datasets_asset([DATASETS_BY_NAME["sales"]])


@dg.asset(partitions_def=tenant_month_partitions, io_manager_key="dataset_io_manager")
def receipts_seen(sales: pl.LazyFrame) -> dg.MaterializeResult:
    """A downstream asset: receives the stored sales lazily."""
    assert isinstance(sales, pl.LazyFrame)
    return dg.MaterializeResult(metadata={"receipts": sales.select(pl.len()).collect().item()})


def test_s3_root_round_trip(sqlite_source: str, s3_bucket: str) -> None:
    root = f"s3://{s3_bucket}/platform"
    result = materialize_datasets(sqlite_source, root, PARTITION, assets=[SALES, receipts_seen])
    assert result.success
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["platform/acme/data/sales/2026-10.parquet"]
    body = boto3.client("s3").get_object(Bucket=s3_bucket, Key=keys[0])["Body"].read()
    stored = pl.read_parquet(body)
    seen = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "receipts_seen"
    )
    assert seen.materialization.metadata["receipts"].value == stored.height > 0


def test_local_layout(sqlite_source: str, tmp_path: Path) -> None:
    result = materialize_datasets(sqlite_source, str(tmp_path), PARTITION, assets=[SALES, receipts_seen])
    assert result.success
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "acme/data/sales/2026-10.parquet"
    ]
    assert (tmp_path / "acme/data/sales/2026-10.parquet").stat().st_mode & 0o777 == 0o644


def test_interrupted_local_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with pytest.raises(RuntimeError), store.writing("acme/data/sales/2026-10.parquet") as path:
        path.write_bytes(b"half a file")
        raise RuntimeError("crash mid-write")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_io_manager_refuses_other_tenants_rows(tmp_path: Path) -> None:
    manager = DatasetParquetIOManager(root=str(tmp_path))
    context = dg.build_output_context(asset_key=dg.AssetKey("sales"), partition_key=PARTITION)
    with pytest.raises(InvalidSourceData, match="1 rows of other tenants"):
        manager.handle_output(context, pl.DataFrame({"tenant_id": ["acme", "globex"]}))
    assert not list(tmp_path.rglob("*.parquet"))


@pytest.mark.parametrize("slug", ["../acme", "acme/x", "ACME", "acme-", "аcme", "", "a" * 64])
def test_keys_only_from_safe_slugs(slug: str) -> None:
    with pytest.raises(InvalidPartitionKey):
        dataset_key(slug, "sales", "2026-10")
    with pytest.raises(InvalidPartitionKey):
        dataset_key("acme", "sales", "2026-13")


def test_unsafe_partition_key_never_reaches_storage(sqlite_source: str, tmp_path: Path) -> None:
    result = materialize_datasets(
        sqlite_source,
        str(tmp_path),
        "2026-10|Acme..x",
        assets=[SALES],
        instance=ephemeral_instance("Acme..x"),
    )
    assert not result.success
    assert not list(tmp_path.rglob("*"))


def test_a_spool_holds_its_batches_and_its_folder_goes_when_discarded() -> None:
    empty = pl.DataFrame({"n": []}, schema={"n": pl.Int64})
    spool = ParquetSpool.write(iter([pl.DataFrame({"n": [1, 2]}), empty, pl.DataFrame({"n": [3]})]))
    assert spool.scan().collect()["n"].to_list() == [1, 2, 3]
    spool.discard()
    assert not spool.path.parent.exists()


def test_a_spool_that_fails_mid_write_leaves_no_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def batches():
        yield pl.DataFrame({"n": [1]})
        raise ConnectionError("source dropped the connection")

    with pytest.raises(ConnectionError):
        ParquetSpool.write(batches())
    assert list(tmp_path.iterdir()) == []


def test_the_io_manager_publishes_a_spool_and_removes_it(tmp_path: Path) -> None:
    spool = ParquetSpool.write(iter([pl.DataFrame({"tenant_id": ["acme", "acme"], "n": [1, 2]})]))
    manager = DatasetParquetIOManager(root=str(tmp_path / "root"))
    context = dg.build_output_context(asset_key="sale_items", partition_key=PARTITION)
    manager.handle_output(context, spool)
    stored = pl.read_parquet(tmp_path / "root" / dataset_key("acme", "sale_items", "2026-10"))
    assert stored["n"].to_list() == [1, 2] and not spool.path.parent.exists()

    foreign = ParquetSpool.write(iter([pl.DataFrame({"tenant_id": ["acme", "globex"], "n": [3, 4]})]))
    with pytest.raises(InvalidSourceData, match="1 rows of other tenants"):
        manager.handle_output(context, foreign)
    assert not foreign.path.parent.exists()
    assert pl.read_parquet(tmp_path / "root" / dataset_key("acme", "sale_items", "2026-10"))[
        "n"
    ].to_list() == [1, 2]
