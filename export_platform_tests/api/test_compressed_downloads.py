"""A monthly export published compressed (``sales_acme_2026-10.csv.gz``) is listed, downloaded and
reached through its signed link under its own name, as the file it is (``application/gzip``); the
uncompressed name it does not have answers 404."""

from __future__ import annotations

import gzip
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import httpx
import pytest

from export_platform.api.config import ApiConfig
from export_platform.api.downloads import content_type
from export_platform.consumer import Artifact, latest_artifact
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT

NAME = f"sales_{TENANT}_{MONTH}.csv.gz"


@dataclass(frozen=True)
class Gzipped:
    api: str
    link: str  # the materialization's "download" metadata
    artifact: Artifact


@pytest.fixture(scope="module")
def gzipped(testbed: ApiTestbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gzipped]:
    folder = tmp_path_factory.mktemp("gzipped")
    root, history_url = str(folder / "artifacts"), f"sqlite:///{folder / 'history.db'}"
    secret = secrets.token_hex(32)
    config = ApiConfig(source_url=testbed.source_url, artifact_root=root, link_secret=secret.encode())
    with serving(config) as api, pytest.MonkeyPatch.context() as environment:
        environment.setenv("EXPORT_API_URL", api)
        environment.setenv("EXPORT_LINK_SECRET", secret)
        result = dg.materialize(
            [*dataset_assets, *export_assets],
            selection=["sales", "sales_csv"],
            partition_key=PARTITION,
            instance=ephemeral_instance(TENANT),
            run_config={"ops": {"sales_csv": {"config": {"compression": "gzip"}}}},
            resources={
                "source": SourceDatabase(url=testbed.source_url),
                "dataset_io_manager": DatasetParquetIOManager(root=root),
                "artifacts": ArtifactStore(root=root),
                "history": ExportHistory(url=history_url),
            },
        )
        [metadata] = [
            event.materialization.metadata
            for event in result.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey("sales_csv")
        ]
        artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=root)
        yield Gzipped(api, metadata["download"].value, artifact)


def test_a_compressed_export_is_listed_and_downloaded_under_its_name(
    gzipped: Gzipped, testbed: ApiTestbed
) -> None:
    viewer = bearer(testbed.tokens["viewer"])
    base = f"{gzipped.api}/v1/tenants/{TENANT}/artifacts"
    [listed] = httpx.get(base, params={"dataset": "sales"}, headers=viewer).json()["items"]
    assert (listed["name"], listed["content_type"]) == (NAME, "application/gzip")
    response = httpx.get(f"{base}/sales/{MONTH}/{NAME}", headers=viewer)
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).hexdigest() == gzipped.artifact.sha256 == listed["sha256"]
    assert response.headers["content-type"] == "application/gzip"
    assert response.headers["content-disposition"] == f'attachment; filename="{NAME}"'
    assert gzip.decompress(response.content).count(b"\r\n") == gzipped.artifact.record_count + 1
    assert httpx.get(f"{base}/sales/{MONTH}/{NAME.removesuffix('.gz')}", headers=viewer).status_code == 404


def test_the_signed_link_of_a_compressed_export_downloads_it(gzipped: Gzipped) -> None:
    assert f"/v1/downloads/{TENANT}/exports/sales/{MONTH}/{NAME}?expires=" in gzipped.link
    response = httpx.get(gzipped.link)
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).hexdigest() == gzipped.artifact.sha256
    assert response.headers["content-type"] == "application/gzip"


@pytest.mark.parametrize(
    ("name", "uncompressed", "answered"),
    [
        ("sales_acme_2026-10-01_2026-10-31.csv", "text/csv; charset=utf-8", "text/csv; charset=utf-8"),
        ("sales_acme_2026-10-01_2026-10-31.csv.gz", "text/csv; charset=utf-8", "application/gzip"),
        ("sales_acme_2026-10-01_2026-10-31.pdf.zip", "application/pdf", "application/zip"),
        ("sales_acme_2026-10-01_2026-10-31.zip", "application/zip", "application/zip"),  # a CSV bundle
    ],
)
def test_an_adhoc_file_is_served_as_what_its_name_says(name: str, uncompressed: str, answered: str) -> None:
    assert content_type(name, uncompressed) == answered
