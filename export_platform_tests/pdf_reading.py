"""Reading our PDFs back with pypdf, as a reader of the report would see them."""

from __future__ import annotations

import re

from pypdf import PageObject

# The total page count is a form XObject drawn after "Page N of", so pypdf extracts it as its own line.
FOOTER = re.compile(r"Page ([\d,]+) of\s+([\d,]+)")


def page_footer(page: PageObject) -> tuple[int, int]:
    """The (page number, page total) a page's footer states."""
    found = FOOTER.search(page.extract_text())
    assert found, "no 'Page X of Y' footer on the page"
    number, total = (int(group.replace(",", "")) for group in found.groups())
    return number, total
