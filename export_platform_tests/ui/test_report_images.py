"""The README's report pictures (report_images.py) come out as pictures of the report: its functions,
given a sales PDF and workbook made from the seeded rows, write PNGs of the page and of the Summary
sheet that have ink, where the overview's charts are, on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image  # reportlab's own dependency

from export_platform.datasets import DATASETS
from export_platform.render.pdf import write_pdf
from export_platform.render.xlsx import write_workbook
from export_platform.reports.layouts import build_report
from export_platform.reports.tables import TenantInfo
from export_platform_tests.support.materialize import Materialized
from export_platform_tests.support.seed_plan import MONTH, TENANT
from export_platform_tests.ui.report_images import pdf_overview_image, workbook_summary_image

ACME = TenantInfo(TENANT, "Acme", "America/New_York", "USD")


def ink(path: Path) -> tuple[np.ndarray, float]:
    """The picture in grey, and the share of its pixels that are not (nearly) white."""
    grey = np.asarray(Image.open(path).convert("L"))
    return grey, float((grey < 200).mean())


def test_the_pictures_show_the_pdf_overview_and_the_summary_sheet(
    materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    frames = {d.name: materialized_sqlite.frame(d.name).lazy() for d in DATASETS}
    report = build_report("sales", frames, ACME, MONTH)
    write_pdf(report, tmp_path / "sales.pdf", page_budget=3)
    write_workbook(report, tmp_path / "sales.xlsx")

    page, page_ink = ink(pdf_overview_image(tmp_path / "sales.pdf", tmp_path / "pdf.png"))
    assert page.shape[1] > page.shape[0] > 500 and page_ink > 0.03  # the landscape overview page

    sheet, sheet_ink = ink(
        workbook_summary_image(tmp_path / "sales.xlsx", tmp_path / "xlsx.png", tmp_path / "lo")
    )
    assert sheet.shape[1] > 800 and sheet_ink > 0.02
    right = sheet[:, sheet.shape[1] * 2 // 3 :]  # the charts stand right of the figures
    assert (right < 200).mean() > 0.02
