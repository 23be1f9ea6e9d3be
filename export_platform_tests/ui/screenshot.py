"""Make the tour's screenshots as a newcomer sees the UI after ``./scripts/demo.sh``: the real demo
command over a temporary source and instance, a webserver on loopback with both code locations,
headless Chromium. The launch is the browser test's own path (support/report_launch.py), so the
pictures show what that test pins.

    .venv/bin/python -m export_platform_tests.ui.screenshot docs/images

writes asset-graph.png (the sales family's lineage, groups expanded), report-jobs.png, report-job.png,
report-dialog.png (the launch dialog filled in from the job's address) and report-run.png.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

from export_platform.source.demo_data import previous_month
from export_platform_tests.support.browser import chromium_page
from export_platform_tests.support.project import BIN
from export_platform_tests.support.report_launch import (
    launch_button,
    open_dialog_from_the_front_page,
    open_prefilled_dialog,
)
from export_platform_tests.support.webserver import instance_home, webserver

JOB, TENANT = "sales_report", "acme"
SALES_FAMILY = 'key:"*sale*"'
EXPANDED = ",".join(f"global@global:{group}" for group in ("datasets", "exports", "warehouse"))
RUN_SECONDS = 180


def demo_env(work: Path) -> dict[str, str]:
    """The environment of a demo kept in the folder ``work``: its instance, source, artifacts and
    warehouse there, nothing in the project."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(work / "home"),
        "EXPORT_SOURCE_URL": f"sqlite:///{work / 'source.db'}",
        "EXPORT_ARTIFACT_ROOT": str(work / "artifacts"),
        "EXPORT_WAREHOUSE_ROOT": str(work / "warehouse"),
    }


def demo(env: dict[str, str]) -> None:
    """The README's first command, minus the install step; its output is not part of the pictures."""
    work = Path(env["DAGSTER_HOME"]).parent  # its log file goes there, not into the project
    subprocess.run([str(BIN / "export-platform"), "demo", "--replace"], cwd=work, env=env, check=True)


def asset_graph(page, base: str, target: Path) -> None:
    """The sales family across both code locations (its datasets, their exports, the warehouse
    tables) with their groups expanded, as the lineage page shows them after the demo. The address
    is the one the page itself writes when the three groups are opened; Dagster starts them
    collapsed, and the whole platform expanded is too tall to read."""
    page.goto(f"{base}/asset-groups~{quote(SALES_FAMILY)}?{urlencode({'expanded': EXPANDED})}")
    page.get_by_text("warehouse_sale_items").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.mouse.move(1700, 1000)  # an empty spot: a pointer over an edge would highlight it
    page.wait_for_timeout(4000)  # let the layout settle and the status badges load
    page.screenshot(path=target)


def report_launch(page, base: str, month: str, folder: Path) -> None:
    """The tour's launch, a picture per step, until the run has succeeded."""

    def shot(step: str) -> None:
        page.wait_for_timeout(3000)  # the job's asset graph fits itself to the view after loading
        page.screenshot(path=folder / f"{step}.png")

    open_dialog_from_the_front_page(page, base, JOB, month, TENANT, shot)
    page.get_by_role("button", name="Cancel", exact=True).click()
    open_prefilled_dialog(page, base, JOB, month, TENANT, shot)
    launch_button(page).click()
    page.get_by_text("Launched run").wait_for()
    page.goto(f"{base}/runs")
    page.locator("a[href^='/runs/']", has_text=re.compile(r"^[0-9a-f]{8}$")).first.click()
    page.get_by_text("Success", exact=True).first.wait_for(timeout=RUN_SECONDS * 1000)
    page.wait_for_timeout(3000)
    page.screenshot(path=folder / "report-run.png")


def screenshots(folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="tour-screenshots-") as temporary:
        work = Path(temporary)
        env = demo_env(work)
        instance_home(work / "home", [])  # runs launched in the UI start at once, without a daemon
        demo(env)
        month = previous_month(dt.date.today())
        with webserver(env, work / "webserver.log") as base, chromium_page(width=1800, height=1100) as page:
            asset_graph(page, base, folder / "asset-graph.png")
            report_launch(page, base, month, folder)


if __name__ == "__main__":
    screenshots(Path(sys.argv[1]).resolve())
