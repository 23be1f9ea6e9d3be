"""Make the README's screenshot of the asset graph with the same machinery as the browser test: a
seeded SQLite source, one tenant's month exported, a webserver on loopback, headless Chromium.

    .venv/bin/python -m export_platform_tests.ui.screenshot docs/images/asset-graph.png
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.browser import chromium_page, dismiss_welcome
from export_platform_tests.support.webserver import instance_home, webserver

MONTH, TENANTS = "2026-10", ["acme", "globex"]


def asset_graph_png(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="asset-graph-") as folder:
        work = Path(folder)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(work / "home"),
            "EXPORT_SOURCE_URL": f"sqlite:///{work / 'source.db'}",
            "EXPORT_ARTIFACT_ROOT": str(work / "artifacts"),
            "EXPORT_WAREHOUSE_ROOT": str(work / "warehouse"),
        }
        os.environ.update(env)
        seed(
            SourceUrl(env["EXPORT_SOURCE_URL"]),
            SeedPlan(tenants=2, months=1, sales_per_day=2, end_month=MONTH),
        )
        instance = instance_home(work / "home", TENANTS)
        from export_platform.definitions import defs  # after the environment names this source and root

        result = defs.resolve_job_def("exports_job").execute_in_process(
            partition_key=f"{MONTH}|acme", instance=instance, raise_on_error=True
        )
        assert result.success
        with webserver(env, work / "webserver.log") as base, chromium_page(width=1800, height=1100) as page:
            page.goto(f"{base}/asset-groups")
            dismiss_welcome(page)
            page.wait_for_load_state("networkidle")
            # The sales family across both code locations: datasets, their exports, the warehouse tables.
            page.locator(".CodeMirror", has_text="Search and filter assets").first.click()
            page.keyboard.type('key:"*sale*"')
            page.keyboard.press("Enter")
            page.mouse.click(1700, 1000)  # an empty spot: closes the suggestions
            for group in ("datasets", "exports", "warehouse"):  # groups start collapsed
                page.locator("foreignObject").get_by_text(group, exact=True).first.click()
                page.wait_for_timeout(1000)
            page.reload()  # the expanded groups are remembered; a fresh load fits the graph to the view
            page.get_by_text("warehouse_sale_items").first.wait_for()
            page.wait_for_timeout(3000)  # let the layout settle and the status badges load
            page.screenshot(path=target)


if __name__ == "__main__":
    asset_graph_png(Path(sys.argv[1]).resolve())
