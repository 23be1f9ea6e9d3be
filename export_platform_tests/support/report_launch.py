"""The tour's two ways to launch one tenant's month of a dataset's report job in the Dagster UI, as
a newcomer clicks them, for the browser test that pins them and the script that photographs them.

Both end in Dagster's own launch dialog with one partition chosen and its button reading "Launch 1
run". The dialog fills itself in from the page's ``partition`` query parameter, so a job page
address that carries ``?partition=2026-10|acme`` is two clicks from a launched run.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable

Shot = Callable[[str], None]  # takes a screenshot named after the step, or does nothing


def no_shot(step: str) -> None:
    return None


def job_address(base: str, job: str, partition: str | None = None) -> str:
    """A job's page in the UI, with the launch dialog's partition filled in when one is given."""
    address = f"{base}/locations/export_platform/jobs/{job}"
    return f"{address}?{urllib.parse.urlencode({'partition': partition})}" if partition else address


def open_prefilled_dialog(page, base: str, job: str, month: str, tenant: str, shot: Shot = no_shot) -> None:
    """From the job's address with the partition in it: one click (Materialize all…) to a dialog
    that holds the month and the tenant."""
    page.goto(job_address(base, job, f"{month}|{tenant}"))
    page.get_by_role("button", name="Materialize all…").click()  # click 1
    launch_button(page).wait_for()
    shot("report-dialog")


def open_dialog_from_the_front_page(
    page, base: str, job: str, month: str, tenant: str, shot: Shot = no_shot
) -> None:
    """From the UI's front page: Jobs, the job, Materialize all…, the month typed into its field,
    the tenant picked from its list; six clicks and a typed month to the same dialog."""
    page.goto(base)
    page.locator("a[href='/jobs']").first.click()  # click 1: Jobs in the navigation
    link = page.locator(f"a[href='/locations/export_platform/jobs/{job}']").first
    link.wait_for()
    shot("report-jobs")
    link.click()  # click 2
    page.wait_for_url(re.compile(rf"/jobs/{job}"))
    shot("report-job")
    page.get_by_role("button", name="Materialize all…").click()  # click 3
    page.get_by_placeholder(re.compile(r"^ex: \d{4}-\d{2}")).click()  # click 4
    page.keyboard.type(month)
    page.keyboard.press("Tab")
    page.get_by_text("Select a partition or create one").click()  # click 5
    page.get_by_role("menuitem", name=tenant).click()  # click 6
    launch_button(page).wait_for()


def launch_button(page):
    """The dialog's launch button once exactly one partition is chosen."""
    return page.get_by_role("button", name="Launch 1 run")
