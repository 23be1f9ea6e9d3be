"""Shared fixtures: seeded SQLite and PostgreSQL sources, an S3 server on loopback, and one
materialization of every dataset per source that the figure tests read."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest
from sqlalchemy.engine import make_url

from export_platform.datasets.assets import dataset_assets
from export_platform.partitions import TENANT_DIMENSION
from export_platform.resources import SourceDatabase
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.io_manager import DatasetParquetIOManager

PG_ADMIN_URL = os.environ.get("EXPORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_PLAN = SeedPlan(tenants=2, months=2, sales_per_day=8, end_month="2026-10")
TENANT, OTHER_TENANT = "acme", "globex"
MONTH = "2026-10"
PARTITION = f"{MONTH}|{TENANT}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.db'}"
    seed(SourceUrl(url), TEST_PLAN)
    return url


def create_database() -> str:
    name = f"ep_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgresql_source() -> Iterator[str]:
    name = create_database()
    url = database_url(name)
    seed(SourceUrl(url), TEST_PLAN)
    yield url
    drop_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def source_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_source")


def ephemeral_instance(*tenants: str) -> dg.DagsterInstance:
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


@pytest.fixture(scope="session")
def materialized(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    """Every dataset of acme's October, materialized once per source database."""
    root = tmp_path_factory.mktemp("artifacts")
    result = materialize_datasets(source_url, str(root), PARTITION)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return Materialized(source_url, root, result)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1; boto3 (and Polars) reach it through AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_server: str) -> str:
    import boto3

    name = f"exports-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def materialize_exports(
    source_url: str,
    root: str,
    partition: str,
    *,
    artifact_root: str | None = None,
    with_datasets: bool = True,
    instance: dg.DagsterInstance | None = None,
    run_config: dict | None = None,
):
    from export_platform.exports.assets import export_assets
    from export_platform.storage.artifacts import ArtifactStore
    from export_platform.tracking.history import ExportHistory

    tenant = partition.split("|")[1]
    return dg.materialize(
        [*dataset_assets, *export_assets],
        selection=None if with_datasets else dg.AssetSelection.groups("exports"),
        partition_key=partition,
        instance=instance or ephemeral_instance(tenant),
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=root),
            "artifacts": ArtifactStore(root=artifact_root or root),
            "history": ExportHistory(url=source_url),
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


@pytest.fixture(scope="session")
def exported(sqlite_source: str, s3_server: str) -> Exported:
    import boto3

    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    root = f"s3://{bucket}/platform"
    instance = ephemeral_instance(TENANT)
    first = materialize_exports(sqlite_source, root, PARTITION, instance=instance)
    assert first.success, [
        e.event_specific_data.error.to_string() for e in first.all_events if e.is_step_failure
    ]
    second = materialize_exports(sqlite_source, root, PARTITION, with_datasets=False, instance=instance)
    assert second.success
    return Exported(bucket, root, first, second)


@pytest.fixture(scope="session")
def materialized_sqlite(sqlite_source: str, tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    """acme's October datasets on the SQLite source, as the exports read them."""
    root = tmp_path_factory.mktemp("sqlite-artifacts")
    result = materialize_datasets(sqlite_source, str(root), PARTITION)
    assert result.success
    return Materialized(sqlite_source, root, result)


@pytest.fixture
def dagster_database(monkeypatch):
    """A fresh PostgreSQL database for a dagster.yaml instance, through the DAGSTER_PG_* variables."""
    name = create_database()
    url = make_url(database_url(name))
    for key, value in {
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": name,
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
    }.items():
        monkeypatch.setenv(key, value)
    yield name
    drop_database(name)
