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
            # Dagster greets a browser new to localhost with a community dialog a second after a page
            # loads, over whatever the test is about to click; the flag it sets when dismissed keeps
            # it away (useStateWithStorage('communityNux') in the webapp's CommunityNux.tsx).
            page.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()
