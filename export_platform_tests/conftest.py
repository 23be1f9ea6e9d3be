"""Shared fixtures: seeded SQLite and PostgreSQL sources, an S3 server on loopback, and one
materialization of every dataset per source that the figure tests read. The helpers they are made
of live in ``export_platform_tests.support``, where tests import them from."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.materialize import (
    Exported,
    Materialized,
    ephemeral_instance,
    materialize_datasets,
    materialize_exports,
)
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.seed_plan import PARTITION, TENANT, TEST_PLAN


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.db'}"
    seed(SourceUrl(url), TEST_PLAN)
    return url


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
