"""Headless Chromium (Debian's package, driven by Playwright) for the browser test and the README's
screenshot; Playwright's own browser downloads are never used."""

from __future__ import annotations

import contextlib
from pathlib import Path

from export_platform_tests.support.project import PROJECT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT / "test-artifacts"  # screenshots a developer or CI can look at after a run


@contextlib.contextmanager
def chromium_page(width: int = 1600, height: int = 1000):
    """A page of headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: scripts/ensure-chromium.sh installs Debian's package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def dismiss_welcome(page) -> None:
    """Dagster greets a new browser with a community dialog; close it if it shows."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5000)
    except Exception:
        return
    skip.click()
