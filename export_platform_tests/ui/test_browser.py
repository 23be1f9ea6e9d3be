"""A real browser against a real webserver: find sales_csv in the catalog, launch one tenant's month
from the UI, wait for the run to succeed, and see its row count and download link on the asset page.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.request
from pathlib import Path

import pytest

from export_platform.consumer import latest_artifact
from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import build_datasets_asset
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.browser import ARTIFACTS, chromium_page, dismiss_welcome
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
            dismiss_welcome(page)
            page.locator(".CodeMirror", has_text="Search and filter assets").first.click()
            page.keyboard.type("sales_csv")
            page.keyboard.press("Enter")
            page.mouse.click(800, 700)  # an empty spot: closes the suggestions, which cover the first row
            page.locator("a[href$='/assets/sales_csv']", has_text="sales_csv").first.click()
            page.wait_for_url(re.compile(r"/assets/sales_csv"))
            dismiss_welcome(page)

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
