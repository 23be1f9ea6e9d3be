"""A monthly export published compressed (``sales_acme_2026-10.csv.gz``) is listed, downloaded and
reached through its signed link under its own name, as the file it is (``application/gzip``); the
uncompressed name it does not have answers 404."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator

import httpx
import pytest

from export_platform.api.downloads import content_type
from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.linked_exports import LinkedExport, linked_sales_csv
from export_platform_tests.support.seed_plan import MONTH, TENANT

NAME = f"sales_{TENANT}_{MONTH}.csv.gz"


@pytest.fixture(scope="module")
def gzipped(testbed: ApiTestbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkedExport]:
    gzip_config = {"ops": {"sales_csv": {"config": {"compression": "gzip"}}}}
    with linked_sales_csv(testbed.source_url, tmp_path_factory.mktemp("gzipped"), gzip_config) as export:
        yield export


def test_a_compressed_export_is_listed_and_downloaded_under_its_name(
    gzipped: LinkedExport, testbed: ApiTestbed
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


def test_the_signed_link_of_a_compressed_export_downloads_it(gzipped: LinkedExport) -> None:
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
