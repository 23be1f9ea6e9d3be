"""The tour's short path in a real browser against a real webserver, with the artifacts in a local
folder as in the default set-up: one tenant's month of the sales report, launched from the UI.

Clicks, counted as the tour counts them:

- from the job's address with ``?partition=2026-10|acme``: Materialize all…, Launch 1 run (2);
- from the UI's front page: Jobs, sales_report, Materialize all…, the month field (the month typed),
  the tenant list, the tenant, Launch 1 run (7), where one export asset took as many and failed
  when its dataset had not been materialized.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import dagster as dg
import pytest

from export_platform.consumer import latest_artifact
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.browser import ARTIFACTS, chromium_page
from export_platform_tests.support.report_launch import (
    launch_button,
    open_dialog_from_the_front_page,
    open_prefilled_dialog,
)
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT
from export_platform_tests.support.webserver import instance_home, webserver

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "browser"
RUN_SECONDS = 120


def test_one_tenant_month_of_the_sales_report_in_two_clicks(tmp_path: Path) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(source_url), SeedPlan(tenants=2, months=1, sales_per_day=2, end_month=MONTH))
    root = str(tmp_path / "artifacts")
    instance = instance_home(tmp_path / "home", [TENANT, "globex"])
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "EXPORT_SOURCE_URL": source_url,
        "EXPORT_ARTIFACT_ROOT": root,
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "report-failure.png").unlink(missing_ok=True)
    with webserver(env, tmp_path / "webserver.log") as base, chromium_page() as page:
        try:
            # The clicks from the front page reach the dialog with one partition chosen...
            open_dialog_from_the_front_page(page, base, "sales_report", MONTH, TENANT)
            assert launch_button(page).is_enabled()
            assert page.get_by_role("dialog").get_by_text("1 partition", exact=True).is_visible()

            # ...and the job's address with the partition in it fills the dialog in by itself.
            open_prefilled_dialog(page, base, "sales_report", MONTH, TENANT)
            dialog = page.get_by_role("dialog")
            assert dialog.get_by_placeholder(re.compile(r"^ex: \d{4}-\d{2}")).input_value() == MONTH
            assert dialog.get_by_text(TENANT, exact=True).first.is_visible()
            launch_button(page).click()  # click 2
            page.get_by_text("Launched run").wait_for()

            page.goto(f"{base}/runs")
            page.locator("a[href^='/runs/']", has_text=re.compile(r"^[0-9a-f]{8}$")).first.click()
            page.get_by_text("Success", exact=True).first.wait_for(timeout=RUN_SECONDS * 1000)
            page.screenshot(path=SCREENSHOTS / "report-run-succeeded.png")
        except Exception:
            page.screenshot(path=SCREENSHOTS / "report-failure.png", full_page=True)
            raise

    (run,) = instance.get_runs()
    assert run.job_name == "sales_report" and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == PARTITION
    for fmt in ("csv", "xlsx", "pdf"):
        artifact = latest_artifact(TENANT, "sales", MONTH, fmt, root=root)
        written = (Path(root) / artifact.key).read_bytes()
        assert len(written) == artifact.size and hashlib.sha256(written).hexdigest() == artifact.sha256
    assert not (Path(root) / "globex").exists()
