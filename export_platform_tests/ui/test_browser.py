"""A real browser against a real webserver: find sales_csv in the catalog, launch one tenant's month
from the UI, wait for the run to succeed, and see its row count and download link on the asset page;
and with the artifacts in a local folder (the default), click that link, served by the Export API,
and get the file. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from export_platform.api.config import ApiConfig
from export_platform.consumer import latest_artifact
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import build_datasets_asset, dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.assets import export_assets
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.api_server import serving
from export_platform_tests.support.browser import ARTIFACTS, chromium_page
from export_platform_tests.support.materialize import materialize_datasets
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT
from export_platform_tests.support.webserver import instance_home, webserver

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "browser"
RUN_SECONDS = 90


def test_launch_sales_csv_from_the_ui_and_see_its_metadata(tmp_path: Path, s3_bucket: str) -> None:
    started = time.monotonic()
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month=MONTH))
    root = f"s3://{s3_bucket}/platform"
    instance = instance_home(tmp_path / "home", [TENANT])
    sales = [build_datasets_asset([DATASETS_BY_NAME["sales"]])]
    assert materialize_datasets(source_url, root, PARTITION, assets=sales, instance=instance).success
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": root,
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "failure.png").unlink(missing_ok=True)
    with webserver(env, tmp_path / "webserver.log") as base, chromium_page() as page:
        try:
            # Find the asset in the catalog, as an analyst would.
            page.goto(f"{base}/assets")
            page.locator(".CodeMirror", has_text="Search and filter assets").first.click()
            page.keyboard.type("sales_csv")
            page.keyboard.press("Enter")
            page.mouse.click(800, 700)  # an empty spot: closes the suggestions, which cover the first row
            page.locator("a[href$='/assets/sales_csv']", has_text="sales_csv").first.click()
            page.wait_for_url(re.compile(r"/assets/sales_csv"))

            # Materialize one partition: month and tenant picked in the launch dialog.
            page.get_by_role("button", name="Materialize…").first.click()
            page.get_by_placeholder(re.compile(r"^ex: \d{4}-\d{2}")).fill(MONTH)
            page.keyboard.press("Tab")
            page.get_by_text("Select a partition or create one").click()
            page.get_by_role("menuitem", name=TENANT).click()
            page.screenshot(path=SCREENSHOTS / "launch-dialog.png")
            page.get_by_role("button", name="Launch 1 run").click()
            page.get_by_text("Launched run").wait_for()

            # Follow the run from the run list until it succeeds.
            page.goto(f"{base}/runs")
            page.locator("a[href^='/runs/']", has_text=re.compile(r"^[0-9a-f]{8}$")).first.click()
            page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
            page.get_by_text("Success", exact=True).first.wait_for(timeout=RUN_SECONDS * 1000)
            page.screenshot(path=SCREENSHOTS / "run-succeeded.png")

            # The latest materialization's metadata: its row count and a link that downloads the file.
            artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=root)
            page.goto(f"{base}/assets/sales_csv")
            metadata = page.locator("table", has_text="record_count").first
            metadata.wait_for()
            row_count = metadata.locator("tr", has_text="record_count").first
            assert row_count.inner_text().split()[-1].replace(",", "") == str(artifact.record_count)
            link = metadata.locator("tr", has_text="download").locator("a[href*='X-Amz-Signature']").first
            href = link.get_attribute("href")
            metadata.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / "sales_csv-materialized.png")
        except Exception:
            page.screenshot(path=SCREENSHOTS / "failure.png", full_page=True)
            raise
    assert artifact.record_count > 0
    downloaded = urllib.request.urlopen(href, timeout=30).read()
    assert hashlib.sha256(downloaded).hexdigest() == artifact.sha256
    assert time.monotonic() - started < 150


def test_the_download_link_of_a_local_export_downloads_the_file_in_the_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source_url), SeedPlan(tenants=1, months=1, sales_per_day=2, end_month=MONTH))
    root = str(tmp_path / "artifacts")
    instance = instance_home(tmp_path / "home", [TENANT])
    secret = secrets.token_hex(32)
    api_config = ApiConfig(source_url=source_url, artifact_root=root, link_secret=secret.encode())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "download-failure.png").unlink(missing_ok=True)
    with serving(api_config) as api:
        # The run and the API share the API's address and the link secret, as in the default set-up.
        monkeypatch.setenv("EXPORT_API_URL", api)
        monkeypatch.setenv("EXPORT_LINK_SECRET", secret)
        result = dg.materialize(
            [*dataset_assets, *export_assets],
            selection=["sales", "sales_csv"],
            partition_key=PARTITION,
            instance=instance,
            resources={
                "source": SourceDatabase(url=source_url),
                "dataset_io_manager": DatasetParquetIOManager(root=root),
                "artifacts": ArtifactStore(root=root),
                "history": ExportHistory(url=source_url),
            },
        )
        assert result.success
        artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=root)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(tmp_path / "home"),
            "EXPORT_SOURCE_URL": source_url,
            "EXPORT_ARTIFACT_ROOT": root,
        }
        with webserver(env, tmp_path / "webserver.log") as base, chromium_page() as page:
            try:
                page.goto(f"{base}/assets/sales_csv")
                metadata = page.locator("table", has_text="record_count").first
                metadata.wait_for()
                link = metadata.locator("tr", has_text="download").locator("a").first
                assert link.get_attribute("href").startswith(f"{api}/v1/downloads/{artifact.key}?")
                metadata.scroll_into_view_if_needed()
                page.screenshot(path=SCREENSHOTS / "sales_csv-local-download.png")
                # It opens a new tab, which the attachment header turns into a download (Chromium
                # reports it to the page the link was clicked on).
                with page.expect_download() as started:
                    link.click()
                download = started.value
                downloaded = Path(download.path()).read_bytes()
            except Exception:
                page.screenshot(path=SCREENSHOTS / "download-failure.png", full_page=True)
                raise
    assert download.suggested_filename == artifact.key.rsplit("/", 1)[1]
    assert hashlib.sha256(downloaded).hexdigest() == artifact.sha256 and len(downloaded) == artifact.size
