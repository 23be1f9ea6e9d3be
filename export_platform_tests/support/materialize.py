"""In-process materializations of one partition's datasets and exports, as a run would make them, and
what the shared fixtures keep of them for the tests to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.partitions import TENANT_DIMENSION
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform_tests.support.seed_plan import MONTH, TENANT


def ephemeral_instance(*tenants: str) -> dg.DagsterInstance:
    """An in-memory instance that knows ``tenants``, so their partitions can be materialized."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANT_DIMENSION, list(tenants))
    return instance


def materialize_datasets(
    source_url: str, root: str, partition: str, assets=None, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    tenant = partition.split("|")[1]
    return dg.materialize(
        assets or dataset_assets,
        partition_key=partition,
        instance=instance or ephemeral_instance(tenant),
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
        },
        raise_on_error=False,
    )


@dataclass
class Materialized:
    source_url: str
    root: Path
    result: dg.ExecuteInProcessResult

    def frame(self, dataset: str, tenant: str = TENANT, month: str = MONTH) -> pl.DataFrame:
        return pl.read_parquet(self.root / tenant / "data" / dataset / f"{month}.parquet")


def materialize_exports(
    source_url: str,
    root: str,
    partition: str,
    *,
    artifact_root: str | None = None,
    with_datasets: bool = True,
    instance: dg.DagsterInstance | None = None,
    run_config: dict | None = None,
    selection: list[str] | None = None,
    history_url: str | None = None,
) -> dg.ExecuteInProcessResult:
    """The partition's datasets and exports (``selection``: only those assets; ``with_datasets=False``:
    the exports alone, reading datasets stored earlier), history rows in the source's platform tables
    unless ``history_url`` names another database; a failure is returned."""
    from export_platform.exports.assets import export_assets
    from export_platform.storage.artifacts import ArtifactStore
    from export_platform.tracking.history import ExportHistory

    tenant = partition.split("|")[1]
    return dg.materialize(
        [*dataset_assets, *export_assets],
        selection=selection or (None if with_datasets else dg.AssetSelection.groups("exports")),
        partition_key=partition,
        instance=instance or ephemeral_instance(tenant),
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
            "artifacts": ArtifactStore(root=artifact_root or root),
            "history": ExportHistory(url=history_url or source_url),
        },
        run_config=run_config,
        raise_on_error=False,
    )


@dataclass
class Exported:
    """Every dataset and export of acme's October in S3, then the exports materialized a second time."""

    bucket: str
    root: str
    first: dg.ExecuteInProcessResult
    second: dg.ExecuteInProcessResult

    def metadata(self, asset: str, run: str = "first") -> dict:
        result = getattr(self, run)
        event = next(
            e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset
        )
        return {k: v.value for k, v in event.materialization.metadata.items()}

    def key(self, dataset: str, fmt: str, month: str = MONTH, tenant: str = TENANT) -> str:
        return f"platform/{tenant}/exports/{dataset}/{month}/{dataset}_{tenant}_{month}.{fmt}"

    def download(self, dataset: str, fmt: str, folder: Path) -> Path:
        import boto3

        path = folder / f"{dataset}.{fmt}"
        boto3.client("s3").download_file(self.bucket, self.key(dataset, fmt), str(path))
        return path
