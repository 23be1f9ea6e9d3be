"""Make the README's pictures of a report as a newcomer gets them after ``./scripts/demo.sh``: the
real demo command over a temporary source and artifact folder, then acme's sales PDF and workbook
of the month it exported, drawn as a reader sees them.

    .venv/bin/python -m export_platform_tests.ui.report_images docs/images

writes sales-pdf-overview.png (the PDF's first page: the overview's tiles and charts, drawn by
poppler) and sales-workbook-summary.png (the workbook's Summary sheet with its native charts, as
LibreOffice prints it on one page). It needs poppler and LibreOffice (scripts/ensure-poppler.sh,
scripts/ensure-libreoffice.sh).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from export_platform_tests.support.libreoffice import page_png, workbook_pdf
from export_platform_tests.ui.screenshot import demo, demo_env

TENANT = "acme"
PDF_IMAGE, WORKBOOK_IMAGE = "sales-pdf-overview.png", "sales-workbook-summary.png"
DPI = 80  # a readable page at the README's width, a few hundred kB


def demo_report(artifacts: Path, extension: str) -> Path:
    """The demo's one sales file of ``extension`` for acme (the demo exports a single month)."""
    found = sorted((artifacts / TENANT / "exports" / "sales").glob(f"*/sales_{TENANT}_*.{extension}"))
    assert len(found) == 1, f"expected one sales .{extension} for {TENANT}, found {found}"
    return found[0]


def pdf_overview_image(pdf: Path, target: Path) -> Path:
    """The PDF's first page, the overview, as a PNG."""
    return page_png(pdf, 1, target, DPI)


def workbook_summary_image(workbook: Path, target: Path, work: Path) -> Path:
    """The workbook's first sheet, Summary, printed whole on one page by LibreOffice, as a PNG."""
    return page_png(workbook_pdf(workbook, work, one_page_per_sheet=True), 1, target, DPI)


def report_images(folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="report-images-") as temporary:
        work = Path(temporary)
        env = demo_env(work)
        (work / "home").mkdir()
        demo(env)
        folder.mkdir(parents=True, exist_ok=True)
        pdf_overview_image(demo_report(work / "artifacts", "pdf"), folder / PDF_IMAGE)
        workbook_summary_image(
            demo_report(work / "artifacts", "xlsx"), folder / WORKBOOK_IMAGE, work / "soffice"
        )


if __name__ == "__main__":
    report_images(Path(sys.argv[1]).resolve())
